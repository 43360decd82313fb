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

// MaxDepth is the largest tree depth this package precomputes tags for.
const MaxDepth = 64

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
	node       [MaxDepth + 1]fr.Element
}

var shared = sync.OnceValue(func() *constants {
	c := &constants{
		p2:        poseidon2.NewPermutation(2, fullRounds2, partialRounds2),
		p3:        poseidon2.NewPermutation(3, fullRounds3, partialRounds3),
		p4:        poseidon2.NewPermutation(4, fullRounds4, partialRounds4),
		holder:    Tag(tagHolder),
		pseudonym: Tag(tagPseudonym),
	}
	for h := 1; h <= MaxDepth; h++ {
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

// Node returns the inner node at height (1 … MaxDepth) over its two children.
func Node(height int, left, right fr.Element) fr.Element {
	c := shared()
	if height < 1 || height > MaxDepth {
		panic(fmt.Sprintf("zkhash: node height %d outside 1…%d", height, MaxDepth))
	}
	st := [2]fr.Element{left, right}
	out := permute(c.p2, st[:])
	out.Add(&out, &c.node[height])
	return out
}

// NodeTag returns the tag added to inner nodes at the given height.
func NodeTag(height int) fr.Element {
	if height < 1 || height > MaxDepth {
		panic(fmt.Sprintf("zkhash: node height %d outside 1…%d", height, MaxDepth))
	}
	return shared().node[height]
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

// EmptyRoots returns the roots of empty subtrees: out[h] is the root of an
// empty subtree of height h, for h = 0 … depth (out[0] is the empty leaf).
func EmptyRoots(depth int) []fr.Element {
	if depth < 0 || depth > MaxDepth {
		panic(fmt.Sprintf("zkhash: depth %d outside 0…%d", depth, MaxDepth))
	}
	out := make([]fr.Element, depth+1)
	for h := 1; h <= depth; h++ {
		out[h] = Node(h, out[h-1], out[h-1])
	}
	return out
}

// RootFromPath folds a leaf up its authentication path. siblings[i] is the
// sibling at height i; bit i of index says whether the node at height i is a
// right child. Index bits at or above len(siblings) must be zero.
func RootFromPath(leaf fr.Element, index uint64, siblings []fr.Element) (fr.Element, error) {
	depth := len(siblings)
	if depth > MaxDepth {
		return fr.Element{}, fmt.Errorf("zkhash: path of %d siblings is longer than %d", depth, MaxDepth)
	}
	if depth < 64 && index>>uint(depth) != 0 {
		return fr.Element{}, fmt.Errorf("zkhash: index %d does not fit a tree of depth %d", index, depth)
	}
	cur := leaf
	for h := 0; h < depth; h++ {
		if index>>uint(h)&1 == 1 {
			cur = Node(h+1, siblings[h], cur)
		} else {
			cur = Node(h+1, cur, siblings[h])
		}
	}
	return cur, nil
}
