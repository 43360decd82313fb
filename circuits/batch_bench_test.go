package circuits

import (
	"fmt"
	"sync"
	"testing"
)

// productionBatch proves eight presentations at the production depth once;
// the benchmarks fill their batches by repeating them (a batch costs the
// same whatever its proofs are).
var productionBatch = sync.OnceValues(func() ([]BatchItem, error) {
	k, err := productionKeys()
	if err != nil {
		return nil, err
	}
	items := make([]BatchItem, 8)
	for i := range items {
		f := newFixture(&testing.T{}, ProductionDepth, 0)
		proof, pseudonym, err := k.Prove(&f.st, &f.cred)
		if err != nil {
			return nil, err
		}
		st := f.st
		items[i] = BatchItem{Statement: &st, Pseudonym: pseudonym, Proof: proof}
	}
	return items, nil
})

// BenchmarkVerifyBatch measures verifying proofs (already decoded) one by
// one with Keys.Verify and in batches with Keys.VerifyBatch; the
// proofs/s metric is what to compare. Run with -cpu 1,2.
func BenchmarkVerifyBatch(b *testing.B) {
	k, err := productionKeys()
	if err != nil {
		b.Fatal(err)
	}
	items, err := productionBatch()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("one-by-one", func(b *testing.B) {
		n := 0
		for b.Loop() {
			it := items[n%len(items)]
			if err := k.Verify(it.Statement, it.Pseudonym, it.Proof); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "proofs/s")
	})
	for _, size := range []int{8, 64, 256} {
		batch := make([]BatchItem, size)
		for i := range batch {
			batch[i] = items[i%len(items)]
		}
		b.Run(fmt.Sprintf("batch-%d", size), func(b *testing.B) {
			n := 0
			for b.Loop() {
				if err := k.VerifyBatch(batch); err != nil {
					b.Fatal(err)
				}
				n += size
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "proofs/s")
		})
	}
}
