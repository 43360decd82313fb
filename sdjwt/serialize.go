package sdjwt

import (
	"encoding/json"
	"fmt"
	"strings"
)

// An SDJWT is an SD-JWT or, with a KeyBinding, an SD-JWT+KB: the
// issuer-signed JWT, the disclosures exactly as encoded, and an optional Key
// Binding JWT.
type SDJWT struct {
	// JWT is the issuer-signed JWT in compact form. In the JSON
	// serialization it is built from the first signature.
	JWT string
	// Disclosures are the base64url disclosures, in presentation order.
	Disclosures []string
	// KeyBinding is the compact KB-JWT, or "" when there is none.
	KeyBinding string
	// OtherSignatures are further issuer signatures over the same payload,
	// carried only by the General JWS JSON Serialization.
	OtherSignatures []Signature
}

// A Signature is one entry of the "signatures" array of a General JWS JSON
// Serialization, after the first.
type Signature struct {
	Protected string         `json:"protected"`
	Header    map[string]any `json:"header,omitempty"`
	Signature string         `json:"signature"`
}

// ParseCompact parses the compact serialization
// <JWT>~<Disclosure 1>~…~<Disclosure N>~[<KB-JWT>]. It checks the structure
// only: no signature is verified and disclosures are not decoded.
func ParseCompact(s string) (*SDJWT, error) {
	parts := strings.Split(s, "~")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%w: no '~' separator", ErrMalformed)
	}
	if err := checkCompactJWS(parts[0]); err != nil {
		return nil, fmt.Errorf("%w: issuer-signed JWT: %v", ErrMalformed, err)
	}
	sd := &SDJWT{JWT: parts[0], KeyBinding: parts[len(parts)-1]}
	for i, d := range parts[1 : len(parts)-1] {
		if d == "" {
			return nil, fmt.Errorf("%w: disclosure %d is empty", ErrMalformed, i)
		}
		sd.Disclosures = append(sd.Disclosures, d)
	}
	if sd.KeyBinding != "" {
		if err := checkCompactJWS(sd.KeyBinding); err != nil {
			return nil, fmt.Errorf("%w: key binding JWT: %v", ErrMalformed, err)
		}
	}
	return sd, nil
}

// checkCompactJWS checks that s has three base64url parts.
func checkCompactJWS(s string) error {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fmt.Errorf("want 3 dot-separated parts, got %d", len(parts))
	}
	for _, p := range parts {
		if _, err := b64.DecodeString(p); err != nil {
			return fmt.Errorf("part is not base64url")
		}
	}
	return nil
}

// Compact returns the compact serialization. Other signatures are dropped:
// the compact form carries exactly one.
func (s *SDJWT) Compact() string {
	return s.withoutKeyBinding() + s.KeyBinding
}

// withoutKeyBinding is <JWT>~<D1>~…~<DN>~, the input of sd_hash.
func (s *SDJWT) withoutKeyBinding() string {
	var b strings.Builder
	b.WriteString(s.JWT)
	b.WriteByte('~')
	for _, d := range s.Disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	return b.String()
}

// jsonHeader is the unprotected header that carries the SD-JWT parts in the
// JSON serialization (RFC 9901 Section 8).
type jsonHeader struct {
	Disclosures []string `json:"disclosures"`
	KBJWT       string   `json:"kb_jwt,omitempty"`
}

type jsonFlattened struct {
	Payload   string      `json:"payload"`
	Protected string      `json:"protected"`
	Header    *jsonHeader `json:"header"`
	Signature string      `json:"signature"`
}

type jsonSignature struct {
	Protected string          `json:"protected"`
	Header    json.RawMessage `json:"header,omitempty"`
	Signature string          `json:"signature"`
}

type jsonGeneral struct {
	Payload    string          `json:"payload"`
	Signatures []jsonSignature `json:"signatures"`
}

// MarshalFlattenedJSON returns the Flattened JWS JSON Serialization.
func (s *SDJWT) MarshalFlattenedJSON() ([]byte, error) {
	h, p, sig, err := splitJWS(s.JWT)
	if err != nil {
		return nil, err
	}
	return marshalJSON(jsonFlattened{Payload: p, Protected: h, Signature: sig,
		Header: &jsonHeader{Disclosures: nonNil(s.Disclosures), KBJWT: s.KeyBinding}})
}

// MarshalGeneralJSON returns the General JWS JSON Serialization; the
// disclosures and the KB-JWT go in the first signature's header.
func (s *SDJWT) MarshalGeneralJSON() ([]byte, error) {
	h, p, sig, err := splitJWS(s.JWT)
	if err != nil {
		return nil, err
	}
	first, err := marshalJSON(jsonHeader{Disclosures: nonNil(s.Disclosures), KBJWT: s.KeyBinding})
	if err != nil {
		return nil, err
	}
	g := jsonGeneral{Payload: p, Signatures: []jsonSignature{{Protected: h, Header: first, Signature: sig}}}
	for _, o := range s.OtherSignatures {
		var hdr json.RawMessage
		if len(o.Header) > 0 {
			if hdr, err = marshalJSON(o.Header); err != nil {
				return nil, err
			}
		}
		g.Signatures = append(g.Signatures, jsonSignature{Protected: o.Protected, Header: hdr, Signature: o.Signature})
	}
	return marshalJSON(g)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// splitJWS splits a compact JWS into its three parts.
func splitJWS(jws string) (header, payload, sig string, err error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: JWS has %d parts, want 3", ErrMalformed, len(parts))
	}
	return parts[0], parts[1], parts[2], nil
}

// ParseJSONSerialization parses the Flattened or General JWS JSON
// Serialization of an SD-JWT (RFC 9901 Section 8). Disclosures and the KB-JWT
// must be in the (first) signature's unprotected header.
func ParseJSONSerialization(data []byte) (*SDJWT, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: JSON serialization is not an object", ErrMalformed)
	}
	payload, ok := obj["payload"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: payload member missing or not a string", ErrMalformed)
	}
	var sigs []any
	if raw, general := obj["signatures"]; general {
		for _, k := range []string{"protected", "header", "signature"} {
			if _, ok := obj[k]; ok {
				return nil, fmt.Errorf("%w: %q next to \"signatures\"", ErrMalformed, k)
			}
		}
		if sigs, ok = raw.([]any); !ok || len(sigs) == 0 {
			return nil, fmt.Errorf("%w: signatures must be a non-empty array", ErrMalformed)
		}
	} else {
		sigs = []any{obj}
	}
	sd := &SDJWT{}
	for i, raw := range sigs {
		so, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: signature %d is not an object", ErrMalformed, i)
		}
		prot, ok1 := so["protected"].(string)
		sig, ok2 := so["signature"].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: signature %d lacks protected or signature strings", ErrMalformed, i)
		}
		var hdr map[string]any
		if h, ok := so["header"]; ok {
			if hdr, ok = h.(map[string]any); !ok {
				return nil, fmt.Errorf("%w: signature %d header is not an object", ErrMalformed, i)
			}
		}
		jws := prot + "." + payload + "." + sig
		if err := checkCompactJWS(jws); err != nil {
			return nil, fmt.Errorf("%w: signature %d: %v", ErrMalformed, i, err)
		}
		if i > 0 {
			if _, ok := hdr["disclosures"]; ok {
				return nil, fmt.Errorf("%w: disclosures outside the first signature's header", ErrMalformed)
			}
			if _, ok := hdr["kb_jwt"]; ok {
				return nil, fmt.Errorf("%w: kb_jwt outside the first signature's header", ErrMalformed)
			}
			sd.OtherSignatures = append(sd.OtherSignatures, Signature{Protected: prot, Header: hdr, Signature: sig})
			continue
		}
		sd.JWT = jws
		ds, ok := hdr["disclosures"].([]any)
		if !ok {
			return nil, fmt.Errorf("%w: header.disclosures missing or not an array", ErrMalformed)
		}
		for j, d := range ds {
			s, ok := d.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("%w: disclosure %d is not a non-empty string", ErrMalformed, j)
			}
			sd.Disclosures = append(sd.Disclosures, s)
		}
		if kb, ok := hdr["kb_jwt"]; ok {
			s, ok := kb.(string)
			if !ok {
				return nil, fmt.Errorf("%w: kb_jwt is not a string", ErrMalformed)
			}
			if err := checkCompactJWS(s); err != nil {
				return nil, fmt.Errorf("%w: key binding JWT: %v", ErrMalformed, err)
			}
			sd.KeyBinding = s
		}
	}
	return sd, nil
}

// Parse accepts either serialization: JSON when the input starts with '{',
// compact otherwise.
func Parse(data []byte) (*SDJWT, error) {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "{") {
		return ParseJSONSerialization([]byte(s))
	}
	return ParseCompact(s)
}
