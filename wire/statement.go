package wire

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// ErrStatement means a zero-knowledge request cannot be turned into the
// circuit's statement; the message names the member.
var ErrStatement = errors.New("wire: request has no valid circuit statement")

// Flag names a request may require (the schema's claim names), with the
// circuit flag each one sets.
var flagBits = map[string]uint8{
	schemas.ClaimGuardianConsent:         circuits.FlagGuardianConsent,
	schemas.ClaimGuardianAcknowledgement: circuits.FlagGuardianAcknowledgement,
}

// Statement builds the circuit's public inputs, all but the root, from a
// zero-knowledge request. It is the one place the statement is built: the
// wallet proves and the verifier verifies the statement this function
// returns, so the two cannot read a request differently. The caller sets
// Root (the epoch's verified root) and then calls Check.
//
// It checks that every member is well formed, nothing more; the wallet's
// privacy checks (that the birth-date window is the one the predicates
// give, that "today" is today) are a separate step.
func Statement(r *Request) (*circuits.Statement, error) {
	s := &circuits.Statement{}
	today, err := schemas.ParseDate(r.Today)
	if err != nil {
		return nil, fmt.Errorf("%w: today: %v", ErrStatement, err)
	}
	if s.Today, err = today.Code(); err != nil {
		return nil, fmt.Errorf("%w: today: %v", ErrStatement, err)
	}
	if s.BornAfter, err = boundCode("born_after", r.BornAfter, 0); err != nil {
		return nil, err
	}
	if s.BornBefore, err = boundCode("born_before", r.BornBefore, schemas.MaxDateCode); err != nil {
		return nil, err
	}
	if r.MinLevel < 0 || r.MinLevel > schemas.MaxLevel {
		return nil, fmt.Errorf("%w: min_level %d outside 0…%d", ErrStatement, r.MinLevel, schemas.MaxLevel)
	}
	s.MinLevel = uint8(r.MinLevel)
	for _, f := range r.Flags {
		bit, ok := flagBits[f]
		if !ok {
			return nil, fmt.Errorf("%w: unknown flag %q", ErrStatement, f)
		}
		s.RequiredFlags |= bit
	}
	if s.Scope, err = schemas.ScopeElement(r.Scope); err != nil {
		return nil, fmt.Errorf("%w: scope: %v", ErrStatement, err)
	}
	nonce, err := base64.RawURLEncoding.Strict().DecodeString(r.Nonce)
	if err != nil {
		return nil, fmt.Errorf("%w: nonce is not base64url: %v", ErrStatement, err)
	}
	if s.Nonce, err = schemas.NonceElement(nonce); err != nil {
		return nil, fmt.Errorf("%w: nonce: %v", ErrStatement, err)
	}
	return s, nil
}

// KnownFlag reports whether a request may name flag.
func KnownFlag(flag string) bool { _, ok := flagBits[flag]; return ok }

func boundCode(name string, v *string, unbounded uint32) (uint32, error) {
	if v == nil {
		return unbounded, nil
	}
	d, err := schemas.ParseDate(*v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrStatement, name, err)
	}
	c, err := d.Code()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrStatement, name, err)
	}
	return c, nil
}
