package revocation

import (
	"math/rand/v2"
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// BenchmarkSyncCost measures revocations with the store's writes synced (as
// they always are) and, for comparison only, unsynced: one serial per
// batch (one commit each) and 1,000 serials per batch, in a tree of 10^5
// leaves at depth 32.
func BenchmarkSyncCost(b *testing.B) {
	const leaves = 100_000
	for _, sync := range []bool{false, true} {
		name := "sync=off"
		if sync {
			name = "sync=on"
		}
		for _, per := range []int{1, 1000} {
			b.Run(name+"/revoke-batch="+itoa(per), func(b *testing.B) {
				defer storelock.SetSyncWrites(storelock.SetSyncWrites(sync))
				s, err := Open(b.TempDir(), Options{Depth: 32})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				rng := rand.New(rand.NewPCG(1, 2))
				for done := 0; done < leaves; done += 10_000 {
					if _, err := s.Append(randomLeaves(rng, 10_000)...); err != nil {
						b.Fatal(err)
					}
				}
				serials := make([]uint64, per)
				for b.Loop() {
					for i := range serials {
						serials[i] = rng.Uint64N(leaves)
					}
					if err := s.Revoke(serials...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "revocations/s")
			})
		}
	}
}

func itoa(n int) string {
	if n == 1 {
		return "1"
	}
	return "1000"
}
