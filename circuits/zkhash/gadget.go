package zkhash

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
)

// Hasher computes this package's hashes inside a gnark circuit.
type Hasher struct {
	api        frontend.API
	p2, p3, p4 *permutation
	c          *constants
}

// NewHasher returns a Hasher for api (BN254 only).
func NewHasher(api frontend.API) (*Hasher, error) {
	if api.Compiler().Field().Cmp(fr.Modulus()) != 0 {
		return nil, errors.New("zkhash: circuits must be over the BN254 scalar field")
	}
	return &Hasher{
		api: api,
		p2:  newPermutation(api, 2, fullRounds2, partialRounds2),
		p3:  newPermutation(api, 3, fullRounds3, partialRounds3),
		p4:  newPermutation(api, 4, fullRounds4, partialRounds4),
		c:   shared(),
	}, nil
}

func (h *Hasher) permute(p *permutation, state []frontend.Variable) frontend.Variable {
	last := state[len(state)-1]
	p.permute(state)
	return h.api.Add(state[len(state)-1], last)
}

// Compress is H_2(left, right).
func (h *Hasher) Compress(left, right frontend.Variable) frontend.Variable {
	return h.permute(h.p2, []frontend.Variable{left, right})
}

// Node returns the inner node at level (1 … MaxLevels) over its four
// children, left to right.
func (h *Hasher) Node(level int, children [Arity]frontend.Variable) frontend.Variable {
	return h.api.Add(h.permute(h.p4, children[:]), NodeTag(level))
}

// PathRoot folds leaf up a path of len(siblings)/SiblingsPerLevel levels,
// as RootFromPath does: directions holds the index bits, low first
// (LevelBits a level), siblings SiblingsPerLevel a level in the order
// Children takes them. It constrains every direction to be a bit. Placing the
// node among its siblings costs three multiplications a level: a conditional
// swap within the node's pair, then one that swaps the two pairs.
func (h *Hasher) PathRoot(leaf frontend.Variable, directions, siblings []frontend.Variable) (frontend.Variable, error) {
	levels := len(siblings) / SiblingsPerLevel
	if len(siblings)%SiblingsPerLevel != 0 || len(directions) != levels*LevelBits || levels > MaxLevels {
		return nil, fmt.Errorf("zkhash: path of %d directions and %d siblings (want %d directions and %d siblings a level, at most %d levels)",
			len(directions), len(siblings), LevelBits, SiblingsPerLevel, MaxLevels)
	}
	api := h.api
	// swap returns (a, b), or (b, a) when bit is 1, with one multiplication.
	swap := func(bit, a, b frontend.Variable) (frontend.Variable, frontend.Variable) {
		d := api.Mul(bit, api.Sub(b, a))
		return api.Add(a, d), api.Sub(b, d)
	}
	node := leaf
	for l := range levels {
		low, high := directions[l*LevelBits], directions[l*LevelBits+1]
		api.AssertIsBoolean(low)
		api.AssertIsBoolean(high)
		sib := siblings[l*SiblingsPerLevel : (l+1)*SiblingsPerLevel]
		left, right := swap(low, node, sib[0])
		c0, c2 := swap(high, left, sib[1])
		c1, c3 := swap(high, right, sib[2])
		node = h.Node(l+1, [Arity]frontend.Variable{c0, c1, c2, c3})
	}
	return node, nil
}

// HolderCommitment returns H_2(Tag("holder"), secret).
func (h *Hasher) HolderCommitment(secret frontend.Variable) frontend.Variable {
	return h.permute(h.p2, []frontend.Variable{h.c.holder, secret})
}

// Pseudonym returns H_3(Tag("pseudonym"), secret, scope).
func (h *Hasher) Pseudonym(secret, scope frontend.Variable) frontend.Variable {
	return h.permute(h.p3, []frontend.Variable{h.c.pseudonym, secret, scope})
}

// Leaf returns H_4(leafTag, attributes, holderCommitment, identity).
func (h *Hasher) Leaf(leafTag, attributes, holderCommitment, identity frontend.Variable) frontend.Variable {
	return h.permute(h.p4, []frontend.Variable{leafTag, attributes, holderCommitment, identity})
}
