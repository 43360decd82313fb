package sdjwt

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

// signed signs a hand-made payload as an SD-JWT VC and attaches disclosures.
func (f *fixture) signed(t *testing.T, payload map[string]any, disclosures ...string) *SDJWT {
	t.Helper()
	raw, err := marshalJSON(payload)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := jose.Sign(f.issuer, map[string]any{"typ": TypeSDJWTVC}, raw)
	if err != nil {
		t.Fatal(err)
	}
	return &SDJWT{JWT: jwt, Disclosures: disclosures}
}

// disc builds a disclosure from its JSON array text.
func disc(json string) (encoded, dig string) {
	encoded = b64.EncodeToString([]byte(json))
	return encoded, digest(builtinHashes[HashSHA256], encoded)
}

// kb signs a Key Binding JWT with the given header typ and claims.
func kb(t *testing.T, key *jose.PrivateKey, typ string, claims map[string]any) string {
	t.Helper()
	raw, _ := marshalJSON(claims)
	s, err := jose.Sign(key, map[string]any{"typ": typ}, raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRejectsPayloadRules(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	v := &Verifier{IssuerKey: f.issuer.Public(), Now: clock}
	given, givenDigest := disc(`["salt1","given_name","John"]`)
	elem, elemDigest := disc(`["salt2","FR"]`)
	sdName, sdNameDigest := disc(`["salt3","_sd","x"]`)
	dots, dotsDigest := disc(`["salt4","...","x"]`)
	notArray, notArrayDigest := disc(`{"salt":"s"}`)
	long, longDigest := disc(`["s","n","v","x"]`)
	numSalt, numSaltDigest := disc(`[5,"n","v"]`)
	inner, innerDigest := disc(`["salt5","inner","v"]`)
	outer, outerDigest := disc(`["salt6","outer",{"_sd":["` + innerDigest + `","` + innerDigest + `"]}]`)

	ok := f.signed(t, map[string]any{"_sd": []any{givenDigest}, "_sd_alg": "sha-256", "n": []any{map[string]any{"...": elemDigest}}}, given, elem)
	if res, err := v.VerifySDJWT(ok); err != nil || res.Claims["given_name"] != "John" || res.Claims["n"].([]any)[0] != "FR" {
		t.Fatalf("baseline: %v %v", res, err)
	}

	cases := []struct {
		name string
		sd   *SDJWT
		want error
	}{
		{"duplicate digest in _sd", f.signed(t, map[string]any{"_sd": []any{givenDigest, givenDigest}}, given), ErrDuplicateDigest},
		{"duplicate digest across object and array", f.signed(t, map[string]any{"_sd": []any{"decoy"}, "a": []any{map[string]any{"...": "decoy"}}}), ErrDuplicateDigest},
		{"duplicate digest inside a disclosure", f.signed(t, map[string]any{"_sd": []any{outerDigest}}, outer, inner), ErrDuplicateDigest},
		{"same disclosure twice", f.signed(t, map[string]any{"_sd": []any{givenDigest}}, given, given), ErrDuplicateDigest},
		{"unreferenced disclosure", f.signed(t, map[string]any{"_sd": []any{givenDigest}}, given, elem), ErrUnreferencedDisclosure},
		{"claim name exists", f.signed(t, map[string]any{"given_name": "Jim", "_sd": []any{givenDigest}}, given), ErrClaimExists},
		{"disclosure named _sd", f.signed(t, map[string]any{"_sd": []any{sdNameDigest}}, sdName), ErrReservedClaimName},
		{"disclosure named ...", f.signed(t, map[string]any{"_sd": []any{dotsDigest}}, dots), ErrReservedClaimName},
		{"disclosure not an array", f.signed(t, map[string]any{"_sd": []any{notArrayDigest}}, notArray), ErrMalformedDisclosure},
		{"disclosure wrong length", f.signed(t, map[string]any{"_sd": []any{longDigest}}, long), ErrMalformedDisclosure},
		{"disclosure salt not string", f.signed(t, map[string]any{"_sd": []any{numSaltDigest}}, numSalt), ErrMalformedDisclosure},
		{"disclosure bad base64url", f.signed(t, map[string]any{}, "*bad*"), ErrMalformedDisclosure},
		{"element disclosure in _sd", f.signed(t, map[string]any{"_sd": []any{elemDigest}}, elem), ErrDisclosureKind},
		{"property disclosure in array", f.signed(t, map[string]any{"a": []any{map[string]any{"...": givenDigest}}}, given), ErrDisclosureKind},
		{"_sd not an array", f.signed(t, map[string]any{"_sd": "x"}), ErrMalformedPayload},
		{"_sd holds a number", f.signed(t, map[string]any{"_sd": []any{1}}), ErrMalformedPayload},
		{"array digest not a string", f.signed(t, map[string]any{"a": []any{map[string]any{"...": 1}}}), ErrMalformedPayload},
		{"_sd_alg not a string", f.signed(t, map[string]any{"_sd_alg": 1}), ErrMalformedPayload},
		{"unsupported _sd_alg", f.signed(t, map[string]any{"_sd_alg": "md5", "_sd": []any{givenDigest}}, given), ErrUnsupportedHashAlg},
		{"exp not a number", f.signed(t, map[string]any{"exp": "tomorrow"}), ErrMalformedPayload},
		{"cnf without jwk", f.signed(t, map[string]any{"cnf": map[string]any{"kid": "x"}}), ErrMalformedPayload},
	}
	for _, c := range cases {
		if _, err := v.VerifySDJWT(c.sd); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// An undisclosed array digest removes the element; an object with "..."
	// and another key is an ordinary object.
	res, err := v.VerifySDJWT(f.signed(t, map[string]any{"a": []any{map[string]any{"...": "undisclosed"}, map[string]any{"...": "x", "k": 1}}}))
	if err != nil || len(res.Claims["a"].([]any)) != 1 {
		t.Errorf("undisclosed element: %v %v", res, err)
	}
	// A payload without _sd_alg uses sha-256.
	if _, err := v.VerifySDJWT(f.signed(t, map[string]any{"_sd": []any{givenDigest}}, given)); err != nil {
		t.Errorf("default _sd_alg: %v", err)
	}
}

func TestVerifyRejectsSignatureTypeAndTime(t *testing.T) {
	f := newFixture(t, jose.SuiteGM)
	other := newFixture(t, jose.SuiteGM)
	v := f.verifier()
	valid := f.issue(t, IssueOptions{Expiry: t0.Add(time.Hour), NotBefore: t0.Add(-time.Hour)})
	if _, err := v.VerifySDJWT(valid); err != nil {
		t.Fatal(err)
	}

	tampered := *valid
	sig := []byte(tampered.JWT)
	last := len(sig) - 2
	if sig[last] == 'A' {
		sig[last] = 'B'
	} else {
		sig[last] = 'A'
	}
	tampered.JWT = string(sig)
	if _, err := v.VerifySDJWT(&tampered); !errors.Is(err, ErrIssuerSignature) {
		t.Errorf("tampered signature: %v", err)
	}
	if _, err := other.verifier().VerifySDJWT(valid); !errors.Is(err, ErrIssuerSignature) {
		t.Errorf("wrong issuer key: %v", err)
	}
	if _, err := v.VerifySDJWT(f.issue(t, IssueOptions{Type: "JWT"})); !errors.Is(err, ErrType) {
		t.Errorf("typ JWT: %v", err)
	}
	legacy := &Verifier{IssuerKey: f.issuer.Public(), Now: clock, Types: []string{"vc+sd-jwt"}}
	if _, err := legacy.VerifySDJWT(f.issue(t, IssueOptions{Type: "vc+sd-jwt"})); err != nil {
		t.Errorf("configured typ: %v", err)
	}

	at := func(d time.Duration) *Verifier {
		w := f.verifier()
		w.Now = func() time.Time { return t0.Add(d) }
		return w
	}
	if _, err := at(2 * time.Hour).VerifySDJWT(valid); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := at(time.Hour + 30*time.Second).VerifySDJWT(valid); err != nil {
		t.Errorf("within skew of exp: %v", err)
	}
	if _, err := at(-2 * time.Hour).VerifySDJWT(valid); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("before nbf: %v", err)
	}
	future := f.issue(t, IssueOptions{IssuedAt: t0.Add(10 * time.Minute)})
	if _, err := v.VerifySDJWT(future); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("iat in the future: %v", err)
	}

	small := f.verifier()
	small.MaxSize = 100
	if _, err := small.Verify([]byte(valid.Compact())); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	if _, err := v.Verify([]byte(valid.Compact())); err != nil {
		t.Errorf("compact form: %v", err)
	}
}

func TestVerifyRejectsKeyBinding(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	other := newFixture(t, jose.SuiteIntl)
	v := f.verifier()
	sd := f.issue(t, IssueOptions{})
	pres := f.present(t, sd, `[["given_name"]]`)
	if res, err := v.VerifySDJWT(pres); err != nil || !res.KeyBound {
		t.Fatalf("baseline: %v %v", res, err)
	}
	sdHash := digest(builtinHashes[HashSHA256], pres.withoutKeyBinding())
	good := map[string]any{"iat": t0.Unix(), "aud": audience, "nonce": nonce, "sd_hash": sdHash}
	with := func(k, val string) map[string]any {
		m := map[string]any{}
		for key, x := range good {
			m[key] = x
		}
		if val == "" {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	withKB := func(s string) *SDJWT { p := *pres; p.KeyBinding = s; return &p }
	if _, err := v.VerifySDJWT(withKB(kb(t, f.holder, TypeKeyBinding, good))); err != nil {
		t.Fatalf("hand-made KB-JWT: %v", err)
	}
	oldIAT := map[string]any{"iat": t0.Add(-time.Hour).Unix(), "aud": audience, "nonce": nonce, "sd_hash": sdHash}
	futureIAT := map[string]any{"iat": t0.Add(time.Hour).Unix(), "aud": audience, "nonce": nonce, "sd_hash": sdHash}

	cases := []struct {
		name string
		kb   string
		want error
	}{
		{"wrong typ", kb(t, f.holder, "JWT", good), ErrKBType},
		{"wrong aud", kb(t, f.holder, TypeKeyBinding, with("aud", "https://evil.example")), ErrKBAudience},
		{"missing aud", kb(t, f.holder, TypeKeyBinding, with("aud", "")), ErrKBAudience},
		{"wrong nonce", kb(t, f.holder, TypeKeyBinding, with("nonce", "replayed")), ErrKBNonce},
		{"wrong sd_hash", kb(t, f.holder, TypeKeyBinding, with("sd_hash", digest(builtinHashes[HashSHA256], sd.Compact()))), ErrKBSDHash},
		{"signed by another key", kb(t, other.holder, TypeKeyBinding, good), ErrKBSignature},
		{"iat too old", kb(t, f.holder, TypeKeyBinding, oldIAT), ErrKBIssuedAt},
		{"iat in the future", kb(t, f.holder, TypeKeyBinding, futureIAT), ErrKBIssuedAt},
		{"iat missing", kb(t, f.holder, TypeKeyBinding, with("iat", "")), ErrKBIssuedAt},
	}
	for _, c := range cases {
		if _, err := v.VerifySDJWT(withKB(c.kb)); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}

	// A disclosure added after key binding breaks sd_hash.
	extra := f.present(t, sd, `[["given_name"],["family_name"]]`)
	spliced := *extra
	spliced.KeyBinding = pres.KeyBinding
	if _, err := v.VerifySDJWT(&spliced); !errors.Is(err, ErrKBSDHash) {
		t.Errorf("spliced disclosure: %v", err)
	}

	plain, _ := Present(sd, mustPaths(t, `[["given_name"]]`), PresentOptions{})
	strict := f.verifier()
	strict.RequireKeyBinding = true
	if _, err := strict.VerifySDJWT(plain); !errors.Is(err, ErrKBMissing) {
		t.Errorf("missing KB-JWT: %v", err)
	}
	if _, err := v.VerifySDJWT(plain); err != nil {
		t.Errorf("KB-JWT not required: %v", err)
	}

	noCnf, err := Issue(f.issuer, mustJSON(t, `{"a":1}`), IssueOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	noCnfHash := digest(builtinHashes[HashSHA256], noCnf.withoutKeyBinding())
	noCnf.KeyBinding = kb(t, f.holder, TypeKeyBinding, map[string]any{"iat": t0.Unix(), "aud": audience, "nonce": nonce, "sd_hash": noCnfHash})
	if _, err := v.VerifySDJWT(noCnf); !errors.Is(err, ErrKBWithoutCnf) {
		t.Errorf("KB-JWT without cnf: %v", err)
	}
	if _, err := Present(noCnf, nil, PresentOptions{HolderKey: f.holder, Audience: audience, Nonce: nonce}); !errors.Is(err, ErrKBWithoutCnf) {
		t.Errorf("presenting with KB-JWT without cnf: %v", err)
	}

	unconfigured := &Verifier{IssuerKey: f.issuer.Public(), Now: clock}
	if _, err := unconfigured.VerifySDJWT(pres); !errors.Is(err, ErrKBConfig) {
		t.Errorf("no expected aud/nonce: %v", err)
	}
}

func TestParseSerializations(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	second, _ := jose.GenerateKey(jose.SuiteIntl, rand.Reader)
	sd := f.issue(t, IssueOptions{AdditionalKeys: []*jose.PrivateKey{second}})
	pres := f.present(t, sd, `[["given_name"]]`)
	gen, err := pres.MarshalGeneralJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSONSerialization(gen)
	if err != nil || back.Compact() != pres.Compact() || len(back.OtherSignatures) != 1 {
		t.Fatalf("general round trip: %v", err)
	}
	// The second signature verifies with the second key.
	v2 := &Verifier{IssuerKey: second.Public(), Audience: audience, Nonce: nonce, Now: clock}
	if _, err := v2.Verify(gen); err != nil {
		t.Errorf("second signer: %v", err)
	}
	flat, _ := pres.MarshalFlattenedJSON()
	if back, err := Parse(flat); err != nil || back.Compact() != pres.Compact() {
		t.Errorf("flattened round trip: %v", err)
	}
	if back, err := ParseCompact(pres.Compact()); err != nil || back.Compact() != pres.Compact() {
		t.Errorf("compact round trip: %v", err)
	}

	jwt := sd.JWT
	bad := []string{
		"", "no-tilde", "a.b~", jwt + "~~", jwt + "~d~not-a-jws", "a.b.c.d~", "a.b.*~",
	}
	for _, s := range bad {
		if _, err := ParseCompact(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("compact %q: %v", s, err)
		}
	}
	h, p, s, _ := splitJWS(jwt)
	badJSON := []string{
		`[]`, `{`, `{"payload":1}`,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `"}`,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `","header":{"disclosures":"x"}}`,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[1]}}`,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[],"kb_jwt":5}}`,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[],"kb_jwt":"x"}}`,
		`{"payload":"` + p + `","signatures":[]}`,
		`{"payload":"` + p + `","signatures":[1]}`,
		`{"payload":"` + p + `","protected":"` + h + `","signatures":[{"protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[]}}]}`,
		`{"payload":"` + p + `","signatures":[{"protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[]}},{"protected":"` + h + `","signature":"` + s + `","header":{"disclosures":[]}}]}`,
		`{"payload":"` + p + `","signatures":[{"protected":"` + h + `","header":{"disclosures":[]}}]}`,
		`{"payload":"` + p + `","signatures":[{"protected":"` + h + `","signature":"` + s + `","header":[]}]}`,
	}
	for _, s := range badJSON {
		if _, err := ParseJSONSerialization([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("JSON %s: %v", s, err)
		}
	}
	if !strings.HasPrefix(string(gen), `{"payload":`) {
		t.Errorf("general JSON %s", gen)
	}
}

// TestVerifyGenericSDJWTWithoutTyp: RFC 9901 does not require a "typ"
// header. An SD-JWT signed as another library would (plain jose.Sign, no
// typ) is refused by the VC-profile default, naming the missing header in
// words (never "%!q(<nil>)"), and accepted with AnyType.
func TestVerifyGenericSDJWTWithoutTyp(t *testing.T) {
	f := newFixture(t, jose.SuiteIntl)
	given, givenDigest := disc(`["2GLC42sKQveCfGfryNRN9w","given_name","John"]`)
	raw, _ := marshalJSON(map[string]any{"iss": "https://other.example", "_sd": []any{givenDigest}, "_sd_alg": "sha-256"})
	jwt, err := jose.Sign(f.issuer, nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	sd := &SDJWT{JWT: jwt, Disclosures: []string{given}}

	_, err = (&Verifier{IssuerKey: f.issuer.Public(), Now: clock}).VerifySDJWT(sd)
	if !errors.Is(err, ErrType) || strings.Contains(err.Error(), "%!") || !strings.Contains(err.Error(), "no typ header") {
		t.Fatalf("profile verifier on a typ-less SD-JWT: %v, want ErrType naming the missing header", err)
	}
	res, err := (&Verifier{IssuerKey: f.issuer.Public(), Now: clock, AnyType: true}).VerifySDJWT(sd)
	if err != nil || res.Claims["given_name"] != "John" {
		t.Fatalf("AnyType: %v %v", res, err)
	}
	// A non-string typ is described, not formatted with a verb.
	jwt, _ = jose.Sign(f.issuer, map[string]any{"typ": 7}, raw)
	_, err = (&Verifier{IssuerKey: f.issuer.Public(), Now: clock}).VerifySDJWT(&SDJWT{JWT: jwt, Disclosures: []string{given}})
	if !errors.Is(err, ErrType) || strings.Contains(err.Error(), "%!") {
		t.Fatalf("numeric typ: %v", err)
	}
}
