package zkhash

// This file adapts the BN254 Poseidon2 permutation of gnark's
// std/permutation/poseidon2 (v0.16.3, Apache License 2.0, © ConsenSys
// Software Inc.): the same rounds, matrices and round keys (taken from
// gnark-crypto's poseidon2.NewParameters), so it computes exactly the
// permutation gnark-crypto computes natively, which the tests check on
// random inputs for every width. One thing differs: the order of the three
// multiplications of the x⁵ S-box.
//
// gnark evaluates x⁵ as x² = x·x, x⁴ = x²·x², x⁵ = x⁴·x, and its R1CS builder
// puts the operand with fewer terms on the right. x is a linear combination,
// so x⁴ lands in the right-hand (B) matrix, and so does x². Every S-box then
// adds three wires to B, and every B wire costs the Groth16 prover a G1 and a
// G2 point in its multi-exponentiations. Evaluating x² = x·x, x³ = x·x²,
// x⁵ = x³·x² leaves x³ out of B: the same three constraints, a third fewer
// B wires, and a proof about 10% faster.

import (
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	poseidon2bn254 "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark/frontend"
)

// permutation is the in-circuit Poseidon2 permutation of one width.
type permutation struct {
	api                         frontend.API
	width, fullRounds, partials int
	roundKeys                   [][]*big.Int
	diag                        []*big.Int // internal matrix diagonal minus one, width ≥ 4
}

func newPermutation(api frontend.API, width, fullRounds, partialRounds int) *permutation {
	p := poseidon2bn254.NewParameters(width, fullRounds, partialRounds)
	toBig := func(es []fr.Element) []*big.Int {
		out := make([]*big.Int, len(es))
		for i := range es {
			out[i] = es[i].BigInt(new(big.Int))
		}
		return out
	}
	keys := make([][]*big.Int, len(p.RoundKeys))
	for i := range keys {
		keys[i] = toBig(p.RoundKeys[i])
	}
	return &permutation{
		api: api, width: width, fullRounds: fullRounds, partials: partialRounds,
		roundKeys: keys, diag: toBig(p.DiagM1),
	}
}

// sBox raises state[i] to the fifth power in three constraints, keeping x³
// out of the B matrix (see the file comment).
func (h *permutation) sBox(state []frontend.Variable, i int) {
	x := state[i]
	x2 := h.api.Mul(x, x)
	x3 := h.api.Mul(x, x2)
	state[i] = h.api.Mul(x3, x2)
}

func (h *permutation) addRoundKey(round int, state []frontend.Variable) {
	for i, k := range h.roundKeys[round] {
		state[i] = h.api.Add(state[i], k)
	}
}

// matMulM4 multiplies each chunk of four by the matrix M4 of the Poseidon2
// paper (appendix B), with its addition chain.
func (h *permutation) matMulM4(s []frontend.Variable) {
	api := h.api
	for i := 0; i+4 <= len(s); i += 4 {
		t0 := api.Add(s[i], s[i+1])
		t1 := api.Add(s[i+2], s[i+3])
		t2 := api.Add(api.Mul(s[i+1], 2), t1)
		t3 := api.Add(api.Mul(s[i+3], 2), t0)
		t4 := api.Add(api.Mul(t1, 4), t3)
		t5 := api.Add(api.Mul(t0, 4), t2)
		s[i], s[i+1], s[i+2], s[i+3] = api.Add(t3, t5), t5, api.Add(t2, t4), t4
	}
}

func (h *permutation) matMulExternal(s []frontend.Variable) {
	api := h.api
	switch h.width {
	case 2:
		sum := api.Add(s[0], s[1])
		s[0], s[1] = api.Add(sum, s[0]), api.Add(sum, s[1])
	case 3:
		sum := api.Add(s[0], s[1], s[2])
		s[0], s[1], s[2] = api.Add(s[0], sum), api.Add(s[1], sum), api.Add(s[2], sum)
	case 4:
		h.matMulM4(s)
	default:
		panic("zkhash: unsupported Poseidon2 width") // widths are fixed by this package
	}
}

func (h *permutation) matMulInternal(s []frontend.Variable) {
	api := h.api
	switch h.width {
	case 2:
		sum := api.Add(s[0], s[1])
		s[0], s[1] = api.Add(s[0], sum), api.Add(api.Mul(s[1], 2), sum)
	case 3:
		sum := api.Add(s[0], s[1], s[2])
		s[0], s[1], s[2] = api.Add(s[0], sum), api.Add(s[1], sum), api.Add(api.Mul(s[2], 2), sum)
	default:
		sum := api.Add(s[0], s[1], s[2:]...)
		for i := range s {
			s[i] = api.Add(api.Mul(s[i], h.diag[i]), sum)
		}
	}
}

// permute applies the permutation to state in place.
func (h *permutation) permute(state []frontend.Variable) {
	if len(state) != h.width {
		panic("zkhash: wrong Poseidon2 state width") // widths are fixed by this package
	}
	if h.width == 2 {
		h.permute2(state)
		return
	}
	h.matMulExternal(state)
	half := h.fullRounds / 2
	round := 0
	full := func() {
		h.addRoundKey(round, state)
		for i := range state {
			h.sBox(state, i)
		}
		h.matMulExternal(state)
		round++
	}
	for range half {
		full()
	}
	for range h.partials {
		h.addRoundKey(round, state)
		h.sBox(state, 0)
		h.matMulInternal(state)
		round++
	}
	for range half {
		full()
	}
}

// permute2 is the width-2 permutation with each round key folded into the
// linear layer before it, as gnark does: the same R1CS, and fewer PLONK
// gates, since a PLONK gate adds a constant for free but an addition of its
// own costs a gate.
func (h *permutation) permute2(s []frontend.Variable) {
	api := h.api
	// linear multiplies by [[2, 1], [1, d]] (d = 2 external, 3 internal)
	// and adds the next round's keys: two for a full round, one (lane 0)
	// for a partial round, none after the last round.
	linear := func(d int, keys []*big.Int) {
		a, b := s[0], s[1]
		lane0 := []frontend.Variable{api.Mul(a, 2), b}
		lane1 := []frontend.Variable{a, api.Mul(b, d)}
		for i, k := range keys {
			if i == 0 {
				lane0 = append(lane0, k)
			} else {
				lane1 = append(lane1, k)
			}
		}
		s[0] = api.Add(lane0[0], lane0[1], lane0[2:]...)
		s[1] = api.Add(lane1[0], lane1[1], lane1[2:]...)
	}
	half, last := h.fullRounds/2, h.fullRounds+h.partials-1
	linear(2, h.roundKeys[0])
	for round := 0; round <= last; round++ {
		full := round < half || round >= half+h.partials
		h.sBox(s, 0)
		d := 3
		if full {
			h.sBox(s, 1)
			d = 2
		}
		var next []*big.Int
		if round < last {
			next = h.roundKeys[round+1]
		}
		linear(d, next)
	}
}
