package circuits

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// testDepth keeps the tests fast; the production depth is exercised by the
// constraint-count test and the benchmarks.
const testDepth = 6

// Date codes used by the fixtures: days since 1970 plus 2^17.
const (
	birth2000  = schemas.DateOffset + 10957 // 2000-01-01
	today2026  = schemas.DateOffset + 20415 // 2025-11-23 (any fixed day works)
	expiry2030 = schemas.DateOffset + 21915 // 2030-01-01
)

func element(v uint64) fr.Element {
	var e fr.Element
	e.SetUint64(v)
	return e
}

func randomElement(t testing.TB) fr.Element {
	t.Helper()
	var e fr.Element
	if _, err := e.SetRandom(); err != nil {
		t.Fatal(err)
	}
	return e
}

func packAttributes(birth, expiry uint32, level, flags uint8) fr.Element {
	w, err := schemas.Pack(schemas.Predicates{Birth: birth, Expiry: expiry, Level: level, Flags: flags})
	if err != nil {
		panic(err) // fixtures are constants
	}
	return element(w)
}

// tree is a small in-memory 4-ary accumulator for tests, written
// independently of package revocation: levels count from the leaves (0) to
// the root (depth/2), and absent leaves are the empty value 0.
type tree struct {
	depth  int
	leaves map[uint64]fr.Element
}

func (tr *tree) levels() int { return tr.depth / zkhash.LevelBits }

func (tr *tree) node(level int, index uint64) fr.Element {
	if level == 0 {
		return tr.leaves[index]
	}
	if tr.empty(level, index) {
		return zkhash.EmptyRoots(level)[level]
	}
	var children [zkhash.Arity]fr.Element
	for i := range children {
		children[i] = tr.node(level-1, index*zkhash.Arity+uint64(i))
	}
	return zkhash.Node(level, children)
}

func (tr *tree) empty(level int, index uint64) bool {
	shift := uint(level * zkhash.LevelBits)
	lo, hi := index<<shift, (index+1)<<shift
	for i := range tr.leaves {
		if i >= lo && i < hi {
			return false
		}
	}
	return true
}

func (tr *tree) root() fr.Element { return tr.node(tr.levels(), 0) }

func (tr *tree) path(serial uint64) []fr.Element {
	out := make([]fr.Element, 0, tr.levels()*zkhash.SiblingsPerLevel)
	for l := range tr.levels() {
		index := serial >> uint(l*zkhash.LevelBits)
		first := index &^ (zkhash.Arity - 1)
		var children [zkhash.Arity]fr.Element
		for i := range children {
			children[i] = tr.node(l, first+uint64(i))
		}
		sib := zkhash.Siblings(children, index)
		out = append(out, sib[:]...)
	}
	return out
}

// fixture is a credential in a tree and a statement it satisfies.
type fixture struct {
	tree *tree
	cred Credential
	st   Statement
}

func newFixture(t testing.TB, depth int, flags uint8) *fixture {
	t.Helper()
	f := &fixture{tree: &tree{depth: depth, leaves: map[uint64]fr.Element{}}}
	f.cred = Credential{
		Attributes: packAttributes(birth2000, expiry2030, 3, flags),
		Identity:   randomElement(t),
		Secret:     randomElement(t),
		Serial:     5,
	}
	for _, other := range []uint64{0, 1, 4, 9} {
		f.tree.leaves[other] = randomElement(t)
	}
	f.tree.leaves[f.cred.Serial] = f.cred.Leaf()
	f.cred.Siblings = f.tree.path(f.cred.Serial)
	f.st = Statement{
		Root:          f.tree.root(),
		Today:         today2026,
		BornAfter:     0,
		BornBefore:    today2026 - 18*365 - 5, // about 18 years before today
		MinLevel:      2,
		RequiredFlags: 0,
		Scope:         element(1234),
		Nonce:         randomElement(t),
	}
	return f
}
