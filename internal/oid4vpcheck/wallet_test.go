package oid4vpcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseInvocation(t *testing.T) {
	w := &Wallet{}
	ru := url.QueryEscape("https://" + testDomain + "/r/1")
	cid := url.QueryEscape(testClientID)
	for _, c := range []struct {
		name, raw string
		want      error
	}{
		{"valid", "openid4vp://?client_id=" + cid + "&request_uri=" + ru, nil},
		{"valid without //", "openid4vp:?client_id=" + cid + "&request_uri=" + ru, nil},
		{"request_uri_method get", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&request_uri_method=get", nil},
		{"request_uri_method post", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&request_uri_method=post", nil},
		{"other parameters are ignored", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&nonce=x", nil},
		{"another scheme", "https://wallet.example/?client_id=" + cid + "&request_uri=" + ru, ErrInvocation},
		{"parameter twice", "openid4vp://?client_id=" + cid + "&client_id=" + cid + "&request_uri=" + ru, ErrInvocation},
		{"bad query", "openid4vp://?client_id=%zz&request_uri=" + ru, ErrInvocation},
		{"no client_id", "openid4vp://?request_uri=" + ru, ErrInvocationClientID},
		{"no request_uri", "openid4vp://?client_id=" + cid, ErrInvocationRequestURI},
		{"request and request_uri", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&request=eyJ.e30.x", ErrInvocationRequestURI},
		{"request_uri_method GET", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&request_uri_method=GET", ErrRequestURIMethod},
		{"request_uri_method empty", "openid4vp://?client_id=" + cid + "&request_uri=" + ru + "&request_uri_method=", ErrRequestURIMethod},
		{"request_uri plain http", "openid4vp://?client_id=" + cid + "&request_uri=" + url.QueryEscape("http://"+testDomain+"/r"), ErrInsecureURL},
		{"request_uri on loopback http", "openid4vp://?client_id=" + cid + "&request_uri=" + url.QueryEscape("http://127.0.0.1:8080/r"), ErrInsecureURL},
	} {
		inv, err := w.ParseInvocation(c.raw)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			continue
		}
		if err == nil && (inv.ClientID != testClientID || inv.RequestURI != "https://"+testDomain+"/r/1") {
			t.Errorf("%s: %+v", c.name, inv)
		}
	}
	if _, err := (&Wallet{Scheme: "haip"}).ParseInvocation("haip://?client_id=" + cid + "&request_uri=" + ru); err != nil {
		t.Errorf("configured scheme: %v", err)
	}
}

func TestCheckAnswer(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		ctype  string
		body   string
		want   error
	}{
		{"empty object", 200, "application/json", `{}`, nil},
		{"redirect_uri", 200, "application/json; charset=utf-8", `{"redirect_uri":"https://v.example/cb#response_code=091535f699ea575c7937fa5f0f454aee","x":1}`, nil},
		{"400", 400, "application/json", `{"error":"invalid_request"}`, ErrAnswerStatus},
		{"201", 201, "application/json", `{}`, ErrAnswerStatus},
		{"text/plain", 200, "text/plain", `{}`, ErrAnswerContentType},
		{"no content type", 200, "", `{}`, ErrAnswerContentType},
		{"empty body", 200, "application/json", ``, ErrAnswerBody},
		{"array body", 200, "application/json", `[]`, ErrAnswerBody},
		{"redirect_uri a number", 200, "application/json", `{"redirect_uri":1}`, ErrAnswerRedirectURI},
		{"redirect_uri relative", 200, "application/json", `{"redirect_uri":"/cb"}`, ErrAnswerRedirectURI},
		{"redirect_uri plain http", 200, "application/json", `{"redirect_uri":"http://v.example/cb"}`, ErrAnswerRedirectURI},
	} {
		a, err := CheckAnswer(c.status, c.ctype, []byte(c.body))
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if err == nil && strings.Contains(c.body, "redirect_uri") && !strings.HasPrefix(a.RedirectURI, "https://v.example/cb") {
			t.Errorf("%s: %+v", c.name, a)
		}
	}
}

// TestOpenAndPost runs the HTTPS exchanges against a TLS test server
// standing for the verifier: request_uri served with each fault, and the
// direct_post answer.
func TestOpenAndPost(t *testing.T) {
	p := newPKI(t, false)
	valid := sign(t, p.leafKey, p.validHeader(), validPayload())
	mux := http.NewServeMux()
	serve := func(path, ctype string, status int, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	serve("/ok", "application/oauth-authz-req+jwt", 200, valid+"\n")
	serve("/json", "application/json", 200, valid)
	serve("/gone", "application/oauth-authz-req+jwt", 404, "")
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+testDomain+"/ok", http.StatusFound)
	})
	var posted url.Values
	mux.HandleFunc("/openid4vp/response", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			w.WriteHeader(400)
			return
		}
		posted = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"redirect_uri":"https://` + testDomain + `/done?response_code=abc"}`))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	w := p.wallet()
	w.TLSRoots = pool
	// httptest's certificate names example.com: the wallet dials the
	// server for it, and the test request's domain stays the client_id's.
	base := "https://example.com"
	w.DialContext = func(ctx context.Context, network, _ string) (c netConn, err error) {
		return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	inv := func(path string) string {
		return "openid4vp://?client_id=" + url.QueryEscape(testClientID) + "&request_uri=" + url.QueryEscape(base+path)
	}
	ctx := context.Background()
	r, err := w.Open(ctx, inv("/ok"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	for path, want := range map[string]error{"/json": ErrContentType, "/gone": ErrHTTPStatus, "/to-http": ErrInsecureURL} {
		if _, err := w.Open(ctx, inv(path)); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", path, err, want)
		}
	}
	// Server certificate not from TLSRoots: refused.
	untrusting := *w
	untrusting.TLSRoots = x509.NewCertPool()
	if _, err := untrusting.Open(ctx, inv("/ok")); !errors.Is(err, ErrFetch) {
		t.Errorf("untrusted TLS certificate: %v", err)
	}
	// The invocation's client_id must be the request object's.
	if _, err := w.Open(ctx, "openid4vp://?client_id="+url.QueryEscape(PrefixX509SANDNS+"other.example")+"&request_uri="+url.QueryEscape(base+"/ok")); !errors.Is(err, ErrClientIDMismatch) {
		t.Errorf("client_id mismatch: %v", err)
	}
	// direct_post: the response_uri is on the verifier's domain, which
	// the dialer maps to the test server as well.
	ans, err := w.PostResponse(ctx, r, url.Values{"error": {"access_denied"}, "state": {r.State}})
	if err == nil {
		t.Fatalf("posted to %s over a certificate for another name: %+v", r.ResponseURI, ans)
	}
	r.ResponseURI = base + "/openid4vp/response"
	ans, err = w.PostResponse(ctx, r, url.Values{"error": {"access_denied"}, "state": {r.State}})
	if err != nil || ans.RedirectURI != "https://"+testDomain+"/done?response_code=abc" || posted.Get("error") != "access_denied" || posted.Get("state") != testState {
		t.Fatalf("post: %v %+v %v", err, ans, posted)
	}
	r.ResponseURI = "http://example.com/openid4vp/response"
	if _, err := w.PostResponse(ctx, r, url.Values{"state": {r.State}}); !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("plain http post: %v", err)
	}
}

type netConn = net.Conn

var dialer net.Dialer
