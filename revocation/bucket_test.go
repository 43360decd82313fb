package revocation

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestBucketRebuildsPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	s, _ := openTemp(t, 12)
	for range 4 {
		if _, err := s.ApplyBatch(randomBatch(rng, 0, 300, 0)); err != nil {
			t.Fatal(err)
		}
	}
	n := mustLeafCount(t, s)
	var revokes []uint64
	for range 80 {
		revokes = append(revokes, rng.Uint64N(n))
	}
	if err := s.Revoke(revokes...); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 2, 3, 6} {
		for range 5 {
			serial := rng.Uint64N(n)
			b, err := s.Bucket(serial, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Leaves) != 1<<(2*k) || len(b.Above) != 3*(6-k) || b.Index != serial>>(2*k) {
				t.Fatalf("k=%d: %d leaves, %d siblings above, index %d", k, len(b.Leaves), len(b.Above), b.Index)
			}
			bin, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Bucket
			if err := got.UnmarshalBinary(bin); err != nil {
				t.Fatalf("k=%d: %v", k, err)
			}
			p, err := PathFromBucket(&got, serial)
			if err != nil {
				t.Fatalf("k=%d serial %d: %v", k, serial, err)
			}
			want := mustPath(t, s, serial)
			if !samePath(p, want) {
				t.Fatalf("k=%d serial %d: path from bucket differs from the store's", k, serial)
			}
			// Every issued serial of the bucket rebuilds too.
			other := b.Index<<uint(2*k) + rng.Uint64N(1<<uint(2*k))
			if other < n {
				if _, err := PathFromBucket(&got, other); err != nil {
					t.Fatalf("k=%d: neighbour %d: %v", k, other, err)
				}
			}
		}
	}
}

// TestBucketRefusesSerialOutside: a bucket of k levels holds the 4^k serials
// of one aligned subtree; a serial outside it is refused, one inside it is
// not.
func TestBucketRefusesSerialOutside(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	s, _ := openTemp(t, 10)
	if _, err := s.Append(randomLeaves(rng, 100)...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k               int
		inside, outside []uint64
	}{
		{0, []uint64{37}, []uint64{36, 38}},
		{1, []uint64{36, 39}, []uint64{35, 40}},
		{2, []uint64{32, 47}, []uint64{31, 48, 5}},
		{3, []uint64{0, 63}, []uint64{64, 99}},
	} {
		b, err := s.Bucket(37, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		for _, serial := range tc.inside {
			if _, err := PathFromBucket(b, serial); err != nil {
				t.Errorf("k=%d: serial %d inside the bucket: %v", tc.k, serial, err)
			}
		}
		for _, serial := range tc.outside {
			if _, err := PathFromBucket(b, serial); err == nil || !strings.Contains(err.Error(), "not in bucket") {
				t.Errorf("k=%d: serial %d outside the bucket: %v", tc.k, serial, err)
			}
		}
	}
}

func TestBucketRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	s, _ := openTemp(t, 10)
	if _, err := s.Append(randomLeaves(rng, 100)...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bucket(100, 2); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("bucket of an unissued serial: %v", err)
	}
	if _, err := s.Bucket(5, MaxBucketLevels+1); err == nil {
		t.Error("oversized bucket accepted")
	}
	if _, err := s.Bucket(5, 6); err == nil {
		t.Error("bucket of more levels than the tree (5) accepted")
	}
	if _, err := s.Bucket(5, -1); err == nil {
		t.Error("negative k accepted")
	}
	b, err := s.Bucket(37, 2)
	if err != nil {
		t.Fatal(err)
	}
	good, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if good[7] != 2 || good[8] != 100 {
		t.Fatalf("bucket header: index byte %d, leaf count byte %d", good[7], good[8])
	}
	for name, data := range map[string][]byte{
		"magic":      append([]byte("YZRX"), good[4:]...),
		"version 1":  with(good, 4, 1),
		"version 3":  with(good, 4, 3),
		"depth 0":    with(good, 5, 0),
		"depth odd":  with(good, 5, 11), // 11/2 = 5 levels, as depth 10 has
		"depth 50":   with(good, 5, 50),
		"k > levels": with(good, 6, 6),
		"k > max":    with(good, 6, MaxBucketLevels+1),
		"index":      with(good, 7, 0x40),                                            // 6 bits above a 2-level bucket at depth 10
		"leaf count": append(append(bytes.Clone(good[:8]), 0x81, 0x08), good[9:]...), // 1025 > 2^10
		"truncated":  good[:len(good)-1],
		"trailing":   append(bytes.Clone(good), 0),
		"empty":      nil,
	} {
		var d Bucket
		if err := d.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A flipped bit in the root, a leaf or a sibling decodes but no longer
	// folds. Layout: 9 header bytes, root, 2 bytes of bitmap, 16 leaves,
	// 9 siblings.
	const leaves = 9 + 32 + 2
	for _, at := range []int{9 + 31, leaves + 31, leaves + 5*32 + 31, len(good) - 4*32 - 1, len(good) - 1} {
		bad := bytes.Clone(good)
		bad[at] ^= 1
		var d Bucket
		if err := d.UnmarshalBinary(bad); err != nil {
			t.Fatalf("byte %d flipped: %v", at, err)
		}
		if _, err := PathFromBucket(&d, 37); err == nil {
			t.Errorf("bucket with byte %d flipped accepted", at)
		}
	}
}
