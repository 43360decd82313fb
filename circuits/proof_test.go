package circuits

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// testKeys runs the development setup once per test binary.
var testKeys = sync.OnceValues(func() (*Keys, error) {
	c, err := Compile(testDepth)
	if err != nil {
		return nil, err
	}
	return DevelopmentSetup(c, nil)
})

func keysForTest(t *testing.T) *Keys {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func proveFixture(t *testing.T, k *Keys, f *fixture) (*Proof, fr.Element) {
	t.Helper()
	proof, pseudonym, err := k.Prove(&f.st, &f.cred)
	if err != nil {
		t.Fatal(err)
	}
	return proof, pseudonym
}

func TestProveVerify(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, FlagGuardianConsent)
	f.st.RequiredFlags = FlagGuardianConsent
	proof, pseudonym := proveFixture(t, k, f)
	if want := zkhash.Pseudonym(f.cred.Secret, f.st.Scope); !pseudonym.Equal(&want) {
		t.Fatal("Prove returned another pseudonym than Pseudonym(secret, scope)")
	}
	if err := k.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	enc, err := proof.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != ProofSize || ProofSize > 200 {
		t.Fatalf("proof is %d bytes (ProofSize %d, budget 200)", len(enc), ProofSize)
	}
	var back Proof
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(&f.st, pseudonym, &back); err != nil {
		t.Fatalf("decoded proof rejected: %v", err)
	}
}

// TestEveryPublicInputIsBound changes one public input at a time after
// proving: each change must make a valid proof fail. A public input that no
// constraint used would pass here.
func TestEveryPublicInputIsBound(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, FlagGuardianConsent|FlagGuardianAcknowledgement)
	f.st.BornAfter = 1000
	f.st.RequiredFlags = FlagGuardianConsent
	proof, pseudonym := proveFixture(t, k, f)
	cases := []struct {
		name   string
		mutate func(s *Statement, p *fr.Element)
	}{
		{"root", func(s *Statement, _ *fr.Element) { s.Root = element(3) }},
		{"today", func(s *Statement, _ *fr.Element) { s.Today-- }},
		{"born_after", func(s *Statement, _ *fr.Element) { s.BornAfter-- }},
		{"born_before", func(s *Statement, _ *fr.Element) { s.BornBefore++ }},
		{"min_level", func(s *Statement, _ *fr.Element) { s.MinLevel-- }},
		{"required_flags", func(s *Statement, _ *fr.Element) { s.RequiredFlags = 0 }},
		{"scope", func(s *Statement, _ *fr.Element) { s.Scope = element(4321) }},
		{"nonce", func(s *Statement, _ *fr.Element) { s.Nonce = element(77) }},
		{"pseudonym", func(_ *Statement, p *fr.Element) { *p = element(5) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, p := f.st, pseudonym
			tc.mutate(&st, &p)
			if err := k.Verify(&st, p, proof); !errors.Is(err, ErrVerification) {
				t.Fatalf("proof accepted with another %s (err = %v)", tc.name, err)
			}
		})
	}
}

func TestVerifyRefusesMalformedStatement(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, 0)
	proof, pseudonym := proveFixture(t, k, f)
	st := f.st
	st.Today = MaxDateCode + 1
	if err := k.Verify(&st, pseudonym, proof); !errors.Is(err, ErrStatement) {
		t.Fatalf("err = %v, want ErrStatement", err)
	}
}

func TestProofEncodingRejects(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, 0)
	proof, _ := proveFixture(t, k, f)
	enc, err := proof.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// x >= p, keeping A's compression flags.
	notCanonical := bytes.Clone(enc)
	notCanonical[1] |= 0x3f
	for i := 2; i <= bn254.SizeOfG1AffineCompressed; i++ {
		notCanonical[i] = 0xff
	}
	// An x with no point on the curve: change the low byte of A's x until
	// x^3 + 3 is not a square.
	notOnCurve := bytes.Clone(enc)
	for b := 0; b < 256; b++ {
		notOnCurve[bn254.SizeOfG1AffineCompressed] = byte(b)
		var pt bn254.G1Affine
		if _, err := pt.SetBytes(notOnCurve[1 : 1+bn254.SizeOfG1AffineCompressed]); err != nil {
			break
		}
	}
	badVersion := bytes.Clone(enc)
	badVersion[0] = 2
	for name, data := range map[string][]byte{
		"empty":        nil,
		"short":        enc[:len(enc)-1],
		"long":         append(bytes.Clone(enc), 0),
		"version":      badVersion,
		"not on curve": notOnCurve,
		"x >= p":       notCanonical,
	} {
		var p Proof
		if err := p.UnmarshalBinary(data); !errors.Is(err, ErrProofEncoding) {
			t.Errorf("%s: err = %v, want ErrProofEncoding", name, err)
		}
	}
}

// TestProofsAreUnlinkable: two proofs of one credential for one request
// share no group element (Groth16 re-randomises every proof), and the
// pseudonym is the only value they have in common.
func TestProofsAreUnlinkable(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, 0)
	p1, n1 := proveFixture(t, k, f)
	p2, n2 := proveFixture(t, k, f)
	if !n1.Equal(&n2) {
		t.Fatal("one scope gave two pseudonyms")
	}
	e1, _ := p1.MarshalBinary()
	e2, _ := p2.MarshalBinary()
	g1 := bn254.SizeOfG1AffineCompressed
	g2 := bn254.SizeOfG2AffineCompressed
	for _, part := range []struct {
		name     string
		from, to int
	}{{"A", 1, 1 + g1}, {"B", 1 + g1, 1 + g1 + g2}, {"C", 1 + g1 + g2, ProofSize}} {
		if bytes.Equal(e1[part.from:part.to], e2[part.from:part.to]) {
			t.Errorf("two proofs share point %s", part.name)
		}
	}
	// Byte by byte, equal positions happen by chance (1/256 each); far
	// more than chance would mean a deterministic component.
	same := 0
	for i := 1; i < ProofSize; i++ {
		if e1[i] == e2[i] {
			same++
		}
	}
	if same > 8 {
		t.Errorf("%d of %d proof bytes agree; chance explains about 0.5", same, ProofSize-1)
	}
}

func TestPseudonyms(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, 0)
	_, platformA := proveFixture(t, k, f)
	f.st.Scope = element(98765)
	f.st.Nonce = randomElement(t)
	_, platformB := proveFixture(t, k, f)
	if platformA.Equal(&platformB) {
		t.Fatal("two scopes gave the same pseudonym")
	}

	// A second credential for the same holder commitment (re-issuance: new
	// attributes, identity salt and serial) gives the same pseudonym.
	g := newFixture(t, testDepth, 0)
	g.cred.Secret = f.cred.Secret
	g.cred.Serial = 9
	g.cred.Attributes = packAttributes(birth2000, expiry2030+365, 4, 0)
	g.tree.leaves[9] = g.cred.Leaf()
	g.cred.Siblings = g.tree.path(9)
	g.st.Root = g.tree.root()
	g.st.Scope = f.st.Scope
	_, again := proveFixture(t, k, g)
	if !again.Equal(&platformB) {
		t.Fatal("two credentials of one holder gave two pseudonyms for one scope")
	}
}

func TestProveRefusesUnsatisfiedStatement(t *testing.T) {
	k := keysForTest(t)
	f := newFixture(t, testDepth, 0)
	f.st.BornBefore = birth2000 - 1 // the holder is too young for this request
	if _, _, err := k.Prove(&f.st, &f.cred); !errors.Is(err, ErrBirthDate) {
		t.Fatalf("err = %v, want ErrBirthDate", err)
	}
}
