package sdjwt

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

// TypeSDJWTVC is the "typ" of an SD-JWT VC's issuer-signed JWT.
const TypeSDJWTVC = "dc+sd-jwt"

// neverDisclosable lists the claims SD-JWT VC requires in the clear.
var neverDisclosable = map[string]bool{
	"iss": true, "nbf": true, "exp": true, "cnf": true, "status": true, "vct": true, "vct#integrity": true,
}

// IssueOptions configure Issue. The zero value issues an SD-JWT VC with the
// suite's digest algorithm, no decoys, "iat" set to now and no holder key.
type IssueOptions struct {
	// Disclosable lists the claim paths to make selectively disclosable. A
	// parent and its children may both be listed (recursive disclosure).
	Disclosable []ClaimPath
	// Decoys is the number of decoy digests added to every object that has
	// selectively disclosable properties.
	Decoys int
	// HashAlg is the "_sd_alg"; "" means sm3 for the gm suite and sha-256
	// for intl.
	HashAlg string
	// HolderKey, when set, is embedded as "cnf": {"jwk": …} so that
	// presentations can carry a Key Binding JWT.
	HolderKey *jose.PublicKey
	// Issuer, VCT and Status set "iss", "vct" and "status" when not empty.
	Issuer string
	VCT    string
	Status any
	// IssuedAt sets "iat" (zero means Now()); Expiry and NotBefore set "exp"
	// and "nbf" when not zero.
	IssuedAt, Expiry, NotBefore time.Time
	// Type is the header "typ"; "" means dc+sd-jwt.
	Type string
	// Header holds further protected header parameters (such as "kid").
	Header map[string]any
	// AdditionalKeys sign the same payload too; their signatures appear only
	// in the General JSON Serialization.
	AdditionalKeys []*jose.PrivateKey
	// Rand is the source of salts and decoys; nil means crypto/rand.
	Rand io.Reader
	// Hashes looks up HashAlg; nil means the built-in algorithms.
	Hashes *HashRegistry
	// Now is the clock for "iat"; nil means time.Now.
	Now func() time.Time
}

// Issue signs claims as an SD-JWT with key, making the paths in
// opts.Disclosable selectively disclosable. claims must be JSON values
// (as produced by encoding/json); it is not modified. Issue also returns
// every disclosure, so the holder receives the complete SD-JWT.
func Issue(key *jose.PrivateKey, claims map[string]any, opts IssueOptions) (*SDJWT, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no issuer key", ErrInvalidClaims)
	}
	alg := opts.HashAlg
	if alg == "" {
		alg = DefaultHashAlg(key.Suite())
	}
	newHash, err := opts.Hashes.lookup(alg)
	if err != nil {
		return nil, err
	}
	random := opts.Rand
	if random == nil {
		random = rand.Reader
	}
	if opts.Decoys < 0 {
		return nil, fmt.Errorf("%w: negative decoy count", ErrInvalidClaims)
	}

	// Copy and normalise the claims to the types encoding/json produces.
	raw, err := marshalJSON(claims)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: claims must be a JSON object", ErrInvalidClaims)
	}
	if err := checkReserved(body); err != nil {
		return nil, err
	}
	if _, ok := body["_sd_alg"]; ok {
		return nil, fmt.Errorf("%w: _sd_alg is set by the issuer", ErrReservedClaimName)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	iat := opts.IssuedAt
	if iat.IsZero() {
		iat = now()
	}
	set := map[string]any{"iat": iat.Unix()}
	if opts.Issuer != "" {
		set["iss"] = opts.Issuer
	}
	if opts.VCT != "" {
		set["vct"] = opts.VCT
	}
	if opts.Status != nil {
		set["status"] = opts.Status
	}
	if !opts.Expiry.IsZero() {
		set["exp"] = opts.Expiry.Unix()
	}
	if !opts.NotBefore.IsZero() {
		set["nbf"] = opts.NotBefore.Unix()
	}
	if opts.HolderKey != nil {
		jwk, err := opts.HolderKey.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("sdjwt: encoding holder key: %w", err)
		}
		set["cnf"] = map[string]any{"jwk": json.RawMessage(jwk)}
	}
	for _, k := range slices.Sorted(maps.Keys(set)) { // sorted: the same input names the same claim
		if _, dup := body[k]; dup && k != "iat" {
			return nil, fmt.Errorf("%w: claim %q is also set by an issuance option", ErrInvalidClaims, k)
		}
	}
	if _, given := body["iat"]; given && !opts.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: claim \"iat\" is also set by an issuance option", ErrInvalidClaims)
	} else if given {
		delete(set, "iat")
	}

	for _, p := range opts.Disclosable {
		if len(p) == 1 {
			if name, _ := p[0].(string); neverDisclosable[name] {
				return nil, fmt.Errorf("%w: %q", ErrNotDisclosable, name)
			}
		}
	}
	paths, err := expandPaths(body, opts.Disclosable)
	if err != nil {
		return nil, err
	}
	marks := &mark{}
	for _, p := range paths {
		marks.add(p)
	}

	is := &issuance{rand: random, newHash: newHash, decoys: opts.Decoys}
	enc, err := is.encode(body, marks)
	if err != nil {
		return nil, err
	}
	payload := enc.(map[string]any)
	for k, val := range set {
		payload[k] = val
	}
	payload["_sd_alg"] = alg
	payloadJSON, err := marshalJSON(payload)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: encoding payload: %w", err)
	}

	header := make(map[string]any, len(opts.Header)+1)
	for k, val := range opts.Header {
		header[k] = val
	}
	header["typ"] = TypeSDJWTVC
	if opts.Type != "" {
		header["typ"] = opts.Type
	}
	jwt, err := jose.Sign(key, header, payloadJSON)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: signing: %w", err)
	}
	sd := &SDJWT{JWT: jwt, Disclosures: is.disclosures}
	for _, k := range opts.AdditionalKeys {
		other, err := jose.Sign(k, header, payloadJSON)
		if err != nil {
			return nil, fmt.Errorf("sdjwt: signing: %w", err)
		}
		h, _, sig, err := splitJWS(other)
		if err != nil {
			return nil, err
		}
		sd.OtherSignatures = append(sd.OtherSignatures, Signature{Protected: h, Signature: sig})
	}
	return sd, nil
}

// DefaultHashAlg returns the "_sd_alg" of a suite: sm3 for gm, sha-256 otherwise.
func DefaultHashAlg(s jose.Suite) string {
	if s == jose.SuiteGM {
		return HashSM3
	}
	return HashSHA256
}

// checkReserved refuses property names that SD-JWT gives a meaning to.
func checkReserved(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) { // sorted: the same input gives the same error
			if k == "_sd" || k == "..." {
				return fmt.Errorf("%w: claims may not contain %q", ErrReservedClaimName, k)
			}
			if err := checkReserved(v[k]); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range v {
			if err := checkReserved(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// A mark records which parts of the claims become selectively disclosable.
type mark struct {
	sd       bool
	children map[any]*mark // keyed by property name (string) or index (int)
}

func (m *mark) add(path []any) {
	for _, c := range path {
		if m.children == nil {
			m.children = make(map[any]*mark)
		}
		next := m.children[c]
		if next == nil {
			next = &mark{}
			m.children[c] = next
		}
		m = next
	}
	m.sd = true
}

func (m *mark) child(key any) *mark {
	if m == nil {
		return nil
	}
	return m.children[key]
}

// issuance holds the state of one Issue call.
type issuance struct {
	rand        io.Reader
	newHash     func() hash.Hash
	decoys      int
	disclosures []string
}

// encode replaces the marked parts of v by digests, bottom up, so that a
// disclosure of a parent carries its children's digests (recursive
// disclosure).
func (is *issuance) encode(v any, m *mark) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		var digests []string
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cm := m.child(k)
			enc, err := is.encode(v[k], cm)
			if err != nil {
				return nil, err
			}
			if cm == nil || !cm.sd {
				out[k] = enc
				continue
			}
			d, err := NewPropertyDisclosure(is.rand, k, enc)
			if err != nil {
				return nil, err
			}
			is.disclosures = append(is.disclosures, d.Encoded)
			digests = append(digests, digest(is.newHash, d.Encoded))
		}
		if len(digests) > 0 {
			for range is.decoys {
				salt, err := newSalt(is.rand)
				if err != nil {
					return nil, err
				}
				digests = append(digests, digest(is.newHash, salt))
			}
			// Sorted, so the order reveals nothing about the claims (RFC 9901 Section 4.2.4.1).
			sort.Strings(digests)
			out["_sd"] = digests
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, elem := range v {
			cm := m.child(i)
			enc, err := is.encode(elem, cm)
			if err != nil {
				return nil, err
			}
			if cm == nil || !cm.sd {
				out[i] = enc
				continue
			}
			d, err := NewElementDisclosure(is.rand, enc)
			if err != nil {
				return nil, err
			}
			is.disclosures = append(is.disclosures, d.Encoded)
			out[i] = map[string]any{"...": digest(is.newHash, d.Encoded)}
		}
		return out, nil
	default:
		return v, nil
	}
}
