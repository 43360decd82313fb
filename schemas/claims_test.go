package schemas

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// issuedClaims is a full processed payload: the personal claims and the
// registered claims an issuer adds.
func issuedClaims(t *testing.T) map[string]any {
	t.Helper()
	c, err := ClaimsFromAttributes(validAttributes(t), mustDate(t, "2026-05-17"))
	if err != nil {
		t.Fatal(err)
	}
	c["iss"] = "https://issuer.example.cn"
	c["iat"] = int64(1778976000)
	c["exp"] = int64(1905465600)
	c["cnf"] = map[string]any{"jwk": map[string]any{"kty": "EC", "crv": "SM2", "x": "AA", "y": "BB"}}
	c["status"] = map[string]any{"status_list": map[string]any{"idx": 7, "uri": "https://issuer.example.cn/status/1"}}
	return c
}

func TestClaimsFromAttributes(t *testing.T) {
	c := issuedClaims(t)
	if err := ValidateClaims(c); err != nil {
		t.Fatalf("issued claims refused: %v", err)
	}
	if c[ClaimAgeOver14] != true || c[ClaimAgeOver18] != true || c[ClaimAgeOver60] != false {
		t.Errorf("age claims of a 36-year-old: %v %v %v", c[ClaimAgeOver14], c[ClaimAgeOver18], c[ClaimAgeOver60])
	}
	if c[ClaimBirthDate] != "1990-05-17" || c[ClaimDocType] != "resident_id" || c["vct"] != VCT {
		t.Errorf("claims %v", c)
	}
	// Age claims on the issuance date, birthday edge.
	a := validAttributes(t)
	a.BirthDate = mustDate(t, "2008-05-18")
	a.GuardianAcknowledgement = true
	c, err := ClaimsFromAttributes(a, mustDate(t, "2026-05-17"))
	if err != nil {
		t.Fatal(err)
	}
	if c[ClaimAgeOver18] != false || c[ClaimAgeOver14] != true {
		t.Errorf("a day before the 18th birthday: age_over_18 %v, age_over_14 %v", c[ClaimAgeOver18], c[ClaimAgeOver14])
	}
	// Through JSON, as a verifier sees it.
	data, _ := json.Marshal(issuedClaims(t))
	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	if err := ValidateClaims(decoded); err != nil {
		t.Errorf("decoded claims refused: %v", err)
	}
	// A presentation discloses some personal claims only.
	for _, s := range mustSpecs(t) {
		if s.Selective {
			delete(decoded, s.Name)
		}
	}
	if err := ValidateClaims(decoded); err != nil {
		t.Errorf("claims with no disclosures refused: %v", err)
	}
	if _, err := ClaimsFromAttributes(a, mustDate(t, "2008-05-17")); err == nil {
		t.Error("claims issued before the birth date")
	}
}

func mustSpecs(t *testing.T) []ClaimSpec {
	t.Helper()
	specs, err := ClaimSpecs()
	if err != nil {
		t.Fatal(err)
	}
	return specs
}

func TestClaimSpecs(t *testing.T) {
	personal := []string{ClaimWanghao, ClaimName, ClaimBirthDate, ClaimAgeOver14, ClaimAgeOver18, ClaimAgeOver60,
		ClaimDocType, ClaimLevel, ClaimRegion, ClaimGuardianConsent, ClaimGuardianAcknowledgement}
	registered := []string{"vct", "iss", "iat", "exp", "cnf", "status"}
	specs := map[string]ClaimSpec{}
	for _, s := range mustSpecs(t) {
		specs[s.Name] = s
	}
	if len(specs) != len(personal)+len(registered) {
		t.Errorf("%d claims in the schema, want %d", len(specs), len(personal)+len(registered))
	}
	for _, n := range personal {
		if s, ok := specs[n]; !ok || !s.Selective || s.Required {
			t.Errorf("personal claim %s: %+v, want selective and not required", n, s)
		}
	}
	for _, n := range registered {
		if s, ok := specs[n]; !ok || s.Selective || !s.Required {
			t.Errorf("registered claim %s: %+v, want required and not selective", n, s)
		}
	}
	c, err := ClaimsFromAttributes(validAttributes(t), mustDate(t, "2026-05-17"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range c {
		if _, ok := specs[n]; !ok {
			t.Errorf("ClaimsFromAttributes emits %s, which the schema lacks", n)
		}
	}
}

// TestValidateClaimsRejects breaks one rule at a time; the error must name
// the claim.
func TestValidateClaimsRejects(t *testing.T) {
	cases := []struct {
		claim  string
		mutate func(map[string]any)
	}{
		{"vct", func(c map[string]any) { c["vct"] = "urn:other" }},
		{"vct", func(c map[string]any) { delete(c, "vct") }},
		{"iss", func(c map[string]any) { c["iss"] = "http://issuer.example.cn" }},
		{"iss", func(c map[string]any) { c["iss"] = 5 }},
		{"iat", func(c map[string]any) { c["iat"] = -1 }},
		{"iat", func(c map[string]any) { c["iat"] = 1.5 }},
		{"iat", func(c map[string]any) { c["iat"] = "1778976000" }},
		{"exp", func(c map[string]any) { delete(c, "exp") }},
		{"cnf", func(c map[string]any) { c["cnf"] = "key" }},
		{"cnf.jwk", func(c map[string]any) { c["cnf"] = map[string]any{} }},
		{"cnf.jwk.kty", func(c map[string]any) { c["cnf"] = map[string]any{"jwk": map[string]any{"kty": "OKP"}} }},
		{"status.status_list.idx", func(c map[string]any) {
			c["status"] = map[string]any{"status_list": map[string]any{"idx": -3, "uri": "https://x"}}
		}},
		{"status.status_list.uri", func(c map[string]any) { c["status"] = map[string]any{"status_list": map[string]any{"idx": 1}} }},
		{"status.extra", func(c map[string]any) {
			c["status"] = map[string]any{"extra": 1, "status_list": map[string]any{"idx": 1, "uri": "https://x"}}
		}},
		{"document_number", func(c map[string]any) { c["document_number"] = "110101199005170011" }},
		{"wanghao", func(c map[string]any) { c[ClaimWanghao] = "short" }},
		{"wanghao", func(c map[string]any) { c[ClaimWanghao] = nil }},
		{"name", func(c map[string]any) { c[ClaimName] = "" }},
		{"name", func(c map[string]any) { c[ClaimName] = strings.Repeat("名", 257) }},
		{"name", func(c map[string]any) { c[ClaimName] = "张\x00三" }},
		{"birth_date", func(c map[string]any) { c[ClaimBirthDate] = "2023-02-30" }},
		{"birth_date", func(c map[string]any) { c[ClaimBirthDate] = "1990-5-17" }},
		{"age_over_14", func(c map[string]any) { c[ClaimAgeOver14] = "true" }},
		{"age_over_14", func(c map[string]any) { c[ClaimAgeOver14], c[ClaimAgeOver18] = false, true }},
		{"age_over_18", func(c map[string]any) { c[ClaimAgeOver18], c[ClaimAgeOver60] = false, true }},
		{"age_over_60", func(c map[string]any) { c[ClaimAgeOver60] = 1 }},
		{"doc_type", func(c map[string]any) { c[ClaimDocType] = "driving_licence" }},
		{"level", func(c map[string]any) { c[ClaimLevel] = 0 }},
		{"level", func(c map[string]any) { c[ClaimLevel] = 5 }},
		{"level", func(c map[string]any) { c[ClaimLevel] = 2.5 }},
		{"region", func(c map[string]any) { c[ClaimRegion] = "01010" }},
		{"region", func(c map[string]any) { c[ClaimRegion] = "CN" }},
		{"guardian_consent", func(c map[string]any) { c[ClaimGuardianConsent] = "yes" }},
		{"guardian_acknowledgement", func(c map[string]any) { c[ClaimGuardianAcknowledgement] = 0 }},
	}
	for _, tc := range cases {
		c := maps.Clone(issuedClaims(t))
		tc.mutate(c)
		err := ValidateClaims(c)
		if err == nil {
			t.Errorf("%s: broken claims accepted", tc.claim)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.claim+": ") {
			t.Errorf("%s: error %q does not name the claim", tc.claim, err)
		}
	}
	if err := ValidateClaims(nil); err == nil {
		t.Error("nil claims accepted")
	}
}

func TestSchemaParserRefusesUnknownKeywords(t *testing.T) {
	for name, schema := range map[string]string{
		"unknown keyword": `{"type":"object","oneOf":[]}`,
		"unknown type":    `{"type":"array"}`,
		"unknown format":  `{"type":"string","format":"email"}`,
		"bad sd":          `{"type":"string","x-yinzheng-sd":"sometimes"}`,
		"bad pattern":     `{"type":"string","pattern":"("}`,
		"numeric const":   `{"type":"integer","const":1}`,
		"nested":          `{"type":"object","properties":{"a":{"type":"string","minItems":1}}}`,
	} {
		if _, err := parseSchema([]byte(schema)); err == nil {
			t.Errorf("%s: schema accepted", name)
		}
	}
	if _, err := parseSchema(SchemaJSON()); err != nil {
		t.Errorf("embedded schema: %v", err)
	}
}

func TestSchemaID(t *testing.T) {
	id, err := SchemaID()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("schema id %s", id)
	if !strings.HasPrefix(id, "z") || len(id) < 40 {
		t.Errorf("schema id %q is not multibase base58btc of a 32-byte digest", id)
	}
	canon, err := CanonicalSchema()
	if err != nil {
		t.Fatal(err)
	}
	// Reformatting the source does not change the canonical form.
	var v any
	if err := json.Unmarshal(SchemaJSON(), &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "\t")
	again, err := canonicalJSON(pretty)
	if err != nil || string(again) != string(canon) {
		t.Errorf("canonical form depends on formatting: %v", err)
	}
	if strings.ContainsAny(string(canon), "\n\t") || strings.Contains(string(canon), `\u003c`) {
		t.Error("canonical form has white space or HTML escapes")
	}
	// A change in the schema changes the canonical bytes.
	other, _ := canonicalJSON([]byte(strings.Replace(string(SchemaJSON()), `"maximum": 4`, `"maximum": 5`, 1)))
	if string(other) == string(canon) {
		t.Error("a changed schema has the same canonical form")
	}
	if _, err := canonicalJSON([]byte(`{} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func FuzzValidateClaims(f *testing.F) {
	f.Add([]byte(`{"vct":"urn:yinzheng:wangzheng:v1"}`))
	f.Add([]byte(`{"level":1e400,"birth_date":"2000-02-30"}`))
	if v, err := loadVectorsForSeeds(); err == nil {
		for _, a := range v.Attributes {
			data, _ := json.Marshal(map[string]any{"vct": VCT, "wanghao": a.Wanghao, "name": a.HolderName,
				"birth_date": a.BirthDate, "doc_type": a.DocType, "level": a.Level, "region": a.Region})
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var claims map[string]any
		if json.Unmarshal(data, &claims) != nil {
			return
		}
		_ = ValidateClaims(claims) // must not panic
	})
}
