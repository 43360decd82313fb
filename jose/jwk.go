package jose

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
)

// maxJWKSize bounds a JWK before it is parsed. An EC JWK is about 200 bytes;
// the margin allows optional members such as kid and key_ops.
const maxJWKSize = 16 << 10

// publicJWK and privateJWK fix the member order of the JWKs this package
// writes (kty, crv, x, y[, d]); readers must not depend on it.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

type privateJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// ParsePublicJWK parses a public EC JWK with crv "SM2" or "P-256". It refuses
// a JWK that carries the private member "d", so a private key is never
// accepted (and then stored or logged) where a public one is expected.
func ParsePublicJWK(data []byte) (*PublicKey, error) {
	members, suite, point, err := parseJWK(data)
	if err != nil {
		return nil, err
	}
	if _, ok := members["d"]; ok {
		return nil, fmt.Errorf("%w: public JWK carries the private member \"d\"", ErrKey)
	}
	return newPublicKey(suite, point)
}

// ParsePrivateJWK parses a private EC JWK with crv "SM2" or "P-256". The
// scalar "d" must be in range and match the public point (x, y).
func ParsePrivateJWK(data []byte) (*PrivateKey, error) {
	members, suite, point, err := parseJWK(data)
	if err != nil {
		return nil, err
	}
	pub, err := newPublicKey(suite, point)
	if err != nil {
		return nil, err
	}
	raw, ok := members["d"]
	if !ok {
		return nil, fmt.Errorf("%w: private JWK has no \"d\"", ErrKey)
	}
	d, err := b64Member(raw, "d")
	if err != nil {
		return nil, err
	}
	if len(d) != coordSize {
		return nil, fmt.Errorf("%w: JWK member \"d\" is %d bytes, want %d", ErrKey, len(d), coordSize)
	}
	k, err := newPrivateKey(suite, d)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.pub.point, pub.point) != 1 {
		return nil, fmt.Errorf("%w: JWK member \"d\" does not match x and y", ErrKey)
	}
	return k, nil
}

// parseJWK reads and checks the members common to public and private JWKs
// and returns the members, the suite and the uncompressed public point.
func parseJWK(data []byte) (map[string]json.RawMessage, Suite, []byte, error) {
	if len(data) > maxJWKSize {
		return nil, "", nil, fmt.Errorf("%w: JWK is %d bytes, limit %d", ErrTooLarge, len(data), maxJWKSize)
	}
	if err := checkStrictObject(data); err != nil {
		return nil, "", nil, fmt.Errorf("%w: JWK: %v", ErrMalformed, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, "", nil, fmt.Errorf("%w: JWK: %v", ErrMalformed, err)
	}
	kty, err := stringMember(members, "kty", true)
	if err != nil {
		return nil, "", nil, err
	}
	if kty != "EC" {
		return nil, "", nil, fmt.Errorf("%w: unsupported kty %q (want \"EC\")", ErrKey, kty)
	}
	crv, err := stringMember(members, "crv", true)
	if err != nil {
		return nil, "", nil, err
	}
	var suite Suite
	switch crv {
	case crvSM2:
		suite = SuiteGM
	case crvP256:
		suite = SuiteIntl
	default:
		return nil, "", nil, fmt.Errorf("%w: unsupported crv %q (want %q or %q)", ErrKey, crv, crvSM2, crvP256)
	}
	// Optional members, when present, must agree with the key: a JWK that
	// says it is for another algorithm or for encryption is a mistake.
	if alg, err := stringMember(members, "alg", false); err != nil {
		return nil, "", nil, err
	} else if want := (&PublicKey{suite: suite}).Alg(); alg != "" && alg != want {
		return nil, "", nil, fmt.Errorf("%w: JWK alg %q does not match crv %q (want %q)", ErrKey, alg, crv, want)
	}
	if use, err := stringMember(members, "use", false); err != nil {
		return nil, "", nil, err
	} else if use != "" && use != "sig" {
		return nil, "", nil, fmt.Errorf("%w: JWK use %q (want \"sig\")", ErrKey, use)
	}
	point := make([]byte, 1, pointSize)
	point[0] = 4
	for _, name := range []string{"x", "y"} {
		raw, ok := members[name]
		if !ok {
			return nil, "", nil, fmt.Errorf("%w: JWK has no %q", ErrKey, name)
		}
		c, err := b64Member(raw, name)
		if err != nil {
			return nil, "", nil, err
		}
		if len(c) != coordSize {
			return nil, "", nil, fmt.Errorf("%w: JWK member %q is %d bytes, want %d", ErrKey, name, len(c), coordSize)
		}
		point = append(point, c...)
	}
	return members, suite, point, nil
}

// stringMember returns a member that must be a JSON string. An absent
// optional member is "".
func stringMember(members map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := members[name]
	if !ok {
		if required {
			return "", fmt.Errorf("%w: JWK has no %q", ErrKey, name)
		}
		return "", nil
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: JWK member %q is not a string", ErrMalformed, name)
	}
	return s, nil
}

// b64Member decodes a member that must be a canonical base64url string. The
// message never includes the value, which may be a private scalar.
func b64Member(raw json.RawMessage, name string) ([]byte, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, fmt.Errorf("%w: JWK member %q is not a string", ErrMalformed, name)
	}
	b, err := decodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("%w: JWK member %q: %v", ErrMalformed, name, err)
	}
	return b, nil
}

// MarshalJSON returns the public JWK {"kty":"EC","crv":…,"x":…,"y":…}, so
// that a PublicKey embeds directly, e.g. in a cnf.jwk claim.
func (k *PublicKey) MarshalJSON() ([]byte, error) {
	if k == nil || k.point == nil {
		return nil, fmt.Errorf("%w: nil public key", ErrKey)
	}
	return json.Marshal(publicJWK{
		Kty: "EC",
		Crv: suiteCurveName(k.suite),
		X:   encodeB64(k.x()),
		Y:   encodeB64(k.y()),
	})
}

// UnmarshalJSON parses a public JWK with the same checks as ParsePublicJWK.
// Unlike the encoding/json convention, JSON null is an error rather than a
// no-op: a key field that is present must hold a key. (A *PublicKey field is
// set to nil by encoding/json itself without calling this method.)
func (k *PublicKey) UnmarshalJSON(data []byte) error {
	p, err := ParsePublicJWK(data)
	if err != nil {
		return err
	}
	*k = *p
	return nil
}

// MarshalJSON returns the private JWK, including "d". Treat the output as
// secret.
func (k *PrivateKey) MarshalJSON() ([]byte, error) {
	if k == nil || k.pub == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrKey)
	}
	d, err := k.scalar()
	if err != nil {
		return nil, err
	}
	return json.Marshal(privateJWK{
		Kty: "EC",
		Crv: suiteCurveName(k.pub.suite),
		X:   encodeB64(k.pub.x()),
		Y:   encodeB64(k.pub.y()),
		D:   encodeB64(d),
	})
}
