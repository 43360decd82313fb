package oid4vpcheck_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/oid4vpcheck"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

const apiToken = "oid4vpcheck-interop-api-token-0123456789abcdef"

// network maps the platforms' domains to their loopback HTTPS servers and
// holds the test TLS CA (a P-256 CA of its own, as a WebPKI CA would be:
// the registrar certifies the request signing key, not the TLS one).
type network struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	addrs  map[string]string
}

func newNetwork(t *testing.T) *network {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop TLS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &network{caCert: ca, caKey: key, pool: pool, addrs: map[string]string{}}
}

// serve starts handler over HTTPS for domain (a certificate from the
// network's CA) and returns the public base URL https://domain.
func (n *network) serve(t *testing.T, domain string, handler http.Handler) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, n.caCert, &key.PublicKey, n.caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	n.addrs[domain] = srv.Listener.Addr().String()
	return "https://" + domain
}

// dial connects host:443 of a served domain to its loopback server.
func (n *network) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	a, ok := n.addrs[host]
	if !ok {
		return nil, errors.New("interop: no server for " + host)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, a)
}

// client is an HTTPS client on the network (the platform backend's and
// our holder library's).
func (n *network) client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: n.pool}, DialContext: n.dial}}
}

// platform is one registered platform's live service.
type platform struct {
	url   string
	roots *registry.Roots
}

func startPlatform(t *testing.T, n *network, v *verifier.Verifier, suite jose.Suite, domain string) *platform {
	t.Helper()
	reg := registrytest.New(t, suite)
	p := reg.Register(t, domain, registry.Entitlements{Predicates: registry.Predicates(),
		Claims: []string{schemas.ClaimAgeOver18}, LegalBasis: "interop test"})
	srv := httpserv.New(httpserv.Config{Rate: -1})
	base := "https://" + domain
	if _, err := verifierapi.NewPlatform(srv, v, verifierapi.PlatformOptions{
		Platform: &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration, Status: p.Status},
		APIToken: apiToken, PublicURL: base, RedirectURI: base + "/done", Logger: srv.Logger()}); err != nil {
		t.Fatal(err)
	}
	n.serve(t, domain, srv.Handler())
	return &platform{url: base, roots: reg.Roots()}
}

func (p *platform) api(t *testing.T, n *network, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (p *platform) transaction(t *testing.T, n *network, policy string) verifierapi.TransactionDocument {
	t.Helper()
	status, data := p.api(t, n, "POST", verifierapi.TransactionsPath, policy)
	var doc verifierapi.TransactionDocument
	if status != http.StatusCreated || json.Unmarshal(data, &doc) != nil {
		t.Fatalf("transaction: %d %s", status, data)
	}
	return doc
}

// verdict reads the backend's verdict with the response_code of the
// answer's redirect_uri.
func (p *platform) verdict(t *testing.T, n *network, id string, ans *oid4vpcheck.Answer) *verifier.Result {
	t.Helper()
	u, err := url.Parse(ans.RedirectURI)
	if err != nil || !strings.HasPrefix(ans.RedirectURI, p.url+"/done?") || u.Query().Get("response_code") == "" {
		t.Fatalf("redirect_uri %q", ans.RedirectURI)
	}
	status, data := p.api(t, n, "GET", verifierapi.TransactionsPath+"/"+id+"?response_code="+url.QueryEscape(u.Query().Get("response_code")), "")
	var doc verifierapi.VerdictDocument
	if status != 200 || json.Unmarshal(data, &doc) != nil || doc.Status != "complete" || doc.Result == nil {
		t.Fatalf("verdict: %d %s", status, data)
	}
	return doc.Result
}

// strictWallet is the independent checker pinning the registrar roots.
func strictWallet(n *network, roots *registry.Roots) *oid4vpcheck.Wallet {
	pool := smx509.NewCertPool()
	for _, c := range roots.Certificates() {
		pool.AddCert(c)
	}
	// Our SM2 JWS alg name is configured input: the specification fixes
	// no algorithm.
	return &oid4vpcheck.Wallet{Roots: pool, TLSRoots: n.pool, DialContext: n.dial, SM2Alg: jose.AlgSM2}
}

// TestInterop runs the real platform service (a verifier on a Badger
// store, HTTPS on loopback) against the strict checker: it accepts the
// request objects of a gm (SM2) and an intl (P-256) platform, an error
// response is answered 200 and reported as declined, and vp_tokens our
// holder library wraps (a zero-knowledge proof, an SD-JWT+KB) pass the
// checker, are posted by it with direct_post and verify.
func TestInterop(t *testing.T) {
	now := time.Now().UTC()
	iss := verifiertest.NewIssuer(t, 4, now)
	adult := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), now)
	epoch := iss.Publish(t, now).Epoch
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	v, err := verifier.New(verifier.Options{Dir: vdir, Source: iss.Source(), AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	n := newNetwork(t)
	gm := startPlatform(t, n, v, jose.SuiteGM, "platform-a.example")
	intl := startPlatform(t, n, v, jose.SuiteIntl, "platform-b.example")
	ctx := context.Background()

	for _, c := range []struct {
		name string
		p    *platform
	}{{"gm", gm}, {"intl", intl}} {
		t.Run("decline/"+c.name, func(t *testing.T) {
			doc := c.p.transaction(t, n, `{"age_over":18}`)
			w := strictWallet(n, c.p.roots)
			r, err := w.Open(ctx, doc.Invocation)
			if err != nil {
				t.Fatalf("the strict wallet refuses the platform's request: %v", err)
			}
			if r.ClientID != doc.ClientID || r.State != doc.TransactionID {
				t.Fatalf("request %s %s, transaction %s %s", r.ClientID, r.State, doc.ClientID, doc.TransactionID)
			}
			ans, err := w.PostResponse(ctx, r, url.Values{"error": {"access_denied"}, "state": {r.State}})
			if err != nil {
				t.Fatalf("error response: %v", err)
			}
			res := c.p.verdict(t, n, doc.TransactionID, ans)
			if res.Valid || !slices.Contains(res.Reasons, verifier.ReasonDeclined) || res.WalletError != "access_denied" {
				t.Fatalf("verdict %+v", res)
			}
		})
	}

	t.Run("roots", func(t *testing.T) {
		// The gm platform's request under the intl registrar's roots:
		// the chain does not validate.
		doc := gm.transaction(t, n, `{"age_over":18}`)
		if _, err := strictWallet(n, intl.roots).Open(ctx, doc.Invocation); !errors.Is(err, oid4vpcheck.ErrChain) {
			t.Fatalf("got %v", err)
		}
	})

	for _, c := range []struct{ name, policy string }{
		{"zk", `{"age_over":18}`},
		{"sd-jwt", `{"age_over":18,"sd_jwt":["age_over_18"]}`},
	} {
		t.Run("present/"+c.name, func(t *testing.T) {
			doc := gm.transaction(t, n, c.policy)
			w := strictWallet(n, gm.roots)
			r, err := w.Open(ctx, doc.Invocation)
			if err != nil {
				t.Fatalf("the strict wallet refuses the platform's request: %v", err)
			}
			// Our holder library reads the same invocation and wraps the
			// presentation as the vp_token.
			a, err := holder.FetchRequest(ctx, n.client(), doc.Invocation, gm.roots, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req := a.Request()
			var p *holder.Presentation
			if req.SDJWT != nil {
				p = adult.Present(t, &req, nil, "", "", true, time.Now())
			} else {
				p = adult.Prove(t, &req, epoch)
			}
			tok, err := holder.VPToken(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.CheckVPToken(tok); err != nil {
				t.Fatalf("the strict checker refuses our vp_token %s: %v", tok, err)
			}
			// A token for another query id fails the same check.
			if err := r.CheckVPToken(bytes.Replace(tok, []byte(`"yinzheng_`), []byte(`"other_`), 1)); !errors.Is(err, oid4vpcheck.ErrVPTokenUnknownID) {
				t.Fatalf("renamed query id: %v", err)
			}
			// An unrecognized response parameter is ignored by the
			// verifier (§8.1: "The Client MUST ignore any unrecognized
			// parameters").
			form := url.Values{"vp_token": {string(tok)}, "state": {r.State}, "x_wallet_extension": {"1"}}
			ans, err := w.PostResponse(ctx, r, form)
			if err != nil {
				t.Fatalf("direct_post: %v", err)
			}
			if res := gm.verdict(t, n, doc.TransactionID, ans); !res.Valid {
				t.Fatalf("verdict %+v", res)
			}
			// The transaction has had its answer: a replay is not
			// processed (and so not answered 200, §8.2).
			if _, err := w.PostResponse(ctx, r, form); !errors.Is(err, oid4vpcheck.ErrAnswerStatus) {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}
