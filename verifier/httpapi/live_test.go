package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
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
}

// newLive serves a real verifier over a verifiertest issuer whose
// publication can be taken down; edit changes the verifier's options.
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
	srv := httpserv.New(httpserv.Config{})
	if _, err := New(srv, FromVerifier(v), Options{PublicURL: "https://verifier.example", Now: l.clk.now,
		Logger: srv.Logger(), Metrics: srv.Metrics(), Registerer: srv.Metrics().Registry()}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	l.url = ts.URL
	return l
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

// TestRetryAfter503: while the publication is unreachable POST /response
// answers 503 with Retry-After, and the same presentation posted again
// later verifies.
func TestRetryAfter503(t *testing.T) {
	l := newLive(t, nil)
	holder := l.iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), liveBase)
	epoch := l.iss.Publish(t, liveBase).Epoch
	status, env := post(t, l.url+"/requests", "application/json", `{"scope":"platform-a","age_over":18}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, env)
	}
	inner, _ := json.Marshal(env["request"])
	req, err := verifier.ParseRequest(inner)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(verifiertest.JSON(t, holder.Prove(t, req, epoch)))

	l.clk.add(verifier.DefaultCacheTTL + time.Second)
	l.src.SetDown(true)
	resp, err := http.Post(l.url+"/response", "application/json", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("while down: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, m := post(t, l.url+"/requests", "application/json", `{"scope":"platform-a"}`); status != 503 {
		t.Fatalf("create while down: %d %v", status, m)
	}
	l.src.SetDown(false)
	if status, res := post(t, l.url+"/response", "application/json", doc); status != 200 || res["valid"] != true {
		t.Fatalf("retry: %d %v", status, res)
	}
	if status, res := post(t, l.url+"/response", "application/json", doc); status != 422 ||
		!strings.Contains(res["reasons"].([]any)[0].(string), verifier.ReasonUnknownNonce) {
		t.Fatalf("replay after the retry: %d %v", status, res)
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
