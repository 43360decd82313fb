package sdjwt

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

var (
	t0       = time.Unix(1_750_000_000, 0)
	clock    = func() time.Time { return t0 }
	audience = "https://verifier.example"
	nonce    = "n-0S6_WzA2Mj"
)

// fixture is a complete issuer/holder setup for one suite.
type fixture struct {
	suite  jose.Suite
	issuer *jose.PrivateKey
	holder *jose.PrivateKey
}

func newFixture(t testing.TB, suite jose.Suite) *fixture {
	t.Helper()
	iss, err := jose.GenerateKey(suite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hol, err := jose.GenerateKey(suite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{suite: suite, issuer: iss, holder: hol}
}

func (f *fixture) verifier() *Verifier {
	return &Verifier{IssuerKey: f.issuer.Public(), Audience: audience, Nonce: nonce, Now: clock}
}

func mustJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func mustPaths(t testing.TB, s string) []ClaimPath {
	t.Helper()
	p, err := ParseClaimPaths([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const personClaims = `{"given_name":"张","family_name":"三","birthdate":"1990-01-01",
 "address":{"street":"长安街 1 号","locality":"北京","country":"CN"},
 "nationalities":["CN","HK"],"age_over_18":true,"level":3}`

const personSD = `[["given_name"],["family_name"],["birthdate"],["address"],["address","street"],
 ["address","locality"],["nationalities",0],["nationalities",1],["age_over_18"],["level"]]`

func (f *fixture) issue(t testing.TB, opts IssueOptions) *SDJWT {
	t.Helper()
	if opts.Disclosable == nil {
		opts.Disclosable = mustPaths(t, personSD)
	}
	if opts.HolderKey == nil {
		opts.HolderKey = f.holder.Public()
	}
	opts.Now = clock
	sd, err := Issue(f.issuer, mustJSON(t, personClaims), opts)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func (f *fixture) present(t testing.TB, sd *SDJWT, paths string) *SDJWT {
	t.Helper()
	p, err := Present(sd, mustPaths(t, paths), PresentOptions{HolderKey: f.holder, Audience: audience, Nonce: nonce, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func suites() []jose.Suite { return []jose.Suite{jose.SuiteIntl, jose.SuiteGM} }

func TestRoundTrip(t *testing.T) {
	for _, suite := range suites() {
		t.Run(string(suite), func(t *testing.T) {
			f := newFixture(t, suite)
			sd := f.issue(t, IssueOptions{Decoys: 2, Issuer: "https://issuer.example", VCT: "urn:yinzheng:id"})
			if len(sd.Disclosures) != 10 {
				t.Fatalf("%d disclosures, want 10", len(sd.Disclosures))
			}
			pres := f.present(t, sd, `[["address","street"],["nationalities",1],["age_over_18"]]`)
			for _, form := range []string{"compact", "flattened", "general"} {
				var data []byte
				switch form {
				case "compact":
					data = []byte(pres.Compact())
				case "flattened":
					data, _ = pres.MarshalFlattenedJSON()
				default:
					data, _ = pres.MarshalGeneralJSON()
				}
				res, err := f.verifier().Verify(data)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if !res.KeyBound || !res.HolderKey.Equal(f.holder.Public()) {
					t.Fatalf("%s: key binding not reported", form)
				}
				got, _ := json.Marshal(res.Claims)
				for _, want := range []string{`"street":"长安街 1 号"`, `"nationalities":["HK"]`, `"age_over_18":true`, `"iss":"https://issuer.example"`, `"vct":"urn:yinzheng:id"`} {
					if !strings.Contains(string(got), want) {
						t.Errorf("%s: claims %s lack %s", form, got, want)
					}
				}
				// Quoted: a random key's base64url text may contain _sd.
				for _, absent := range []string{`"given_name"`, `"locality"`, `"_sd"`, `"..."`, `"level"`} {
					if strings.Contains(string(got), absent) {
						t.Errorf("%s: claims %s reveal %s", form, got, absent)
					}
				}
			}
			if want := DefaultHashAlg(suite); !strings.Contains(payloadOf(t, sd), `"_sd_alg":"`+want+`"`) {
				t.Errorf("payload lacks _sd_alg %s", want)
			}
		})
	}
}

func payloadOf(t testing.TB, sd *SDJWT) string {
	t.Helper()
	j, err := jose.ParseCompact(sd.JWT)
	if err != nil {
		t.Fatal(err)
	}
	return string(j.Payload)
}

// TestRFCExampleDisclosures checks example disclosures of RFC 9901 and their
// SHA-256 digests byte for byte.
func TestRFCExampleDisclosures(t *testing.T) {
	cases := []struct {
		encoded, digest, salt, name string
		property                    bool
		value                       any
	}{
		// Section 4.2.1.
		{"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
			"X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0", "_26bc4LT-ac6q2KI6cBW5es", "family_name", true, "Möbius"},
		// Section 4.2.2.
		{"WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0",
			"w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs", "lklxF5jMYlGTPUovMNIvCA", "", false, "FR"},
		// Section 5.1.
		{"WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
			"jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", "2GLC42sKQveCfGfryNRN9w", "given_name", true, "John"},
	}
	for _, c := range cases {
		d, err := ParseDisclosure(c.encoded)
		if err != nil {
			t.Fatal(err)
		}
		if d.Salt != c.salt || d.Name != c.name || d.IsProperty != c.property || d.Value != c.value {
			t.Errorf("%s decoded to %+v", c.encoded, d)
		}
		got, err := d.Digest(nil, HashSHA256)
		if err != nil || got != c.digest {
			t.Errorf("digest of %s = %s, %v; want %s", c.encoded, got, err, c.digest)
		}
	}
}

func TestDisclosureEncoding(t *testing.T) {
	d, err := NewPropertyDisclosure(rand.Reader, "name", "<张>&")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b64.DecodeString(d.Encoded)
	if want := `"name","<张>&"]`; !strings.HasSuffix(string(raw), want) {
		t.Errorf("disclosure JSON %s, want suffix %s", raw, want)
	}
	back, err := ParseDisclosure(d.Encoded)
	if err != nil || back.Salt != d.Salt || len(d.Salt) != 22 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if _, err := NewPropertyDisclosure(rand.Reader, "_sd", 1); !errors.Is(err, ErrReservedClaimName) {
		t.Errorf("disclosure named _sd: %v", err)
	}
}

func TestHashRegistry(t *testing.T) {
	r := NewHashRegistry()
	if _, err := r.lookup("md5"); !errors.Is(err, ErrUnsupportedHashAlg) {
		t.Fatalf("md5: %v", err)
	}
	if err := r.Register("sha-256-alias", builtinHashes[HashSHA256]); err != nil {
		t.Fatal(err)
	}
	d, _ := ParseDisclosure("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0")
	got, err := d.Digest(r, "sha-256-alias")
	if err != nil || got != "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs" {
		t.Errorf("registered alias: %s, %v", got, err)
	}
	if _, err := NewHashRegistry().lookup("sha-256-alias"); err == nil {
		t.Error("registration leaked into another registry")
	}
	if err := r.Register("", nil); err == nil {
		t.Error("empty registration accepted")
	}
	// sm3 of a disclosure differs from sha-256 and is 32 bytes.
	sm, _ := d.Digest(nil, HashSM3)
	if raw, _ := b64.DecodeString(sm); len(raw) != 32 || sm == got {
		t.Errorf("sm3 digest %s", sm)
	}
}

func TestParseDisclosureRejects(t *testing.T) {
	enc := func(s string) string { return b64.EncodeToString([]byte(s)) }
	cases := []struct {
		name, in string
		want     error
	}{
		{"bad base64url", "!!notbase64", ErrMalformedDisclosure},
		{"padded base64", enc(`["s","v"]`) + "=", ErrMalformedDisclosure},
		{"not JSON", enc(`["s",`), ErrMalformedDisclosure},
		{"not an array", enc(`{"salt":"s"}`), ErrMalformedDisclosure},
		{"one element", enc(`["s"]`), ErrMalformedDisclosure},
		{"four elements", enc(`["s","n","v","x"]`), ErrMalformedDisclosure},
		{"salt not a string", enc(`[1,"n","v"]`), ErrMalformedDisclosure},
		{"array salt not a string", enc(`[null,"v"]`), ErrMalformedDisclosure},
		{"name not a string", enc(`["s",7,"v"]`), ErrMalformedDisclosure},
		{"trailing data", enc(`["s","v"] 1`), ErrMalformedDisclosure},
		{"named _sd", enc(`["s","_sd","v"]`), ErrReservedClaimName},
		{"named ...", enc(`["s","...","v"]`), ErrReservedClaimName},
	}
	for _, c := range cases {
		if _, err := ParseDisclosure(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestParseClaimPaths(t *testing.T) {
	p := mustPaths(t, `[["address","street"],["nationalities",1],["a",null,"b"]]`)
	want := []ClaimPath{{"address", "street"}, {"nationalities", 1}, {"a", nil, "b"}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %v", p)
	}
	for _, bad := range []string{`{}`, `[[]]`, `["a"]`, `[["a",-1]]`, `[["a",1.5]]`, `[["a",true]]`, `[[{}]]`, `[`} {
		if _, err := ParseClaimPaths([]byte(bad)); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestIssueRejects(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	claims := `{"iss":"x","nbf":1,"exp":2,"cnf":{},"status":{},"vct":"v","vct#integrity":"h","a":{"b":[1]}}`
	for _, name := range []string{"iss", "nbf", "exp", "cnf", "status", "vct", "vct#integrity"} {
		_, err := Issue(f.issuer, mustJSON(t, claims), IssueOptions{Disclosable: []ClaimPath{{name}}})
		if !errors.Is(err, ErrNotDisclosable) {
			t.Errorf("%s disclosable: %v", name, err)
		}
	}
	if _, err := Issue(f.issuer, mustJSON(t, `{}`), IssueOptions{Issuer: "x", Disclosable: []ClaimPath{{"iss"}}}); !errors.Is(err, ErrNotDisclosable) {
		t.Errorf("iss set by option made disclosable: %v", err)
	}
	for _, p := range []string{`[["missing"]]`, `[["a","c"]]`, `[["a","b",1]]`, `[["a",0]]`, `[["a","b",0,"x"]]`, `[["a","b",null,"x"]]`} {
		_, err := Issue(f.issuer, mustJSON(t, claims), IssueOptions{Disclosable: mustPaths(t, p)})
		if !errors.Is(err, ErrPathNotFound) {
			t.Errorf("path %s: %v", p, err)
		}
	}
	for _, c := range []string{`{"_sd":[]}`, `{"a":[{"...":"x"}]}`, `{"_sd_alg":"sha-256"}`} {
		if _, err := Issue(f.issuer, mustJSON(t, c), IssueOptions{}); !errors.Is(err, ErrReservedClaimName) {
			t.Errorf("claims %s: %v", c, err)
		}
	}
	if _, err := Issue(f.issuer, mustJSON(t, `{"iss":"a"}`), IssueOptions{Issuer: "b"}); !errors.Is(err, ErrInvalidClaims) {
		t.Errorf("conflicting iss: %v", err)
	}
	if _, err := Issue(f.issuer, mustJSON(t, `{}`), IssueOptions{HashAlg: "md5"}); !errors.Is(err, ErrUnsupportedHashAlg) {
		t.Errorf("md5: %v", err)
	}
	if _, err := Issue(f.issuer, mustJSON(t, `{}`), IssueOptions{Decoys: -1}); !errors.Is(err, ErrInvalidClaims) {
		t.Errorf("negative decoys: %v", err)
	}
	// iat may be selectively disclosable (SD-JWT VC allows it).
	if _, err := Issue(f.issuer, mustJSON(t, `{"iat":5}`), IssueOptions{Disclosable: []ClaimPath{{"iat"}}}); err != nil {
		t.Errorf("iat disclosable: %v", err)
	}
}

func TestIssueStructure(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	sd, err := Issue(f.issuer, mustJSON(t, `{"a":{"b":1,"c":2},"arr":[1,2,3]}`), IssueOptions{
		Disclosable: mustPaths(t, `[["a"],["a","b"],["arr",null]]`), Decoys: 3, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p := mustJSON(t, payloadOf(t, sd))
	if sdArr := p["_sd"].([]any); len(sdArr) != 1+3 {
		t.Errorf("top-level _sd has %d digests, want 1 + 3 decoys", len(sdArr))
	}
	if _, ok := p["a"]; ok {
		t.Error("a is in the clear")
	}
	for _, e := range p["arr"].([]any) {
		if _, ok := arrayDigest(e); !ok {
			t.Errorf("array element %v is not a digest", e)
		}
	}
	// a's disclosure carries b's digest (recursive) and c in the clear.
	var aDisc *Disclosure
	for _, e := range sd.Disclosures {
		d, _ := ParseDisclosure(e)
		if d.Name == "a" {
			aDisc = d
		}
	}
	inner := aDisc.Value.(map[string]any)
	if _, ok := inner["b"]; ok || inner["c"] == nil || len(inner["_sd"].([]any)) != 1+3 {
		t.Errorf("recursive disclosure value %v", inner)
	}
	if p["iat"].(json.Number).String() != "1750000000" || p["_sd_alg"] != "sha-256" {
		t.Errorf("payload %v", p)
	}
}

func TestPresentSelection(t *testing.T) {
	f := newFixture(t, jose.SuiteGM)
	sd := f.issue(t, IssueOptions{})
	// A child of a recursively disclosable parent brings the parent.
	p := f.present(t, sd, `[["address","street"]]`)
	if len(p.Disclosures) != 2 {
		t.Fatalf("%d disclosures, want address and street", len(p.Disclosures))
	}
	// Disclosing the parent discloses everything beneath it.
	p = f.present(t, sd, `[["address"]]`)
	res, err := f.verifier().Verify([]byte(p.Compact()))
	if err != nil {
		t.Fatal(err)
	}
	addr := res.Claims["address"].(map[string]any)
	if addr["street"] == nil || addr["locality"] == nil || addr["country"] == nil {
		t.Errorf("address %v", addr)
	}
	// null selects every element.
	p = f.present(t, sd, `[["nationalities",null]]`)
	if len(p.Disclosures) != 2 {
		t.Errorf("%d disclosures for all nationalities", len(p.Disclosures))
	}
	// Nothing disclosed.
	p, err = Present(sd, nil, PresentOptions{})
	if err != nil || len(p.Disclosures) != 0 || p.KeyBinding != "" {
		t.Fatalf("empty presentation: %v %v", p, err)
	}
	for _, bad := range []string{`[["nope"]]`, `[["nationalities",2]]`, `[["address","street","x"]]`} {
		if _, err := Present(sd, mustPaths(t, bad), PresentOptions{}); !errors.Is(err, ErrPathNotFound) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := Present(sd, nil, PresentOptions{HolderKey: f.holder}); err == nil {
		t.Error("key binding without aud and nonce accepted")
	}
}
