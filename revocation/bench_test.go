package revocation

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchStore opens a depth-32 store holding n leaves.
func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "acc"), Options{Depth: 32})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rng := rand.New(rand.NewPCG(1, 1))
	for n > 0 {
		k := min(n, 10_000)
		if _, err := s.Append(randomLeaves(rng, k)...); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
	return s
}

// BenchmarkAppend appends batches of 10,000 leaves at depth 32.
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b, 0)
	rng := rand.New(rand.NewPCG(2, 2))
	leaves := randomLeaves(rng, 10_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Append(leaves...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkRevoke revokes batches of 10,000 random serials among 200,000.
func BenchmarkRevoke(b *testing.B) {
	const n = 200_000
	s := benchStore(b, n)
	rng := rand.New(rand.NewPCG(3, 3))
	b.ResetTimer()
	for b.Loop() {
		serials := make([]uint64, 10_000)
		for i := range serials {
			serials[i] = rng.Uint64N(n)
		}
		if err := s.Revoke(serials...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "revocations/s")
}

// BenchmarkPath reads the path of a random serial among 100,000.
func BenchmarkPath(b *testing.B) {
	const n = 100_000
	s := benchStore(b, n)
	rng := rand.New(rand.NewPCG(4, 4))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Path(rng.Uint64N(n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPathReopened reads paths from a store of 200,000 leaves that was
// closed and reopened, so the tree is read from Badger's tables rather than
// from the memtable.
func BenchmarkPathReopened(b *testing.B) {
	const n = 200_000
	s := benchStore(b, n)
	dir := s.db.Opts().Dir
	s.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Path(rng.Uint64N(n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish signs (SM2) and stores one epoch after a batch of 100
// revocations among 100,000 leaves.
func BenchmarkPublish(b *testing.B) {
	const n = 100_000
	s := benchStore(b, n)
	key := testKey(b, "gm")
	rng := rand.New(rand.NewPCG(6, 6))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		serials := make([]uint64, 100)
		for i := range serials {
			serials[i] = rng.Uint64N(n)
		}
		if err := s.Revoke(serials...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Publish(key, "https://bench.invalid", testNow); err != nil {
			b.Fatal(err)
		}
	}
}
