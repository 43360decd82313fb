package flow

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// platform is a registered platform on http://localhost (plain http is
// allowed there only) that serves one signed request object at
// /request and takes the answer at /response.
type platform struct {
	reg    *registrytest.Registrar
	srv    *httptest.Server
	jwt    string
	posted url.Values
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{reg: registrytest.New(t, jose.SuiteGM)}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/request":
			w.Header().Set("Content-Type", wire.RequestObjectMediaType)
			io.WriteString(w, p.jwt)
		case "/response":
			r.ParseForm()
			p.posted = r.PostForm
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"redirect_uri":"http://localhost/done?response_code=rc1"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	pl := p.reg.Register(t, registry.LoopbackDomain, registrytest.AgeOnly())
	now := p.reg.Now()
	clientID := wire.ClientIDOf(pl.Domain)
	nonce, id := make([]byte, 32), make([]byte, 16)
	rand.Read(nonce)
	rand.Read(id)
	today := schemas.DateOf(now)
	over := 18
	_, before, _ := schemas.AgeWindow(today, &over, nil)
	d, _ := schemas.DateFromCode(before)
	bb := d.String()
	req := &holder.Request{Version: holder.FormatVersion, ID: base64.RawURLEncoding.EncodeToString(id),
		Nonce: base64.RawURLEncoding.EncodeToString(nonce), Scope: clientID, Audience: clientID,
		Issuer: "https://issuer.example", CircuitID: "zCircuit", Epochs: []uint64{1}, Today: today.String(),
		Flags: []string{}, Predicates: holder.Predicates{AgeOver: &over}, BornBefore: &bb,
		ExpiresAt: now.Add(5 * time.Minute).UTC().Format(time.RFC3339)}
	port := p.srv.URL[strings.LastIndex(p.srv.URL, ":"):]
	ro, err := wire.NewRequestObject(req, "http://localhost"+port+"/response", now, []wire.VerifierInfo{
		{Format: wire.VerifierInfoRegistration, Data: pl.Registration},
		{Format: wire.VerifierInfoStatus, Data: p.reg.Status(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.jwt, err = wire.SignRequestObject(pl.Key, wire.DERChain(pl.Chain), ro); err != nil {
		t.Fatal(err)
	}
	return p
}

// invocation is the same-device link, its request_uri on localhost.
func (p *platform) invocation() string {
	port := p.srv.URL[strings.LastIndex(p.srv.URL, ":"):]
	return wire.InvocationURL(wire.ClientIDOf(registry.LoopbackDomain), "http://localhost"+port+"/request")
}

func newWallet(t *testing.T) *holder.Wallet {
	t.Helper()
	w, _, err := holder.Init(t.TempDir()+"/w", []byte("flow test passphrase"), holder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestOpen: a request is authorized with the registrar the wallet pins,
// and refused without one, or with another registrar.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	w := newWallet(t)
	for name, input := range map[string]string{"empty": "  ", "not a request": "hello", "a bare JSON request": `{"version":1}`} {
		if _, err := Open(ctx, w, input, nil); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
	if _, err := Open(ctx, w, p.invocation(), nil); !errors.Is(err, holder.ErrNoRegistrar) {
		t.Fatalf("no registrar pinned: %v, want holder.ErrNoRegistrar", err)
	}
	other := registrytest.New(t, jose.SuiteGM)
	if _, err := w.TrustRegistrar(other.Roots().PEM()); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, w, p.invocation(), nil); !errors.Is(err, holder.ErrUntrustedPlatform) {
		t.Fatalf("another registrar pinned: %v, want holder.ErrUntrustedPlatform", err)
	}
	if _, err := w.TrustRegistrar(p.reg.Roots().PEM()); err != nil {
		t.Fatal(err)
	}
	for name, input := range map[string]string{"invocation URL": p.invocation(), "request object": p.jwt} {
		o, err := Open(ctx, w, input, nil)
		if err != nil || !o.ZK || o.Platform != registry.LoopbackDomain || !strings.Contains(o.Consent, "18 or over") || !strings.Contains(o.Consent, registry.LoopbackDomain) {
			t.Fatalf("%s: %+v, %v", name, o, err)
		}
	}
}

// TestPostAndDecline: the answer goes to the platform's response_uri with
// the request's state, and a refusal as access_denied.
func TestPostAndDecline(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	w := newWallet(t)
	if _, err := w.TrustRegistrar(p.reg.Roots().PEM()); err != nil {
		t.Fatal(err)
	}
	o, err := Open(ctx, w, p.invocation(), nil)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := Post(ctx, nil, o, []byte(`{"q":["x"]}`))
	if err != nil || !strings.Contains(redirect, "response_code=rc1") {
		t.Fatalf("post: %q %v", redirect, err)
	}
	if p.posted.Get("vp_token") != `{"q":["x"]}` || p.posted.Get("state") != o.Authorized.State() {
		t.Fatalf("posted %v", p.posted)
	}
	if _, err := Decline(ctx, nil, o); err != nil || p.posted.Get("error") != wire.ErrorAccessDenied || p.posted.Has("vp_token") {
		t.Fatalf("decline: %v, posted %v", err, p.posted)
	}
}
