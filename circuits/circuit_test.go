package circuits

import (
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

func solve(t *testing.T, depth int, assignment *Circuit) error {
	t.Helper()
	def, err := NewCircuit(depth)
	if err != nil {
		t.Fatal(err)
	}
	return test.IsSolved(def, assignment, ecc.BN254.ScalarField())
}

func TestValidWitnessSolves(t *testing.T) {
	for _, flags := range []uint8{0, FlagGuardianConsent, FlagGuardianConsent | FlagGuardianAcknowledgement} {
		f := newFixture(t, testDepth, flags)
		f.st.RequiredFlags = flags
		a, _, err := Assign(testDepth, &f.st, &f.cred)
		if err != nil {
			t.Fatal(err)
		}
		if err := solve(t, testDepth, a); err != nil {
			t.Fatalf("flags %d: valid witness does not solve: %v", flags, err)
		}
	}
}

// TestEachConstraintGroupViolatedAloneFails breaks one constraint group at a
// time in an otherwise valid assignment; the circuit must refuse each.
func TestEachConstraintGroupViolatedAloneFails(t *testing.T) {
	const (
		birth  = birth2000
		expiry = expiry2030
		level  = 3
	)
	cases := []struct {
		name   string
		flags  uint8 // flags the credential carries
		mutate func(a *Circuit, f *fixture)
	}{
		{"membership: wrong sibling in the own pair", 0, func(a *Circuit, f *fixture) {
			a.Siblings[3] = element(99)
		}},
		{"membership: wrong left sibling of the other pair", 0, func(a *Circuit, f *fixture) {
			a.Siblings[4] = element(99)
		}},
		{"membership: wrong right sibling of the other pair", 0, func(a *Circuit, f *fixture) {
			a.Siblings[2] = element(99)
		}},
		{"membership: siblings of the other pair swapped", 0, func(a *Circuit, f *fixture) {
			a.Siblings[4], a.Siblings[5] = a.Siblings[5], a.Siblings[4] // level 1: distinct nodes
		}},
		{"membership: another root", 0, func(a *Circuit, f *fixture) {
			a.Root = element(99)
		}},
		{"membership: low direction not boolean", 0, func(a *Circuit, f *fixture) {
			a.Directions[0] = 2
		}},
		{"membership: high direction not boolean", 0, func(a *Circuit, f *fixture) {
			a.Directions[3] = 2
		}},
		{"membership: wrong low direction", 0, func(a *Circuit, f *fixture) {
			a.Directions[2] = 1 - f.cred.Serial>>2&1
		}},
		{"membership: wrong high direction", 0, func(a *Circuit, f *fixture) {
			a.Directions[1] = 1 - f.cred.Serial>>1&1
		}},
		{"membership: other identity", 0, func(a *Circuit, f *fixture) {
			a.Identity = element(7)
		}},
		{"membership: other attributes meeting the request", 0, func(a *Circuit, f *fixture) {
			a.Attributes = packAttributes(birth-1, expiry, level, 0)
		}},
		{"birth window: born before born_after", 0, func(a *Circuit, f *fixture) {
			a.BornAfter = birth + 1
		}},
		{"birth window: born after born_before", 0, func(a *Circuit, f *fixture) {
			a.BornBefore = birth - 1
		}},
		{"expiry: expired yesterday", 0, func(a *Circuit, f *fixture) {
			a.Today = expiry + 1
		}},
		{"level: below minimum", 0, func(a *Circuit, f *fixture) {
			a.MinLevel = level + 1
		}},
		{"flag: guardian consent missing", FlagGuardianAcknowledgement, func(a *Circuit, f *fixture) {
			a.RequiredFlags = FlagGuardianConsent
		}},
		{"flag: guardian acknowledgement missing", FlagGuardianConsent, func(a *Circuit, f *fixture) {
			a.RequiredFlags = FlagGuardianAcknowledgement
		}},
		{"flags: required flags outside the defined bits", FlagGuardianConsent | FlagGuardianAcknowledgement, func(a *Circuit, f *fixture) {
			a.RequiredFlags = 4
		}},
		{"holder binding: another secret with its own pseudonym", 0, func(a *Circuit, f *fixture) {
			other := element(42)
			a.Secret = other
			a.Pseudonym = zkhash.Pseudonym(other, f.st.Scope)
		}},
		{"pseudonym: not the holder's", 0, func(a *Circuit, f *fixture) {
			var p fr.Element
			p.SetUint64(1)
			a.Pseudonym = p
		}},
		{"pseudonym: the holder's for another scope", 0, func(a *Circuit, f *fixture) {
			a.Pseudonym = zkhash.Pseudonym(f.cred.Secret, element(4321))
		}},
		{"nonce: zero", 0, func(a *Circuit, f *fixture) {
			a.Nonce = 0
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testDepth, tc.flags)
			a, _, err := Assign(testDepth, &f.st, &f.cred)
			if err != nil {
				t.Fatal(err)
			}
			if err := solve(t, testDepth, a); err != nil {
				t.Fatalf("unmutated witness does not solve: %v", err)
			}
			tc.mutate(a, f)
			if err := solve(t, testDepth, a); err == nil {
				t.Fatal("violating witness solved")
			}
		})
	}
}

// TestComparisonsDoNotWrap tries field wrap-around: operands that differ by
// a multiple of 2^dateBits, and an attribute word wider than its layout.
func TestComparisonsDoNotWrap(t *testing.T) {
	f := newFixture(t, testDepth, 0)
	a, _, err := Assign(testDepth, &f.st, &f.cred)
	if err != nil {
		t.Fatal(err)
	}
	// today beyond the date range: expiry - today is "negative".
	a.Today = MaxDateCode + 1 + today2026
	if err := solve(t, testDepth, a); err == nil {
		t.Fatal("today outside the date range solved")
	}

	// A leaf whose attribute word has a bit above PackedBits set is refused,
	// even when it is genuinely in the tree.
	wide := f.cred
	var word fr.Element
	word.SetUint64(1 << PackedBits)
	wide.Attributes.Add(&wide.Attributes, &word)
	f.tree.leaves[wide.Serial] = wide.Leaf()
	wide.Siblings = f.tree.path(wide.Serial)
	a, _, err = Assign(testDepth, &f.st, &f.cred) // valid word, then swap in the wide one
	if err != nil {
		t.Fatal(err)
	}
	a.Attributes = wide.Attributes
	a.Root = f.tree.root()
	for i := range wide.Siblings {
		a.Siblings[i] = wide.Siblings[i]
	}
	if err := solve(t, testDepth, a); err == nil {
		t.Fatal("attribute word wider than PackedBits solved")
	}
}

func TestSatisfiesNamesTheReason(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fixture)
		want   error
	}{
		{"revoked or unknown", func(f *fixture) { f.st.Root = element(1) }, ErrNotInTree},
		{"too young", func(f *fixture) { f.st.BornBefore = birth2000 - 1 }, ErrBirthDate},
		{"too old", func(f *fixture) { f.st.BornAfter = birth2000 + 1 }, ErrBirthDate},
		{"expired", func(f *fixture) { f.st.Today = expiry2030 + 1 }, ErrExpired},
		{"level", func(f *fixture) { f.st.MinLevel = 4 }, ErrLevel},
		{"flags", func(f *fixture) { f.st.RequiredFlags = FlagGuardianConsent }, ErrFlags},
		{"statement: date out of range", func(f *fixture) { f.st.Today = MaxDateCode + 1 }, ErrStatement},
		{"statement: empty window", func(f *fixture) { f.st.BornAfter, f.st.BornBefore = 10, 9 }, ErrStatement},
		{"statement: level", func(f *fixture) { f.st.MinLevel = MaxLevel + 1 }, ErrStatement},
		{"statement: flags", func(f *fixture) { f.st.RequiredFlags = 4 }, ErrStatement},
		{"statement: zero nonce", func(f *fixture) { f.st.Nonce = fr.Element{} }, ErrStatement},
		{"credential: wide word", func(f *fixture) { f.cred.Attributes = element(1 << PackedBits) }, ErrCredential},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testDepth, 0)
			tc.mutate(f)
			if _, err := f.cred.Satisfies(&f.st); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	f := newFixture(t, testDepth, 0)
	if _, _, err := Assign(testDepth+2, &f.st, &f.cred); !errors.Is(err, ErrCredential) {
		t.Fatalf("short path: err = %v, want ErrCredential", err)
	}
	if _, _, err := Assign(testDepth+1, &f.st, &f.cred); err == nil {
		t.Fatal("an odd depth was accepted")
	}
	if _, err := NewCircuit(testDepth + 1); err == nil {
		t.Fatal("NewCircuit accepted an odd depth")
	}
}

// TestProductionConstraintCount pins the cost of the production circuit, so
// a change that makes the hot path heavier shows up in review.
func TestProductionConstraintCount(t *testing.T) {
	c, err := Compile(ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	info := c.Info()
	t.Logf("depth %d: %d R1CS constraints, %d public inputs", info.Depth, info.Constraints, info.PublicInputs)
	if info.Constraints > 8000 {
		t.Fatalf("%d constraints, the budget is 8,000", info.Constraints)
	}
	if info.PublicInputs != 9 {
		t.Fatalf("%d public inputs, want 9", info.PublicInputs)
	}
	again, err := Compile(ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != c.Digest {
		t.Fatal("compiling twice gave two circuit digests")
	}
}

var _ frontend.Circuit = (*Circuit)(nil)
