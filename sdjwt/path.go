package sdjwt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A ClaimPath selects claims in the OpenID4VP DCQL claims-path form: each
// component is a string (an object property), a non-negative int (an array
// element) or nil (every element of an array).
type ClaimPath []any

// ParseClaimPaths parses a JSON array of claim paths, such as
// [["address","street"],["nationalities",1]].
func ParseClaimPaths(data []byte) ([]ClaimPath, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPath, err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: want a JSON array of claim paths", ErrInvalidPath)
	}
	paths := make([]ClaimPath, 0, len(list))
	for i, item := range list {
		comps, ok := item.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: path %d is not an array", ErrInvalidPath, i)
		}
		p := make(ClaimPath, len(comps))
		for j, c := range comps {
			switch c := c.(type) {
			case string, nil:
				p[j] = c
			case json.Number:
				n, err := strconv.Atoi(c.String())
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%w: path %d component %d: %s is not a non-negative integer", ErrInvalidPath, i, j, c)
				}
				p[j] = n
			default:
				return nil, fmt.Errorf("%w: path %d component %d has type %T", ErrInvalidPath, i, j, c)
			}
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// validate checks the component types of a path built in Go.
func (p ClaimPath) validate() error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty path", ErrInvalidPath)
	}
	for j, c := range p {
		switch c := c.(type) {
		case string, nil:
		case int:
			if c < 0 {
				return fmt.Errorf("%w: %s: negative index", ErrInvalidPath, p)
			}
		default:
			return fmt.Errorf("%w: component %d has type %T", ErrInvalidPath, j, c)
		}
	}
	return nil
}

// String formats the path as JSON, for error messages.
func (p ClaimPath) String() string {
	parts := make([]string, len(p))
	for i, c := range p {
		switch c := c.(type) {
		case string:
			parts[i] = strconv.Quote(c)
		case nil:
			parts[i] = "null"
		default:
			parts[i] = fmt.Sprint(c)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// MarshalJSON encodes the path as a JSON array.
func (p ClaimPath) MarshalJSON() ([]byte, error) {
	return marshalJSON([]any(p))
}

// expandPaths resolves every path against the plain claims value root,
// expanding null components, and returns concrete paths (strings and ints
// only). A path that selects nothing is an error.
func expandPaths(root any, paths []ClaimPath) ([][]any, error) {
	var out [][]any
	for _, p := range paths {
		if err := p.validate(); err != nil {
			return nil, err
		}
		n := len(out)
		if err := expand(root, p, nil, &out); err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%w: %s", ErrPathNotFound, p)
		}
	}
	return out, nil
}

func expand(v any, rest ClaimPath, prefix []any, out *[][]any) error {
	if len(rest) == 0 {
		*out = append(*out, append([]any(nil), prefix...))
		return nil
	}
	full := ClaimPath(append(append([]any(nil), prefix...), rest...))
	switch c := rest[0].(type) {
	case string:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: %s: %q is looked up in something that is not an object", ErrPathNotFound, full, c)
		}
		child, ok := obj[c]
		if !ok {
			return fmt.Errorf("%w: %s: no claim %q", ErrPathNotFound, full, c)
		}
		return expand(child, rest[1:], append(prefix, c), out)
	case int:
		arr, ok := v.([]any)
		if !ok || c >= len(arr) {
			return fmt.Errorf("%w: %s: no array element %d", ErrPathNotFound, full, c)
		}
		return expand(arr[c], rest[1:], append(prefix, c), out)
	default: // nil: every element
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%w: %s: null selects array elements, but this is not an array", ErrPathNotFound, full)
		}
		for i := range arr {
			if err := expand(arr[i], rest[1:], append(prefix, i), out); err != nil {
				return err
			}
		}
		return nil
	}
}
