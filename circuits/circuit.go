package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"

	"github.com/yinzheng-id/yinzheng/bench/groups"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// The packed predicate word's layout is the schema's (package schemas); the
// circuit decomposes the word into exactly PackedBits bits, so reserved bits
// above it are forced to zero.
const (
	dateBits    = schemas.DateBits
	birthShift  = schemas.BirthShift
	expiryShift = schemas.ExpiryShift
	levelShift  = schemas.LevelShift
	levelBits   = schemas.LevelBits
	flagsShift  = schemas.FlagsShift
	// FlagBits is the number of credential flags a statement can require.
	FlagBits = schemas.FlagBits
	// PackedBits is the width of the packed predicate word.
	PackedBits = schemas.PackedBits
)

// Flags a statement can require (bits of Statement.RequiredFlags), as
// defined by the schema.
const (
	FlagGuardianConsent         = schemas.FlagGuardianConsent
	FlagGuardianAcknowledgement = schemas.FlagGuardianAcknowledgement
)

// Circuit is the one circuit behind every zero-knowledge presentation.
// The request changes only its public inputs. Depth (the number of index
// bits, even) is fixed when the circuit is compiled: the tree is 4-ary, so a
// path has len(Directions)/2 levels of three siblings each.
//
// Public inputs, in this order: the accumulator root, today's date code, the
// birth-date window, the minimum verification level, the required flags, the
// verifier's scope, the nonce and the pseudonym. The schema is fixed by the
// circuit (its leaf tag), so it needs no public input.
type Circuit struct {
	Root          frontend.Variable `gnark:",public"`
	Today         frontend.Variable `gnark:",public"`
	BornAfter     frontend.Variable `gnark:",public"`
	BornBefore    frontend.Variable `gnark:",public"`
	MinLevel      frontend.Variable `gnark:",public"`
	RequiredFlags frontend.Variable `gnark:",public"`
	Scope         frontend.Variable `gnark:",public"`
	Nonce         frontend.Variable `gnark:",public"`
	Pseudonym     frontend.Variable `gnark:",public"`

	Attributes frontend.Variable   // the packed predicate word
	Identity   frontend.Variable   // salted digest of the other attributes
	Secret     frontend.Variable   // the holder secret
	Directions []frontend.Variable // the leaf index, low bit first (two bits a level)
	Siblings   []frontend.Variable // three a level, bottom-up, in zkhash.Children's order

	leafTag frontend.Variable `gnark:"-"`
}

// NewCircuit returns the circuit definition for a tree of the given
// depth, ready to compile.
func NewCircuit(depth int) (*Circuit, error) {
	if _, err := zkhash.Levels(depth); err != nil {
		return nil, fmt.Errorf("circuits: %w", err)
	}
	return &Circuit{
		Directions: make([]frontend.Variable, depth),
		Siblings:   make([]frontend.Variable, zkhash.PathLength(depth)),
		leafTag:    zkhash.LeafTag(SchemaName),
	}, nil
}

// Define states the presentation: the credential's leaf is in the issuer's
// tree, its attributes meet the request, and the pseudonym and the leaf come
// from the same holder secret.
func (c *Circuit) Define(api frontend.API) error {
	h, err := zkhash.NewHasher(api)
	if err != nil {
		return err
	}

	// Constraint groups (package groups) only count, for benchmarks: they
	// never change the compiled system.
	end := groups.Begin(api, "attributes")
	// Attributes: one decomposition bounds every field at once.
	attr := bits.ToBinary(api, c.Attributes, bits.WithNbDigits(PackedBits))
	field := func(shift, width int) frontend.Variable {
		return bits.FromBinary(api, attr[shift:shift+width], bits.WithUnconstrainedInputs())
	}
	birth := field(birthShift, dateBits)
	expiry := field(expiryShift, dateBits)
	level := field(levelShift, levelBits)
	end()

	// Comparisons: both operands are below 2^w (private ones by the
	// decomposition above, public ones by the verifier, which builds them), so
	// a-b is in [0, 2^w) exactly when a >= b.
	end = groups.Begin(api, "comparisons")
	atLeast := func(a, b frontend.Variable, w int) {
		bits.ToBinary(api, api.Sub(a, b), bits.WithNbDigits(w))
	}
	atLeast(birth, c.BornAfter, dateBits)
	atLeast(c.BornBefore, birth, dateBits)
	atLeast(expiry, c.Today, dateBits)
	atLeast(level, c.MinLevel, levelBits)
	end()

	// Flags: every required flag is set.
	end = groups.Begin(api, "flags")
	required := bits.ToBinary(api, c.RequiredFlags, bits.WithNbDigits(FlagBits))
	for i := range FlagBits {
		api.AssertIsEqual(api.Mul(required[i], api.Sub(1, attr[flagsShift+i])), 0)
	}
	end()

	// Holder binding and pseudonym: one secret feeds both.
	end = groups.Begin(api, "holder binding and pseudonym")
	commitment := h.HolderCommitment(c.Secret)
	api.AssertIsEqual(h.Pseudonym(c.Secret, c.Scope), c.Pseudonym)
	end()

	// Membership: issuance and non-revocation in one path.
	end = groups.Begin(api, "membership (leaf and Merkle path)")
	leaf := h.Leaf(c.leafTag, c.Attributes, commitment, c.Identity)
	root, err := h.PathRoot(leaf, c.Directions, c.Siblings)
	if err != nil {
		end()
		return fmt.Errorf("circuits: %w", err)
	}
	api.AssertIsEqual(root, c.Root)
	end()

	// The nonce takes part in a constraint, so its verifying-key term is not
	// zero and a proof cannot be replayed under another nonce. Requiring it
	// to be non-zero costs one constraint and refuses a forgotten nonce.
	groups.Group(api, "nonce", func() { api.AssertIsDifferent(c.Nonce, 0) })
	return nil
}
