package revocation

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// reference is a naive in-memory accumulator: every leaf in a slice, the
// root recomputed from scratch. It is the model the store must equal. It is
// written from the 4-ary tree's definition with zkhash.Node and
// zkhash.EmptyRoots only, so the store's grouping, index arithmetic and
// sibling order are checked against an independent implementation.
type reference struct {
	depth   int // index bits
	levels  int // depth/2
	leaves  []fr.Element
	revoked map[uint64]bool
}

func newReference(depth int) *reference {
	return &reference{depth: depth, levels: depth / 2, revoked: map[uint64]bool{}}
}

func (r *reference) apply(b Batch) {
	r.leaves = append(r.leaves, b.Append...)
	for _, s := range b.Revoke {
		r.leaves[s] = fr.Element{}
		r.revoked[s] = true
	}
}

// tree returns every level of the tree, bottom up, each trimmed to its
// non-empty prefix (nodes beyond it are empty subtrees).
func (r *reference) tree() [][]fr.Element {
	empty := zkhash.EmptyRoots(r.levels)
	out := [][]fr.Element{append([]fr.Element(nil), r.leaves...)}
	for l := 1; l <= r.levels; l++ {
		below := out[l-1]
		cur := make([]fr.Element, (len(below)+3)/4)
		for i := range cur {
			var children [4]fr.Element
			for j := range children {
				children[j] = empty[l-1]
				if 4*i+j < len(below) {
					children[j] = below[4*i+j]
				}
			}
			cur[i] = zkhash.Node(l, children)
		}
		out = append(out, cur)
	}
	return out
}

func (r *reference) root() fr.Element {
	t := r.tree()
	if len(t[r.levels]) == 0 {
		return zkhash.EmptyRoots(r.levels)[r.levels]
	}
	return t[r.levels][0]
}

// path returns the three siblings a level of serial, bottom up. At each
// level the node at position p (0…3) among its parent's children lists the
// other member of its pair (p XOR 1) first, then the other pair left to
// right: for p = 0, 1, 2, 3 the positions 1,2,3 / 0,2,3 / 3,0,1 / 2,0,1.
func (r *reference) path(serial uint64) []fr.Element {
	order := [4][3]uint64{{1, 2, 3}, {0, 2, 3}, {3, 0, 1}, {2, 0, 1}}
	empty := zkhash.EmptyRoots(r.levels)
	t := r.tree()
	var sib []fr.Element
	for l := 0; l < r.levels; l++ {
		x := serial >> uint(2*l)
		for _, j := range order[x%4] {
			i := x - x%4 + j
			v := empty[l]
			if i < uint64(len(t[l])) {
				v = t[l][i]
			}
			sib = append(sib, v)
		}
	}
	return sib
}

// randomLeaves returns n non-zero random field elements.
func randomLeaves(rng *rand.Rand, n int) []fr.Element {
	out := make([]fr.Element, n)
	for i := range out {
		out[i].SetUint64(rng.Uint64() | 1)
		var hi fr.Element
		hi.SetUint64(rng.Uint64())
		out[i].Add(&out[i], hi.Square(&hi))
	}
	return out
}

// randomBatch appends up to maxAppend leaves and revokes up to maxRevoke
// random serials (some already revoked, some appended by the same batch).
func randomBatch(rng *rand.Rand, count uint64, maxAppend, maxRevoke int) Batch {
	b := Batch{Append: randomLeaves(rng, rng.IntN(maxAppend+1))}
	total := count + uint64(len(b.Append))
	if total == 0 {
		return b
	}
	for range rng.IntN(maxRevoke + 1) {
		b.Revoke = append(b.Revoke, rng.Uint64N(total))
	}
	return b
}

func checkEqual(t *testing.T, s *Store, ref *reference) {
	t.Helper()
	root, err := s.Root()
	if err != nil {
		t.Fatal(err)
	}
	if want := ref.root(); !root.Equal(&want) {
		t.Fatalf("root differs from the reference")
	}
	n, err := s.LeafCount()
	if err != nil || n != uint64(len(ref.leaves)) {
		t.Fatalf("leaf count %d (%v), want %d", n, err, len(ref.leaves))
	}
	for serial := range uint64(len(ref.leaves)) {
		st, err := s.Status(serial)
		if err != nil {
			t.Fatal(err)
		}
		if (st == Revoked) != ref.revoked[serial] {
			t.Fatalf("serial %d: status %v, reference revoked=%v", serial, st, ref.revoked[serial])
		}
	}
}
