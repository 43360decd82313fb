package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/wire"
)

// newServedPlatform is the platform service over a fake on the server of
// `yinzheng serve` (its body limit, its error answers), with opts edited.
func newServedPlatform(t *testing.T, edit func(*PlatformOptions)) (string, *fakeTransactions) {
	t.Helper()
	f := &fakeTransactions{}
	srv := httpserv.New(httpserv.Config{MaxBodyBytes: 2048, Rate: -1})
	opts := PlatformOptions{Platform: &verifier.Platform{Domain: "localhost"}, APIToken: testToken,
		PublicURL: "http://localhost:8080", QuotaPerMinute: 1000, Logger: srv.Logger(), Metrics: srv.Metrics()}
	if edit != nil {
		edit(&opts)
	}
	if _, err := NewPlatform(srv, f, opts); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, f
}

// create makes a transaction over the API and returns its id.
func create(t *testing.T, base string) string {
	t.Helper()
	resp, body := call(t, "POST", base+TransactionsPath, testToken, "application/json", `{"age_over":18}`)
	var doc TransactionDocument
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &doc) != nil || doc.TransactionID == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	return doc.TransactionID
}

// verdictOf reads a transaction's verdict document.
func verdictOf(t *testing.T, base, id string) VerdictDocument {
	t.Helper()
	resp, body := call(t, "GET", base+TransactionsPath+"/"+id, testToken, "", "")
	var v VerdictDocument
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
		t.Fatalf("verdict of %s: %d %s", id, resp.StatusCode, body)
	}
	return v
}

// TestPlatformCreate: the policy document reaches the verifier member
// for member; a malformed, unknown-member or oversized document is 400 or
// 413, a policy the verifier refuses 422, and a verifier that cannot make
// requests now 503 with Retry-After and no internal detail.
func TestPlatformCreate(t *testing.T) {
	base, f := newServedPlatform(t, nil)
	resp, body := call(t, "POST", base+TransactionsPath, testToken, "application/json",
		`{"age_over":18,"age_under":60,"min_level":2,"guardian_consent":true,"sd_jwt":["age_over_18"]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if p := f.policy; *p.AgeOver != 18 || *p.AgeUnder != 60 || p.MinLevel != 2 || !p.GuardianConsent ||
		len(p.SDJWTClaims) != 1 || p.SDJWTClaims[0] != "age_over_18" {
		t.Fatalf("the policy reached the verifier as %+v", p)
	}
	for name, c := range map[string]struct {
		body   string
		status int
		want   string
	}{
		"malformed":     {`{"age_over":`, 400, "malformed JSON"},
		"unknown field": {`{"age":3}`, 400, "unknown field"},
		"policy":        {`{"min_level":5}`, 422, "min_level 5"},
		"undecided":     {`{"scope":"explode"}`, 503, "retry later"},
		"oversized":     {`{"scope":"` + strings.Repeat("a", 3000) + `"}`, 413, "larger than 2048"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := call(t, "POST", base+TransactionsPath, testToken, "application/json", c.body)
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			if msg, _ := m["error"].(string); resp.StatusCode != c.status || !strings.Contains(msg, c.want) || strings.Contains(msg, "disk detail") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if c.status == 503 && resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
	if f.n != 1 {
		t.Fatalf("%d transactions made, want the one valid", f.n)
	}
}

// TestPlatformResponseRefusals: a form with neither vp_token nor error,
// or too large, is refused 400 and decides nothing; a refused presentation
// is answered 200 (the verdict is the backend's) and is the transaction's
// one answer; an answer the verifier could not decide is 503 with
// Retry-After and no internal detail, and leaves the transaction open for
// the same answer again.
func TestPlatformResponseRefusals(t *testing.T) {
	base, f := newServedPlatform(t, nil)
	post := func(form url.Values) (*http.Response, map[string]any) {
		t.Helper()
		resp, body := call(t, "POST", base+ResponsePath, "", "application/x-www-form-urlencoded", form.Encode())
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return resp, m
	}
	id := create(t, base)
	for name, form := range map[string]url.Values{
		"neither":   {"state": {id}},
		"oversized": {"state": {id}, "vp_token": {strings.Repeat("a", wire.MaxDocumentSize+128<<10)}},
	} {
		if resp, m := post(form); resp.StatusCode != 400 || m["error"] != wire.ErrorInvalidRequest {
			t.Errorf("%s: %d %v", name, resp.StatusCode, m)
		}
	}
	if len(f.verified) != 0 {
		t.Fatalf("refused forms reached the verifier: %v", f.verified)
	}

	// Undecided: 503, nothing decided, the same answer later is taken.
	resp, m := post(url.Values{"state": {id}, "vp_token": {"undecided"}})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || strings.Contains(strings.ToLower(m["error"].(string)), "detail") {
		t.Fatalf("undecided: %d %v", resp.StatusCode, m)
	}
	if v := verdictOf(t, base, id); v.Status != "pending" {
		t.Fatalf("verdict after an undecided answer: %+v", v)
	}
	// A refused presentation: 200, and the verdict says refused.
	if resp, m := post(url.Values{"state": {id}, "vp_token": {`{"bad":["1"]}`}}); resp.StatusCode != 200 {
		t.Fatalf("refused presentation: %d %v", resp.StatusCode, m)
	}
	if v := verdictOf(t, base, id); v.Status != "complete" || v.Result.Valid {
		t.Fatalf("verdict of a refused presentation: %+v", v)
	}
	// It was the transaction's answer: a good one after it is refused.
	if resp, m := post(url.Values{"state": {id}, "vp_token": {`{"ok":["1"]}`}}); resp.StatusCode != 400 || m["error"] != wire.ErrorInvalidRequest {
		t.Fatalf("good answer after a refused one: %d %v", resp.StatusCode, m)
	}
	if v := verdictOf(t, base, id); v.Result.Valid {
		t.Fatalf("verdict changed by a later answer: %+v", v)
	}
}

// TestReadinessOptions: NewReadiness needs a verifier and a mux.
func TestReadinessOptions(t *testing.T) {
	if err := NewReadiness(nil, nil, ReadinessOptions{}); err == nil {
		t.Fatal("accepted no verifier and no mux")
	}
}
