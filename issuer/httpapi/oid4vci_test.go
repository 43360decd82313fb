package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
)

const subject = `{"doc_type":"resident_id","name":"Zhang San"}`

const issuerID = "https://issuer.yinzheng.example"

// enrol posts the subject to the admin API and returns the enrolment.
func (f *fixture) enrol(t *testing.T) *Enrolment {
	t.Helper()
	resp, data := call(t, "POST", f.base+"/admin/offers", admin, "application/json", subject)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("enrol: %d %s", resp.StatusCode, data)
	}
	var e Enrolment
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func code(e *Enrolment) string { return e.CredentialOffer.Grants.PreAuthorizedCode.PreAuthorizedCode }

// tokenCall posts a token request; tx nil sends no tx_code.
func (f *fixture) tokenCall(t *testing.T, code string, tx *string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {openid4vci.GrantPreAuthorizedCode}, "pre-authorized_code": {code}}
	if tx != nil {
		form.Set("tx_code", *tx)
	}
	resp, data := call(t, "POST", f.base+"/token", "", "application/x-www-form-urlencoded", form.Encode())
	return resp.StatusCode, jsonOf(t, data)
}

// accessToken enrols and redeems the offer.
func (f *fixture) accessToken(t *testing.T) string {
	t.Helper()
	e := f.enrol(t)
	status, tok := f.tokenCall(t, code(e), &e.TxCode)
	if status != 200 || tok["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", status, tok)
	}
	return tok["access_token"].(string)
}

func (f *fixture) cNonce(t *testing.T) string {
	t.Helper()
	resp, data := call(t, "POST", f.base+"/nonce", "", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("nonce: %d %s", resp.StatusCode, data)
	}
	n, _ := jsonOf(t, data)["c_nonce"].(string)
	if n == "" {
		t.Fatalf("nonce: %s", data)
	}
	return n
}

func keys(t *testing.T, n int) []*jose.PrivateKey {
	t.Helper()
	out := make([]*jose.PrivateKey, n)
	for i := range out {
		k, err := jose.GenerateKey(jose.SuiteGM, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = k
	}
	return out
}

func proofs(t *testing.T, ks []*jose.PrivateKey, aud, nonce string, iat time.Time) []string {
	t.Helper()
	var out []string
	for _, k := range ks {
		p, err := openid4vci.SignProof(k, aud, nonce, iat)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// credentialCall posts a credential request and returns the status and body.
func (f *fixture) credentialCall(t *testing.T, token string, req any) (int, map[string]any, []byte) {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, data := call(t, "POST", f.base+"/credential", token, "application/json", string(body))
	return resp.StatusCode, jsonOf(t, data), data
}

const commitment = "12345"

func sdRequest(ps []string) openid4vci.CredentialRequest {
	return openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigSDJWT,
		Proofs: &openid4vci.Proofs{JWT: ps}, HolderCommitment: commitment}
}

// TestOpenID4VCIFlow runs the wallet side by hand: offer by reference,
// metadata, token with tx_code, nonce, eight proofs, the SD-JWT batch, the
// ZK credential; then every secret of the flow is spent.
func TestOpenID4VCIFlow(t *testing.T) {
	f := newFixture(t)
	e := f.enrol(t)
	if len(e.TxCode) != TxCodeLength || strings.Trim(e.TxCode, "0123456789") != "" {
		t.Fatalf("tx_code %q, want %d digits", e.TxCode, TxCodeLength)
	}
	uri, byValue, err := openid4vci.ParseOfferLink(e.OfferLink)
	if err != nil || byValue != nil || uri != e.CredentialOfferURI || !strings.HasPrefix(uri, "http://127.0.0.1:1/offers/") {
		t.Fatalf("offer link %q: %q %v", e.OfferLink, uri, err)
	}
	if strings.Contains(e.OfferLink, e.TxCode) {
		t.Fatal("the offer link carries the tx_code, which must travel out of band")
	}
	// The service is reached at f.base; the URI names the public URL.
	resp, data := call(t, "GET", f.base+strings.TrimPrefix(uri, "http://127.0.0.1:1"), "", "", "")
	var offer openid4vci.CredentialOffer
	if resp.StatusCode != 200 || json.Unmarshal(data, &offer) != nil || offer.CredentialIssuer != issuerID ||
		offer.Grants.PreAuthorizedCode.TxCode == nil || offer.Grants.PreAuthorizedCode.TxCode.Length != TxCodeLength ||
		len(offer.CredentialConfigurationIDs) != 2 || strings.Contains(string(data), e.TxCode) {
		t.Fatalf("offer by reference: %d %s", resp.StatusCode, data)
	}

	resp, data = call(t, "GET", f.base+openid4vci.WellKnownCredentialIssuer, "", "", "")
	var meta openid4vci.CredentialIssuerMetadata
	if resp.StatusCode != 200 || json.Unmarshal(data, &meta) != nil {
		t.Fatalf("metadata: %d %s", resp.StatusCode, data)
	}
	sd := meta.CredentialConfigurationsSupported[openid4vci.ConfigSDJWT]
	zk := meta.CredentialConfigurationsSupported[openid4vci.ConfigZK]
	switch {
	case meta.CredentialIssuer != issuerID || meta.CredentialEndpoint != "http://127.0.0.1:1/credential" ||
		meta.NonceEndpoint != "http://127.0.0.1:1/nonce":
		t.Errorf("endpoints: %s", data)
	case meta.BatchCredentialIssuance == nil || meta.BatchCredentialIssuance.BatchSize != DefaultBatchSize:
		t.Errorf("batch_credential_issuance: %s", data)
	case len(meta.Display) == 0:
		t.Errorf("no issuer display: %s", data)
	case sd.Format != "dc+sd-jwt" || sd.VCT != "urn:yinzheng:wangzheng:v1" ||
		sd.ProofTypesSupported["jwt"].ProofSigningAlgValuesSupported[0] != "SM2" ||
		sd.CredentialMetadata == nil || len(sd.CredentialMetadata.Claims) < 8 || len(sd.CredentialMetadata.Display) == 0:
		t.Errorf("SD-JWT configuration: %+v", sd)
	case zk.Format != "yinzheng-zk" || zk.CircuitID != "zCircuit" || zk.AccumulatorDepth != 32 ||
		zk.CryptographicBindingMethodsSupported[0] != openid4vci.HolderCommitmentMember || zk.ProofTypesSupported != nil:
		t.Errorf("ZK configuration: %+v", zk)
	}
	resp, data = call(t, "GET", f.base+openid4vci.WellKnownAuthorizationServer, "", "", "")
	var as openid4vci.AuthorizationServerMetadata
	if resp.StatusCode != 200 || json.Unmarshal(data, &as) != nil || as.Issuer != issuerID ||
		as.TokenEndpoint != "http://127.0.0.1:1/token" || as.GrantTypesSupported[0] != openid4vci.GrantPreAuthorizedCode ||
		!as.PreAuthorizedGrantAnonymousAccessSupported {
		t.Fatalf("authorization server metadata: %d %s", resp.StatusCode, data)
	}

	status, tok := f.tokenCall(t, code(e), &e.TxCode)
	if status != 200 {
		t.Fatalf("token: %d %v", status, tok)
	}
	access := tok["access_token"].(string)
	ks := keys(t, DefaultBatchSize)
	status, m, raw := f.credentialCall(t, access, sdRequest(proofs(t, ks, issuerID, f.cNonce(t), time.Now())))
	var cr openid4vci.CredentialResponse
	if status != 200 || json.Unmarshal(raw, &cr) != nil || len(cr.Credentials) != DefaultBatchSize {
		t.Fatalf("SD-JWT request: %d %v", status, m)
	}
	if string(cr.Credentials[3].Credential) != `"sd-jwt-3"` {
		t.Errorf("credentials[3] = %s", cr.Credentials[3].Credential)
	}
	// The issuer got exactly the proved keys and the commitment.
	var issued struct {
		HolderCommitment string            `json:"holder_commitment"`
		SDJWTKeys        []json.RawMessage `json:"sd_jwt_keys"`
	}
	json.Unmarshal([]byte(f.fake.issued[0][1]), &issued)
	if issued.HolderCommitment != commitment || len(issued.SDJWTKeys) != len(ks) {
		t.Fatalf("holder request passed to the issuer: %s", f.fake.issued[0][1])
	}
	for i, k := range ks {
		got, err := jose.ParsePublicJWK(issued.SDJWTKeys[i])
		if err != nil || !got.Equal(k.Public()) {
			t.Fatalf("sd_jwt_keys[%d] is not the key its proof proved", i)
		}
	}

	status, m, raw = f.credentialCall(t, access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK})
	if status != 200 || json.Unmarshal(raw, &cr) != nil || len(cr.Credentials) != 1 {
		t.Fatalf("ZK request: %d %v", status, m)
	}
	var z openid4vci.ZKCredential
	if json.Unmarshal(cr.Credentials[0].Credential, &z) != nil || z.ZK.Leaf != "leaf-of-"+commitment || z.Serial != 7 || !z.Pending {
		t.Fatalf("ZK credential: %s", cr.Credentials[0].Credential)
	}

	// Every secret is spent: the token (for both configurations), the
	// pre-authorized code, the offer URI.
	for _, id := range []string{openid4vci.ConfigZK, openid4vci.ConfigSDJWT} {
		req := sdRequest(proofs(t, keys(t, 1), issuerID, f.cNonce(t), time.Now()))
		req.CredentialConfigurationID = id
		if id == openid4vci.ConfigZK {
			req.Proofs = nil
		}
		if status, m, _ := f.credentialCall(t, access, req); status != 401 || m["error"] != "invalid_token" {
			t.Errorf("token replay for %s: %d %v", id, status, m)
		}
	}
	if status, m := f.tokenCall(t, code(e), &e.TxCode); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code replay: %d %v", status, m)
	}
	if resp, _ := call(t, "GET", f.base+strings.TrimPrefix(uri, "http://127.0.0.1:1"), "", "", ""); resp.StatusCode != 404 {
		t.Errorf("offer URI after redemption: %d", resp.StatusCode)
	}
	if len(f.fake.issued) != 1 {
		t.Errorf("%d issuances, want 1", len(f.fake.issued))
	}
}

// TestCredentialRefusals attacks the credential endpoint one check at a
// time; each refusal leaves the token usable, and a good request after all
// of them issues once.
func TestCredentialRefusals(t *testing.T) {
	f := newFixture(t)
	access := f.accessToken(t)
	now := time.Now()
	forged := func() string {
		// The jwk header names one key, another key signed.
		named, signer := keys(t, 2)[0], keys(t, 1)[0]
		jwk, _ := named.Public().MarshalJSON()
		payload, _ := json.Marshal(map[string]any{"aud": issuerID, "iat": now.Unix(), "nonce": f.cNonce(t)})
		p, err := jose.Sign(signer, map[string]any{"typ": openid4vci.ProofJWTType, "jwk": json.RawMessage(jwk)}, payload)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	withHeader := func(header map[string]any, claims map[string]any) string {
		k := keys(t, 1)[0]
		jwk, _ := k.Public().MarshalJSON()
		h := map[string]any{"typ": openid4vci.ProofJWTType, "jwk": json.RawMessage(jwk)}
		for n, v := range header {
			if v == nil {
				delete(h, n)
			} else {
				h[n] = v
			}
		}
		c := map[string]any{"aud": issuerID, "iat": now.Unix(), "nonce": f.cNonce(t)}
		for n, v := range claims {
			if v == nil {
				delete(c, n)
			} else {
				c[n] = v
			}
		}
		payload, _ := json.Marshal(c)
		p, err := jose.Sign(k, h, payload)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := func(p string) any { return sdRequest([]string{p}) }
	spent := f.cNonce(t)
	good := proofs(t, keys(t, 1), issuerID, spent, now)
	if status, m, _ := f.credentialCall(t, f.accessToken(t), sdRequest(good)); status != 200 {
		t.Fatalf("baseline under a nonce: %d %v", status, m)
	}
	nonce2 := f.cNonce(t)
	twoNonces := append(proofs(t, keys(t, 1), issuerID, nonce2, now), proofs(t, keys(t, 1), issuerID, f.cNonce(t), now)...)
	dup := keys(t, 1)
	dupNonce := f.cNonce(t)
	for name, c := range map[string]struct {
		token  string
		req    any
		status int
		code   string
	}{
		"no token":          {"", one(good[0]), 401, "invalid_token"},
		"unknown token":     {"nope", one(good[0]), 401, "invalid_token"},
		"no proofs":         {access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigSDJWT, HolderCommitment: commitment}, 400, "invalid_proof"},
		"empty proofs":      {access, sdRequest([]string{}), 400, "invalid_proof"},
		"replayed nonce":    {access, one(proofs(t, keys(t, 1), issuerID, spent, now)[0]), 400, "invalid_nonce"},
		"made-up nonce":     {access, one(proofs(t, keys(t, 1), issuerID, "not-issued", now)[0]), 400, "invalid_nonce"},
		"forged signature":  {access, one(forged()), 400, "invalid_proof"},
		"wrong typ":         {access, one(withHeader(map[string]any{"typ": "JWT"}, nil)), 400, "invalid_proof"},
		"no typ":            {access, one(withHeader(map[string]any{"typ": nil}, nil)), 400, "invalid_proof"},
		"kid beside jwk":    {access, one(withHeader(map[string]any{"kid": "k1"}, nil)), 400, "invalid_proof"},
		"no jwk":            {access, one(withHeader(map[string]any{"jwk": nil}, nil)), 400, "invalid_proof"},
		"wrong aud":         {access, one(withHeader(nil, map[string]any{"aud": "https://other.example"})), 400, "invalid_proof"},
		"no iat":            {access, one(withHeader(nil, map[string]any{"iat": nil})), 400, "invalid_proof"},
		"stale iat":         {access, one(withHeader(nil, map[string]any{"iat": now.Add(-time.Hour).Unix()})), 400, "invalid_proof"},
		"future iat":        {access, one(withHeader(nil, map[string]any{"iat": now.Add(time.Hour).Unix()})), 400, "invalid_proof"},
		"iss present":       {access, one(withHeader(nil, map[string]any{"iss": "wallet"})), 400, "invalid_proof"},
		"no nonce":          {access, one(withHeader(nil, map[string]any{"nonce": nil})), 400, "invalid_proof"},
		"two nonces":        {access, sdRequest(twoNonces), 400, "invalid_proof"},
		"one key twice":     {access, sdRequest(append(proofs(t, dup, issuerID, dupNonce, now), proofs(t, dup, issuerID, dupNonce, now)...)), 400, "invalid_proof"},
		"over batch_size":   {access, sdRequest(proofs(t, keys(t, DefaultBatchSize+1), issuerID, f.cNonce(t), now)), 400, "invalid_proof"},
		"no commitment":     {access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigSDJWT, Proofs: &openid4vci.Proofs{JWT: good}}, 400, "invalid_credential_request"},
		"unknown config":    {access, openid4vci.CredentialRequest{CredentialConfigurationID: "other"}, 400, "unknown_credential_configuration"},
		"no config":         {access, openid4vci.CredentialRequest{}, 400, "invalid_credential_request"},
		"identifier":        {access, openid4vci.CredentialRequest{CredentialIdentifier: "x"}, 400, "invalid_credential_request"},
		"ZK first":          {access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK}, 400, "invalid_credential_request"},
		"unknown member":    {access, map[string]any{"credential_configuration_id": openid4vci.ConfigSDJWT, "proof": map[string]any{}}, 400, "invalid_credential_request"},
		"proofs for ZK":     {access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK, Proofs: &openid4vci.Proofs{JWT: good}}, 400, "invalid_proof"},
		"other alg (ES256)": {access, one(signES256(t, f.cNonce(t), now)), 400, "invalid_proof"},
	} {
		status, m, _ := f.credentialCall(t, c.token, c.req)
		if status != c.status || m["error"] != c.code {
			t.Errorf("%s: %d %v, want %d %s", name, status, m, c.status, c.code)
		}
	}
	// The token survived every refusal.
	if status, m, _ := f.credentialCall(t, access, sdRequest(proofs(t, keys(t, 2), issuerID, f.cNonce(t), now))); status != 200 {
		t.Fatalf("good request after the refusals: %d %v", status, m)
	}
	if status, m, _ := f.credentialCall(t, access, openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK,
		HolderCommitment: "999"}); status != 400 || m["error"] != "invalid_credential_request" {
		t.Errorf("ZK request with another commitment: %d %v", status, m)
	}
}

func signES256(t *testing.T, nonce string, now time.Time) string {
	t.Helper()
	k, _ := jose.GenerateKey(jose.SuiteIntl, nil)
	p, err := openid4vci.SignProof(k, issuerID, nonce, now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTxCode: the token endpoint needs the offer's tx_code, refuses a wrong
// one, and withdraws the offer after MaxTxCodeAttempts wrong ones, so that
// the right code no longer works either.
func TestTxCode(t *testing.T) {
	f := newFixture(t)
	e := f.enrol(t)
	if status, m := f.tokenCall(t, code(e), nil); status != 400 || m["error"] != "invalid_request" {
		t.Errorf("no tx_code: %d %v", status, m)
	}
	wrong := "000000"
	if wrong == e.TxCode {
		wrong = "111111"
	}
	for i := range DefaultMaxTxCodeAttempts {
		if status, m := f.tokenCall(t, code(e), &wrong); status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("wrong tx_code, attempt %d: %d %v", i+1, status, m)
		}
	}
	if status, m := f.tokenCall(t, code(e), &e.TxCode); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("right tx_code after %d wrong ones: %d %v, want the offer withdrawn", DefaultMaxTxCodeAttempts, status, m)
	}
	// Fewer wrong attempts leave the offer usable.
	e = f.enrol(t)
	f.tokenCall(t, code(e), &wrong)
	if status, m := f.tokenCall(t, code(e), &e.TxCode); status != 200 {
		t.Errorf("right tx_code after one wrong one: %d %v", status, m)
	}
	for name, form := range map[string]url.Values{
		"grant type":   {"grant_type": {"authorization_code"}, "code": {"x"}},
		"no code":      {"grant_type": {openid4vci.GrantPreAuthorizedCode}},
		"unknown code": {"grant_type": {openid4vci.GrantPreAuthorizedCode}, "pre-authorized_code": {"x"}, "tx_code": {"1"}},
	} {
		resp, data := call(t, "POST", f.base+"/token", "", "application/x-www-form-urlencoded", form.Encode())
		want := map[string]string{"grant type": "unsupported_grant_type", "no code": "invalid_request", "unknown code": "invalid_grant"}[name]
		if resp.StatusCode != 400 || jsonOf(t, data)["error"] != want {
			t.Errorf("%s: %d %s", name, resp.StatusCode, data)
		}
	}
}

// TestExpiry: offers, tokens and nonces die at their TTL.
func TestExpiry(t *testing.T) {
	f := newFixture(t)
	e := f.enrol(t)
	*f.clock = f.clock.Add(DefaultOfferTTL)
	if status, m := f.tokenCall(t, code(e), &e.TxCode); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("expired offer: %d %v", status, m)
	}
	n := f.cNonce(t)
	*f.clock = f.clock.Add(DefaultNonceTTL)
	access := f.accessToken(t)
	status, m, _ := f.credentialCall(t, access, sdRequest(proofs(t, keys(t, 1), issuerID, n, *f.clock)))
	if status != 400 || m["error"] != "invalid_nonce" {
		t.Errorf("expired nonce: %d %v", status, m)
	}
	*f.clock = f.clock.Add(DefaultTokenTTL)
	status, m, _ = f.credentialCall(t, access, sdRequest(proofs(t, keys(t, 1), issuerID, f.cNonce(t), *f.clock)))
	if status != 401 || m["error"] != "invalid_token" {
		t.Errorf("expired token: %d %v", status, m)
	}
}

// TestAdminAPI: the token guards every admin route; revoke, delete and
// publish reach the issuer.
func TestAdminAPI(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/admin/offers", "/admin/issue", "/admin/revoke", "/admin/delete", "/admin/publish"} {
		for _, auth := range []string{"", "wrong", admin + "x"} {
			resp, _ := call(t, "POST", f.base+path, auth, "application/json", `{}`)
			if resp.StatusCode != 401 {
				t.Errorf("%s with token %q: %d", path, auth, resp.StatusCode)
			}
		}
	}
	for name, c := range map[string]struct {
		path, body string
		status     int
		want       string
	}{
		"revoke":          {"/admin/revoke", `{"serials":[1,2,3]}`, 200, `"status":"revoked"`},
		"revoke unknown":  {"/admin/revoke", `{"serials":[1,500]}`, 400, "never issued"},
		"revoke none":     {"/admin/revoke", `{"serials":[]}`, 400, "serials"},
		"delete":          {"/admin/delete", `{"wanghao":"known"}`, 200, `"next_epoch":5`},
		"delete unknown":  {"/admin/delete", `{"wanghao":"other"}`, 404, "no person"},
		"publish":         {"/admin/publish", `{}`, 200, `"epoch":5`},
		"issue":           {"/admin/issue", `{"subject":` + subject + `,"holder_request":{"version":1,"holder_commitment":"1","sd_jwt_keys":[{}]}}`, 200, `"sd-jwt-0"`},
		"issue malformed": {"/admin/issue", `{"subject":{}}`, 400, "required"},
		"offer invalid":   {"/admin/offers", `{"doc_type":"x"}`, 422, "name is missing"},
	} {
		resp, data := call(t, "POST", f.base+c.path, admin, "application/json", c.body)
		if resp.StatusCode != c.status || !strings.Contains(string(data), c.want) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, data)
		}
	}
	if len(f.fake.revoked) != 3 || f.fake.published != 1 {
		t.Errorf("revoked %v, published %d", f.fake.revoked, f.fake.published)
	}
}

func TestAdminDisabledWithoutToken(t *testing.T) {
	f := newFixture(t)
	srv := httpserv.New(httpserv.Config{})
	if _, err := New(srv, f.fake, Options{Dir: f.dir}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, data := call(t, "POST", ts.URL+"/admin/offers", "", "application/json", subject)
	if resp.StatusCode != 404 || !strings.Contains(string(data), "disabled") {
		t.Fatalf("admin without a token: %d %s", resp.StatusCode, data)
	}
}

// TestPendingBounded: offers and tokens are bounded together, nonces on
// their own; a sweep on a full table frees what has expired.
func TestPendingBounded(t *testing.T) {
	now := time.Now()
	s := &Service{opts: Options{MaxOffers: 2, MaxNonces: 1, OfferTTL: time.Minute, TokenTTL: 2 * time.Minute, NonceTTL: time.Minute,
		PublicURL: "http://127.0.0.1:1", Now: func() time.Time { return now }},
		meta:   &publication.Metadata{Issuer: issuerID},
		offers: make(map[[32]byte]*offer), docs: make(map[[32]byte]*offerDoc),
		tokens: make(map[[32]byte]*grant), nonces: make(map[[32]byte]time.Time)}
	if _, err := s.enrol([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.putToken([]byte("b")); err != nil {
		t.Fatal(err)
	}
	_, err := s.enrol([]byte("c"))
	var he *httpserv.Error
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("third grant with a bound of 2: %v, want a 503", err)
	}
	now = now.Add(time.Minute + time.Second)
	if _, err := s.enrol([]byte("d")); err != nil {
		t.Fatalf("grant after expiry: %v", err)
	}
	if len(s.offers) != 1 || len(s.docs) != 1 || len(s.tokens) != 1 {
		t.Fatalf("after the sweep: %d offers, %d documents, %d tokens, want 1, 1, 1", len(s.offers), len(s.docs), len(s.tokens))
	}
}

// TestOneIssuancePerToken: requests racing on one token issue once.
func TestOneIssuancePerToken(t *testing.T) {
	f := newFixture(t)
	access := f.accessToken(t)
	const n = 6
	reqs := make([]openid4vci.CredentialRequest, n)
	for i := range reqs {
		reqs[i] = sdRequest(proofs(t, keys(t, 1), issuerID, f.cNonce(t), time.Now()))
	}
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			status, _, _ := f.credentialCall(t, access, reqs[i])
			statuses <- status
		}()
	}
	ok := 0
	for range n {
		if <-statuses == 200 {
			ok++
		}
	}
	if ok != 1 || len(f.fake.issued) != 1 {
		t.Fatalf("%d requests succeeded and %d issuances ran on one token, want 1 and 1", ok, len(f.fake.issued))
	}
}
