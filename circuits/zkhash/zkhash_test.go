package zkhash

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

// allHashes recomputes every construction in-circuit and asserts equality
// with the natively computed expectations.
type allHashes struct {
	A, B, C, D                            frontend.Variable
	WantCompress, WantNode, WantHolder    frontend.Variable
	WantPseudonym, WantLeaf, WantPathRoot frontend.Variable
	Siblings                              [3]frontend.Variable
	IndexBits                             [3]frontend.Variable
}

func (c *allHashes) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(c.A, c.B), c.WantCompress)
	api.AssertIsEqual(h.Node(7, c.A, c.B), c.WantNode)
	api.AssertIsEqual(h.HolderCommitment(c.A), c.WantHolder)
	api.AssertIsEqual(h.Pseudonym(c.A, c.B), c.WantPseudonym)
	api.AssertIsEqual(h.Leaf(c.A, c.B, c.C, c.D), c.WantLeaf)
	cur := c.A
	for i := range c.Siblings {
		l := api.Select(c.IndexBits[i], c.Siblings[i], cur)
		r := api.Select(c.IndexBits[i], cur, c.Siblings[i])
		cur = h.Node(i+1, l, r)
	}
	api.AssertIsEqual(cur, c.WantPathRoot)
	return nil
}

func element(v uint64) fr.Element { var e fr.Element; e.SetUint64(v); return e }

func TestNativeMatchesCircuit(t *testing.T) {
	var a, b, c, d fr.Element
	for _, e := range []*fr.Element{&a, &b, &c, &d} {
		if _, err := e.SetRandom(); err != nil {
			t.Fatal(err)
		}
	}
	sib := []fr.Element{element(11), element(22), element(33)}
	const index = 0b101
	root, err := RootFromPath(a, index, sib)
	if err != nil {
		t.Fatal(err)
	}
	good := &allHashes{
		A: a, B: b, C: c, D: d,
		WantCompress: Compress(a, b), WantNode: Node(7, a, b), WantHolder: HolderCommitment(a),
		WantPseudonym: Pseudonym(a, b), WantLeaf: Leaf(a, b, c, d), WantPathRoot: root,
		Siblings:  [3]frontend.Variable{sib[0], sib[1], sib[2]},
		IndexBits: [3]frontend.Variable{1, 0, 1},
	}
	assert := test.NewAssert(t)
	assert.CheckCircuit(&allHashes{}, test.WithValidAssignment(good), test.WithCurves(ecc.BN254), test.WithBackends(backend.GROTH16))

	// Each expectation off by one alone must make the circuit unsolvable.
	one := element(1)
	for name, field := range map[string]*frontend.Variable{
		"compress": &good.WantCompress, "node": &good.WantNode, "holder": &good.WantHolder,
		"pseudonym": &good.WantPseudonym, "leaf": &good.WantLeaf, "path": &good.WantPathRoot,
	} {
		saved := *field
		v := saved.(fr.Element)
		v.Add(&v, &one)
		*field = v
		err := test.IsSolved(&allHashes{}, good, ecc.BN254.ScalarField())
		if err == nil {
			t.Errorf("%s: a wrong expected value was accepted", name)
		}
		*field = saved
	}
}

func TestDomainSeparation(t *testing.T) {
	s := element(5)
	hc := HolderCommitment(s)
	// A verifier choosing scope = the holder tag must not learn the commitment.
	if p := Pseudonym(s, Tag(tagHolder)); p.Equal(&hc) {
		t.Fatal("pseudonym collides with the holder commitment")
	}
	if Node(1, s, s) == Node(2, s, s) {
		t.Fatal("inner nodes at different heights are not separated")
	}
	l := Leaf(Tag("leaf:x"), s, s, s)
	if n := Node(1, s, s); n.Equal(&l) {
		t.Fatal("leaf equals node")
	}
}

func TestRootFromPathRejectsBadInput(t *testing.T) {
	if _, err := RootFromPath(element(1), 8, make([]fr.Element, 3)); err == nil {
		t.Fatal("an index wider than the tree was accepted")
	}
	if _, err := RootFromPath(element(1), 0, make([]fr.Element, MaxDepth+1)); err == nil {
		t.Fatal("an over-long path was accepted")
	}
}

func TestEmptyRoots(t *testing.T) {
	e := EmptyRoots(4)
	if !e[0].IsZero() {
		t.Fatal("empty leaf is not zero")
	}
	for h := 1; h <= 4; h++ {
		if want := Node(h, e[h-1], e[h-1]); !want.Equal(&e[h]) {
			t.Fatalf("empty root at height %d", h)
		}
	}
}

func BenchmarkNode(b *testing.B) {
	l, r := element(1), element(2)
	for b.Loop() {
		l = Node(1, l, r)
	}
}

func BenchmarkLeaf(b *testing.B) {
	l, r := element(1), element(2)
	for b.Loop() {
		l = Leaf(r, l, r, r)
	}
}
