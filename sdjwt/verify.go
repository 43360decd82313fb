package sdjwt

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

// Defaults of a Verifier whose fields are left zero.
const (
	DefaultMaxSize  = 256 << 10
	DefaultSkew     = 60 * time.Second
	DefaultKBMaxAge = 5 * time.Minute
)

// A Verifier checks SD-JWT presentations (RFC 9901 Section 7) issued by one
// key. Zero fields take the defaults documented on each.
type Verifier struct {
	// IssuerKey verifies the issuer-signed JWT. Required.
	IssuerKey *jose.PublicKey
	// Audience and Nonce are what a Key Binding JWT must carry in "aud" and
	// "nonce". A presentation with a KB-JWT is refused when they are empty.
	Audience, Nonce string
	// RequireKeyBinding refuses presentations without a Key Binding JWT.
	RequireKeyBinding bool
	// Types lists the accepted "typ" values of the issuer-signed JWT;
	// nil means only dc+sd-jwt (the SD-JWT VC profile). RFC 9901 itself
	// does not require a "typ": set AnyType to accept any, or none.
	Types []string
	// AnyType accepts an issuer-signed JWT whatever its "typ" header, or
	// without one, as a generic RFC 9901 SD-JWT; Types is then ignored.
	AnyType bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the clock skew tolerated on exp, nbf and iat; 0 means DefaultSkew.
	Skew time.Duration
	// KBMaxAge is how old a KB-JWT's iat may be; 0 means DefaultKBMaxAge.
	KBMaxAge time.Duration
	// MaxSize bounds the presentation in bytes; 0 means DefaultMaxSize.
	MaxSize int
	// Hashes looks up "_sd_alg"; nil means the built-in algorithms.
	Hashes *HashRegistry
}

// A Result is a verified presentation.
type Result struct {
	// Claims are the processed claims: disclosures applied; "_sd",
	// "_sd_alg" and undisclosed array elements removed.
	Claims map[string]any
	// Header is the issuer-signed JWT's protected header.
	Header map[string]any
	// HolderKey is the "cnf" key, or nil when the SD-JWT has none.
	HolderKey *jose.PublicKey
	// KeyBound reports whether a Key Binding JWT was verified.
	KeyBound bool
}

// Verify parses (compact or JSON serialization) and verifies a presentation.
func (v *Verifier) Verify(presentation []byte) (*Result, error) {
	maxSize := v.MaxSize
	if maxSize == 0 {
		maxSize = DefaultMaxSize
	}
	if len(presentation) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(presentation), maxSize)
	}
	sd, err := Parse(presentation)
	if err != nil {
		return nil, err
	}
	return v.VerifySDJWT(sd)
}

// VerifySDJWT verifies a parsed presentation; see Verify.
func (v *Verifier) VerifySDJWT(sd *SDJWT) (*Result, error) {
	if v.IssuerKey == nil {
		return nil, errors.New("sdjwt: verifier has no issuer key")
	}
	header, rawPayload, err := v.verifyIssuerSignature(sd)
	if err != nil {
		return nil, err
	}
	if err := v.checkType(header); err != nil {
		return nil, err
	}
	payload, newHash, root, err := applyDisclosures(rawPayload, sd.Disclosures, v.Hashes)
	if err != nil {
		return nil, err
	}
	if err := v.checkTimes(payload); err != nil {
		return nil, err
	}
	res := &Result{Claims: root.value().(map[string]any), Header: header}
	if cnf, ok := payload["cnf"]; ok {
		if res.HolderKey, err = holderKey(cnf); err != nil {
			return nil, err
		}
	}
	if sd.KeyBinding == "" {
		if v.RequireKeyBinding {
			return nil, ErrKBMissing
		}
		return res, nil
	}
	if err := v.verifyKeyBinding(sd, res.HolderKey, digest(newHash, sd.withoutKeyBinding())); err != nil {
		return nil, err
	}
	res.KeyBound = true
	return res, nil
}

// verifyIssuerSignature accepts the SD-JWT when one of its signatures
// verifies with the issuer key.
func (v *Verifier) verifyIssuerSignature(sd *SDJWT) (map[string]any, []byte, error) {
	header, payload, err := jose.Verify(sd.JWT, v.IssuerKey)
	if err == nil {
		return header, payload, nil
	}
	_, p, _, serr := splitJWS(sd.JWT)
	if serr == nil {
		for _, o := range sd.OtherSignatures {
			h, pl, oerr := jose.Verify(o.Protected+"."+p+"."+o.Signature, v.IssuerKey)
			if oerr == nil {
				return h, pl, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("%w: %w", ErrIssuerSignature, err)
}

// checkTimes enforces exp, nbf and iat of the issuer-signed JWT.
func (v *Verifier) checkTimes(payload map[string]any) error {
	now := v.now()
	skew := v.skew()
	if exp, ok, err := numericDate(payload, "exp"); err != nil {
		return err
	} else if ok && !now.Add(-skew).Before(exp) {
		return fmt.Errorf("%w: exp %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if nbf, ok, err := numericDate(payload, "nbf"); err != nil {
		return err
	} else if ok && now.Add(skew).Before(nbf) {
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	if iat, ok, err := numericDate(payload, "iat"); err != nil {
		return err
	} else if ok && now.Add(skew).Before(iat) {
		return fmt.Errorf("%w: iat %s is in the future", ErrNotYetValid, iat.UTC().Format(time.RFC3339))
	}
	return nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.Skew != 0 {
		return v.Skew
	}
	return DefaultSkew
}

// numericDate reads a JWT NumericDate claim.
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	raw, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, ok := raw.(json.Number)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a number", ErrMalformedPayload, name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e15 {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a valid NumericDate", ErrMalformedPayload, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// holderKey extracts the "cnf" JWK.
func holderKey(cnf any) (*jose.PublicKey, error) {
	m, ok := cnf.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: cnf is not an object", ErrMalformedPayload)
	}
	jwk, ok := m["jwk"]
	if !ok {
		return nil, fmt.Errorf("%w: cnf has no jwk", ErrMalformedPayload)
	}
	raw, err := marshalJSON(jwk)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %v", ErrMalformedPayload, err)
	}
	key, err := jose.ParsePublicJWK(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %w", ErrMalformedPayload, err)
	}
	return key, nil
}

// verifyKeyBinding checks the KB-JWT (RFC 9901 Section 7.3).
func (v *Verifier) verifyKeyBinding(sd *SDJWT, holder *jose.PublicKey, sdHash string) error {
	if holder == nil {
		return ErrKBWithoutCnf
	}
	if v.Audience == "" || v.Nonce == "" {
		return ErrKBConfig
	}
	header, raw, err := jose.Verify(sd.KeyBinding, holder)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKBSignature, err)
	}
	if typ, ok := header["typ"].(string); !ok || typ != TypeKeyBinding {
		return fmt.Errorf("%w: %s, want %q", ErrKBType, describeType(header), TypeKeyBinding)
	}
	pv, err := decodeJSON(raw)
	if err != nil {
		return fmt.Errorf("%w: key binding JWT payload: %v", ErrMalformed, err)
	}
	claims, ok := pv.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: key binding JWT payload is not an object", ErrMalformed)
	}
	iat, ok, err := numericDate(claims, "iat")
	if err != nil || !ok {
		return fmt.Errorf("%w: iat missing or not a number", ErrKBIssuedAt)
	}
	now := v.now()
	maxAge := v.KBMaxAge
	if maxAge == 0 {
		maxAge = DefaultKBMaxAge
	}
	if iat.After(now.Add(v.skew())) || iat.Before(now.Add(-maxAge-v.skew())) {
		return fmt.Errorf("%w: iat %s", ErrKBIssuedAt, iat.UTC().Format(time.RFC3339))
	}
	if aud, _ := claims["aud"].(string); aud != v.Audience {
		return ErrKBAudience
	}
	if nonce, _ := claims["nonce"].(string); subtle.ConstantTimeCompare([]byte(nonce), []byte(v.Nonce)) != 1 {
		return ErrKBNonce
	}
	if h, _ := claims["sd_hash"].(string); subtle.ConstantTimeCompare([]byte(h), []byte(sdHash)) != 1 {
		return ErrKBSDHash
	}
	return nil
}

// checkType applies Types (or AnyType) to the issuer-signed JWT's header.
func (v *Verifier) checkType(header map[string]any) error {
	if v.AnyType {
		return nil
	}
	types := v.Types
	if types == nil {
		types = []string{TypeSDJWTVC}
	}
	if typ, ok := header["typ"].(string); ok && slices.Contains(types, typ) {
		return nil
	}
	return fmt.Errorf("%w: %s, want %s", ErrType, describeType(header), strings.Join(quoteAll(types), " or "))
}

// describeType names a header's "typ" for an error message: its value, or
// that it is missing or not a string (never a formatting verb of nil).
func describeType(header map[string]any) string {
	raw, ok := header["typ"]
	if !ok {
		return "no typ header"
	}
	typ, ok := raw.(string)
	if !ok {
		return "a typ header that is not a string"
	}
	return fmt.Sprintf("typ %q", typ)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
