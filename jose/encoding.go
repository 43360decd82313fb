package jose

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting in strictly parsed JSON. JOSE headers and JWKs
// are shallow; the bound keeps hostile input from costing deep recursion.
const maxJSONDepth = 64

// encodeB64 is base64url without padding (RFC 7515 §2).
func encodeB64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeB64 decodes canonical unpadded base64url. The standard decoder
// silently skips '\r' and '\n', so the alphabet is checked first; Strict
// rejects non-zero trailing bits, so every value has exactly one encoding.
func decodeB64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			if c == '=' {
				return nil, errors.New("base64url must not be padded")
			}
			return nil, fmt.Errorf("invalid base64url character at offset %d", i)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("non-canonical base64url")
	}
	return b, nil
}

// checkStrictObject checks that data is exactly one JSON object, valid UTF-8,
// with no member repeated at any level. encoding/json keeps the last of two
// duplicate members and replaces invalid UTF-8, which would let two parsers
// read different headers from the same bytes; this refuses such input.
func checkStrictObject(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("JSON is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("JSON value is not an object")
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

// walkObject consumes the members of an object whose '{' was just read.
func walkObject(dec *json.Decoder, depth int) error {
	seen := make(map[string]bool)
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		if tok == json.Delim('}') {
			return nil
		}
		name, ok := tok.(string)
		if !ok {
			return errors.New("invalid JSON: object member name is not a string")
		}
		if seen[name] {
			return fmt.Errorf("duplicate JSON member %q", name)
		}
		seen[name] = true
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
}

// walkValue consumes one value, descending into objects and arrays.
func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	switch d {
	case '{':
		return walkObject(dec, depth+1)
	case '[':
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		return nil
	default:
		return fmt.Errorf("invalid JSON: unexpected %q", d)
	}
}
