package zkhash

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/emmansun/gmsm/sm3"
)

// Round numbers of the permutations, shared with the circuit gadgets.
const (
	fullRounds2, partialRounds2 = 6, 50
	fullRounds3, partialRounds3 = 8, 56
	fullRounds4, partialRounds4 = 8, 56
)

// The accumulator is a 4-ary tree: each inner node hashes four children
// with the width-4 permutation, so a tree of depth d (2^d leaves) has d/2
// levels and a path carries three siblings a level.
const (
	// Arity is the number of children of an inner node.
	Arity = 4
	// LevelBits is the number of index bits one level consumes.
	LevelBits = 2
	// SiblingsPerLevel is the number of siblings a path carries a level.
	SiblingsPerLevel = Arity - 1
	// MaxDepth is the largest tree depth (index bits) this package supports.
	MaxDepth = 64
	// MaxLevels is the number of levels of a tree of depth MaxDepth.
	MaxLevels = MaxDepth / LevelBits
)

// Levels returns the number of levels of a tree of the given depth, which
// must be even and between LevelBits and MaxDepth.
func Levels(depth int) (int, error) {
	if depth < LevelBits || depth > MaxDepth || depth%LevelBits != 0 {
		return 0, fmt.Errorf("zkhash: tree depth %d must be even and between %d and %d", depth, LevelBits, MaxDepth)
	}
	return depth / LevelBits, nil
}

// PathLength returns the number of siblings of a path in a tree of the
// given depth (index bits): SiblingsPerLevel a level.
func PathLength(depth int) int { return depth / LevelBits * SiblingsPerLevel }

// Domain tag names. The leaf tag also names the schema.
const (
	tagHolder    = "holder"
	tagPseudonym = "pseudonym"
	tagLeafPfx   = "leaf:"
	tagNodePfx   = "node:"
)

// Tag returns the domain tag SM3("yinzheng:v1:" || name) mod r.
func Tag(name string) fr.Element {
	d := sm3.Sum([]byte("yinzheng:v1:" + name))
	var e fr.Element
	e.SetBytes(d[:])
	return e
}

// constants holds the permutations and tags, built once: permutations are
// read-only after construction and safe for concurrent use.
type constants struct {
	p2, p3, p4 *poseidon2.Permutation
	holder     fr.Element
	pseudonym  fr.Element
	node       [MaxLevels + 1]fr.Element
}

var shared = sync.OnceValue(func() *constants {
	c := &constants{
		p2:        poseidon2.NewPermutation(2, fullRounds2, partialRounds2),
		p3:        poseidon2.NewPermutation(3, fullRounds3, partialRounds3),
		p4:        poseidon2.NewPermutation(4, fullRounds4, partialRounds4),
		holder:    Tag(tagHolder),
		pseudonym: Tag(tagPseudonym),
	}
	for h := 1; h <= MaxLevels; h++ {
		c.node[h] = Tag(tagNodePfx + strconv.Itoa(h))
	}
	return c
})

// permute runs p on state and returns lane t-1 plus the last input lane.
func permute(p *poseidon2.Permutation, state []fr.Element) fr.Element {
	last := state[len(state)-1]
	if err := p.Permutation(state); err != nil {
		// Widths are fixed by this package; a mismatch is a programming error.
		panic(fmt.Sprintf("zkhash: %v", err))
	}
	var out fr.Element
	out.Add(&state[len(state)-1], &last)
	return out
}

// Compress is H_2(left, right), gnark's Poseidon2 compression.
func Compress(left, right fr.Element) fr.Element {
	st := [2]fr.Element{left, right}
	return permute(shared().p2, st[:])
}

// Node returns the inner node at level (1 … MaxLevels) over its four
// children, left to right: H_4(c_0, c_1, c_2, c_3) + Tag("node:" || level).
func Node(level int, children [Arity]fr.Element) fr.Element {
	tag := NodeTag(level)
	out := permute(shared().p4, children[:])
	out.Add(&out, &tag)
	return out
}

// NodeTag returns the tag added to inner nodes at the given level.
func NodeTag(level int) fr.Element {
	if level < 1 || level > MaxLevels {
		panic(fmt.Sprintf("zkhash: node level %d outside 1…%d", level, MaxLevels))
	}
	return shared().node[level]
}

// HolderCommitment returns H_2(Tag("holder"), secret).
func HolderCommitment(secret fr.Element) fr.Element {
	c := shared()
	st := [2]fr.Element{c.holder, secret}
	return permute(c.p2, st[:])
}

// Pseudonym returns H_3(Tag("pseudonym"), secret, scope).
func Pseudonym(secret, scope fr.Element) fr.Element {
	c := shared()
	st := [3]fr.Element{c.pseudonym, secret, scope}
	return permute(c.p3, st[:])
}

// LeafTag returns the leaf tag of a schema, Tag("leaf:" || schema).
func LeafTag(schema string) fr.Element { return Tag(tagLeafPfx + schema) }

// Leaf returns H_4(leafTag, attributes, holderCommitment, identity): the
// accumulator leaf of a zero-knowledge credential. attributes is the packed
// predicate word and identity the salted digest of the other attributes, both
// as the schema encodes them.
func Leaf(leafTag, attributes, holderCommitment, identity fr.Element) fr.Element {
	st := [4]fr.Element{leafTag, attributes, holderCommitment, identity}
	return permute(shared().p4, st[:])
}

// EmptyRoots returns the roots of empty subtrees: out[l] is the root of an
// empty subtree of level l (4^l empty leaves), for l = 0 … levels; out[0] is
// the empty leaf, zero.
func EmptyRoots(levels int) []fr.Element {
	if levels < 0 || levels > MaxLevels {
		panic(fmt.Sprintf("zkhash: %d levels outside 0…%d", levels, MaxLevels))
	}
	out := make([]fr.Element, levels+1)
	for l := 1; l <= levels; l++ {
		e := out[l-1]
		out[l] = Node(l, [Arity]fr.Element{e, e, e, e})
	}
	return out
}

// A path's siblings at one level are ordered so that the circuit places its
// node with three multiplications: first the other member of the node's own
// pair (position p XOR 1), then the other pair, left to right (positions
// (p AND 2) XOR 2, then that plus 1). The path is then exactly a binary path
// in which every second sibling is given as its two children.

// Children places node at position (0 … 3) among its siblings at one level,
// in the order a path carries them, and returns the four children left to
// right.
func Children(node fr.Element, position uint64, siblings [SiblingsPerLevel]fr.Element) [Arity]fr.Element {
	var out [Arity]fr.Element
	p := position & (Arity - 1)
	out[p], out[p^1] = node, siblings[0]
	other := (p & 2) ^ 2
	out[other], out[other+1] = siblings[1], siblings[2]
	return out
}

// Siblings returns the siblings of the child at position (0 … 3), in the
// order a path carries them: the inverse of Children.
func Siblings(children [Arity]fr.Element, position uint64) [SiblingsPerLevel]fr.Element {
	p := position & (Arity - 1)
	other := (p & 2) ^ 2
	return [SiblingsPerLevel]fr.Element{children[p^1], children[other], children[other+1]}
}

// RootFromPath folds a leaf up its authentication path. The path has
// SiblingsPerLevel siblings a level, bottom up, each level's in the order
// Children takes them; bits 2l and 2l+1 of index are the node's position at
// level l. Index bits beyond the tree's depth must be zero.
func RootFromPath(leaf fr.Element, index uint64, siblings []fr.Element) (fr.Element, error) {
	if len(siblings)%SiblingsPerLevel != 0 || len(siblings) > SiblingsPerLevel*MaxLevels {
		return fr.Element{}, fmt.Errorf("zkhash: a path has %d siblings a level and at most %d levels, got %d siblings",
			SiblingsPerLevel, MaxLevels, len(siblings))
	}
	levels := len(siblings) / SiblingsPerLevel
	depth := levels * LevelBits
	if depth < 64 && index>>uint(depth) != 0 {
		return fr.Element{}, fmt.Errorf("zkhash: index %d does not fit a tree of depth %d", index, depth)
	}
	cur := leaf
	for l := range levels {
		sib := [SiblingsPerLevel]fr.Element(siblings[l*SiblingsPerLevel : (l+1)*SiblingsPerLevel])
		cur = Node(l+1, Children(cur, index>>uint(l*LevelBits), sib))
	}
	return cur, nil
}
