package verifier

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// FormatVersion is the version of every JSON document this package reads and
// writes.
const FormatVersion = 1

// MaxDocumentSize bounds a request or presentation document.
const MaxDocumentSize = 1 << 20

// NonceSize is the number of random bytes in a nonce.
const NonceSize = 32

// requestIDSize is the number of random bytes in a request id.
const requestIDSize = 16

// Flag names a request may require (the schema's claim names).
const (
	FlagGuardianConsent         = schemas.ClaimGuardianConsent
	FlagGuardianAcknowledgement = schemas.ClaimGuardianAcknowledgement
)

// ErrPolicy means a policy cannot become a request.
var ErrPolicy = errors.New("verifier: invalid policy")

// ErrFormat means a request or presentation document is malformed.
var ErrFormat = errors.New("verifier: malformed document")

// Policy is what a platform wants to know. Nil ages mean no age rule.
type Policy struct {
	// Scope names the platform; pseudonyms are per scope, and SD-JWT
	// presentations are bound to it as their audience.
	Scope string
	// AgeOver asks for an age of at least *AgeOver today.
	AgeOver *int
	// AgeUnder asks for an age below *AgeUnder today.
	AgeUnder *int
	// MinLevel is the minimum verification level (0: any).
	MinLevel int
	// GuardianConsent requires a guardian's consent on the credential.
	GuardianConsent bool
	// SDJWTClaims, when not empty, asks for an SD-JWT presentation disclosing
	// exactly these claims instead of a zero-knowledge proof.
	SDJWTClaims []string
}

// The request document (package wire has it field by field).
type (
	Request      = wire.Request
	Predicates   = wire.Predicates
	SDJWTRequest = wire.SDJWTRequest
)

// ParseRequest reads a request document strictly: at most MaxDocumentSize
// bytes, one JSON object, no unknown member, version 1.
func ParseRequest(data []byte) (*Request, error) {
	var r Request
	if err := decodeStrict(data, "request", &r); err != nil {
		return nil, err
	}
	if r.Version != FormatVersion {
		return nil, fmt.Errorf("%w: request version %d, want %d", ErrFormat, r.Version, FormatVersion)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: request has no id", ErrFormat)
	}
	return &r, nil
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown or
// trailing data and documents over MaxDocumentSize.
func decodeStrict(data []byte, what string, v any) error {
	if err := strictjson.Unmarshal(data, MaxDocumentSize, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	return nil
}

// sdjwtClaimNames are the claims an SD-JWT request may ask for: the
// schema's selectively disclosable claims.
func sdjwtClaimNames() (map[string]bool, error) {
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool)
	for _, s := range specs {
		if s.Selective {
			names[s.Name] = true
		}
	}
	return names, nil
}

// buildRequest turns a policy into a request for the given issuer state; the
// caller records it.
func buildRequest(p Policy, iss *issuerState, epochs []uint64, now time.Time, ttl time.Duration, random io.Reader) (*Request, error) {
	if p.Scope == "" {
		return nil, fmt.Errorf("%w: no scope", ErrPolicy)
	}
	if len(p.Scope) > schemas.MaxScopeBytes {
		return nil, fmt.Errorf("%w: scope longer than %d bytes", ErrPolicy, schemas.MaxScopeBytes)
	}
	if _, err := schemas.ScopeElement(p.Scope); err != nil {
		return nil, fmt.Errorf("%w: scope: %v", ErrPolicy, err)
	}
	if p.MinLevel < 0 || p.MinLevel > schemas.MaxLevel {
		return nil, fmt.Errorf("%w: min level %d outside 0…%d", ErrPolicy, p.MinLevel, schemas.MaxLevel)
	}
	today := schemas.DateOf(now.UTC())
	if _, err := today.Code(); err != nil {
		return nil, fmt.Errorf("verifier: today %s: %w", today, err)
	}
	r := &Request{
		Version:   FormatVersion,
		Scope:     p.Scope,
		Issuer:    iss.meta.Issuer,
		CircuitID: iss.keys.Manifest.CircuitID,
		Epochs:    slices.Clone(epochs),
		Today:     today.String(),
		MinLevel:  p.MinLevel,
		Flags:     []string{},
		Audience:  p.Scope,
		ExpiresAt: now.Add(ttl).UTC().Format(time.RFC3339),
		Predicates: Predicates{
			AgeOver:  cloneInt(p.AgeOver),
			AgeUnder: cloneInt(p.AgeUnder),
		},
	}
	if p.AgeOver != nil || p.AgeUnder != nil {
		after, before, err := schemas.AgeWindow(today, p.AgeOver, p.AgeUnder)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		if r.BornAfter, err = windowDate(after, 0); err != nil {
			return nil, err
		}
		if r.BornBefore, err = windowDate(before, schemas.MaxDateCode); err != nil {
			return nil, err
		}
	}
	if p.GuardianConsent {
		r.Flags = append(r.Flags, FlagGuardianConsent)
	}
	if len(p.SDJWTClaims) > 0 {
		claims, err := checkSDJWTClaims(p)
		if err != nil {
			return nil, err
		}
		r.SDJWT = &SDJWTRequest{Claims: claims}
	}
	// The id and the nonce in one read: a source shared by concurrent
	// requests hands each its pair whole.
	idNonce := make([]byte, requestIDSize+NonceSize)
	if _, err := io.ReadFull(random, idNonce); err != nil {
		return nil, fmt.Errorf("verifier: random request id and nonce: %w", err)
	}
	r.ID = base64.RawURLEncoding.EncodeToString(idNonce[:requestIDSize])
	r.Nonce = base64.RawURLEncoding.EncodeToString(idNonce[requestIDSize:])
	return r, nil
}

// checkSDJWTClaims checks that the requested claims exist, are disclosable
// and suffice to decide every rule of the policy, and returns them sorted
// without duplicates.
func checkSDJWTClaims(p Policy) ([]string, error) {
	known, err := sdjwtClaimNames()
	if err != nil {
		return nil, err
	}
	claims := slices.Clone(p.SDJWTClaims)
	slices.Sort(claims)
	claims = slices.Compact(claims)
	for _, c := range claims {
		if !known[c] {
			return nil, fmt.Errorf("%w: %q is not a disclosable claim of the credential", ErrPolicy, c)
		}
	}
	has := func(c string) bool { _, ok := slices.BinarySearch(claims, c); return ok }
	if p.AgeOver != nil && !has(schemas.ClaimBirthDate) && !has(ageOverClaim(*p.AgeOver)) {
		return nil, fmt.Errorf("%w: the SD-JWT claims cannot show age over %d: ask for %s or %s",
			ErrPolicy, *p.AgeOver, schemas.ClaimBirthDate, ageOverClaim(*p.AgeOver))
	}
	if p.AgeUnder != nil && !has(schemas.ClaimBirthDate) {
		return nil, fmt.Errorf("%w: the SD-JWT claims cannot show age under %d: ask for %s",
			ErrPolicy, *p.AgeUnder, schemas.ClaimBirthDate)
	}
	if p.MinLevel > 0 && !has(schemas.ClaimLevel) {
		return nil, fmt.Errorf("%w: the SD-JWT claims cannot show the level: ask for %s", ErrPolicy, schemas.ClaimLevel)
	}
	if p.GuardianConsent && !has(schemas.ClaimGuardianConsent) {
		return nil, fmt.Errorf("%w: the SD-JWT claims cannot show guardian consent: ask for %s", ErrPolicy, schemas.ClaimGuardianConsent)
	}
	return claims, nil
}

func ageOverClaim(n int) string { return "age_over_" + strconv.Itoa(n) }

// windowDate renders a window bound; the unbounded side is null.
func windowDate(code, unbounded uint32) (*string, error) {
	if code == unbounded {
		return nil, nil
	}
	d, err := schemas.DateFromCode(code)
	if err != nil {
		return nil, fmt.Errorf("verifier: window bound: %w", err)
	}
	s := d.String()
	return &s, nil
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// defaultRandom is crypto/rand unless Options.Rand says otherwise.
func defaultRandom(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
