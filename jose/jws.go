package jose

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// MaxCompactSize is the largest compact JWS that ParseCompact and Verify
// accept; longer input is refused before any decoding. SD-JWT issuer-signed
// JWTs and KB-JWTs are a few kilobytes, so 1 MiB is a generous bound that
// still caps the work an attacker can cause.
const MaxCompactSize = 1 << 20

// JWS is a compact JWS split and decoded, but not verified.
type JWS struct {
	Header     map[string]any // protected header; numbers decode as float64
	RawHeader  string         // base64url as received
	Payload    []byte
	RawPayload string // base64url as received
	Signature  []byte
}

// SigningInput returns ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
// as received, which is what the signature covers.
func (j *JWS) SigningInput() []byte {
	return []byte(j.RawHeader + "." + j.RawPayload)
}

// Sign returns a compact JWS of payload with the protected header built from
// header (which is not modified) plus "alg" from the key. An explicit "alg"
// in header that is not key.Alg() is an error, and so is "crit" (this package
// implements no extension that would need it, so Verify would refuse it).
// The header is serialised with encoding/json (members sorted by name).
func Sign(key *PrivateKey, header map[string]any, payload []byte) (string, error) {
	if key == nil || key.pub == nil {
		return "", fmt.Errorf("%w: nil private key", ErrKey)
	}
	h := maps.Clone(header)
	if h == nil {
		h = make(map[string]any, 1)
	}
	if alg, ok := h["alg"]; ok && alg != key.Alg() {
		return "", fmt.Errorf("%w: header alg %v, key alg %q", ErrAlgMismatch, alg, key.Alg())
	}
	if _, ok := h["crit"]; ok {
		return "", fmt.Errorf("%w: Sign does not produce \"crit\" headers", ErrCrit)
	}
	h["alg"] = key.Alg()
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("%w: header cannot be serialised: %v", ErrMalformed, err)
	}
	signingInput := encodeB64(hb) + "." + encodeB64(payload)
	sig, err := key.SignRaw([]byte(signingInput))
	if err != nil {
		return "", err
	}
	return signingInput + "." + encodeB64(sig), nil
}

// ParseCompact splits and decodes a compact JWS without verifying it, to read
// a kid or cnf before choosing the key. It enforces the syntax: at most
// MaxCompactSize bytes, exactly three parts, canonical unpadded base64url,
// and a protected header that is a JSON object in valid UTF-8 with no
// repeated member. It checks nothing about "alg" or the signature.
func ParseCompact(compact string) (*JWS, error) {
	if len(compact) > MaxCompactSize {
		return nil, fmt.Errorf("%w: compact JWS is %d bytes, limit %d", ErrTooLarge, len(compact), MaxCompactSize)
	}
	if n := strings.Count(compact, ".") + 1; n != 3 {
		return nil, fmt.Errorf("%w: compact JWS has %d parts, want 3", ErrMalformed, n)
	}
	rawHeader, rest, _ := strings.Cut(compact, ".")
	rawPayload, rawSig, _ := strings.Cut(rest, ".")
	if rawHeader == "" {
		return nil, fmt.Errorf("%w: empty JWS header", ErrMalformed)
	}
	hb, err := decodeB64(rawHeader)
	if err != nil {
		return nil, fmt.Errorf("%w: JWS header: %v", ErrMalformed, err)
	}
	if err := checkStrictObject(hb); err != nil {
		return nil, fmt.Errorf("%w: JWS header: %v", ErrMalformed, err)
	}
	var header map[string]any
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, fmt.Errorf("%w: JWS header: %v", ErrMalformed, err)
	}
	payload, err := decodeB64(rawPayload)
	if err != nil {
		return nil, fmt.Errorf("%w: JWS payload: %v", ErrMalformed, err)
	}
	sig, err := decodeB64(rawSig)
	if err != nil {
		return nil, fmt.Errorf("%w: JWS signature: %v", ErrMalformed, err)
	}
	return &JWS{Header: header, RawHeader: rawHeader, Payload: payload, RawPayload: rawPayload, Signature: sig}, nil
}

// Verify checks a compact JWS with key and returns its protected header and
// payload. Besides the checks of ParseCompact it rejects a missing or
// non-string "alg", alg "none" (ErrAlgNone), an alg that is not key.Alg()
// (ErrAlgMismatch: the key, never the token, chooses the algorithm), any
// "crit" (ErrCrit: no extension is implemented), and a signature that is not
// exactly 64 bytes, has r or s outside [1, n-1], or does not verify
// (ErrSignature).
func Verify(compact string, key *PublicKey) (header map[string]any, payload []byte, err error) {
	if key == nil || key.key == nil {
		return nil, nil, fmt.Errorf("%w: nil public key", ErrKey)
	}
	j, err := ParseCompact(compact)
	if err != nil {
		return nil, nil, err
	}
	rawAlg, ok := j.Header["alg"]
	if !ok {
		return nil, nil, fmt.Errorf("%w: JWS header has no \"alg\"", ErrMalformed)
	}
	alg, ok := rawAlg.(string)
	if !ok {
		return nil, nil, fmt.Errorf("%w: JWS header \"alg\" is not a string", ErrMalformed)
	}
	if strings.EqualFold(alg, "none") {
		return nil, nil, ErrAlgNone
	}
	if alg != key.Alg() {
		return nil, nil, fmt.Errorf("%w: token alg %q, key alg %q", ErrAlgMismatch, alg, key.Alg())
	}
	if err := checkCrit(j.Header); err != nil {
		return nil, nil, err
	}
	if err := key.VerifyRaw(j.SigningInput(), j.Signature); err != nil {
		return nil, nil, err
	}
	return j.Header, j.Payload, nil
}

// checkCrit applies RFC 7515 §4.1.11: "crit", when present, is a non-empty
// array of strings naming extensions the recipient must understand. This
// package understands none, so a well-formed "crit" is rejected too.
func checkCrit(header map[string]any) error {
	raw, ok := header["crit"]
	if !ok {
		return nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%w: \"crit\" is not a non-empty array", ErrMalformed)
	}
	names := make([]string, 0, len(list))
	for _, v := range list {
		name, ok := v.(string)
		if !ok {
			return fmt.Errorf("%w: \"crit\" has a non-string member", ErrMalformed)
		}
		names = append(names, name)
	}
	return fmt.Errorf("%w: %q", ErrCrit, names)
}
