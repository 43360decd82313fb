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
	Siblings                              [2 * SiblingsPerLevel]frontend.Variable
	IndexBits                             [2 * LevelBits]frontend.Variable
}

func (c *allHashes) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(c.A, c.B), c.WantCompress)
	api.AssertIsEqual(h.Node(7, [Arity]frontend.Variable{c.A, c.B, c.C, c.D}), c.WantNode)
	api.AssertIsEqual(h.HolderCommitment(c.A), c.WantHolder)
	api.AssertIsEqual(h.Pseudonym(c.A, c.B), c.WantPseudonym)
	api.AssertIsEqual(h.Leaf(c.A, c.B, c.C, c.D), c.WantLeaf)
	root, err := h.PathRoot(c.A, c.IndexBits[:], c.Siblings[:])
	if err != nil {
		return err
	}
	api.AssertIsEqual(root, c.WantPathRoot)
	return nil
}

func element(v uint64) fr.Element { var e fr.Element; e.SetUint64(v); return e }

func randomElements(t *testing.T, n int) []fr.Element {
	t.Helper()
	out := make([]fr.Element, n)
	for i := range out {
		if _, err := out[i].SetRandom(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestNativeMatchesCircuit recomputes every hash in-circuit, the path for
// every position at both levels of a two-level tree.
func TestNativeMatchesCircuit(t *testing.T) {
	for index := range uint64(16) {
		testNativeMatchesCircuit(t, index)
	}
}

func testNativeMatchesCircuit(t *testing.T, index uint64) {
	r := randomElements(t, 4+2*SiblingsPerLevel)
	a, b, c, d := r[0], r[1], r[2], r[3]
	sib := r[4:]
	root, err := RootFromPath(a, index, sib)
	if err != nil {
		t.Fatal(err)
	}
	good := &allHashes{
		A: a, B: b, C: c, D: d,
		WantCompress: Compress(a, b), WantNode: Node(7, [Arity]fr.Element{a, b, c, d}), WantHolder: HolderCommitment(a),
		WantPseudonym: Pseudonym(a, b), WantLeaf: Leaf(a, b, c, d), WantPathRoot: root,
	}
	for i := range sib {
		good.Siblings[i] = sib[i]
	}
	for i := range good.IndexBits {
		good.IndexBits[i] = index >> uint(i) & 1
	}
	if index != 5 {
		if err := test.IsSolved(&allHashes{}, good, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("index %d: %v", index, err)
		}
		return
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
	// A direction that is not a bit, and a path whose siblings are swapped.
	good.IndexBits[1] = 2
	if test.IsSolved(&allHashes{}, good, ecc.BN254.ScalarField()) == nil {
		t.Error("a direction of 2 was accepted")
	}
	good.IndexBits[1] = 0
	good.Siblings[1], good.Siblings[2] = good.Siblings[2], good.Siblings[1]
	if test.IsSolved(&allHashes{}, good, ecc.BN254.ScalarField()) == nil {
		t.Error("swapped siblings were accepted")
	}
}

func TestDomainSeparation(t *testing.T) {
	s := element(5)
	hc := HolderCommitment(s)
	// A verifier choosing scope = the holder tag must not learn the commitment.
	if p := Pseudonym(s, Tag(tagHolder)); p.Equal(&hc) {
		t.Fatal("pseudonym collides with the holder commitment")
	}
	four := [Arity]fr.Element{s, s, s, s}
	if Node(1, four) == Node(2, four) {
		t.Fatal("inner nodes at different levels are not separated")
	}
	tag := Tag("leaf:x")
	l := Leaf(tag, s, s, s)
	if n := Node(1, [Arity]fr.Element{tag, s, s, s}); n.Equal(&l) {
		t.Fatal("leaf equals node over the same inputs")
	}
}

func TestChildrenAndSiblingsAreInverse(t *testing.T) {
	r := randomElements(t, Arity)
	for p := range uint64(Arity) {
		sib := Siblings([Arity]fr.Element(r), p)
		if got := Children(r[p], p, sib); got != [Arity]fr.Element(r) {
			t.Fatalf("position %d: Children(Siblings) does not give the children back", p)
		}
	}
	// The documented order: own pair first, then the other pair.
	c := [Arity]fr.Element{element(10), element(11), element(12), element(13)}
	if got, want := Siblings(c, 2), [SiblingsPerLevel]fr.Element{c[3], c[0], c[1]}; got != want {
		t.Fatalf("siblings of position 2: %v, want %v", got, want)
	}
}

func TestRootFromPathRejectsBadInput(t *testing.T) {
	if _, err := RootFromPath(element(1), 16, make([]fr.Element, 2*SiblingsPerLevel)); err == nil {
		t.Fatal("an index wider than the tree was accepted")
	}
	if _, err := RootFromPath(element(1), 0, make([]fr.Element, SiblingsPerLevel*(MaxLevels+1))); err == nil {
		t.Fatal("an over-long path was accepted")
	}
	if _, err := RootFromPath(element(1), 0, make([]fr.Element, 4)); err == nil {
		t.Fatal("a path with a partial level was accepted")
	}
}

func TestLevels(t *testing.T) {
	if l, err := Levels(32); err != nil || l != 16 {
		t.Fatalf("Levels(32) = %d, %v", l, err)
	}
	for _, d := range []int{0, 1, 31, MaxDepth + 2} {
		if _, err := Levels(d); err == nil {
			t.Errorf("depth %d accepted", d)
		}
	}
}

func TestEmptyRoots(t *testing.T) {
	e := EmptyRoots(4)
	if !e[0].IsZero() {
		t.Fatal("empty leaf is not zero")
	}
	for l := 1; l <= 4; l++ {
		if want := Node(l, [Arity]fr.Element{e[l-1], e[l-1], e[l-1], e[l-1]}); !want.Equal(&e[l]) {
			t.Fatalf("empty root at level %d", l)
		}
	}
}

func BenchmarkNode(b *testing.B) {
	l, r := element(1), element(2)
	for b.Loop() {
		l = Node(1, [Arity]fr.Element{l, r, r, r})
	}
}

func BenchmarkLeaf(b *testing.B) {
	l, r := element(1), element(2)
	for b.Loop() {
		l = Leaf(r, l, r, r)
	}
}
