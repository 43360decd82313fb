package sdjwt

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/yinzheng-id/yinzheng/jose"
)

// The conformance vectors come from sd-jwt-python (testdata/sd-jwt-python,
// see its SOURCE and LICENSE). Each case lists user claims whose "!sd"
// tags mark what is selectively disclosable, what the holder discloses, and
// the claims a verifier must end up with.

const vectorDir = "testdata/sd-jwt-python"

type vectorSettings struct {
	Identifiers struct {
		Issuer   string `yaml:"issuer"`
		Verifier string `yaml:"verifier"`
	} `yaml:"identifiers"`
	KeySettings struct {
		IssuerKeys []map[string]any `yaml:"issuer_keys"`
		HolderKey  map[string]any   `yaml:"holder_key"`
	} `yaml:"key_settings"`
	Nonce string `yaml:"key_binding_nonce"`
	IAT   int64  `yaml:"iat"`
	EXP   int64  `yaml:"exp"`
}

type vectorCase struct {
	name         string
	claims       map[string]any
	disclosable  []ClaimPath
	disclose     []ClaimPath
	expect       map[string]any
	keyBinding   bool
	header       map[string]any
	format       string // compact, flattened or general
	secondSigner map[string]any
}

func loadYAML(t testing.TB, path string) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Content[0]
}

// field returns the value node of key in a mapping node, or nil.
func field(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// sdClaims converts a YAML node to JSON values, recording the path of every
// node or mapping key tagged "!sd".
func sdClaims(t testing.TB, n *yaml.Node, path []any, sd *[]ClaimPath) any {
	t.Helper()
	here := func() []any { return append([]any(nil), path...) }
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(here(), k.Value)
			if k.Tag == "!sd" || v.Tag == "!sd" {
				*sd = append(*sd, p)
			}
			m[k.Value] = sdClaims(t, v, p, sd)
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, item := range n.Content {
			p := append(here(), i)
			if item.Tag == "!sd" {
				*sd = append(*sd, p)
			}
			a[i] = sdClaims(t, item, p, sd)
		}
		return a
	case yaml.ScalarNode:
		c := *n
		if c.Tag == "!sd" {
			c.Tag = "" // resolve the scalar's own type
		}
		var v any
		if err := c.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Fatalf("unexpected YAML node kind %v", n.Kind)
	return nil
}

// disclosedPaths turns sd-jwt-python's holder_disclosed_claims (true marks
// what to disclose) into claim paths.
func disclosedPaths(n *yaml.Node, path []any, out *[]ClaimPath) {
	here := func() []any { return append([]any(nil), path...) }
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			disclosedPaths(n.Content[i+1], append(here(), n.Content[i].Value), out)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			disclosedPaths(item, append(here(), i), out)
		}
	case yaml.ScalarNode:
		var b bool
		if n.Decode(&b) == nil && b {
			*out = append(*out, here())
		}
	}
}

func normalise(t testing.TB, v any) any {
	t.Helper()
	raw, err := marshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func loadVectors(t testing.TB) (vectorSettings, []vectorCase) {
	t.Helper()
	var settings vectorSettings
	if err := loadYAML(t, filepath.Join(vectorDir, "settings.yml")).Decode(&settings); err != nil {
		t.Fatal(err)
	}
	specs, err := filepath.Glob(filepath.Join(vectorDir, "*", "specification.yml"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	var cases []vectorCase
	for _, spec := range specs {
		root := loadYAML(t, spec)
		c := vectorCase{name: filepath.Base(filepath.Dir(spec)), format: "compact"}
		c.claims = normalise(t, sdClaims(t, field(root, "user_claims"), nil, &c.disclosable)).(map[string]any)
		disclosedPaths(field(root, "holder_disclosed_claims"), nil, &c.disclose)
		var expect any
		if err := field(root, "expect_verified_user_claims").Decode(&expect); err != nil {
			t.Fatal(err)
		}
		c.expect = normalise(t, expect).(map[string]any)
		if kb := field(root, "key_binding"); kb != nil {
			_ = kb.Decode(&c.keyBinding)
		}
		if h := field(root, "extra_header_parameters"); h != nil {
			_ = h.Decode(&c.header)
		}
		if f := field(root, "serialization_format"); f != nil && f.Value == "json" {
			c.format = "flattened"
			if o := field(root, "settings_override"); o != nil {
				var override struct {
					KeySettings struct {
						IssuerKeys []map[string]any `yaml:"issuer_keys"`
					} `yaml:"key_settings"`
				}
				_ = o.Decode(&override)
				if keys := override.KeySettings.IssuerKeys; len(keys) > 1 {
					c.format, c.secondSigner = "general", keys[1]
				}
			}
		}
		cases = append(cases, c)
	}
	return settings, cases
}

func jwk(t testing.TB, m map[string]any) *jose.PrivateKey {
	t.Helper()
	raw, _ := json.Marshal(m)
	k, err := jose.ParsePrivateJWK(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConformanceVectors runs every sd-jwt-python case through issue →
// present → verify, with the fixed P-256 keys of settings.yml (intl) and
// with generated SM2 keys (gm).
func TestConformanceVectors(t *testing.T) {
	settings, cases := loadVectors(t)
	if len(cases) != 17 {
		t.Fatalf("%d vector cases, want 17", len(cases))
	}
	now := time.Unix(settings.IAT, 0)
	for _, suite := range suites() {
		issuer := jwk(t, settings.KeySettings.IssuerKeys[0])
		holder := jwk(t, settings.KeySettings.HolderKey)
		if suite == jose.SuiteGM {
			issuer, _ = jose.GenerateKey(suite, rand.Reader)
			holder, _ = jose.GenerateKey(suite, rand.Reader)
		}
		for _, c := range cases {
			t.Run(string(suite)+"/"+c.name, func(t *testing.T) {
				opts := IssueOptions{
					Disclosable: c.disclosable, Issuer: settings.Identifiers.Issuer, HolderKey: holder.Public(),
					IssuedAt: now, Expiry: time.Unix(settings.EXP, 0), Header: c.header, Decoys: 1,
				}
				var second *jose.PrivateKey
				if c.secondSigner != nil {
					second = jwk(t, c.secondSigner)
					if suite == jose.SuiteGM {
						second, _ = jose.GenerateKey(suite, rand.Reader)
					}
					opts.AdditionalKeys = []*jose.PrivateKey{second}
				}
				sd, err := Issue(issuer, c.claims, opts)
				if err != nil {
					t.Fatal(err)
				}
				popts := PresentOptions{IssuedAt: now}
				if c.keyBinding {
					popts.HolderKey, popts.Audience, popts.Nonce = holder, settings.Identifiers.Verifier, settings.Nonce
				}
				pres, err := Present(sd, c.disclose, popts)
				if err != nil {
					t.Fatal(err)
				}
				var wire []byte
				switch c.format {
				case "compact":
					wire = []byte(pres.Compact())
				case "flattened":
					wire, err = pres.MarshalFlattenedJSON()
				case "general":
					wire, err = pres.MarshalGeneralJSON()
				}
				if err != nil {
					t.Fatal(err)
				}
				v := &Verifier{IssuerKey: issuer.Public(), Audience: settings.Identifiers.Verifier, Nonce: settings.Nonce,
					RequireKeyBinding: c.keyBinding, Now: func() time.Time { return now }}
				res, err := v.Verify(wire)
				if err != nil {
					t.Fatal(err)
				}
				if second != nil {
					v.IssuerKey = second.Public()
					if _, err := v.Verify(wire); err != nil {
						t.Fatalf("second signature: %v", err)
					}
				}
				if c.header != nil && res.Header["kid"] == nil {
					t.Error("extra header parameter lost")
				}
				got := res.Claims
				for _, k := range []string{"iss", "iat", "exp", "cnf"} {
					delete(got, k)
				}
				if !reflect.DeepEqual(got, c.expect) {
					g, _ := marshalJSON(got)
					w, _ := marshalJSON(c.expect)
					t.Errorf("verified claims\n got %s\nwant %s", g, w)
				}
			})
		}
	}
}

// TestVectorsParseTags guards the YAML reading itself: a case whose tags
// are lost would issue no disclosures and still pass trivially.
func TestVectorsParseTags(t *testing.T) {
	_, cases := loadVectors(t)
	counts := map[string]int{}
	for _, c := range cases {
		counts[c.name] = len(c.disclosable)
	}
	want := map[string]int{"array_data_types": 7, "recursions": 19, "object_data_types": 14, "no_sd": 0, "array_of_objects": 2}
	for name, n := range want {
		if counts[name] != n {
			t.Errorf("%s: %d !sd tags, want %d", name, counts[name], n)
		}
	}
	if !strings.Contains(vectorDir, "sd-jwt-python") {
		t.Fatal("vector directory moved")
	}
}
