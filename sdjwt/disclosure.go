package sdjwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// b64 is the unpadded base64url encoding every SD-JWT component uses.
var b64 = base64.RawURLEncoding

// saltBytes is the salt length: RFC 9901 Section 9.3 recommends 128 bits.
const saltBytes = 16

// A Disclosure reveals one selectively disclosable object property
// ([salt, name, value]) or array element ([salt, value]).
type Disclosure struct {
	Salt string
	// Name is the property name; it is meaningful only when IsProperty is true.
	Name       string
	IsProperty bool
	Value      any
	// Encoded is the base64url form exactly as issued or received; digests
	// are computed over it, never over a re-encoding.
	Encoded string
}

// NewPropertyDisclosure builds the disclosure [salt, name, value] with a fresh
// random salt read from rand.
func NewPropertyDisclosure(rand io.Reader, name string, value any) (*Disclosure, error) {
	if name == "_sd" || name == "..." {
		return nil, fmt.Errorf("%w: %q", ErrReservedClaimName, name)
	}
	return newDisclosure(rand, true, name, value)
}

// NewElementDisclosure builds the disclosure [salt, value] for an array
// element with a fresh random salt read from rand.
func NewElementDisclosure(rand io.Reader, value any) (*Disclosure, error) {
	return newDisclosure(rand, false, "", value)
}

func newDisclosure(rand io.Reader, isProperty bool, name string, value any) (*Disclosure, error) {
	salt, err := newSalt(rand)
	if err != nil {
		return nil, err
	}
	arr := []any{salt, value}
	if isProperty {
		arr = []any{salt, name, value}
	}
	raw, err := marshalJSON(arr)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: encoding disclosure: %w", err)
	}
	return &Disclosure{Salt: salt, Name: name, IsProperty: isProperty, Value: value, Encoded: b64.EncodeToString(raw)}, nil
}

// newSalt returns 128 random bits, base64url encoded.
func newSalt(rand io.Reader) (string, error) {
	var b [saltBytes]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("sdjwt: reading salt: %w", err)
	}
	return b64.EncodeToString(b[:]), nil
}

// ParseDisclosure decodes one base64url disclosure and checks its shape: a
// JSON array of [salt, name, value] or [salt, value] with a string salt and
// name, and a name that is neither "_sd" nor "...".
func ParseDisclosure(encoded string) (*Disclosure, error) {
	raw, err := b64.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", ErrMalformedDisclosure, err)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedDisclosure, err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON array", ErrMalformedDisclosure)
	}
	d := &Disclosure{Encoded: encoded}
	switch len(arr) {
	case 2:
		d.Value = arr[1]
	case 3:
		name, ok := arr[1].(string)
		if !ok {
			return nil, fmt.Errorf("%w: claim name is not a string", ErrMalformedDisclosure)
		}
		if name == "_sd" || name == "..." {
			return nil, fmt.Errorf("%w: disclosure names the claim %q", ErrReservedClaimName, name)
		}
		d.Name, d.IsProperty, d.Value = name, true, arr[2]
	default:
		return nil, fmt.Errorf("%w: array has %d elements, want 2 or 3", ErrMalformedDisclosure, len(arr))
	}
	salt, ok := arr[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: salt is not a string", ErrMalformedDisclosure)
	}
	d.Salt = salt
	return d, nil
}

// Digest returns the disclosure's digest under the named algorithm, looked
// up in reg (nil means the built-in algorithms).
func (d *Disclosure) Digest(reg *HashRegistry, alg string) (string, error) {
	newHash, err := reg.lookup(alg)
	if err != nil {
		return "", err
	}
	return digest(newHash, d.Encoded), nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number
// so that integers survive unchanged.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

// DecodeJSON decodes one JSON value the way this package does internally:
// objects become map[string]any and numbers json.Number.
func DecodeJSON(data []byte) (any, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: %w", err)
	}
	return v, nil
}

// marshalJSON encodes v without HTML escaping and without a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
