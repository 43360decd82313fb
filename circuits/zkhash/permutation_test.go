package zkhash

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	poseidon2bn254 "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

// fullPermutation exposes the whole output state of one permutation, so that
// every lane is compared, not only the lane the hashes keep.
type fullPermutation struct {
	width, full, partial int
	In, Out              []frontend.Variable
}

func (c *fullPermutation) Define(api frontend.API) error {
	state := append([]frontend.Variable(nil), c.In...)
	newPermutation(api, c.width, c.full, c.partial).permute(state)
	for i := range state {
		api.AssertIsEqual(state[i], c.Out[i])
	}
	return nil
}

// TestPermutationMatchesGnarkCrypto checks the in-circuit permutation lane by
// lane against gnark-crypto's native one, for every width this package uses,
// on both backends (the width-2 path folds round keys differently for PLONK).
func TestPermutationMatchesGnarkCrypto(t *testing.T) {
	for _, w := range []struct{ width, full, partial int }{
		{2, fullRounds2, partialRounds2},
		{3, fullRounds3, partialRounds3},
		{4, fullRounds4, partialRounds4},
	} {
		in := make([]fr.Element, w.width)
		for i := range in {
			if _, err := in[i].SetRandom(); err != nil {
				t.Fatal(err)
			}
		}
		out := append([]fr.Element(nil), in...)
		if err := poseidon2bn254.NewPermutation(w.width, w.full, w.partial).Permutation(out); err != nil {
			t.Fatal(err)
		}
		blank := func() *fullPermutation {
			return &fullPermutation{width: w.width, full: w.full, partial: w.partial,
				In: make([]frontend.Variable, w.width), Out: make([]frontend.Variable, w.width)}
		}
		good := blank()
		for i := range in {
			good.In[i], good.Out[i] = in[i], out[i]
		}
		test.NewAssert(t).CheckCircuit(blank(), test.WithValidAssignment(good),
			test.WithCurves(ecc.BN254), test.WithBackends(backend.GROTH16, backend.PLONK))
		for lane := range out {
			bad := blank()
			copy(bad.In, good.In)
			copy(bad.Out, good.Out)
			v := out[lane]
			var one fr.Element
			one.SetOne()
			v.Add(&v, &one)
			bad.Out[lane] = v
			if err := test.IsSolved(blank(), bad, ecc.BN254.ScalarField()); err == nil {
				t.Errorf("width %d: a wrong lane %d was accepted", w.width, lane)
			}
		}
	}
}
