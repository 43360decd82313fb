package wire

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/schemas"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// testCert makes a self-signed certificate for dnsNames with a fresh key of
// suite.
func testCert(t *testing.T, suite jose.Suite, dnsNames ...string) (*jose.PrivateKey, *smx509.Certificate) {
	t.Helper()
	key, err := jose.GenerateKey(suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := key.MarshalPKCS8PEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemKey)
	priv, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer := priv.(crypto.Signer)
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    testNow.Add(-time.Hour), NotAfter: testNow.Add(24 * time.Hour),
		DNSNames: dnsNames,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func testRequest(sd bool) *Request {
	over := 18
	before := "2008-12-01"
	r := &Request{
		Version: Version, ID: "state-123", Nonce: base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		Scope: ClientIDOf("platform-a.example"), Audience: ClientIDOf("platform-a.example"),
		Issuer: "https://issuer.example", CircuitID: "zCircuit", Epochs: []uint64{3}, Today: "2026-12-01",
		BornBefore: &before, Flags: []string{}, Predicates: Predicates{AgeOver: &over},
		ExpiresAt: testNow.Add(5 * time.Minute).Format(time.RFC3339),
	}
	if sd {
		r = &Request{Version: Version, ID: r.ID, Nonce: r.Nonce, Scope: r.Scope, Audience: r.Audience,
			ExpiresAt: r.ExpiresAt, Flags: []string{}, SDJWT: &SDJWTRequest{Claims: []string{"age_over_18"}}}
	}
	return r
}

func validObject(t *testing.T, sd bool) *RequestObject {
	t.Helper()
	ro, err := NewRequestObject(testRequest(sd), "https://platform-a.example/openid4vp/response", testNow,
		[]VerifierInfo{{Format: VerifierInfoRegistration, Data: "reg.jwt.x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Check(testNow); err != nil {
		t.Fatalf("valid request object refused: %v", err)
	}
	return ro
}

// TestRequestObjectRules writes OpenID4VP 1.0's rules of a request object
// (and Yinzheng's profile of it) as inputs that each break exactly one.
func TestRequestObjectRules(t *testing.T) {
	for _, sd := range []bool{false, true} {
		cases := map[string]func(ro *RequestObject){
			"client_id without prefix":      func(ro *RequestObject) { ro.ClientID = "platform-a.example" },
			"client_id redirect_uri prefix": func(ro *RequestObject) { ro.ClientID = "redirect_uri:https://platform-a.example/cb" },
			"client_id not a DNS name":      func(ro *RequestObject) { ro.ClientID = "x509_san_dns:Platform_A" },
			"response_type":                 func(ro *RequestObject) { ro.ResponseType = "code" },
			"response_type missing":         func(ro *RequestObject) { ro.ResponseType = "" },
			"response_mode":                 func(ro *RequestObject) { ro.ResponseMode = "fragment" },
			"redirect_uri with direct_post": func(ro *RequestObject) { ro.RedirectURI = "https://platform-a.example/cb" },
			"nested request_uri":            func(ro *RequestObject) { ro.RequestURI = "https://platform-a.example/r" },
			"presentation_definition":       func(ro *RequestObject) { ro.Extra = json.RawMessage(`{}`) },
			"response_uri missing":          func(ro *RequestObject) { ro.ResponseURI = "" },
			"response_uri on another host":  func(ro *RequestObject) { ro.ResponseURI = "https://platform-b.example/response" },
			"response_uri on a subdomain":   func(ro *RequestObject) { ro.ResponseURI = "https://evil.platform-a.example/response" },
			"response_uri plain http":       func(ro *RequestObject) { ro.ResponseURI = "http://platform-a.example/response" },
			"response_uri with user info":   func(ro *RequestObject) { ro.ResponseURI = "https://platform-a.example@platform-b.example/" },
			"aud":                           func(ro *RequestObject) { ro.Audience = "https://wallet.example" },
			"no iat":                        func(ro *RequestObject) { ro.IssuedAt = 0 },
			"expired":                       func(ro *RequestObject) { ro.Expires = testNow.Unix() },
			"too long lived":                func(ro *RequestObject) { ro.Expires = ro.IssuedAt + int64(2*MaxRequestLifetime/time.Second) },
			"issued in the future":          func(ro *RequestObject) { ro.IssuedAt = testNow.Add(time.Hour).Unix(); ro.Expires = ro.IssuedAt + 60 },
			"nonce missing":                 func(ro *RequestObject) { ro.Nonce = "" },
			"nonce too short":               func(ro *RequestObject) { ro.Nonce = "AAAA" },
			"state missing":                 func(ro *RequestObject) { ro.State = "" },
			"state not URL-safe":            func(ro *RequestObject) { ro.State = "a b" },
			"no credential query":           func(ro *RequestObject) { ro.DCQLQuery.Credentials = nil },
			"credential query id empty":     func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].ID = "" },
			"credential query id charset":   func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].ID = "a.b" },
			"duplicate credential query id": func(ro *RequestObject) {
				ro.DCQLQuery.Credentials = append(ro.DCQLQuery.Credentials, ro.DCQLQuery.Credentials[0])
			},
			"format missing":     func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Format = "" },
			"unknown format":     func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Format = "mso_mdoc" },
			"meta missing":       func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Meta = json.RawMessage(`null`) },
			"meta not an object": func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Meta = json.RawMessage(`[]`) },
			"unbound presentation": func(ro *RequestObject) {
				f := false
				ro.DCQLQuery.Credentials[0].RequireCryptographicHolderBinding = &f
			},
			"credential_sets": func(ro *RequestObject) { ro.DCQLQuery.CredentialSets = json.RawMessage(`[]`) },
			// A second query with its own id: what a wallet would disclose
			// beyond the one query it shows.
			"two credential queries": func(ro *RequestObject) {
				q := ro.DCQLQuery.Credentials[0]
				q.ID += "_2"
				ro.DCQLQuery.Credentials = append(ro.DCQLQuery.Credentials, q)
			},
			"multiple": func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Multiple = true },
			"format not in vp_formats_supported": func(ro *RequestObject) {
				ro.ClientMetadata.VPFormatsSupported = map[string]json.RawMessage{"jwt_vc_json": json.RawMessage(`{}`)}
			},
			"vp_formats_supported value not an object": func(ro *RequestObject) {
				for k := range ro.ClientMetadata.VPFormatsSupported {
					ro.ClientMetadata.VPFormatsSupported[k] = json.RawMessage(`["groth16-bn254"]`)
				}
			},
			"transaction_data":            func(ro *RequestObject) { ro.TransactionData = json.RawMessage(`["e30"]`) },
			"trusted_authorities":         func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].TrustedAuthorities = json.RawMessage(`[]`) },
			"empty verifier_info":         func(ro *RequestObject) { ro.VerifierInfo = []VerifierInfo{} },
			"verifier_info without data":  func(ro *RequestObject) { ro.VerifierInfo[0].Data = "" },
			"verifier_info unknown query": func(ro *RequestObject) { ro.VerifierInfo[0].CredentialIDs = []string{"other"} },
		}
		if sd {
			cases["claim path empty"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims[0].Path = []any{} }
			cases["claim path element"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims[0].Path = []any{true} }
			cases["claim path negative index"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims[0].Path = []any{"a", -1.0} }
			cases["nested claim path"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims[0].Path = []any{"address", "city"} }
			cases["claim asked twice"] = func(ro *RequestObject) {
				c := &ro.DCQLQuery.Credentials[0]
				c.Claims = append(c.Claims, c.Claims[0])
			}
			cases["no claims"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims = nil }
			cases["claim_sets"] = func(ro *RequestObject) {
				c := &ro.DCQLQuery.Credentials[0]
				c.Claims[0].ID = "a"
				c.ClaimSets = [][]string{{"a"}}
			}
			cases["claim values"] = func(ro *RequestObject) { ro.DCQLQuery.Credentials[0].Claims[0].Values = json.RawMessage(`[true]`) }
			cases["vct_values"] = func(ro *RequestObject) {
				ro.DCQLQuery.Credentials[0].Meta = json.RawMessage(`{"vct_values":["other"]}`)
			}
			cases["claim_sets naming an unknown claim"] = func(ro *RequestObject) {
				c := &ro.DCQLQuery.Credentials[0]
				c.Claims[0].ID = "a"
				c.ClaimSets = [][]string{{"b"}}
			}
		} else {
			cases["zk meta without issuer"] = func(ro *RequestObject) {
				ro.DCQLQuery.Credentials[0].Meta = json.RawMessage(`{"issuer":"","circuit_id":"z","epochs":[1],"today":"2026-12-01","born_after":null,"born_before":null,"min_level":0,"flags":[],"predicates":{}}`)
			}
			// Yinzheng's own format defines its meta exactly: every member
			// is a public input, so an unknown one is refused, not ignored.
			cases["zk meta unknown member"] = func(ro *RequestObject) {
				ro.DCQLQuery.Credentials[0].Meta = json.RawMessage(`{"scope":"x","issuer":"i","circuit_id":"z","epochs":[1],"today":"2026-12-01","born_after":null,"born_before":null,"min_level":0,"flags":[],"predicates":{}}`)
			}
			cases["zk query with claims"] = func(ro *RequestObject) {
				ro.DCQLQuery.Credentials[0].Claims = []ClaimQuery{{Path: []any{"birth_date"}}}
			}
		}
		for name, mutate := range cases {
			ro := validObject(t, sd)
			mutate(ro)
			if err := ro.Check(testNow); !errors.Is(err, ErrRequestObject) {
				t.Errorf("sd=%v %s: got %v, want ErrRequestObject", sd, name, err)
			}
		}
	}
}

// TestRequestObjectCarriesScopeFromClientID: the Yinzheng request a wallet
// reads has the client_id as its scope and audience, whatever else the
// object says.
func TestRequestObjectCarriesScopeFromClientID(t *testing.T) {
	for _, sd := range []bool{false, true} {
		ro := validObject(t, sd)
		r, err := ro.YinzhengRequest()
		if err != nil {
			t.Fatal(err)
		}
		want := testRequest(sd)
		if sd {
			want.Issuer = ""
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("sd=%v: round trip\n got %s\nwant %s", sd, a, b)
		}
		ro.ClientID = ClientIDOf("platform-b.example")
		r, _ = ro.YinzhengRequest()
		if r.Scope != ro.ClientID || r.Audience != ro.ClientID {
			t.Errorf("scope %q audience %q, want the client_id %q", r.Scope, r.Audience, ro.ClientID)
		}
	}
}

func TestSignedRequestObject(t *testing.T) {
	for _, suite := range []jose.Suite{jose.SuiteGM, jose.SuiteIntl} {
		key, cert := testCert(t, suite, "platform-a.example")
		ro := validObject(t, false)
		jwt, err := SignRequestObject(key, [][]byte{cert.Raw}, ro)
		if err != nil {
			t.Fatal(err)
		}
		sro, err := VerifyRequestObject(jwt, testNow)
		if err != nil {
			t.Fatalf("%s: valid request object refused: %v", suite, err)
		}
		if sro.Domain != "platform-a.example" || len(sro.Chain) != 1 {
			t.Errorf("domain %q chain %d", sro.Domain, len(sro.Chain))
		}
		j, _ := jose.ParseCompact(jwt)
		if j.Header["typ"] != RequestObjectType {
			t.Errorf("typ %v", j.Header["typ"])
		}

		// Another key's signature under this certificate.
		other, _ := testCert(t, suite, "platform-a.example")
		forged, _ := SignRequestObject(other, [][]byte{cert.Raw}, ro)
		if _, err := VerifyRequestObject(forged, testNow); !errors.Is(err, ErrRequestSignature) {
			t.Errorf("%s: signed by another key: %v", suite, err)
		}
		// A certificate for another domain, signed correctly.
		bKey, bCert := testCert(t, suite, "platform-b.example")
		withA, _ := SignRequestObject(bKey, [][]byte{bCert.Raw}, ro)
		if _, err := VerifyRequestObject(withA, testNow); !errors.Is(err, ErrClientIDNotCertified) {
			t.Errorf("%s: B's certificate with A's client_id: %v", suite, err)
		}
		// Wrong typ, no x5c, plain JSON.
		noTyp, _ := jose.Sign(key, map[string]any{"typ": "JWT", "x5c": []string{base64.StdEncoding.EncodeToString(cert.Raw)}}, mustJSON(ro))
		noX5c, _ := jose.Sign(key, map[string]any{"typ": RequestObjectType}, mustJSON(ro))
		for name, in := range map[string]string{"typ JWT": noTyp, "no x5c": noX5c, "JSON": string(mustJSON(ro)), "garbled x5c": strings.Replace(jwt, jwt[:10], jwt[:9]+"x", 1)} {
			if _, err := VerifyRequestObject(in, testNow); !errors.Is(err, ErrUnsigned) {
				t.Errorf("%s: %s: %v, want ErrUnsigned", suite, name, err)
			}
		}
		// A payload breaking a rule, correctly signed.
		bad := validObject(t, false)
		bad.ResponseMode = "fragment"
		badJWT, _ := SignRequestObject(key, [][]byte{cert.Raw}, bad)
		if _, err := VerifyRequestObject(badJWT, testNow); !errors.Is(err, ErrRequestObject) {
			t.Errorf("%s: rule broken under a valid signature: %v", suite, err)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestInvocationURL(t *testing.T) {
	cid, ruri := ClientIDOf("platform-a.example"), "https://platform-a.example/openid4vp/request/abc"
	u := InvocationURL(cid, ruri)
	if !strings.HasPrefix(u, "openid4vp://?") {
		t.Fatalf("invocation %q", u)
	}
	gotC, gotR, err := ParseInvocation(u)
	if err != nil || gotC != cid || gotR != ruri {
		t.Fatalf("ParseInvocation = %q %q %v", gotC, gotR, err)
	}
	for name, in := range map[string]string{
		"other scheme":     "https://?client_id=x509_san_dns%3Aa.example&request_uri=https%3A%2F%2Fa.example%2Fr",
		"request by value": u + "&request=eyJ",
		"unsigned params":  u + "&response_type=vp_token",
		"no request_uri":   "openid4vp://?client_id=x509_san_dns%3Aa.example",
		"http request_uri": "openid4vp://?client_id=x509_san_dns%3Aa.example&request_uri=http%3A%2F%2Fa.example%2Fr",
		"client_id twice":  u + "&client_id=x509_san_dns%3Ab.example",
		"method POST":      u + "&request_uri_method=POST",
		"method empty":     u + "&request_uri_method=",
		"no prefix":        "openid4vp://?client_id=a.example&request_uri=https%3A%2F%2Fa.example%2Fr",
	} {
		if _, _, err := ParseInvocation(in); !errors.Is(err, ErrRequestObject) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// OpenID4VP 1.0 §5.1: a wallet not supporting request_uri_method post
	// sends GET; it does not refuse the request.
	for _, m := range []string{"get", "post"} {
		if _, _, err := ParseInvocation(u + "&request_uri_method=" + m); err != nil {
			t.Errorf("request_uri_method %s refused: %v", m, err)
		}
	}
	if _, _, err := ParseInvocation("openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fr"); err != nil {
		t.Errorf("loopback http refused: %v", err)
	}
}

func TestVPToken(t *testing.T) {
	zk := testRequest(false)
	epoch := uint64(3)
	p := &Presentation{Version: Version, Type: TypeZK, RequestID: zk.ID, CircuitID: "zC", Epoch: &epoch, Pseudonym: "1", Proof: "AA"}
	tok, err := NewVPToken(p)
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string][]map[string]any
	if err := json.Unmarshal(tok, &shape); err != nil || len(shape[QueryIDZK]) != 1 {
		t.Fatalf("vp_token %s is not {query id: [presentation]}", tok)
	}
	parsed, err := ParseVPToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parsed.Presentation(zk)
	if err != nil || back.RequestID != zk.ID || *back.Epoch != 3 || back.Proof != "AA" {
		t.Fatalf("round trip %+v %v", back, err)
	}
	sd := testRequest(true)
	sdTok, _ := NewVPToken(&Presentation{Type: TypeSDJWT, SDJWT: "a.b.c~"})
	sdParsed, _ := ParseVPToken(sdTok)
	if got, err := sdParsed.Presentation(sd); err != nil || got.SDJWT != "a.b.c~" {
		t.Fatalf("sd-jwt round trip %+v %v", got, err)
	}
	for name, in := range map[string]string{
		"not an object": `["x"]`,
		"empty":         `{}`,
		"empty array":   `{"yinzheng_zk":[]}`,
		"not an array":  `{"yinzheng_zk":"x"}`,
		"bad key":       `{"a.b":["x"]}`,
		"duplicate key": `{"yinzheng_zk":["x"],"yinzheng_zk":["y"]}`,
	} {
		if _, err := ParseVPToken([]byte(in)); !errors.Is(err, ErrVPToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, in := range map[string]string{
		"other query":       `{"yinzheng_sd_jwt":["a.b.c~"]}`,
		"two presentations": `{"yinzheng_zk":[{"circuit_id":"z","epoch":1,"pseudonym":"1","proof":"A"},{"circuit_id":"z","epoch":1,"pseudonym":"1","proof":"A"}]}`,
		"extra member":      `{"yinzheng_zk":[{"circuit_id":"z","epoch":1,"pseudonym":"1","proof":"A","scope":"x"}]}`,
		"missing proof":     `{"yinzheng_zk":[{"circuit_id":"z","epoch":1,"pseudonym":"1"}]}`,
	} {
		tok, err := ParseVPToken([]byte(in))
		if err == nil {
			_, err = tok.Presentation(zk)
		}
		if !errors.Is(err, ErrVPToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStatementIsOneFunction(t *testing.T) {
	r := testRequest(false)
	s, err := Statement(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := schemas.ScopeElement(r.Scope)
	if s.Scope != want {
		t.Error("scope element is not the request's scope")
	}
	for name, mutate := range map[string]func(*Request){
		"flag":      func(r *Request) { r.Flags = []string{"wanghao"} },
		"today":     func(r *Request) { r.Today = "2026-13-01" },
		"min level": func(r *Request) { r.MinLevel = schemas.MaxLevel + 1 },
		"nonce":     func(r *Request) { r.Nonce = "!" },
		"scope":     func(r *Request) { r.Scope = "" },
		"window":    func(r *Request) { d := "x"; r.BornAfter = &d },
	} {
		r := testRequest(false)
		mutate(r)
		if _, err := Statement(r); !errors.Is(err, ErrStatement) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRequestObjectIgnoresUnknown: OpenID4VP 1.0 makes wallets ignore
// parameters they do not recognize (§5, §8.2, §11.1) and DCQL properties
// they do not know (§6), iss included (§5), but refuse transaction_data
// they do not support (§5.1). Found by the strict checker's reading of the
// specification (internal/oid4vpcheck): the wallet refused such requests.
func TestRequestObjectIgnoresUnknown(t *testing.T) {
	for _, sd := range []bool{false, true} {
		base := func() map[string]any {
			var m map[string]any
			if err := json.Unmarshal(mustJSON(validObject(t, sd)), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		cred := func(m map[string]any) map[string]any {
			return m["dcql_query"].(map[string]any)["credentials"].([]any)[0].(map[string]any)
		}
		for name, c := range map[string]struct {
			edit func(m map[string]any)
			ok   bool
		}{
			"iss":                  {func(m map[string]any) { m["iss"] = "x509_san_dns:platform-a.example" }, true},
			"unknown parameter":    {func(m map[string]any) { m["x_profile"] = map[string]any{"a": []int{1}} }, true},
			"wallet_nonce":         {func(m map[string]any) { m["wallet_nonce"] = "qPmxiNFCR3QTm19POc8u" }, true},
			"unknown DCQL member":  {func(m map[string]any) { m["dcql_query"].(map[string]any)["x_future"] = true }, true},
			"unknown query member": {func(m map[string]any) { cred(m)["x_future"] = 1 }, true},
			"unknown client_metadata parameter": {func(m map[string]any) {
				md := m["client_metadata"].(map[string]any)
				md["client_name"], md["jwks"] = "Platform A", map[string]any{"keys": []any{map[string]any{"kty": "EC", "kid": "1"}}}
			}, true},
			"another format with COSE numbers": {func(m map[string]any) {
				m["client_metadata"].(map[string]any)["vp_formats_supported"].(map[string]any)["mso_mdoc"] = map[string]any{"issuerauth_alg_values": []int{-7}}
			}, true},
			"unknown verifier_info member": {func(m map[string]any) { m["verifier_info"].([]any)[0].(map[string]any)["x"] = 1 }, true},
			"transaction_data":             {func(m map[string]any) { m["transaction_data"] = []string{"e30"} }, false},
			"case variant of a parameter":  {func(m map[string]any) { m["Nonce"] = m["nonce"] }, false},
			"case variant in DCQL":         {func(m map[string]any) { cred(m)["Format"] = "mso_mdoc" }, false},
			// Unicode case folding, as encoding/json matches names (the
			// long s folds onto "s"): a variant kept only under ASCII
			// folding would be dropped here and read by another decoder.
			"long s variant of a parameter": {func(m map[string]any) { m["\u017ftate"] = "other" }, false},
			"long s variant in DCQL":        {func(m map[string]any) { m["dcql_query"].(map[string]any)["credential\u017f"] = []any{} }, false},
			"non-ASCII unknown member":      {func(m map[string]any) { m["verifier_info"].([]any)[0].(map[string]any)["\u212aey"] = 1 }, true},
		} {
			m := base()
			c.edit(m)
			ro, err := ParseRequestObject(mustJSON(m), testNow)
			if c.ok && (err != nil || ro.ClientID != ClientIDOf("platform-a.example")) {
				t.Errorf("sd=%v %s: refused: %v", sd, name, err)
			}
			if !c.ok && !errors.Is(err, ErrRequestObject) {
				t.Errorf("sd=%v %s: got %v, want ErrRequestObject", sd, name, err)
			}
		}
	}
	// The meta of dc+sd-jwt is DCQL's (unknown properties ignored); that of
	// Yinzheng's format is exact.
	for _, sd := range []bool{false, true} {
		var m map[string]any
		_ = json.Unmarshal(mustJSON(validObject(t, sd)), &m)
		m["dcql_query"].(map[string]any)["credentials"].([]any)[0].(map[string]any)["meta"].(map[string]any)["x_future"] = 1
		if _, err := ParseRequestObject(mustJSON(m), testNow); (err == nil) != sd {
			t.Errorf("sd=%v: unknown meta member: %v", sd, err)
		}
	}
}
