package revocation

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// reference is a naive in-memory accumulator: every leaf in a slice, the
// root recomputed from scratch. It is the model the store must equal.
type reference struct {
	depth   int
	leaves  []fr.Element
	revoked map[uint64]bool
}

func newReference(depth int) *reference {
	return &reference{depth: depth, revoked: map[uint64]bool{}}
}

func (r *reference) apply(b Batch) {
	r.leaves = append(r.leaves, b.Append...)
	for _, s := range b.Revoke {
		r.leaves[s] = fr.Element{}
		r.revoked[s] = true
	}
}

// levels returns every level of the tree, bottom up, trimmed to the
// non-empty prefix (nodes beyond it are empty subtrees).
func (r *reference) levels() [][]fr.Element {
	empty := zkhash.EmptyRoots(r.depth)
	out := [][]fr.Element{append([]fr.Element(nil), r.leaves...)}
	for h := 1; h <= r.depth; h++ {
		below := out[h-1]
		cur := make([]fr.Element, (len(below)+1)/2)
		for i := range cur {
			l, rr := empty[h-1], empty[h-1]
			if 2*i < len(below) {
				l = below[2*i]
			}
			if 2*i+1 < len(below) {
				rr = below[2*i+1]
			}
			cur[i] = zkhash.Node(h, l, rr)
		}
		out = append(out, cur)
	}
	return out
}

func (r *reference) root() fr.Element {
	lv := r.levels()
	if len(lv[r.depth]) == 0 {
		return zkhash.EmptyRoots(r.depth)[r.depth]
	}
	return lv[r.depth][0]
}

func (r *reference) path(serial uint64) []fr.Element {
	empty := zkhash.EmptyRoots(r.depth)
	lv := r.levels()
	sib := make([]fr.Element, r.depth)
	for h := 0; h < r.depth; h++ {
		i := (serial >> uint(h)) ^ 1
		sib[h] = empty[h]
		if i < uint64(len(lv[h])) {
			sib[h] = lv[h][i]
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
