package revocation

import (
	"bytes"
	"errors"
	"math/rand/v2"
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
	n, _ := s.LeafCount()
	var revokes []uint64
	for range 80 {
		revokes = append(revokes, rng.Uint64N(n))
	}
	s.Revoke(revokes...)
	for _, k := range []int{0, 1, 4, 8, 12} {
		for range 5 {
			serial := rng.Uint64N(n)
			b, err := s.Bucket(serial, k)
			if err != nil {
				t.Fatal(err)
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
			want, _ := s.Path(serial)
			if !samePath(p, want) {
				t.Fatalf("k=%d serial %d: path from bucket differs from the store's", k, serial)
			}
			// Every issued serial of the bucket rebuilds too.
			other := b.Index<<uint(k) + rng.Uint64N(1<<uint(k))
			if other < n {
				if _, err := PathFromBucket(&got, other); err != nil {
					t.Fatalf("k=%d: neighbour %d: %v", k, other, err)
				}
			}
		}
	}
}

func TestBucketRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	s, _ := openTemp(t, 10)
	s.Append(randomLeaves(rng, 100)...)
	if _, err := s.Bucket(100, 4); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("bucket of an unissued serial: %v", err)
	}
	if _, err := s.Bucket(5, MaxBucketK+1); err == nil {
		t.Error("oversized bucket accepted")
	}
	if _, err := s.Bucket(5, -1); err == nil {
		t.Error("negative k accepted")
	}
	b, _ := s.Bucket(37, 4)
	if _, err := PathFromBucket(b, 5); err == nil {
		t.Error("serial outside the bucket accepted")
	}
	good, _ := b.MarshalBinary()
	for name, data := range map[string][]byte{
		"magic":     append([]byte("YZRX"), good[4:]...),
		"version":   with(good, 4, 9),
		"depth 0":   with(good, 5, 0),
		"k > depth": with(good, 6, 11),
		"k > max":   with(good, 6, MaxBucketK+1),
		"index":     with(good, 7, 0x7f),
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"empty":     nil,
	} {
		var d Bucket
		if err := d.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A flipped bit in any leaf or sibling decodes but no longer folds.
	for _, at := range []int{len(good) - 1, len(good) - 6*32 - 1, 8 + 32 + 2 + 3} {
		bad := bytes.Clone(good)
		bad[at] ^= 1
		var d Bucket
		if d.UnmarshalBinary(bad) != nil {
			continue
		}
		if _, err := PathFromBucket(&d, 37); err == nil {
			t.Errorf("bucket with byte %d flipped accepted", at)
		}
	}
}
