package revocation

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
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

// deltaBytes returns the number of changed leaves in epoch and the size of
// its binary delta.
func deltaBytes(b *testing.B, s *Store, epoch uint64) (changed, size int) {
	b.Helper()
	d, err := s.Delta(epoch)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := d.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return len(d.Serials), len(bin)
}

// publishDelta publishes an epoch and returns deltaBytes of it; callers
// stop the timer around it.
func publishDelta(b *testing.B, s *Store, key *jose.PrivateKey) (changed, size int) {
	b.Helper()
	e, err := s.Publish(key, "https://bench.invalid", testNow)
	if err != nil {
		b.Fatal(err)
	}
	return deltaBytes(b, s, e.Epoch)
}

// BenchmarkAppend appends batches of 10,000 leaves at depth 32, each batch
// an epoch, and reports the delta size per issued credential.
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b, 0)
	key := testKey(b, "gm")
	rng := rand.New(rand.NewPCG(2, 2))
	leaves := randomLeaves(rng, 10_000)
	var changed, size int
	for b.Loop() {
		if _, err := s.Append(leaves...); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		n, z := publishDelta(b, s, key)
		changed, size = changed+n, size+z
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "leaves/s")
	b.ReportMetric(float64(size)/float64(changed), "delta-B/issuance")
}

// BenchmarkMillion measures a depth-32 store of 10^6 leaves, built once:
//
//   - Revoke: batches of 10,000 random serials, each batch an epoch;
//     revocations/s and the epoch's delta size per revocation.
//   - Path: the path of a random serial.
//   - Publish: signing (SM2) and storing an epoch that holds one
//     revocation, and that epoch's delta size.
//   - PathReopened: paths after closing and reopening the store, so the tree
//     is read from Badger's tables rather than from the memtable.
func BenchmarkMillion(b *testing.B) {
	const n = 1_000_000
	s := benchStore(b, n)
	key := testKey(b, "gm")
	// The appends are their own epoch, so each later epoch holds only what
	// its sub-benchmark changed.
	if _, err := s.Publish(key, "https://bench.invalid", testNow); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	b.Run("Revoke", func(b *testing.B) {
		var changed, size int
		for b.Loop() {
			serials := make([]uint64, 10_000)
			for i := range serials {
				serials[i] = rng.Uint64N(n)
			}
			if err := s.Revoke(serials...); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			c, z := publishDelta(b, s, key)
			changed, size = changed+c, size+z
			b.StartTimer()
		}
		b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "revocations/s")
		b.ReportMetric(float64(size)/float64(changed), "delta-B/revocation")
	})
	b.Run("Path", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Path(rng.Uint64N(n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Publish", func(b *testing.B) {
		var size int
		for b.Loop() {
			b.StopTimer()
			if err := s.Revoke(rng.Uint64N(n)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			e, err := s.Publish(key, "https://bench.invalid", testNow)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_, z := deltaBytes(b, s, e.Epoch)
			size = max(size, z)
			b.StartTimer()
		}
		b.ReportMetric(float64(size), "delta-B/single-revocation")
	})
	b.Run("PathReopened", func(b *testing.B) {
		dir := s.db.Opts().Dir
		s.Close()
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			if _, err := s.Path(rng.Uint64N(n)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStatusListCopies signs the SD-JWT copies' status list of an
// issuer of 10^6 credentials × 8 copies (8×10^6 entries, 1 MB before
// compression) with 1% of the entries revoked at random (10^4 credentials'
// copies): the token's size and the time to publish it.
func BenchmarkStatusListCopies(b *testing.B) {
	const entries = 8_000_000
	bits := make([]byte, entries/8)
	rng := rand.New(rand.NewPCG(5, 6))
	for range entries / 100 {
		i := rng.Uint64N(entries)
		bits[i/8] |= 1 << (i % 8)
	}
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		b.Fatal(err)
	}
	var tok string
	for b.Loop() {
		if tok, err = SignStatusList(key, "https://i.example", "https://i.example/statuslist.jwt", bits, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tok)), "B/token")
}
