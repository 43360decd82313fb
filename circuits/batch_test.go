package circuits

import (
	"errors"
	"slices"
	"sync"
	"testing"

	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

const batchTestSize = 5

// batchItems proves batchTestSize presentations (distinct credentials,
// trees and nonces) once per test binary; tests copy before changing them.
var batchItems = sync.OnceValues(func() ([]BatchItem, error) {
	k, err := testKeys()
	if err != nil {
		return nil, err
	}
	items := make([]BatchItem, batchTestSize)
	for i := range items {
		f := newFixture(&testing.T{}, testDepth, 0)
		proof, pseudonym, err := k.Prove(&f.st, &f.cred)
		if err != nil {
			return nil, err
		}
		st := f.st
		items[i] = BatchItem{Statement: &st, Pseudonym: pseudonym, Proof: proof}
	}
	return items, nil
})

// freshBatch returns deep copies of the valid batch, its proofs and its
// public witnesses.
func freshBatch(t *testing.T) (*Keys, []BatchItem, []*Proof, []fr.Vector) {
	t.Helper()
	k := keysForTest(t)
	shared, err := batchItems()
	if err != nil {
		t.Fatal(err)
	}
	items := make([]BatchItem, len(shared))
	proofs := make([]*Proof, len(shared))
	publics := make([]fr.Vector, len(shared))
	for i, it := range shared {
		st, p := *it.Statement, *it.Proof
		items[i] = BatchItem{Statement: &st, Pseudonym: it.Pseudonym, Proof: &p}
		q := p
		proofs[i] = &q
		publics[i], err = publicVector(testDepth, &st, it.Pseudonym)
		if err != nil {
			t.Fatal(err)
		}
	}
	return k, items, proofs, publics
}

// wantBad checks that err is a *BatchError naming exactly the indexes bad,
// each wrapping want.
func wantBad(t *testing.T, err error, want error, bad ...int) {
	t.Helper()
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BatchError naming %v", err, bad)
	}
	if !errors.Is(err, ErrBatch) || !errors.Is(err, want) {
		t.Fatalf("err = %v, want ErrBatch and %v", err, want)
	}
	if !slices.Equal(be.Bad, bad) {
		t.Fatalf("bad proofs %v, want %v (%v)", be.Bad, bad, err)
	}
	for i, e := range be.Errs {
		if isBad := slices.Contains(bad, i); isBad != (e != nil) {
			t.Fatalf("Errs[%d] = %v, bad = %v", i, e, isBad)
		} else if isBad && !errors.Is(e, want) {
			t.Fatalf("Errs[%d] = %v, want %v", i, e, want)
		}
	}
}

func TestVerifyBatchAcceptsValidProofs(t *testing.T) {
	k, items, proofs, publics := freshBatch(t)
	if err := k.VerifyBatch(items); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	if err := VerifyBatch(k.VK, proofs, publics); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	// The batch equation itself holds: a valid batch does not pass only
	// through the one-by-one fallback.
	idx := []int{0, 1, 2, 3, 4}
	if !batchHolds(k.VK.(*groth16bn254.VerifyingKey), proofs, publics, idx, randomWeights) {
		t.Fatal("batch equation fails on valid proofs")
	}
	if err := k.VerifyBatch(items[:1]); err != nil {
		t.Fatalf("batch of one refused: %v", err)
	}
}

// TestVerifyBatchEachPublicInput changes each public input in turn, on one
// proof of the batch (a different position each time): the batch must name
// that proof and only it.
func TestVerifyBatchEachPublicInput(t *testing.T) {
	k, _, proofs, publics := freshBatch(t)
	var one fr.Element
	one.SetOne()
	for j := range publics[0] {
		at := j % len(proofs)
		changed := slices.Clone(publics)
		changed[at] = slices.Clone(publics[at])
		changed[at][j].Add(&changed[at][j], &one)
		wantBad(t, VerifyBatch(k.VK, proofs, changed), ErrVerification, at)
	}

	// The same through the statement, field by field.
	cases := []struct {
		name   string
		mutate func(it *BatchItem)
	}{
		{"root", func(it *BatchItem) { it.Statement.Root = element(3) }},
		{"today", func(it *BatchItem) { it.Statement.Today-- }},
		{"born_after", func(it *BatchItem) { it.Statement.BornAfter++ }},
		{"born_before", func(it *BatchItem) { it.Statement.BornBefore++ }},
		{"min_level", func(it *BatchItem) { it.Statement.MinLevel-- }},
		{"required_flags", func(it *BatchItem) { it.Statement.RequiredFlags = FlagGuardianConsent }},
		{"scope", func(it *BatchItem) { it.Statement.Scope = element(4321) }},
		{"nonce", func(it *BatchItem) { it.Statement.Nonce = element(77) }},
		{"pseudonym", func(it *BatchItem) { it.Pseudonym = element(5) }},
	}
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, items, _, _ := freshBatch(t)
			at := n % len(items)
			tc.mutate(&items[at])
			wantBad(t, k.VerifyBatch(items), ErrVerification, at)
		})
	}
}

// TestVerifyBatchEachProofPoint replaces each point of one proof by the
// same point of another valid proof.
func TestVerifyBatchEachProofPoint(t *testing.T) {
	for _, point := range []string{"A", "B", "C"} {
		t.Run(point, func(t *testing.T) {
			k, _, proofs, publics := freshBatch(t)
			const at, from = 2, 0
			switch point {
			case "A":
				proofs[at].p.Ar = proofs[from].p.Ar
			case "B":
				proofs[at].p.Bs = proofs[from].p.Bs
			case "C":
				proofs[at].p.Krs = proofs[from].p.Krs
			}
			wantBad(t, VerifyBatch(k.VK, proofs, publics), ErrVerification, at)
		})
	}
	t.Run("swapped proofs", func(t *testing.T) {
		k, _, proofs, publics := freshBatch(t)
		proofs[1], proofs[3] = proofs[3], proofs[1]
		wantBad(t, VerifyBatch(k.VK, proofs, publics), ErrVerification, 1, 3)
	})
}

// TestVerifyBatchOtherCircuit puts a valid proof of another circuit (depth
// 4, its own keys) in the batch.
func TestVerifyBatchOtherCircuit(t *testing.T) {
	c, err := Compile(4)
	if err != nil {
		t.Fatal(err)
	}
	other, err := DevelopmentSetup(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, 4, 0)
	proof, pseudonym := proveFixture(t, other, f)
	if err := other.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatalf("the other circuit's proof does not verify under its own keys: %v", err)
	}
	k, items, _, _ := freshBatch(t)
	const at = 3
	items[at] = BatchItem{Statement: &f.st, Pseudonym: pseudonym, Proof: proof}
	wantBad(t, k.VerifyBatch(items), ErrVerification, at)
}

// notInG2 returns a point on the G2 curve outside the prime-order subgroup.
func notInG2(t *testing.T) bn254.G2Affine {
	t.Helper()
	var u bn254.E2
	u.A0.SetUint64(5)
	u.A1.SetUint64(7)
	p := bn254.MapToCurve2(&u) // the map without cofactor clearing
	if !p.IsOnCurve() || p.IsInSubGroup() {
		t.Fatal("test point is not a point of the curve outside G2")
	}
	return p
}

func TestVerifyBatchRefusesPointsOutsideTheGroups(t *testing.T) {
	k, _, proofs, publics := freshBatch(t)
	proofs[1].p.Bs = notInG2(t)
	proofs[3].p.Ar.Y.Add(&proofs[3].p.Ar.Y, &proofs[3].p.Ar.X) // off the curve
	proofs[4].p.Krs.X.Double(&proofs[4].p.Krs.X)               // off the curve
	wantBad(t, VerifyBatch(k.VK, proofs, publics), ErrProofEncoding, 1, 3, 4)

	// Decoding refuses the same point: B is checked when decoded.
	_, _, valid, _ := freshBatch(t)
	enc, err := valid[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := notInG2(t)
	bb := b.Bytes()
	copy(enc[1+bn254.SizeOfG1AffineCompressed:], bb[:])
	var p Proof
	if err := p.UnmarshalBinary(enc); !errors.Is(err, ErrProofEncoding) {
		t.Fatalf("proof with B outside G2 decoded (err = %v)", err)
	}
}

// TestVerifyBatchWeightsAreRandom shifts C of proof 1 by +P and C of proof
// 3 by −P, and a public input of proof 0 by +1 and of proof 4 by −1. With
// every weight 1 the errors cancel and the batch equation holds; with the
// random weights the batch names all four proofs.
func TestVerifyBatchWeightsAreRandom(t *testing.T) {
	k, _, proofs, publics := freshBatch(t)
	_, _, g1, _ := bn254.Generators()
	var plus, minus bn254.G1Affine
	plus.Add(&proofs[1].p.Krs, &g1)
	minus.Sub(&proofs[3].p.Krs, &g1)
	proofs[1].p.Krs, proofs[3].p.Krs = plus, minus
	var one fr.Element
	one.SetOne()
	publics[0] = slices.Clone(publics[0])
	publics[4] = slices.Clone(publics[4])
	publics[0][2].Add(&publics[0][2], &one)
	publics[4][2].Sub(&publics[4][2], &one)

	ones := func(w []fr.Element) {
		for i := range w {
			w[i].SetOne()
		}
	}
	idx := []int{0, 1, 2, 3, 4}
	key := k.VK.(*groth16bn254.VerifyingKey)
	if !batchHolds(key, proofs, publics, idx, ones) {
		t.Fatal("with unit weights the compensating errors should cancel (the test would show nothing)")
	}
	if batchHolds(key, proofs, publics, idx, randomWeights) {
		t.Fatal("random weights accepted compensating errors")
	}
	wantBad(t, VerifyBatch(k.VK, proofs, publics), ErrVerification, 0, 1, 3, 4)
}

func TestVerifyBatchRefusesMalformedBatches(t *testing.T) {
	k, items, proofs, publics := freshBatch(t)
	if err := k.VerifyBatch(nil); !errors.Is(err, ErrBatchInput) {
		t.Errorf("empty batch: err = %v, want ErrBatchInput", err)
	}
	if err := VerifyBatch(k.VK, nil, nil); !errors.Is(err, ErrBatchInput) {
		t.Errorf("empty batch: err = %v, want ErrBatchInput", err)
	}
	if err := VerifyBatch(k.VK, proofs, publics[:len(publics)-1]); !errors.Is(err, ErrBatchInput) {
		t.Errorf("mismatched lengths: err = %v, want ErrBatchInput", err)
	}
	if err := VerifyBatch(nil, proofs, publics); !errors.Is(err, ErrBatchInput) {
		t.Errorf("no key: err = %v, want ErrBatchInput", err)
	}
	withCommitments := *k.VK.(*groth16bn254.VerifyingKey)
	withCommitments.PublicAndCommitmentCommitted = [][]int{{1}}
	if err := VerifyBatch(&withCommitments, proofs, publics); !errors.Is(err, ErrBatchInput) {
		t.Errorf("key with commitments: err = %v, want ErrBatchInput", err)
	}

	// Items that are malformed on their own are named; the rest verify.
	short := slices.Clone(publics)
	short[2] = short[2][:len(short[2])-1]
	wantBad(t, VerifyBatch(k.VK, proofs, short), ErrVerification, 2)
	noProof := slices.Clone(proofs)
	noProof[0] = nil
	wantBad(t, VerifyBatch(k.VK, noProof, publics), ErrProofEncoding, 0)

	bad := slices.Clone(items)
	st := *bad[1].Statement
	st.Nonce = fr.Element{}
	bad[1].Statement = &st
	wantBad(t, k.VerifyBatch(bad), ErrStatement, 1)
	bad[1].Statement = nil
	wantBad(t, k.VerifyBatch(bad), ErrStatement, 1)

	// A single bad proof alone is named too.
	one := []BatchItem{items[0]}
	one[0].Pseudonym = element(9)
	wantBad(t, k.VerifyBatch(one), ErrVerification, 0)
}
