package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

var liveBase = time.Date(2026, time.March, 1, 10, 0, 0, 0, time.UTC)

type liveClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *liveClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *liveClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type live struct {
	url string
	iss *verifiertest.Issuer
	src *verifiertest.FlakySource
	clk *liveClock
	v   *verifier.Verifier
}

// newLive serves a real verifier, as one platform's service with its
// readiness, over a verifiertest issuer whose publication can be taken
// down; edit changes the verifier's options.
func newLive(t *testing.T, edit func(*verifier.Options)) *live {
	t.Helper()
	iss := verifiertest.NewIssuer(t, 4, liveBase)
	l := &live{iss: iss, src: &verifiertest.FlakySource{Source: iss.Source()}, clk: &liveClock{t: liveBase}}
	opts := verifier.Options{Dir: t.TempDir(), Source: l.src, Trust: iss.Trust(), Now: l.clk.now, AllowDevelopmentKeys: true}
	if edit != nil {
		edit(&opts)
	}
	v, err := verifier.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	l.v = v
	reg := registrytest.New(t, jose.SuiteGM)
	p := reg.Register(t, "platform-a.example", registry.Entitlements{Predicates: registry.Predicates(),
		Claims: []string{schemas.ClaimAgeOver18}, LegalBasis: "test"})
	srv := httpserv.New(httpserv.Config{})
	if _, err := NewPlatform(srv, v, PlatformOptions{Platform: &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key,
		Registration: p.Registration, Status: p.Status}, APIToken: platformToken, PublicURL: "https://platform-a.example",
		Now: l.clk.now, Logger: srv.Logger(), Metrics: srv.Metrics()}); err != nil {
		t.Fatal(err)
	}
	if err := NewReadiness(srv, v, ReadinessOptions{Now: l.clk.now, Registerer: srv.Metrics().Registry()}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	l.url = ts.URL
	return l
}

// do sends one request with the API token and returns the status and
// the decoded JSON answer.
func (l *live) do(t *testing.T, method, path, ctype, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, l.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+platformToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func getJSON(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %q", data)
	}
	return resp, m
}

// TestRetryAfter503: while the publication is unreachable the platform
// service answers 503 with Retry-After to a wallet's answer (and to a new
// transaction) and decides nothing; the same answer posted again later is
// taken, and its verdict is reported; a replay after that is refused.
func TestRetryAfter503(t *testing.T) {
	l := newLive(t, nil)
	holder := l.iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), liveBase)
	epoch := l.iss.Publish(t, liveBase).Epoch
	resp, m := l.do(t, "POST", TransactionsPath, "application/json", `{"age_over":18}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, m)
	}
	id, _ := m["transaction_id"].(string)
	tx, err := l.v.RecordedTransaction(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := wire.NewVPToken(holder.Prove(t, tx.Request, epoch))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"vp_token": {string(tok)}, "state": {id}}.Encode()

	l.clk.add(verifier.DefaultCacheTTL + time.Second)
	l.src.SetDown(true)
	resp, m = l.do(t, "POST", ResponsePath, "application/x-www-form-urlencoded", form)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("while down: %d %v, Retry-After %q", resp.StatusCode, m, resp.Header.Get("Retry-After"))
	}
	if resp, m := l.do(t, "GET", TransactionsPath+"/"+id, "", ""); resp.StatusCode != 200 || m["status"] != "pending" {
		t.Fatalf("verdict while down: %d %v, want pending", resp.StatusCode, m)
	}
	if resp, m := l.do(t, "POST", TransactionsPath, "application/json", `{}`); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("create while down: %d %v", resp.StatusCode, m)
	}
	l.src.SetDown(false)
	if resp, m := l.do(t, "POST", ResponsePath, "application/x-www-form-urlencoded", form); resp.StatusCode != 200 {
		t.Fatalf("retry: %d %v", resp.StatusCode, m)
	}
	resp, m = l.do(t, "GET", TransactionsPath+"/"+id, "", "")
	if res, _ := m["result"].(map[string]any); resp.StatusCode != 200 || m["status"] != "complete" || res["valid"] != true {
		t.Fatalf("verdict after the retry: %d %v", resp.StatusCode, m)
	}
	if resp, m := l.do(t, "POST", ResponsePath, "application/x-www-form-urlencoded", form); resp.StatusCode != 400 || m["error"] != wire.ErrorInvalidRequest {
		t.Fatalf("replay after the retry: %d %v", resp.StatusCode, m)
	}
}

func TestReadyz(t *testing.T) {
	l := newLive(t, nil)
	resp, m := getJSON(t, l.url+"/readyz")
	if resp.StatusCode != 200 || m["ready"] != true || m["issuer"] != verifiertest.IssuerID || m["root_age_seconds"] != 0.0 {
		t.Fatalf("ready: %d %v", resp.StatusCode, m)
	}
	// The gauges are on /metrics.
	mresp, err := http.Get(l.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(metrics), "yinzheng_verifier_root_age_seconds 0") ||
		!strings.Contains(string(metrics), "yinzheng_verifier_status_list_expiry_seconds 86400") {
		t.Fatalf("metrics lack the readiness gauges:\n%s", metrics)
	}

	l.clk.add(verifier.DefaultCacheTTL + time.Second)
	l.src.SetDown(true)
	wantNotReady(t, l.url, "publication unreachable")
	l.src.SetDown(false)

	l.clk.add(verifier.DefaultMaxRootAge)
	wantNotReady(t, l.url, "stale root")
	l.iss.Publish(t, l.clk.now())
	l.clk.add(verifier.DefaultCacheTTL + time.Second)
	if resp, m := getJSON(t, l.url+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("after publishing: %d %v", resp.StatusCode, m)
	}

	other, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := newLive(t, func(o *verifier.Options) { o.Trust.Issuers[0].Keys[0] = other.Public() })
	wantNotReady(t, u.url, "trust changed")
	d := newLive(t, func(o *verifier.Options) { o.AllowDevelopmentKeys = false })
	wantNotReady(t, d.url, "untrusted circuit keys")
}

func wantNotReady(t *testing.T, url, reason string) {
	t.Helper()
	resp, m := getJSON(t, url+"/readyz")
	if resp.StatusCode != 503 || m["ready"] != false || m["reason"] != reason || m["error"] == "" ||
		resp.Header.Get("Retry-After") == "" {
		t.Fatalf("not ready: %d %v, want 503 with reason %q", resp.StatusCode, m, reason)
	}
	// Liveness is not readiness.
	if resp, _ := getJSON(t, url+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}
