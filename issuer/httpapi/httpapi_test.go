package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
)

// fakeIssuer records what the service passes to the issuer library.
type fakeIssuer struct {
	mu     sync.Mutex
	issued [][2]string
}

func (f *fakeIssuer) CheckSubject(subject []byte) error {
	if !strings.Contains(string(subject), `"name"`) {
		return fmt.Errorf("%w: subject: name is missing", ErrInvalidInput)
	}
	return nil
}

func (f *fakeIssuer) Issue(ctx context.Context, subject, req []byte) ([]byte, error) {
	if strings.Contains(string(req), "bad") {
		return nil, fmt.Errorf("%w: holder request: bad key", ErrInvalidInput)
	}
	if strings.Contains(string(req), "explode") {
		return nil, fmt.Errorf("badger: disk detail")
	}
	f.mu.Lock()
	f.issued = append(f.issued, [2]string{string(subject), string(req)})
	f.mu.Unlock()
	return []byte(`{"version":1,"serial":7}`), nil
}

func (f *fakeIssuer) Bucket(index uint64, k int) ([]byte, error) {
	if index > 100 {
		return nil, fmt.Errorf("%w: bucket %d holds no serial issued", ErrInvalidInput, index)
	}
	return []byte{byte(index), byte(k)}, nil
}

type fixture struct {
	base  string
	dir   string
	fake  *fakeIssuer
	clock *time.Time
}

const admin = "admin-secret-token"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := publication.Metadata{Version: 1, Issuer: "https://issuer.yinzheng.example", Suite: jose.SuiteGM,
		JWK: key.Public(), KeyID: key.Public().KeyID(), Depth: 32, CircuitID: "zCircuit", SchemaID: "zSchema",
		VCT: "urn:yinzheng:wangzheng:v1", StatusListURI: "https://issuer.yinzheng.example/statuslist.jwt"}
	data, _ := json.Marshal(&meta)
	files := map[string][]byte{
		publication.IssuerName:       data,
		publication.LatestRootName:   []byte("latest-jws"),
		publication.RootName(3):      []byte("jws-3"),
		publication.DeltaName(3):     []byte(`{"delta":3}`),
		publication.StatusListName:   []byte("status-jwt"),
		publication.ManifestName:     []byte(`{"m":1}`),
		publication.VerifyingKeyName: []byte("vk"),
		publication.TranscriptName:   []byte("transcript"),
		"secret.txt":                 []byte("not published"),
	}
	for name, body := range files {
		p := filepath.Join(dir, "public", filepath.FromSlash(name))
		if name == "secret.txt" {
			p = filepath.Join(dir, "private", name)
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	f := &fixture{dir: dir, fake: &fakeIssuer{}, clock: &now}
	srv := httpserv.New(httpserv.Config{MaxBodyBytes: 4096})
	if _, err := New(srv, f.fake, Options{Dir: dir, PublicURL: "http://127.0.0.1:1/", AdminToken: []byte(admin),
		Now: func() time.Time { return *f.clock }}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.base = ts.URL
	return f
}

func call(t *testing.T, method, url, auth, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func jsonOf(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %q", data)
	}
	return m
}

const subject = `{"doc_type":"resident_id","name":"Zhang San"}`

func (f *fixture) offerCode(t *testing.T) string {
	t.Helper()
	resp, data := call(t, "POST", f.base+"/offers", admin, "application/json", subject)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %s", resp.StatusCode, data)
	}
	var offer CredentialOffer
	if err := json.Unmarshal(data, &offer); err != nil {
		t.Fatal(err)
	}
	g, _ := offer.Grants[PreAuthorizedGrant].(map[string]any)
	code, _ := g["pre-authorized_code"].(string)
	if code == "" || offer.CredentialIssuer != "https://issuer.yinzheng.example" {
		t.Fatalf("offer: %s", data)
	}
	return code
}

func (f *fixture) token(t *testing.T, code string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {PreAuthorizedGrant}, "pre-authorized_code": {code}}
	resp, data := call(t, "POST", f.base+"/token", "", "application/x-www-form-urlencoded", form.Encode())
	return resp.StatusCode, jsonOf(t, data)
}

func TestIssuanceFlow(t *testing.T) {
	f := newFixture(t)
	code := f.offerCode(t)
	status, tok := f.token(t, code)
	if status != 200 || tok["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", status, tok)
	}
	access := tok["access_token"].(string)
	resp, data := call(t, "POST", f.base+"/credential", access, "application/json",
		`{"format":"dc+sd-jwt","version":1,"holder_commitment":"0x01","sd_jwt_keys":[]}`)
	if resp.StatusCode != 200 || string(data) != `{"version":1,"serial":7}` {
		t.Fatalf("credential: %d %s", resp.StatusCode, data)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("bundle response is cacheable")
	}
	if len(f.fake.issued) != 1 || f.fake.issued[0][0] != subject ||
		strings.Contains(f.fake.issued[0][1], "format") || !strings.Contains(f.fake.issued[0][1], "holder_commitment") {
		t.Fatalf("issuer saw %v", f.fake.issued)
	}
	// Code and token are single use.
	if status, body := f.token(t, code); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reused code: %d %v", status, body)
	}
	resp, data = call(t, "POST", f.base+"/credential", access, "application/json", `{"version":1}`)
	if resp.StatusCode != 401 || !strings.Contains(string(data), "already used") {
		t.Fatalf("reused token: %d %s", resp.StatusCode, data)
	}
}

func TestOfferRefusals(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]struct {
		auth, body string
		status     int
		want       string
	}{
		"no admin token":    {"", subject, 401, "admin token"},
		"wrong admin token": {"admin-secret-tokeX", subject, 401, "admin token"},
		"invalid subject":   {admin, `{"doc_type":"resident_id"}`, 422, "name is missing"},
		"empty subject":     {admin, ``, 400, "empty request body"},
		"oversized subject": {admin, strings.Repeat("x", 5000), 413, "larger than 4096"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, data := call(t, "POST", f.base+"/offers", c.auth, "application/json", c.body)
			if resp.StatusCode != c.status || !strings.Contains(string(data), c.want) {
				t.Fatalf("%d %s", resp.StatusCode, data)
			}
		})
	}
}

func TestOffersDisabledWithoutAdminToken(t *testing.T) {
	f := newFixture(t)
	srv := httpserv.New(httpserv.Config{})
	if _, err := New(srv, f.fake, Options{Dir: f.dir}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, data := call(t, "POST", ts.URL+"/offers", "", "application/json", subject)
	if resp.StatusCode != 404 || !strings.Contains(string(data), "disabled") {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	code := f.offerCode(t)
	cases := map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"wrong grant":  {url.Values{"grant_type": {"authorization_code"}, "pre-authorized_code": {code}}, 400, "unsupported_grant_type"},
		"missing code": {url.Values{"grant_type": {PreAuthorizedGrant}}, 400, "invalid_request"},
		"unknown code": {url.Values{"grant_type": {PreAuthorizedGrant}, "pre-authorized_code": {code + "x"}}, 400, "invalid_grant"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			resp, data := call(t, "POST", f.base+"/token", "", "application/x-www-form-urlencoded", c.form.Encode())
			if m := jsonOf(t, data); resp.StatusCode != c.status || m["error"] != c.code || m["error_description"] == "" {
				t.Fatalf("%d %s", resp.StatusCode, data)
			}
		})
	}
	// None of the refusals above consumed the real code.
	if status, body := f.token(t, code); status != 200 {
		t.Fatalf("valid code after refusals: %d %v", status, body)
	}
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	code := f.offerCode(t)
	*f.clock = f.clock.Add(DefaultOfferTTL + time.Second)
	if status, body := f.token(t, code); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", status, body)
	}
	code = f.offerCode(t)
	_, tok := f.token(t, code)
	*f.clock = f.clock.Add(DefaultTokenTTL + time.Second)
	resp, data := call(t, "POST", f.base+"/credential", tok["access_token"].(string), "application/json", `{"version":1}`)
	if resp.StatusCode != 401 || !strings.Contains(string(data), "expired") {
		t.Fatalf("expired token: %d %s", resp.StatusCode, data)
	}
}

func TestCredentialRefusals(t *testing.T) {
	f := newFixture(t)
	_, tok := f.token(t, f.offerCode(t))
	access := tok["access_token"].(string)
	for name, c := range map[string]struct {
		auth, body string
		status     int
		want       string
	}{
		"no token":       {"", `{"version":1}`, 401, "access token"},
		"wrong token":    {access + "x", `{"version":1}`, 401, "unknown"},
		"malformed":      {access, `{"version":`, 400, "malformed JSON"},
		"bad format":     {access, `{"format":"jwt_vc_json"}`, 400, "format must be"},
		"bad config id":  {access, `{"credential_configuration_id":"x"}`, 400, "credential_configuration_id must be"},
		"holder refused": {access, `{"version":1,"bad":true}`, 400, "bad key"},
		"oversized":      {access, `{"x":"` + strings.Repeat("a", 5000) + `"}`, 413, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, data := call(t, "POST", f.base+"/credential", c.auth, "application/json", c.body)
			if resp.StatusCode != c.status || !strings.Contains(string(data), c.want) {
				t.Fatalf("%d %s", resp.StatusCode, data)
			}
		})
	}
	// A request the holder got wrong leaves the token usable.
	resp, data := call(t, "POST", f.base+"/credential", access, "application/json", `{"version":1}`)
	if resp.StatusCode != 200 {
		t.Fatalf("token after holder errors: %d %s", resp.StatusCode, data)
	}
	// An internal failure is a 500 without its detail.
	_, tok = f.token(t, f.offerCode(t))
	resp, data = call(t, "POST", f.base+"/credential", tok["access_token"].(string), "application/json", `{"explode":1}`)
	if resp.StatusCode != 500 || strings.Contains(string(data), "disk detail") {
		t.Fatalf("internal failure: %d %s", resp.StatusCode, data)
	}
}

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	resp, data := call(t, "GET", f.base+"/.well-known/openid-credential-issuer", "", "", "")
	var m CredentialIssuerMetadata
	if err := json.Unmarshal(data, &m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	if m.CredentialIssuer != "https://issuer.yinzheng.example" || m.CredentialEndpoint != "http://127.0.0.1:1/credential" ||
		m.TokenEndpoint != "http://127.0.0.1:1/token" {
		t.Fatalf("endpoints: %+v", m)
	}
	sd, zk := m.CredentialConfigurationsSupported[ConfigSDJWT], m.CredentialConfigurationsSupported[ConfigZK]
	if sd.Format != "dc+sd-jwt" || sd.VCT != "urn:yinzheng:wangzheng:v1" || sd.SigningAlgs[0] != "SM2" {
		t.Errorf("sd-jwt config %+v", sd)
	}
	if zk.Format != FormatZK || zk.CircuitID != "zCircuit" || zk.AccumulatorDepth != 32 {
		t.Errorf("zk config %+v", zk)
	}
	_, data = call(t, "GET", f.base+"/.well-known/jwt-vc-issuer", "", "", "")
	var j struct {
		Issuer string
		JWKS   struct{ Keys []json.RawMessage }
	}
	if err := json.Unmarshal(data, &j); err != nil || j.Issuer != m.CredentialIssuer || len(j.JWKS.Keys) != 1 {
		t.Fatalf("jwt-vc-issuer: %s", data)
	}
	key, err := jose.ParsePublicJWK(j.JWKS.Keys[0])
	if err != nil || !strings.Contains(string(j.JWKS.Keys[0]), key.KeyID()) {
		t.Fatalf("jwks key: %v %s", err, j.JWKS.Keys[0])
	}
}

func TestPublicFiles(t *testing.T) {
	f := newFixture(t)
	for path, c := range map[string]struct {
		status      int
		body, cache string
	}{
		"/roots/latest.jws":         {200, "latest-jws", cacheLatest},
		"/roots/3.jws":              {200, "jws-3", cacheImmutable},
		"/deltas/3.json":            {200, `{"delta":3}`, cacheImmutable},
		"/statuslist.jwt":           {200, "status-jwt", cacheStatus},
		"/circuit/manifest.json":    {200, `{"m":1}`, cacheCircuit},
		"/circuit/verifying.key":    {200, "vk", cacheCircuit},
		"/circuit/transcript.bin":   {200, "transcript", cacheCircuit},
		"/buckets/8/5":              {200, "\x05\x08", cacheBucket},
		"/roots/4.jws":              {404, "roots/4.jws is not published", ""},
		"/roots/03.jws":             {404, "root statements are", ""},
		"/roots/x.jws":              {404, "root statements are", ""},
		"/deltas/3.jws":             {404, "deltas are", ""},
		"/circuit/proving.key":      {404, "not published", ""},
		"/circuit/other":            {404, "circuit files are", ""},
		"/buckets/8/x":              {400, "index must be", ""},
		"/buckets/9/5":              {400, "from 0 to 8", ""},
		"/buckets/8/500":            {400, "no serial issued", ""},
		"/../private/secret.txt":    {404, "", ""},
		"/roots/..%2fprivate.jws":   {404, "", ""},
		"/circuit/..%2fissuer.json": {404, "circuit files are", ""},
	} {
		resp, data := call(t, "GET", f.base+path, "", "", "")
		if resp.StatusCode != c.status || !strings.Contains(string(data), c.body) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, data)
			continue
		}
		if c.cache != "" && resp.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
		if strings.Contains(string(data), "not published") && strings.Contains(string(data), "secret") {
			t.Errorf("%s leaked a private file", path)
		}
	}
	// The published names work through publication.HTTPSource.
	src := publication.HTTPSource(f.base, nil)
	for _, name := range []string{publication.IssuerName, publication.RootName(3), publication.DeltaName(3),
		publication.LatestRootName, publication.StatusListName, publication.BucketName(8, 5)} {
		if _, err := src.Get(context.Background(), name, 1<<20); err != nil {
			t.Errorf("HTTPSource %s: %v", name, err)
		}
	}
}

func TestNewRefusesUninitialisedDir(t *testing.T) {
	_, err := New(httpserv.New(httpserv.Config{}), &fakeIssuer{}, Options{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "initialised issuer directory") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestPendingGrantsBounded(t *testing.T) {
	now := time.Now()
	s := &Service{opts: Options{MaxOffers: 2, Now: func() time.Time { return now }},
		offers: make(map[[32]byte]*grant), tokens: make(map[[32]byte]*grant)}
	if _, err := s.put(s.offers, []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.put(s.tokens, []byte("b"), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.put(s.offers, []byte("c"), time.Minute)
	var he *httpserv.Error
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("third grant with a bound of 2: %v, want a 503", err)
	}
	// Once the offer has expired, the sweep on a full table makes room;
	// the live token stays.
	now = now.Add(time.Minute + time.Second)
	if _, err := s.put(s.offers, []byte("d"), time.Minute); err != nil {
		t.Fatalf("grant after expiry: %v", err)
	}
	if len(s.offers) != 1 || len(s.tokens) != 1 {
		t.Fatalf("after the sweep: %d offers and %d tokens, want 1 and 1", len(s.offers), len(s.tokens))
	}
}
