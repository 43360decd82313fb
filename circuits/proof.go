package circuits

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
)

// Proof encoding: a version byte, then the three Groth16 points compressed
// (A and C in G1, B in G2). The length is fixed, so it is checked before any
// point is decoded.
const (
	proofVersion = 1
	// ProofSize is the length of an encoded proof.
	ProofSize = 1 + bn254.SizeOfG1AffineCompressed*2 + bn254.SizeOfG2AffineCompressed
)

// Proof is a Groth16 proof of the presentation circuit.
type Proof struct {
	p groth16bn254.Proof
}

// MarshalBinary encodes the proof in ProofSize bytes.
func (p *Proof) MarshalBinary() ([]byte, error) {
	if len(p.p.Commitments) != 0 {
		return nil, fmt.Errorf("%w: unexpected commitments", ErrProofEncoding)
	}
	out := make([]byte, 0, ProofSize)
	out = append(out, proofVersion)
	ar, bs, krs := p.p.Ar.Bytes(), p.p.Bs.Bytes(), p.p.Krs.Bytes()
	out = append(out, ar[:]...)
	out = append(out, bs[:]...)
	out = append(out, krs[:]...)
	return out, nil
}

// UnmarshalBinary decodes a proof, checking its length and version before
// decoding, and that every point is on the curve and in its subgroup.
func (p *Proof) UnmarshalBinary(data []byte) error {
	if len(data) != ProofSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrProofEncoding, len(data), ProofSize)
	}
	if data[0] != proofVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrProofEncoding, data[0], proofVersion)
	}
	var q groth16bn254.Proof
	rest := data[1:]
	if _, err := q.Ar.SetBytes(rest[:bn254.SizeOfG1AffineCompressed]); err != nil {
		return fmt.Errorf("%w: point A: %v", ErrProofEncoding, err)
	}
	rest = rest[bn254.SizeOfG1AffineCompressed:]
	if _, err := q.Bs.SetBytes(rest[:bn254.SizeOfG2AffineCompressed]); err != nil {
		return fmt.Errorf("%w: point B: %v", ErrProofEncoding, err)
	}
	rest = rest[bn254.SizeOfG2AffineCompressed:]
	if _, err := q.Krs.SetBytes(rest); err != nil {
		return fmt.Errorf("%w: point C: %v", ErrProofEncoding, err)
	}
	p.p = q
	return nil
}

// Prove proves statement s with credential c. It checks natively first, so
// a credential that cannot satisfy the statement gets an error naming why
// (ErrBirthDate, ErrNotInTree, …) instead of a failed proof. It returns the
// proof and the pseudonym the proof commits to.
func (k *Keys) Prove(s *Statement, c *Credential) (*Proof, fr.Element, error) {
	if k.PK == nil {
		return nil, fr.Element{}, fmt.Errorf("circuits: keys loaded without a proving key")
	}
	assignment, pseudonym, err := Assign(k.Compiled.Depth, s, c)
	if err != nil {
		return nil, fr.Element{}, err
	}
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("circuits: witness: %w", err)
	}
	proof, err := groth16.Prove(k.Compiled.CS, k.PK, w)
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("circuits: prove: %w", err)
	}
	p, ok := proof.(*groth16bn254.Proof)
	if !ok {
		return nil, fr.Element{}, fmt.Errorf("circuits: prover returned %T", proof)
	}
	return &Proof{p: *p}, pseudonym, nil
}

// Verify checks that proof proves statement s with the given pseudonym. The
// statement must come from the verifier's own request and trusted root.
func (k *Keys) Verify(s *Statement, pseudonym fr.Element, proof *Proof) error {
	if err := s.Check(); err != nil {
		return err
	}
	assignment := publicAssignment(k.Manifest.Depth, s, pseudonym)
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return fmt.Errorf("circuits: public witness: %w", err)
	}
	if err := groth16.Verify(&proof.p, k.VK, w); err != nil {
		return fmt.Errorf("%w: %v", ErrVerification, err)
	}
	return nil
}
