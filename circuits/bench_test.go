package circuits

import (
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
)

// productionKeys loads the production depth's development keys from the
// cache that the demo, `yinzheng bench circuit` and the other packages'
// tests share, and sets them up there only when missing: the setup at depth
// 32 takes half a minute, which `make bench` used to spend on every run.
var productionKeys = sync.OnceValues(func() (*Keys, error) {
	c, err := Compile(ProductionDepth)
	if err != nil {
		return nil, err
	}
	dir, err := DevelopmentKeysDir(ProductionDepth)
	if err != nil {
		return nil, err
	}
	return LoadOrSetupDevelopment(dir, c, nil)
})

func benchFixture(b *testing.B) (*Keys, *fixture) {
	b.Helper()
	k, err := productionKeys()
	if err != nil {
		b.Fatal(err)
	}
	return k, newFixture(b, ProductionDepth, 0)
}

// BenchmarkWitness measures what the holder does before proving: native
// checks (leaf, root, pseudonym) and the witness vector.
func BenchmarkWitness(b *testing.B) {
	_, f := benchFixture(b)
	for b.Loop() {
		a, _, err := Assign(ProductionDepth, &f.st, &f.cred)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := frontend.NewWitness(a, ecc.BN254.ScalarField()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProve measures one Groth16 proof of the production circuit.
func BenchmarkProve(b *testing.B) {
	k, f := benchFixture(b)
	for b.Loop() {
		if _, _, err := k.Prove(&f.st, &f.cred); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures decoding and verifying one proof.
func BenchmarkVerify(b *testing.B) {
	k, f := benchFixture(b)
	proof, pseudonym, err := k.Prove(&f.st, &f.cred)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := proof.MarshalBinary()
	for b.Loop() {
		var p Proof
		if err := p.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
		if err := k.Verify(&f.st, pseudonym, &p); err != nil {
			b.Fatal(err)
		}
	}
}
