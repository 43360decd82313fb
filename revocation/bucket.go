package revocation

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// MaxBucketLevels bounds a bucket at 8 levels, 4^8 = 2^16 leaves (2 MiB,
// 21,845 width-4 hashes, about 0.3 s for the holder), which hides a holder
// among 65,536 credentials.
const MaxBucketLevels = 8

// Bucket is the subtree of K levels (4^K leaves) that holds a serial, plus
// the path above it: what a holder that missed epochs fetches, revealing
// only which 4^K credentials it is among.
type Bucket struct {
	Depth     int    // index bits of the tree; it has Depth/2 levels
	K         int    // levels of the subtree: 4^K leaves
	Index     uint64 // the subtree's index at level K
	LeafCount uint64
	Root      fr.Element
	Leaves    []fr.Element // 4^K leaves, serials Index·4^K onwards
	// Above holds the siblings from level K up, three a level in the
	// order of a path: Above[3i … 3i+2] are the siblings at level K+i.
	Above []fr.Element
}

// BucketIndex returns the number of the bucket of k levels that holds
// serial: serial >> 2k.
func BucketIndex(serial uint64, k int) uint64 { return serial >> uint(k*zkhash.LevelBits) }

// bucketLeaves returns 4^k, the leaves of a bucket of k levels.
func bucketLeaves(k int) int { return 1 << uint(k*zkhash.LevelBits) }

// Bucket returns the bucket of k levels (4^k leaves) around serial, read
// from one snapshot.
func (s *Store) Bucket(serial uint64, k int) (*Bucket, error) {
	if k < 0 || k > MaxBucketLevels || k > s.levels {
		return nil, fmt.Errorf("revocation: bucket size 4^%d outside 4^0…4^%d", k, min(MaxBucketLevels, s.levels))
	}
	shift := uint(k * zkhash.LevelBits)
	b := &Bucket{Depth: s.depth, K: k, Index: serial >> shift, Leaves: make([]fr.Element, bucketLeaves(k))}
	s.view.RLock()
	defer s.view.RUnlock()
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		st, err := readIssued(txn, serial)
		if err != nil {
			return err
		}
		b.Root, b.LeafCount = st.root, st.leafCount
		start := b.Index << shift
		end := start + uint64(len(b.Leaves))
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixNode, 0}, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(groupKey(0, start/zkhash.Arity)); it.Valid(); it.Next() {
			parent := binary.BigEndian.Uint64(it.Item().Key()[2:])
			if parent*zkhash.Arity >= end {
				break
			}
			var leaves group
			if err := it.Item().Value(func(v []byte) error { return decodeGroup(&leaves, v, 0, parent) }); err != nil {
				return err
			}
			for j, leaf := range leaves {
				if serial := parent*zkhash.Arity + uint64(j); serial >= start && serial < end {
					b.Leaves[serial-start] = leaf
				}
			}
		}
		_, b.Above, err = s.pathFrom(txn, serial, k, make([]fr.Element, 0, (s.levels-k)*zkhash.SiblingsPerLevel))
		return err
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
	if ancestor(serial, b.K) != b.Index {
		return nil, fmt.Errorf("revocation: serial %d is not in bucket %d of 4^%d leaves (serials %d…%d)",
			serial, b.Index, b.K, b.Index*uint64(len(b.Leaves)), (b.Index+1)*uint64(len(b.Leaves))-1)
	}
	if serial >= b.LeafCount {
		return nil, fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, b.LeafCount)
	}
	p := &Path{Serial: serial, Root: b.Root, LeafCount: b.LeafCount, Siblings: make([]fr.Element, 0, zkhash.PathLength(b.Depth))}
	local := serial - b.Index*uint64(len(b.Leaves))
	p.Leaf = b.Leaves[local]
	level := b.Leaves
	for l := range b.K {
		x := ancestor(local, l)
		first := x &^ (zkhash.Arity - 1)
		sib := zkhash.Siblings(group(level[first:first+zkhash.Arity]), x)
		p.Siblings = append(p.Siblings, sib[:]...)
		next := make([]fr.Element, len(level)/zkhash.Arity)
		for i := range next {
			next[i] = zkhash.Node(l+1, group(level[i*zkhash.Arity:(i+1)*zkhash.Arity]))
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
	levels, err := levelsOf("bucket", b.Depth)
	if err != nil {
		return err
	}
	switch {
	case b.K < 0 || b.K > MaxBucketLevels || b.K > levels:
		return fmt.Errorf("revocation: bucket size 4^%d outside 4^0…4^%d", b.K, min(MaxBucketLevels, levels))
	case b.Index>>uint(b.Depth-b.K*zkhash.LevelBits) != 0:
		return fmt.Errorf("revocation: bucket index %d does not fit depth %d", b.Index, b.Depth)
	case b.LeafCount > uint64(1)<<uint(b.Depth):
		return fmt.Errorf("revocation: bucket leaf count %d exceeds depth %d", b.LeafCount, b.Depth)
	case len(b.Leaves) != bucketLeaves(b.K):
		return fmt.Errorf("revocation: bucket has %d leaves, want %d", len(b.Leaves), bucketLeaves(b.K))
	case len(b.Above) != (levels-b.K)*zkhash.SiblingsPerLevel:
		return fmt.Errorf("revocation: bucket has %d siblings above, want %d", len(b.Above), (levels-b.K)*zkhash.SiblingsPerLevel)
	}
	return nil
}

// bucketMagic and bucketVersion open the binary encoding of a bucket.
const (
	bucketMagic   = "YZRB"
	bucketVersion = 2 // 2: 4-ary tree, K counts levels
)

// MarshalBinary encodes the bucket:
//
//	"YZRB" | version | depth | k | uvarint index | uvarint leaf count
//	| root (32) | bitmap of zero leaves (⌈4^k/8⌉, LSB first)
//	| the non-zero leaves (32 each) | 3·(depth/2-k) siblings above (32 each)
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
	// Check the shape before allocating 4^K leaves.
	if _, err := levelsOf("bucket", out.Depth); err != nil {
		return err
	}
	out.Leaves = make([]fr.Element, bucketLeaves(min(out.K, MaxBucketLevels)))
	out.Above = make([]fr.Element, max(out.Depth/zkhash.LevelBits-out.K, 0)*zkhash.SiblingsPerLevel)
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
