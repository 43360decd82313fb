package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"
)

// VCT is the SD-JWT VC type of wangzheng v1 credentials.
const VCT = "urn:yinzheng:wangzheng:v1"

// Claim names of the SD-JWT VC.
const (
	ClaimWanghao                 = "wanghao"
	ClaimName                    = "name"
	ClaimBirthDate               = "birth_date"
	ClaimAgeOver14               = "age_over_14"
	ClaimAgeOver18               = "age_over_18"
	ClaimAgeOver60               = "age_over_60"
	ClaimDocType                 = "doc_type"
	ClaimLevel                   = "level"
	ClaimRegion                  = "region"
	ClaimGuardianConsent         = "guardian_consent"
	ClaimGuardianAcknowledgement = "guardian_acknowledgement"
)

// schemaJSON is the JSON Schema of the claims, as published.
//
//go:embed schema/wangzheng-v1.schema.json
var schemaJSON []byte

// SchemaJSON returns a copy of the JSON Schema of the SD-JWT VC claims.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

// node is the subset of JSON Schema (draft 2020-12) the claims schema uses.
// Decoding refuses any other keyword, so the validator never skips a rule
// it does not know.
type node struct {
	Schema      string `json:"$schema"`
	Title       string `json:"title"`
	Description string `json:"description"`

	Type                 string           `json:"type"`
	Const                any              `json:"const"`
	Enum                 []any            `json:"enum"`
	Pattern              string           `json:"pattern"`
	Format               string           `json:"format"`
	MinLength            *int             `json:"minLength"`
	MaxLength            *int             `json:"maxLength"`
	Minimum              *int64           `json:"minimum"`
	Maximum              *int64           `json:"maximum"`
	Required             []string         `json:"required"`
	Properties           map[string]*node `json:"properties"`
	AdditionalProperties *bool            `json:"additionalProperties"`

	// SD says whether the SD-JWT form discloses the claim selectively:
	// "always" or "never".
	SD string `json:"x-yinzheng-sd"`

	pattern *regexp.Regexp
}

// compiledSchema parses the embedded schema once; the result is read only.
var compiledSchema = sync.OnceValues(func() (*node, error) {
	return parseSchema(schemaJSON)
})

func parseSchema(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var root node
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("claims schema: %w", err)
	}
	if err := root.compile("$"); err != nil {
		return nil, fmt.Errorf("claims schema: %w", err)
	}
	return &root, nil
}

func (n *node) compile(path string) error {
	switch n.Type {
	case "object", "string", "integer", "boolean":
	default:
		return fmt.Errorf("%s: unsupported type %q", path, n.Type)
	}
	switch n.Format {
	case "", "date":
	default:
		return fmt.Errorf("%s: unsupported format %q", path, n.Format)
	}
	switch n.SD {
	case "", "always", "never":
	default:
		return fmt.Errorf("%s: x-yinzheng-sd %q is neither always nor never", path, n.SD)
	}
	if n.Const != nil {
		if _, ok := n.Const.(string); !ok {
			return fmt.Errorf("%s: const must be a string", path)
		}
	}
	for _, e := range n.Enum {
		if _, ok := e.(string); !ok {
			return fmt.Errorf("%s: enum values must be strings", path)
		}
	}
	if n.Pattern != "" {
		re, err := regexp.Compile(n.Pattern)
		if err != nil {
			return fmt.Errorf("%s: pattern: %w", path, err)
		}
		n.pattern = re
	}
	for name, p := range n.Properties {
		if err := p.compile(path + "." + name); err != nil {
			return err
		}
	}
	return nil
}

// ClaimSpec describes one claim of the SD-JWT VC.
type ClaimSpec struct {
	Name      string // claim name
	Type      string // JSON Schema type: string, integer, boolean or object
	Required  bool   // present in every credential's signed payload
	Selective bool   // selectively disclosable (every personal claim)
}

// ClaimSpecs returns the claims of the schema, sorted by name.
func ClaimSpecs() ([]ClaimSpec, error) {
	root, err := compiledSchema()
	if err != nil {
		return nil, err
	}
	specs := make([]ClaimSpec, 0, len(root.Properties))
	for name, p := range root.Properties {
		specs = append(specs, ClaimSpec{
			Name:      name,
			Type:      p.Type,
			Required:  slices.Contains(root.Required, name),
			Selective: p.SD == "always",
		})
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs, nil
}

// ClaimsFromAttributes returns the personal claims of the SD-JWT VC for a
// credential issued on the given date, with vct; the age claims are computed
// from the birth date on that date. The issuer adds iss, iat, exp, cnf and
// status, and makes every claim whose ClaimSpec is Selective selectively
// disclosable.
func ClaimsFromAttributes(a *Attributes, issued Date) (map[string]any, error) {
	if err := a.ValidateAt(issued); err != nil {
		return nil, err
	}
	age := AgeAt(a.BirthDate, issued)
	return map[string]any{
		"vct":                        VCT,
		ClaimWanghao:                 a.Wanghao,
		ClaimName:                    a.Name,
		ClaimBirthDate:               a.BirthDate.String(),
		ClaimAgeOver14:               age >= 14,
		ClaimAgeOver18:               age >= 18,
		ClaimAgeOver60:               age >= 60,
		ClaimDocType:                 a.DocType.String(),
		ClaimLevel:                   int(a.Level),
		ClaimRegion:                  a.Region,
		ClaimGuardianConsent:         a.GuardianConsent,
		ClaimGuardianAcknowledgement: a.GuardianAcknowledgement,
	}, nil
}

// ValidateClaims checks a processed SD-JWT VC payload (every disclosure
// applied) against the JSON Schema, then the rules a schema cannot state:
// the birth date exists, the name is clean text, and the age claims present
// agree with one another. The error names the claim and the problem.
func ValidateClaims(claims map[string]any) error {
	root, err := compiledSchema()
	if err != nil {
		return err
	}
	if claims == nil {
		return errors.New("claims: none")
	}
	if err := root.validate("", claims); err != nil {
		return err
	}
	if s, ok := claims[ClaimName].(string); ok {
		if err := checkName(s); err != nil {
			return fmt.Errorf("%s: %w", ClaimName, err)
		}
	}
	if s, ok := claims[ClaimRegion].(string); ok {
		if err := checkRegion(s); err != nil {
			return fmt.Errorf("%s: %w", ClaimRegion, err)
		}
	}
	// An older threshold met implies every younger one.
	order := []string{ClaimAgeOver14, ClaimAgeOver18, ClaimAgeOver60}
	for i, younger := range order {
		for _, older := range order[i+1:] {
			y, yok := claims[younger].(bool)
			o, ook := claims[older].(bool)
			if yok && ook && o && !y {
				return fmt.Errorf("%s: false while %s is true", younger, older)
			}
		}
	}
	return nil
}

// validate checks v against n; path is the claim's JSON path for errors.
func (n *node) validate(path string, v any) error {
	name := path
	if name == "" {
		name = "claims"
	}
	switch n.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: is %s, want an object", name, jsonType(v))
		}
		for _, r := range n.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: missing", join(path, r))
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := n.Properties[k]
			if !ok {
				if n.AdditionalProperties != nil && !*n.AdditionalProperties {
					return fmt.Errorf("%s: not a claim of this schema", join(path, k))
				}
				continue
			}
			if err := p.validate(join(path, k), m[k]); err != nil {
				return err
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: is %s, want a string", name, jsonType(v))
		}
		runes := len([]rune(s))
		if n.MinLength != nil && runes < *n.MinLength {
			return fmt.Errorf("%s: %d characters, fewer than %d", name, runes, *n.MinLength)
		}
		if n.MaxLength != nil && runes > *n.MaxLength {
			return fmt.Errorf("%s: %d characters, more than %d", name, runes, *n.MaxLength)
		}
		if n.pattern != nil && !n.pattern.MatchString(s) {
			return fmt.Errorf("%s: %q does not match %s", name, s, n.Pattern)
		}
		if n.Format == "date" {
			if _, err := ParseDate(s); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	case "integer":
		i, ok := asInteger(v)
		if !ok {
			return fmt.Errorf("%s: is %s, want an integer", name, jsonType(v))
		}
		if n.Minimum != nil && i < *n.Minimum {
			return fmt.Errorf("%s: %d is below the minimum %d", name, i, *n.Minimum)
		}
		if n.Maximum != nil && i > *n.Maximum {
			return fmt.Errorf("%s: %d is above the maximum %d", name, i, *n.Maximum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: is %s, want a boolean", name, jsonType(v))
		}
	}
	if n.Const != nil && !jsonEqual(v, n.Const) {
		return fmt.Errorf("%s: must be %v", name, n.Const)
	}
	if n.Enum != nil && !slices.ContainsFunc(n.Enum, func(e any) bool { return jsonEqual(v, e) }) {
		return fmt.Errorf("%s: %v is not one of %v", name, v, n.Enum)
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// asInteger reads an integer from any form a claims map may hold it in:
// Go integers, json.Number, or a float64 without a fractional part.
func asInteger(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// jsonEqual compares two scalar JSON values (schema constants are strings).
func jsonEqual(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	return aok && bok && as == bs
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	if _, ok := asInteger(v); ok {
		return "an integer"
	}
	return fmt.Sprintf("a %T", v)
}

// SchemaID returns the schema's identifier: multibase base58btc ("z…") of
// the SM3 digest of the schema's canonical JSON (CanonicalSchema).
func SchemaID() (string, error) {
	canon, err := CanonicalSchema()
	if err != nil {
		return "", err
	}
	d := sm3.Sum(canon)
	return multibase.Encode(multibase.Base58BTC, d[:])
}

// CanonicalSchema returns the schema in canonical JSON: no white space,
// object keys sorted, strings with only the escapes JSON requires (RFC 8785
// for the strings, integers and booleans the schema is made of).
func CanonicalSchema() ([]byte, error) {
	return canonicalJSON(schemaJSON)
}

func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("canonical JSON: data after the value")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
