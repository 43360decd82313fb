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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// fakeVerifier accepts a proof equal to "good" once per request id.
type fakeVerifier struct {
	mu       sync.Mutex
	n        int
	used     map[string]bool
	seenP    verifier.Policy
	requests map[string]*verifier.Request
	verdicts map[string]*verifier.Result
}

func (f *fakeVerifier) NewTransaction(ctx context.Context, p verifier.Policy) (*verifier.Request, string, error) {
	if p.Scope == "" {
		return nil, "", fmt.Errorf("%w: scope is missing", verifier.ErrPolicy)
	}
	if p.Scope == "explode" {
		return nil, "", errors.New("badger: disk detail")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.seenP = p
	req := &verifier.Request{Version: 1, ID: fmt.Sprintf("req%d", f.n), Nonce: "n", Scope: p.Scope,
		ExpiresAt: time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}
	if f.requests == nil {
		f.requests = map[string]*verifier.Request{}
	}
	f.requests[req.ID] = req
	return req, "token-" + req.ID, nil
}

func (f *fakeVerifier) PendingRequest(ctx context.Context, id string) (*verifier.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.requests[id]; ok && !f.used[id] {
		return r, nil
	}
	return nil, verifier.ErrUnknownRequest
}

func (f *fakeVerifier) Result(ctx context.Context, id, token string) (*verifier.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.verdicts[id]; ok && token == "token-"+id {
		return r, nil
	}
	return nil, verifier.ErrNoResult
}

func (f *fakeVerifier) Verify(ctx context.Context, data []byte) (*verifier.Result, error) {
	p, err := verifier.ParsePresentation(data)
	if err != nil {
		return nil, err
	}
	if p.Proof == "undecided" {
		return nil, errors.New("issuer unreachable: detail")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used[p.RequestID] {
		return &verifier.Result{Valid: false, Reasons: []string{"replayed nonce"}}, nil
	}
	f.used[p.RequestID] = true
	res := &verifier.Result{Valid: false, Reasons: []string{"invalid proof"}}
	if p.Proof == "good" {
		e := uint64(1)
		res = &verifier.Result{Valid: true, Predicates: map[string]bool{"age_over_18": true}, Pseudonym: "0x01", Epoch: &e}
	}
	if f.verdicts == nil {
		f.verdicts = map[string]*verifier.Result{}
	}
	f.verdicts[p.RequestID] = res
	return res, nil
}

func (f *fakeVerifier) Ready(ctx context.Context) (verifier.Readiness, error) {
	return verifier.Readiness{}, nil
}

func newService(t *testing.T) (string, *fakeVerifier) {
	t.Helper()
	f := &fakeVerifier{used: map[string]bool{}}
	srv := httpserv.New(httpserv.Config{MaxBodyBytes: 2048})
	if _, err := New(srv, f, Options{PublicURL: "https://verifier.example/", Logger: srv.Logger(), Metrics: srv.Metrics()}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, f
}

func post(t *testing.T, url, ctype, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %q", data)
	}
	return resp.StatusCode, m
}

// getResult asks for a request's result with a bearer token ("" sends no
// Authorization) and returns the status.
func getResult(t *testing.T, base, id, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/requests/"+id+"/result", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func presentation(id, proof string) string {
	return fmt.Sprintf(`{"version":1,"type":"zk","request_id":%q,"circuit_id":"zC","epoch":1,"pseudonym":"0x01","proof":%q}`, id, proof)
}

func TestRequestAndResponse(t *testing.T) {
	base, f := newService(t)
	status, env := post(t, base+"/requests", "application/json",
		`{"scope":"platform-a","age_over":18,"min_level":2,"guardian_consent":true,"sd_jwt":["age_over_18"]}`)
	if status != 201 || env["response_mode"] != "direct_post" || env["response_type"] != "vp_token" ||
		env["response_uri"] != "https://verifier.example/response" ||
		env["request_uri"] != "https://verifier.example/requests/req1" || env["state"] != "req1" {
		t.Fatalf("create: %d %v", status, env)
	}
	if p := f.seenP; p.Scope != "platform-a" || *p.AgeOver != 18 || p.MinLevel != 2 || !p.GuardianConsent ||
		len(p.SDJWTClaims) != 1 {
		t.Fatalf("policy reached the verifier as %+v", p)
	}
	// The inner request is the verifier's document, parseable strictly.
	inner, _ := json.Marshal(env["request"])
	if _, err := verifier.ParseRequest(inner); err != nil {
		t.Fatalf("inner request: %v", err)
	}
	resp, err := http.Get(base + "/requests/req1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get request: %v %v", err, resp)
	}
	resp.Body.Close()
	if status := getResult(t, base, "req1", "token-req1"); status != 404 {
		t.Fatalf("result before the response: %d, want 404", status)
	}

	// direct_post as a form.
	form := url.Values{"vp_token": {presentation("req1", "good")}, "state": {"req1"}}
	status, res := post(t, base+"/response", "application/x-www-form-urlencoded", form.Encode())
	if status != 200 || res["valid"] != true || res["pseudonym"] != "0x01" {
		t.Fatalf("response: %d %v", status, res)
	}
	if status := getResult(t, base, "req1", "token-req1"); status != 200 {
		t.Fatalf("result: %d, want 200", status)
	}
	for name, tok := range map[string]string{"wrong token": "token-req2", "no token": ""} {
		if status := getResult(t, base, "req1", tok); status == 200 {
			t.Errorf("result with %s: %d", name, status)
		}
	}
	if resp, err := http.Get(base + "/requests/req1"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("get of an answered request: %v %v, want 404", err, resp)
	} else {
		resp.Body.Close()
	}
	// Replay: 422, valid false, a reason.
	status, res = post(t, base+"/response", "application/json", presentation("req1", "good"))
	if status != 422 || res["valid"] != false || fmt.Sprint(res["reasons"]) != "[replayed nonce]" {
		t.Fatalf("replay: %d %v", status, res)
	}
}

func TestRequestRefusals(t *testing.T) {
	base, _ := newService(t)
	for name, c := range map[string]struct {
		body   string
		status int
		want   string
	}{
		"malformed":     {`{"scope":`, 400, "malformed JSON"},
		"unknown field": {`{"scope":"a","age":3}`, 400, "unknown field"},
		"policy":        {`{"age_over":18}`, 422, "scope is missing"},
		"undecided":     {`{"scope":"explode"}`, 503, "retry later"},
		"oversized":     {`{"scope":"` + strings.Repeat("a", 3000) + `"}`, 413, "larger than 2048"},
	} {
		t.Run(name, func(t *testing.T) {
			status, m := post(t, base+"/requests", "application/json", c.body)
			if msg, _ := m["error"].(string); status != c.status || !strings.Contains(msg, c.want) || strings.Contains(msg, "disk detail") {
				t.Fatalf("%d %v", status, m)
			}
		})
	}
	resp, _ := http.Get(base + "/requests/nope")
	if resp.StatusCode != 404 {
		t.Fatalf("unknown request id: %d", resp.StatusCode)
	}
}

func TestResponseRefusals(t *testing.T) {
	base, _ := newService(t)
	for name, c := range map[string]struct {
		ctype, body string
		status      int
		want        string
	}{
		"malformed JSON":  {"application/json", `{"version":1,`, 400, "malformed presentation"},
		"empty":           {"application/json", ``, 400, "malformed presentation: empty request body"},
		"unknown member":  {"application/json", `{"version":1,"type":"zk","x":1}`, 400, "malformed presentation"},
		"form without vp": {"application/x-www-form-urlencoded", "state=x", 400, "vp_token is missing"},
		"oversized":       {"application/json", strings.Repeat(" ", 3000), 413, "larger than 2048"},
		"oversized form":  {"application/x-www-form-urlencoded", "vp_token=" + strings.Repeat("a", 3000), 413, "larger than 2048"},
		"invalid proof":   {"application/json", presentation("r9", "bad"), 422, "invalid proof"},
		"undecided":       {"application/json", presentation("r8", "undecided"), 503, ""},
	} {
		t.Run(name, func(t *testing.T) {
			status, m := post(t, base+"/response", c.ctype, c.body)
			if status != c.status {
				t.Fatalf("%d %v", status, m)
			}
			if status == 503 {
				if strings.Contains(fmt.Sprint(m), "detail") {
					t.Fatalf("internal detail leaked: %v", m)
				}
				return
			}
			if m["valid"] != false || !strings.Contains(fmt.Sprint(m["reasons"]), c.want) {
				t.Fatalf("%v", m)
			}
		})
	}
	// The refused proof used up request r9: a good proof for it now fails.
	status, m := post(t, base+"/response", "application/json", presentation("r9", "good"))
	if status != 422 || !strings.Contains(fmt.Sprint(m["reasons"]), "replayed nonce") {
		t.Fatalf("second answer to r9: %d %v", status, m)
	}
}

func TestNewRefusesBadURL(t *testing.T) {
	if _, err := New(httpserv.New(httpserv.Config{}), &fakeVerifier{}, Options{PublicURL: "verifier.example"}); err == nil {
		t.Fatal("accepted a public URL without scheme")
	}
}
