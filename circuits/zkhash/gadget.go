package zkhash

import (
	"errors"

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

// Node returns the inner node at height (1 … MaxDepth) over its children.
func (h *Hasher) Node(height int, left, right frontend.Variable) frontend.Variable {
	return h.api.Add(h.Compress(left, right), NodeTag(height))
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
