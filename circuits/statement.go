package circuits

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// MaxDateCode bounds every date code (days since 1970-01-01 plus the
// schema's offset): date codes are dateBits wide.
const MaxDateCode = schemas.MaxDateCode

// MaxLevel is the largest minimum level a statement can ask for.
const MaxLevel = 1<<levelBits - 1

// Statement is what a verifier asks: every public input of the circuit but
// the pseudonym, which the proof yields. A verifier builds it from its own
// request and its trusted root, never from a presentation.
type Statement struct {
	Root          fr.Element // the accumulator root of an epoch the verifier trusts
	Today         uint32     // date code of the verifier's today
	BornAfter     uint32     // earliest acceptable birth date code (inclusive)
	BornBefore    uint32     // latest acceptable birth date code (inclusive)
	MinLevel      uint8      // minimum verification level
	RequiredFlags uint8      // credential flags that must be set
	Scope         fr.Element // the verifier's scope, as a field element
	Nonce         fr.Element // the single-use nonce, as a field element
}

// Errors returned when a statement or a credential cannot make a proof. The
// holder checks these natively before proving so that a refusal names its
// reason instead of failing deep inside the prover.
var (
	ErrStatement       = errors.New("circuits: malformed statement")
	ErrNotInTree       = errors.New("credential is not in the tree under the requested root (revoked, unknown, or its path is out of date)")
	ErrBirthDate       = errors.New("birth date is outside the requested window")
	ErrExpired         = errors.New("credential has expired")
	ErrLevel           = errors.New("verification level is below the requested minimum")
	ErrFlags           = errors.New("credential lacks a required flag")
	ErrCredential      = errors.New("circuits: malformed credential")
	ErrProofEncoding   = errors.New("circuits: malformed proof")
	ErrVerification    = errors.New("circuits: proof does not verify for this statement")
	ErrDevelopmentKeys = errors.New("circuits: development keys (known setup randomness) refused outside development")
)

// Check reports whether the statement is well formed: every public input is
// inside the range the circuit's comparisons assume. The circuit relies on
// this: a public date of 2^18 or more could wrap a comparison.
func (s *Statement) Check() error {
	switch {
	case s.Today > MaxDateCode:
		return fmt.Errorf("%w: today %d is not a date code (0…%d)", ErrStatement, s.Today, MaxDateCode)
	case s.BornAfter > MaxDateCode:
		return fmt.Errorf("%w: born_after %d is not a date code (0…%d)", ErrStatement, s.BornAfter, MaxDateCode)
	case s.BornBefore > MaxDateCode:
		return fmt.Errorf("%w: born_before %d is not a date code (0…%d)", ErrStatement, s.BornBefore, MaxDateCode)
	case s.BornAfter > s.BornBefore:
		return fmt.Errorf("%w: empty birth window (born_after %d > born_before %d)", ErrStatement, s.BornAfter, s.BornBefore)
	case s.MinLevel > MaxLevel:
		return fmt.Errorf("%w: min_level %d above %d", ErrStatement, s.MinLevel, MaxLevel)
	case s.Nonce.IsZero():
		return fmt.Errorf("%w: the nonce is zero", ErrStatement)
	case s.RequiredFlags >= 1<<FlagBits:
		return fmt.Errorf("%w: required flags %#x use undefined bits", ErrStatement, s.RequiredFlags)
	}
	return nil
}

// Credential is the holder's private part of a presentation: the zero
// knowledge credential and its current authentication path.
type Credential struct {
	Attributes fr.Element   // the packed predicate word
	Identity   fr.Element   // salted digest of the other attributes
	Secret     fr.Element   // the holder secret
	Serial     uint64       // the leaf's index in the accumulator
	Siblings   []fr.Element // the authentication path: zkhash.SiblingsPerLevel a level, bottom-up
}

// Leaf returns the credential's leaf in the accumulator.
func (c *Credential) Leaf() fr.Element {
	return zkhash.Leaf(zkhash.LeafTag(SchemaName), c.Attributes, zkhash.HolderCommitment(c.Secret), c.Identity)
}

func unpack(word fr.Element) (schemas.Predicates, error) {
	if !word.IsUint64() {
		return schemas.Predicates{}, fmt.Errorf("%w: attribute word wider than %d bits", ErrCredential, PackedBits)
	}
	p, err := schemas.Unpack(word.Uint64())
	if err != nil {
		return schemas.Predicates{}, fmt.Errorf("%w: %v", ErrCredential, err)
	}
	return p, nil
}

// Satisfies checks natively, constraint group by constraint group, that the
// credential can prove the statement, and returns the pseudonym the proof
// will carry. Its errors name the first reason a proof would fail.
func (c *Credential) Satisfies(s *Statement) (pseudonym fr.Element, err error) {
	if err := s.Check(); err != nil {
		return fr.Element{}, err
	}
	a, err := unpack(c.Attributes)
	if err != nil {
		return fr.Element{}, err
	}
	root, err := zkhash.RootFromPath(c.Leaf(), c.Serial, c.Siblings)
	if err != nil {
		return fr.Element{}, fmt.Errorf("%w: %v", ErrCredential, err)
	}
	switch {
	case !root.Equal(&s.Root):
		return fr.Element{}, ErrNotInTree
	case a.Birth < s.BornAfter || a.Birth > s.BornBefore:
		return fr.Element{}, ErrBirthDate
	case a.Expiry < s.Today:
		return fr.Element{}, ErrExpired
	case a.Level < s.MinLevel:
		return fr.Element{}, ErrLevel
	case a.Flags&s.RequiredFlags != s.RequiredFlags:
		return fr.Element{}, ErrFlags
	}
	return zkhash.Pseudonym(c.Secret, s.Scope), nil
}

// publicAssignment fills the public inputs of a circuit of the given depth.
func publicAssignment(depth int, s *Statement, pseudonym fr.Element) *Circuit {
	return &Circuit{
		Root:          s.Root,
		Today:         s.Today,
		BornAfter:     s.BornAfter,
		BornBefore:    s.BornBefore,
		MinLevel:      s.MinLevel,
		RequiredFlags: s.RequiredFlags,
		Scope:         s.Scope,
		Nonce:         s.Nonce,
		Pseudonym:     pseudonym,
		Directions:    make([]frontend.Variable, depth),
		Siblings:      make([]frontend.Variable, zkhash.PathLength(depth)),
	}
}

// Assign returns the full assignment (public and private inputs) proving s
// with credential c in a circuit of the given depth, after checking natively
// that it satisfies the statement.
func Assign(depth int, s *Statement, c *Credential) (*Circuit, fr.Element, error) {
	if _, err := zkhash.Levels(depth); err != nil {
		return nil, fr.Element{}, fmt.Errorf("circuits: %w", err)
	}
	if want := zkhash.PathLength(depth); len(c.Siblings) != want {
		return nil, fr.Element{}, fmt.Errorf("%w: path has %d siblings, the circuit expects %d", ErrCredential, len(c.Siblings), want)
	}
	pseudonym, err := c.Satisfies(s)
	if err != nil {
		return nil, fr.Element{}, err
	}
	a := publicAssignment(depth, s, pseudonym)
	a.Attributes = c.Attributes
	a.Identity = c.Identity
	a.Secret = c.Secret
	for i := range a.Directions {
		a.Directions[i] = c.Serial >> i & 1
	}
	for i := range a.Siblings {
		a.Siblings[i] = c.Siblings[i]
	}
	return a, pseudonym, nil
}
