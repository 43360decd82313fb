package jose

import (
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"
)

// ThumbprintSM3 selects SM3 in PublicKey.Thumbprint. crypto.Hash has no value
// for SM3, so this is a value outside the standard library's range that only
// Thumbprint understands: never call its New or Size methods.
const ThumbprintSM3 crypto.Hash = 0x534D33 // "SM3"

// Thumbprint returns the RFC 7638 thumbprint of k with hash h: the digest of
// {"crv":…,"kty":"EC","x":…,"y":…} (required members only, in lexicographic
// order, no whitespace). h is ThumbprintSM3 or an available crypto.Hash such
// as crypto.SHA256.
func (k *PublicKey) Thumbprint(h crypto.Hash) ([]byte, error) {
	if k == nil || k.point == nil {
		return nil, fmt.Errorf("%w: nil public key", ErrKey)
	}
	input, err := k.thumbprintInput()
	if err != nil {
		return nil, err
	}
	if h == ThumbprintSM3 {
		d := sm3.Sum(input)
		return d[:], nil
	}
	if !h.Available() {
		return nil, fmt.Errorf("jose: thumbprint hash %v is not available", h)
	}
	hh := h.New()
	hh.Write(input)
	return hh.Sum(nil), nil
}

// ThumbprintSM3 is Thumbprint(ThumbprintSM3).
func (k *PublicKey) ThumbprintSM3() ([]byte, error) {
	return k.Thumbprint(ThumbprintSM3)
}

// KeyID returns the key id of k: the multibase base58btc encoding ("z…") of
// its SM3 RFC 7638 thumbprint, in both suites.
func (k *PublicKey) KeyID() string {
	d, err := k.Thumbprint(ThumbprintSM3)
	if err != nil {
		return ""
	}
	enc, err := multibase.NewEncoder(multibase.Base58BTC)
	if err != nil {
		return "" // unreachable: base58btc is built into go-multibase
	}
	return enc.Encode(d)
}

// thumbprintInput is the RFC 7638 canonical JSON of k's required members.
func (k *PublicKey) thumbprintInput() ([]byte, error) {
	return canonicalMembers(map[string]string{
		"crv": suiteCurveName(k.suite),
		"kty": "EC",
		"x":   encodeB64(k.x()),
		"y":   encodeB64(k.y()),
	})
}

// canonicalMembers writes the RFC 7638 §3 form of a JWK's required members,
// which are all strings for every registered kty: members sorted by name
// (UTF-16 code units and byte order agree for the ASCII names JWKs use), no
// whitespace, and strings escaped minimally (no HTML escaping).
func canonicalMembers(members map[string]string) ([]byte, error) {
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeJSONString(&buf, n); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := writeJSONString(&buf, members[n]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("jose: encoding thumbprint member: %w", err)
	}
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte{'\n'}))
	return nil
}
