package revocation

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// MaxBucketK bounds a bucket at 2^16 leaves (2 MiB, about 0.4 s of hashing
// for the holder), which hides a holder among 65,536 credentials.
const MaxBucketK = 16

// Bucket is the subtree of 2^K leaves that holds a serial, plus the path
// above it: what a holder that missed epochs fetches, revealing only which
// 2^K credentials it is among.
type Bucket struct {
	Depth     int
	K         int
	Index     uint64 // the subtree's index at height K
	LeafCount uint64
	Root      fr.Element
	Leaves    []fr.Element // 2^K leaves, serials Index<<K onwards
	Above     []fr.Element // Above[i] is the sibling at height K+i
}

// Bucket returns the bucket of 2^k leaves around serial, read from one
// snapshot.
func (s *Store) Bucket(serial uint64, k int) (*Bucket, error) {
	if k < 0 || k > MaxBucketK || k > s.depth {
		return nil, fmt.Errorf("revocation: bucket size 2^%d outside 2^0…2^%d", k, min(MaxBucketK, s.depth))
	}
	b := &Bucket{Depth: s.depth, K: k, Index: serial >> uint(k), Leaves: make([]fr.Element, 1<<uint(k))}
	s.view.RLock()
	defer s.view.RUnlock()
	err := s.db.View(func(txn *badger.Txn) error {
		st, err := readState(txn)
		if err != nil {
			return err
		}
		if serial >= st.leafCount {
			return fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, st.leafCount)
		}
		b.Root, b.LeafCount = st.root, st.leafCount
		start := b.Index << uint(k)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixNode, 0}, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(pairKey(0, start>>1)); it.Valid(); it.Next() {
			pair := binary.BigEndian.Uint64(it.Item().Key()[2:])
			if 2*pair >= start+uint64(len(b.Leaves)) {
				break
			}
			var leaves [2]fr.Element
			if err := it.Item().Value(func(v []byte) error { return decodePair(&leaves, v, 0, pair) }); err != nil {
				return err
			}
			for j, leaf := range leaves {
				if i := 2*pair + uint64(j) - start; i < uint64(len(b.Leaves)) {
					b.Leaves[i] = leaf
				}
			}
		}
		b.Above = make([]fr.Element, s.depth-k)
		for h := k; h < s.depth; h++ {
			sib := (serial >> uint(h)) ^ 1
			if sib<<uint(h) >= st.leafCount {
				b.Above[h-k] = s.empty[h]
			} else if b.Above[h-k], err = s.getNode(txn, h, sib); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// PathFromBucket rebuilds serial's path from a bucket that holds it and
// checks that it folds to the bucket's root.
func PathFromBucket(b *Bucket, serial uint64) (*Path, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if serial>>uint(b.K) != b.Index {
		return nil, fmt.Errorf("revocation: serial %d is not in bucket %d of 2^%d leaves", serial, b.Index, b.K)
	}
	if serial >= b.LeafCount {
		return nil, fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, b.LeafCount)
	}
	p := &Path{Serial: serial, Root: b.Root, LeafCount: b.LeafCount, Siblings: make([]fr.Element, 0, b.Depth)}
	local := serial - b.Index<<uint(b.K)
	p.Leaf = b.Leaves[local]
	level := b.Leaves
	for h := 0; h < b.K; h++ {
		p.Siblings = append(p.Siblings, level[(local>>uint(h))^1])
		next := make([]fr.Element, len(level)/2)
		for i := range next {
			next[i] = zkhash.Node(h+1, level[2*i], level[2*i+1])
		}
		level = next
	}
	p.Siblings = append(p.Siblings, b.Above...)
	if err := p.Verify(); err != nil {
		return nil, errors.New("revocation: bucket does not fold to its root (altered or inconsistent bucket)")
	}
	return p, nil
}

func (b *Bucket) check() error {
	switch {
	case b.Depth < 1 || b.Depth > MaxDepth:
		return fmt.Errorf("revocation: bucket depth %d outside 1…%d", b.Depth, MaxDepth)
	case b.K < 0 || b.K > MaxBucketK || b.K > b.Depth:
		return fmt.Errorf("revocation: bucket size 2^%d outside 2^0…2^%d", b.K, min(MaxBucketK, b.Depth))
	case b.Index>>uint(b.Depth-b.K) != 0:
		return fmt.Errorf("revocation: bucket index %d does not fit depth %d", b.Index, b.Depth)
	case b.LeafCount > uint64(1)<<uint(b.Depth):
		return fmt.Errorf("revocation: bucket leaf count %d exceeds depth %d", b.LeafCount, b.Depth)
	case len(b.Leaves) != 1<<uint(b.K):
		return fmt.Errorf("revocation: bucket has %d leaves, want %d", len(b.Leaves), 1<<uint(b.K))
	case len(b.Above) != b.Depth-b.K:
		return fmt.Errorf("revocation: bucket has %d siblings above, want %d", len(b.Above), b.Depth-b.K)
	}
	return nil
}

// bucketMagic and bucketVersion open the binary encoding of a bucket.
const (
	bucketMagic   = "YZRB"
	bucketVersion = 1
)

// MarshalBinary encodes the bucket:
//
//	"YZRB" | version | depth | k | uvarint index | uvarint leaf count
//	| root (32) | bitmap of zero leaves (⌈2^k/8⌉, LSB first)
//	| the non-zero leaves (32 each) | depth-k siblings above (32 each)
func (b *Bucket) MarshalBinary() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	out := append([]byte(bucketMagic), bucketVersion, byte(b.Depth), byte(b.K))
	out = binary.AppendUvarint(out, b.Index)
	out = binary.AppendUvarint(out, b.LeafCount)
	out = appendElement(out, b.Root)
	out = appendLeaves(out, b.Leaves)
	for _, e := range b.Above {
		out = appendElement(out, e)
	}
	return out, nil
}

// UnmarshalBinary decodes the form MarshalBinary writes, refusing anything
// truncated, extended or out of range.
func (b *Bucket) UnmarshalBinary(data []byte) error {
	r := &reader{b: data, what: "bucket"}
	if string(r.take(len(bucketMagic))) != bucketMagic {
		return errors.New("revocation: not a bucket (bad magic)")
	}
	if v := r.byte(); r.err == nil && v != bucketVersion {
		return fmt.Errorf("revocation: bucket version %d, this build reads %d", v, bucketVersion)
	}
	out := Bucket{Depth: int(r.byte()), K: int(r.byte())}
	out.Index = r.uvarint()
	out.LeafCount = r.uvarint()
	if r.err != nil {
		return r.err
	}
	// Check the shape before allocating 2^K leaves.
	out.Leaves, out.Above = make([]fr.Element, 1<<uint(min(out.K, MaxBucketK))), make([]fr.Element, max(out.Depth-out.K, 0))
	if err := out.check(); err != nil {
		return err
	}
	out.Root = r.element()
	out.Leaves = r.leaves(len(out.Leaves))
	for i := range out.Above {
		out.Above[i] = r.element()
	}
	if err := r.end(); err != nil {
		return err
	}
	*b = out
	return nil
}
