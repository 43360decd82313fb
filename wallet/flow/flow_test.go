package flow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/holder"
)

// request is a well-formed zero-knowledge request (Open checks its form,
// not whether a wallet can answer it).
func request(t *testing.T) []byte {
	t.Helper()
	over := 18
	r := holder.Request{Version: holder.FormatVersion, ID: "req-1", Nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		Scope: "platform-a", Issuer: "https://issuer.example", CircuitID: "zabc", Epochs: []uint64{1},
		Today: time.Now().UTC().Format("2006-01-02"), Predicates: holder.Predicates{AgeOver: &over},
		Audience: "platform-a", ExpiresAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func envelopeJSON(t *testing.T, responseURI, mode string) string {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"response_type": "vp_token", "response_mode": mode,
		"response_uri": responseURI, "state": "s1", "request": json.RawMessage(request(t))})
	return string(data)
}

func TestOpenForms(t *testing.T) {
	ctx := context.Background()
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, envelopeJSON(t, srvURL+"/response", "direct_post"))
	}))
	defer srv.Close()
	srvURL = srv.URL

	bare, err := Open(ctx, string(request(t)), nil)
	if err != nil || bare.ResponseURI != "" || !bare.ZK || !strings.Contains(bare.Consent, "18 or over") {
		t.Fatalf("bare request: %+v, %v", bare, err)
	}
	env, err := Open(ctx, envelopeJSON(t, srv.URL+"/response", "direct_post"), nil)
	if err != nil || env.ResponseURI != srv.URL+"/response" || env.State != "s1" {
		t.Fatalf("envelope: %+v, %v", env, err)
	}
	for _, link := range []string{
		"openid4vp://?request_uri=" + url.QueryEscape(srv.URL+"/requests/1"),
		"openid4vp://authorize#request_uri=" + url.QueryEscape(srv.URL+"/requests/1"),
		srv.URL + "/requests/1",
	} {
		o, err := Open(ctx, link, nil)
		if err != nil || o.ResponseURI != srv.URL+"/response" {
			t.Fatalf("%s: %+v, %v", link, o, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		input string
		want  error
	}{
		"empty":              {"  ", ErrInput},
		"no request_uri":     {"openid4vp://?client_id=x", ErrInput},
		"plain http remote":  {"openid4vp://?request_uri=" + url.QueryEscape("http://verifier.example/requests/1"), ErrInput},
		"other mode":         {envelopeJSON(t, "https://verifier.example/response", "fragment"), ErrInput},
		"plain http respond": {envelopeJSON(t, "http://verifier.example/response", "direct_post"), ErrInput},
		"unknown member":     {`{"version":1,"id":"x","surprise":1}`, holder.ErrFormat},
	} {
		if _, err := Open(ctx, c.input, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestPost(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = r.PostForm
		if strings.Contains(got.Get("vp_token"), "bad") {
			w.WriteHeader(422)
			io.WriteString(w, `{"valid":false,"reasons":["proof does not verify"]}`)
			return
		}
		io.WriteString(w, `{"valid":true,"reasons":[]}`)
	}))
	defer srv.Close()
	o := &Opened{ResponseURI: srv.URL + "/response", State: "s1"}
	res, err := Post(context.Background(), nil, o, []byte(`{"ok":1}`))
	if err != nil || !res.Valid || got.Get("state") != "s1" || got.Get("vp_token") != `{"ok":1}` {
		t.Fatalf("accepted: %+v %v (form %v)", res, err, got)
	}
	res, err = Post(context.Background(), nil, o, []byte(`bad`))
	if err != nil || res.Valid || res.Status != 422 || len(res.Reasons) != 1 {
		t.Fatalf("refused: %+v %v", res, err)
	}
	if _, err := Post(context.Background(), nil, &Opened{}, []byte(`x`)); err == nil {
		t.Fatal("posted without a response_uri")
	}
}
