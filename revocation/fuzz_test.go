package revocation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/internal/golden"
)

// The testdata vectors are a delta and a bucket (3 levels, 64 leaves, around
// serial 20) of a small fixed tree (depth 10, leaves 1…40, serials 3 and 17
// revoked in epoch 2), rewritten by TestVectors when
// YINZHENG_UPDATE_TESTDATA=1 (package internal/golden). testdata/fuzz holds the fuzzers' regression
// inputs; those of format version 1 (the binary tree) stay as inputs that
// must be refused without a panic.

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorStore builds the fixed tree of the vectors.
func vectorStore(t *testing.T) *Store {
	s, _ := openTemp(t, 10)
	leaves := make([]fr.Element, 40)
	for i := range leaves {
		leaves[i].SetUint64(uint64(i + 1))
	}
	key := testKey(t, "gm")
	if _, err := s.Append(leaves...); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "https://issuer.example")
	if err := s.Revoke(3, 17); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "https://issuer.example")
	return s
}

// TestVectors checks that the stored vectors still decode and still equal
// what the store produces, so the binary formats cannot drift unnoticed.
func TestVectors(t *testing.T) {
	s := vectorStore(t)
	d, err := s.Delta(2)
	if err != nil {
		t.Fatal(err)
	}
	dbin, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bucket(20, 3)
	if err != nil {
		t.Fatal(err)
	}
	bbin, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "delta-epoch2.bin"), dbin)
	golden.Check(t, filepath.Join("testdata", "bucket-20-k3.bin"), bbin)
	var bk Bucket
	if err := bk.UnmarshalBinary(bbin); err != nil {
		t.Fatal(err)
	}
	p, err := PathFromBucket(&bk, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := mustPath(t, s, 20)
	if !samePath(p, want) {
		t.Fatal("path from the stored bucket differs")
	}
}

// FuzzDelta: decoding never panics, and whatever decodes re-encodes to the
// same bytes (one encoding per delta).
func FuzzDelta(f *testing.F) {
	f.Add(readVector(f, "delta-epoch2.bin"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Delta
		if d.UnmarshalBinary(data) != nil {
			return
		}
		out, err := d.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded delta does not re-encode: %v", err)
		}
		if string(out) != string(data) {
			t.Fatal("delta re-encodes differently")
		}
		if len(d.Serials) > 0 {
			UpdatePath(&Path{Serial: d.Serials[0], Siblings: make([]fr.Element, d.Depth/2*3)}, &d)
		}
	})
}

// FuzzBucket: decoding never panics, re-encodes identically, and rebuilding
// a path from it never panics.
func FuzzBucket(f *testing.F) {
	f.Add(readVector(f, "bucket-20-k3.bin"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Bucket
		if b.UnmarshalBinary(data) != nil {
			return
		}
		out, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded bucket does not re-encode: %v", err)
		}
		if string(out) != string(data) {
			t.Fatal("bucket re-encodes differently")
		}
		if b.K <= 4 { // 256 leaves: larger buckets take too long to hash per input
			PathFromBucket(&b, b.Index<<uint(2*b.K))
		}
	})
}
