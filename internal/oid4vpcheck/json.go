package oid4vpcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
)

// object is a JSON object read by parseObject: members as raw JSON.
type object map[string]json.RawMessage

// parseObject reads one JSON object, refusing duplicate member names at
// any depth (ErrDuplicateMember) and anything but one object (bad, which
// the caller chooses: ErrJWS for a JWS part, ErrVPToken for a vp_token …).
func parseObject(data []byte, bad error) (object, error) {
	if err := noDuplicates(data); err != nil {
		if errors.Is(err, ErrDuplicateMember) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", bad, err)
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		return nil, fmt.Errorf("%w: not a JSON object", bad)
	}
	return o, nil
}

// noDuplicates walks one JSON value and fails on a member name repeated
// within one object, or on trailing data.
func noDuplicates(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := walk(d); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

func walk(d *json.Decoder) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return err
			}
			name, _ := k.(string)
			if seen[name] {
				return fmt.Errorf("%w: %q", ErrDuplicateMember, name)
			}
			seen[name] = true
			if err := walk(d); err != nil {
				return err
			}
		}
		_, err = d.Token()
		return err
	case json.Delim('['):
		for d.More() {
			if err := walk(d); err != nil {
				return err
			}
		}
		_, err = d.Token()
		return err
	}
	return nil
}

// has reports whether o has member k (null counts as present: a parameter
// given as null is given, and then of the wrong type).
func (o object) has(k string) bool { _, ok := o[k]; return ok }

// str reads member k as a string: ok false when absent, an
// ErrParameterType error when present but not a string.
func (o object) str(k string) (s string, ok bool, err error) {
	raw, present := o[k]
	if !present {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil || !isJSONString(raw) {
		return "", true, fmt.Errorf("%w: %s is not a string", ErrParameterType, k)
	}
	return s, true, nil
}

// boolean reads member k as a boolean (absent: def).
func (o object) boolean(k string, def bool, bad error) (bool, error) {
	raw, present := o[k]
	if !present {
		return def, nil
	}
	var b bool
	if t := bytes.TrimSpace(raw); !bytes.Equal(t, []byte("true")) && !bytes.Equal(t, []byte("false")) {
		return false, fmt.Errorf("%w: %s is not a boolean", bad, k)
	}
	_ = json.Unmarshal(raw, &b)
	return b, nil
}

// numericDate reads member k as a JSON number (RFC 7519 NumericDate).
func (o object) numericDate(k string) (v float64, ok bool, err error) {
	raw, present := o[k]
	if !present {
		return 0, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, true, fmt.Errorf("%w: %s is not a number", ErrParameterType, k)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, true, fmt.Errorf("%w: %s is not a number", ErrParameterType, k)
	}
	return f, true, nil
}

func isJSONString(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '"'
}

// kind returns the JSON type of raw: "object", "array", "string",
// "number", "boolean" or "null".
func kind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return ""
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// array reads raw as a JSON array.
func array(raw json.RawMessage) ([]json.RawMessage, bool) {
	if kind(raw) != "array" {
		return nil, false
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil, false
	}
	return a, true
}

// stringArray reads raw as a non-empty array of strings.
func stringArray(raw json.RawMessage) ([]string, bool) {
	a, ok := array(raw)
	if !ok || len(a) == 0 {
		return nil, false
	}
	out := make([]string, len(a))
	for i, el := range a {
		if kind(el) != "string" || json.Unmarshal(el, &out[i]) != nil {
			return nil, false
		}
	}
	return out, true
}

var (
	// urlSafe is the character set of nonce and state (§5.2): ASCII
	// letters, digits, hyphen, period, underscore and tilde.
	urlSafe = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	// dcqlID is the character set of DCQL ids (§6.1, §6.3).
	dcqlID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)
