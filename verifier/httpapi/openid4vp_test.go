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

	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/wire"
)

// fakeTransactions stands in for the verifier library and its store: it
// records what the service asks, keeps open transactions and verdicts
// like the store (single use) and answers with fixed results.
type fakeTransactions struct {
	mu       sync.Mutex
	n        int
	policy   verifier.Policy // the last one asked for
	verified []string        // states verified
	declined []string
	open     map[string]*verifier.Transaction
	verdicts map[string]fakeVerdict
}

type fakeVerdict struct {
	res   *verifier.Result
	token string
}

func (f *fakeTransactions) NewPlatformRequest(_ context.Context, p verifier.Policy, pl *verifier.Platform) (*verifier.Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case p.MinLevel > 4:
		return nil, fmt.Errorf("%w: min_level %d above 4", verifier.ErrPolicy, p.MinLevel)
	case p.Scope == "explode":
		return nil, errors.New("badger: disk detail")
	}
	f.policy = p
	f.n++
	id := fmt.Sprintf("tx%d", f.n)
	exp := time.Now().Add(5 * time.Minute)
	tx := &verifier.Transaction{ID: id, RequestObject: "jwt." + id + ".sig",
		Request: &verifier.Request{ID: id, ExpiresAt: exp.UTC().Format(time.RFC3339)},
		Object:  &wire.RequestObject{ClientID: pl.ClientID(), State: id, Expires: exp.Unix()}}
	if f.open == nil {
		f.open, f.verdicts = map[string]*verifier.Transaction{}, map[string]fakeVerdict{}
	}
	f.open[id] = tx
	// What the library derives the result token with.
	f.verdicts[id] = fakeVerdict{token: verifier.PlatformResultToken(pl.ResultSecret, id)}
	return tx, nil
}

func (f *fakeTransactions) RecordedTransaction(_ context.Context, id string) (*verifier.Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tx := f.open[id]; tx != nil {
		return tx, nil
	}
	return nil, verifier.ErrUnknownRequest
}

func (f *fakeTransactions) Result(_ context.Context, id, token string) (*verifier.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := f.verdicts[id]; v.res != nil && v.token == token {
		return v.res, nil
	}
	return nil, verifier.ErrNoResult
}

// consume decides the transaction of state once, like the store.
func (f *fakeTransactions) consume(state string, res *verifier.Result) *verifier.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open[state] == nil {
		return &verifier.Result{Reasons: []string{verifier.ReasonUnknownNonce}}
	}
	delete(f.open, state)
	v := f.verdicts[state]
	v.res = res
	f.verdicts[state] = v
	return res
}

func (f *fakeTransactions) VerifyResponse(_ context.Context, state string, tok []byte, expected *wire.RequestObject) (*verifier.Result, error) {
	f.mu.Lock()
	f.verified = append(f.verified, state)
	f.mu.Unlock()
	if expected == nil || expected.State != state {
		return &verifier.Result{Reasons: []string{verifier.ReasonOtherRequest}}, nil
	}
	if string(tok) == "undecided" {
		return nil, errors.New("issuer unreachable: network detail")
	}
	return f.consume(state, &verifier.Result{Valid: string(tok) == `{"ok":["1"]}`, Reasons: []string{}, RequestID: state}), nil
}

func (f *fakeTransactions) Decline(_ context.Context, state, code string) (*verifier.Result, error) {
	f.mu.Lock()
	f.declined = append(f.declined, state)
	f.mu.Unlock()
	return f.consume(state, &verifier.Result{Reasons: []string{verifier.ReasonDeclined}, WalletError: code, RequestID: state}), nil
}

const testToken = "platform-api-token-0123456789abcdef0123"

func newTestPlatform(t *testing.T, quota int) (*httptest.Server, *fakeTransactions) {
	t.Helper()
	f := &fakeTransactions{}
	mux := http.NewServeMux()
	_, err := NewPlatform(mux, f, PlatformOptions{
		Platform: &verifier.Platform{Domain: "localhost"}, APIToken: testToken,
		PublicURL: "http://localhost:8080", RedirectURI: "http://localhost:8080/done", QuotaPerMinute: quota,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, f
}

// newTestPlatformOn is the platform service over v with MaxBatch
// maxBatch and a quota the tests do not reach.
func newTestPlatformOn(t *testing.T, v TransactionVerifier, maxBatch int) (*httptest.Server, *PlatformService) {
	t.Helper()
	mux := http.NewServeMux()
	s, err := NewPlatform(mux, v, PlatformOptions{Platform: &verifier.Platform{Domain: "localhost"}, APIToken: testToken,
		PublicURL: "http://localhost:8080", QuotaPerMinute: 1000, MaxBatch: maxBatch})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// answerForm is a direct_post form the fake accepts (good) or refuses.
func answerForm(state string, good bool) string {
	tok := `{"ok":["1"]}`
	if !good {
		tok = `{"bad":["1"]}`
	}
	return url.Values{"vp_token": {tok}, "state": {state}}.Encode()
}

func call(t *testing.T, method, u, token, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

func TestPlatformOptions(t *testing.T) {
	f := &fakeTransactions{}
	pl := &verifier.Platform{Domain: "platform-a.example"}
	for name, o := range map[string]PlatformOptions{
		"short token":       {Platform: pl, APIToken: "short", PublicURL: "https://platform-a.example"},
		"public URL off":    {Platform: pl, APIToken: testToken, PublicURL: "https://platform-b.example"},
		"plain http":        {Platform: pl, APIToken: testToken, PublicURL: "http://platform-a.example"},
		"no platform":       {APIToken: testToken, PublicURL: "https://platform-a.example"},
		"http redirect URI": {Platform: pl, APIToken: testToken, PublicURL: "https://platform-a.example", RedirectURI: "http://platform-a.example/done"},
	} {
		if _, err := NewPlatform(http.NewServeMux(), f, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPlatformService(t *testing.T) {
	srv, f := newTestPlatform(t, 3)
	// Creation is authenticated.
	for _, tok := range []string{"", "wrong", testToken + "x"} {
		if resp, _ := call(t, "POST", srv.URL+TransactionsPath, tok, "application/json", `{}`); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: %d", tok, resp.StatusCode)
		}
	}
	if f.n != 0 {
		t.Fatal("an unauthenticated call made a transaction")
	}
	resp, body := call(t, "POST", srv.URL+TransactionsPath, testToken, "application/json", `{"age_over":18}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var doc TransactionDocument
	if err := json.Unmarshal(body, &doc); err != nil || doc.RequestObject == "" {
		t.Fatalf("%s", body)
	}
	if doc.RequestURI != "http://localhost:8080"+RequestPath+doc.TransactionID || !strings.HasPrefix(doc.Invocation, "openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=") {
		t.Fatalf("request_uri %s invocation %s", doc.RequestURI, doc.Invocation)
	}
	// request_uri serves the JWT with the JAR media type.
	resp, body = call(t, "GET", srv.URL+RequestPath+doc.TransactionID, "", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != wire.RequestObjectMediaType || string(body) != doc.RequestObject {
		t.Fatalf("request_uri: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := call(t, "GET", srv.URL+RequestPath+"nope", "", "", ""); resp.StatusCode != 404 {
		t.Fatalf("unknown request: %d", resp.StatusCode)
	}
	// The verdict is pending until the wallet posts.
	resp, body = call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID, testToken, "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"pending"`) {
		t.Fatalf("pending: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID, "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("verdict without token: %d", resp.StatusCode)
	}
	// direct_post: a form with vp_token and state, answered 200 with the
	// redirect_uri carrying a response_code.
	form := url.Values{"vp_token": {`{"ok":["1"]}`}, "state": {doc.TransactionID}}
	resp, body = call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", form.Encode())
	var ans wire.DirectPostAnswer
	if resp.StatusCode != 200 || json.Unmarshal(body, &ans) != nil || !strings.HasPrefix(ans.RedirectURI, "http://localhost:8080/done?response_code=") {
		t.Fatalf("direct_post: %d %s", resp.StatusCode, body)
	}
	code, _ := url.Parse(ans.RedirectURI)
	rc := code.Query().Get("response_code")
	// Same-device: the verdict only with the response code.
	for _, bad := range []string{"", "?response_code=wrong"} {
		if resp, _ := call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID+bad, testToken, "", ""); resp.StatusCode != 403 {
			t.Fatalf("verdict with response_code %q: %d", bad, resp.StatusCode)
		}
	}
	resp, body = call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID+"?response_code="+rc, testToken, "", "")
	var v VerdictDocument
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.Status != "complete" || !v.Result.Valid {
		t.Fatalf("verdict: %d %s", resp.StatusCode, body)
	}
	// A second post is refused and does not change the verdict.
	form.Set("vp_token", `{"bad":["1"]}`)
	if resp, _ := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", form.Encode()); resp.StatusCode != 400 {
		t.Fatalf("second post: %d", resp.StatusCode)
	}
	_, body = call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID+"?response_code="+rc, testToken, "", "")
	if json.Unmarshal(body, &v) != nil || !v.Result.Valid {
		t.Fatalf("verdict changed by a second post: %s", body)
	}

	// A wallet's error response is accepted (200) and is the verdict.
	_, body = call(t, "POST", srv.URL+TransactionsPath, testToken, "application/json", `{}`)
	var doc2 TransactionDocument
	json.Unmarshal(body, &doc2)
	resp, _ = call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded",
		url.Values{"error": {"access_denied"}, "state": {doc2.TransactionID}}.Encode())
	if resp.StatusCode != 200 || len(f.declined) != 1 || f.declined[0] != doc2.TransactionID {
		t.Fatalf("error response: %d %v", resp.StatusCode, f.declined)
	}
	// Refusals of malformed answers.
	for name, c := range map[string]struct{ ctype, body string }{
		"unknown state": {"application/x-www-form-urlencoded", url.Values{"vp_token": {"{}"}, "state": {"nope"}}.Encode()},
		"no state":      {"application/x-www-form-urlencoded", url.Values{"vp_token": {"{}"}}.Encode()},
		"both":          {"application/x-www-form-urlencoded", url.Values{"vp_token": {"{}"}, "error": {"access_denied"}, "state": {doc2.TransactionID}}.Encode()},
		"JSON body":     {"application/json", `{"vp_token":{}}`},
	} {
		if resp, _ := call(t, "POST", srv.URL+ResponsePath, "", c.ctype, c.body); resp.StatusCode != 400 {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	// Quota: 3 a minute; the third was the last.
	call(t, "POST", srv.URL+TransactionsPath, testToken, "application/json", `{}`)
	if resp, _ := call(t, "POST", srv.URL+TransactionsPath, testToken, "application/json", `{}`); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over quota: %d", resp.StatusCode)
	}
}

// TestPlatformsShareAStore: two platforms' services on one store see
// nothing of each other's transactions: the other's request object is
// not served, its verdict is not reported (the result token is derived
// from each platform's own API token) and its answers are not taken.
func TestPlatformsShareAStore(t *testing.T) {
	f := &fakeTransactions{}
	muxA, muxB := http.NewServeMux(), http.NewServeMux()
	if _, err := NewPlatform(muxA, f, PlatformOptions{Platform: &verifier.Platform{Domain: "platform-a.example"},
		APIToken: testToken, PublicURL: "https://platform-a.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlatform(muxB, f, PlatformOptions{Platform: &verifier.Platform{Domain: "platform-b.example"},
		APIToken: testToken + "-b", PublicURL: "https://platform-b.example"}); err != nil {
		t.Fatal(err)
	}
	a, b := httptest.NewServer(muxA), httptest.NewServer(muxB)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	_, body := call(t, "POST", b.URL+TransactionsPath, testToken+"-b", "application/json", `{}`)
	var doc TransactionDocument
	if err := json.Unmarshal(body, &doc); err != nil || doc.TransactionID == "" {
		t.Fatalf("%s", body)
	}
	if resp, _ := call(t, "GET", a.URL+RequestPath+doc.TransactionID, "", "", ""); resp.StatusCode != 404 {
		t.Errorf("A serves B's request object: %d", resp.StatusCode)
	}
	if resp, body := call(t, "GET", a.URL+TransactionsPath+"/"+doc.TransactionID, testToken, "", ""); resp.StatusCode != 404 {
		t.Errorf("A reports B's open transaction: %d %s", resp.StatusCode, body)
	}
	form := url.Values{"vp_token": {`{"ok":["1"]}`}, "state": {doc.TransactionID}}.Encode()
	if resp, _ := call(t, "POST", a.URL+ResponsePath, "", "application/x-www-form-urlencoded", form); resp.StatusCode != 400 {
		t.Errorf("A takes an answer to B's transaction: %d", resp.StatusCode)
	}
	if resp, _ := call(t, "POST", b.URL+ResponsePath, "", "application/x-www-form-urlencoded", form); resp.StatusCode != 200 {
		t.Fatalf("B's answer: %d", resp.StatusCode)
	}
	if resp, body := call(t, "GET", a.URL+TransactionsPath+"/"+doc.TransactionID, testToken, "", ""); resp.StatusCode != 404 {
		t.Errorf("A reports B's verdict: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", b.URL+TransactionsPath+"/"+doc.TransactionID, testToken+"-b", "", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"complete"`) {
		t.Errorf("B's verdict: %d %s", resp.StatusCode, body)
	}
}

// TestPlatformExpired: an expired transaction's request object is not
// served, but a late answer is still decided (the verifier refuses it as
// expired) and reported.
func TestPlatformExpired(t *testing.T) {
	f := &fakeTransactions{}
	mux := http.NewServeMux()
	if _, err := NewPlatform(mux, f, PlatformOptions{Platform: &verifier.Platform{Domain: "localhost"}, APIToken: testToken,
		PublicURL: "http://localhost:8080", Now: func() time.Time { return time.Now().Add(10 * time.Minute) }}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, body := call(t, "POST", srv.URL+TransactionsPath, testToken, "application/json", `{}`)
	var doc TransactionDocument
	if err := json.Unmarshal(body, &doc); err != nil || doc.TransactionID == "" {
		t.Fatalf("%s", body)
	}
	if resp, _ := call(t, "GET", srv.URL+RequestPath+doc.TransactionID, "", "", ""); resp.StatusCode != 404 {
		t.Errorf("expired request object served: %d", resp.StatusCode)
	}
	form := url.Values{"vp_token": {`{"ok":["1"]}`}, "state": {doc.TransactionID}}.Encode()
	if resp, _ := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", form); resp.StatusCode != 200 || len(f.verified) != 1 {
		t.Errorf("late answer: %d %v", resp.StatusCode, f.verified)
	}
	if resp, body := call(t, "GET", srv.URL+TransactionsPath+"/"+doc.TransactionID, testToken, "", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"complete"`) {
		t.Errorf("late verdict: %d %s", resp.StatusCode, body)
	}
}
