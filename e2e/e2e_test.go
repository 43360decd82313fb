// Package e2e runs the issuer and verifier HTTP services on loopback and
// drives them as a wallet would: issuance over OpenID4VCI-shaped endpoints,
// proofs from the holder library, OpenID4VP 1.0 over HTTPS on loopback with
// a test registrar as the CA: a registered platform's signed request
// fetched by request_uri, direct_post, the verdict read by the backend.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	issuerapi "github.com/yinzheng-id/yinzheng/issuer/httpapi"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
)

const adminToken = "e2e-admin-token"

var pass = []byte("e2e passphrase")

// clock is the verifier's clock, moved forward to age root statements.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}

type world struct {
	iss         *issuer.Issuer
	issuerURL   string
	verifierURL string
	clock       *clock
	// The platform's identity and the wallet's side: the registrar roots
	// it pins and an HTTPS client trusting the test CA (the registrar).
	roots  *registry.Roots
	client *http.Client
}

// apiToken is the platform backend's token on /v1/transactions.
const apiToken = "e2e-platform-api-token-0123456789abcdef"

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveOn runs srv on ln until the test ends.
func serveOn(t testing.TB, srv *httpserv.Server, ln net.Listener) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldSuite(t, jose.SuiteGM)
}

func newWorldSuite(t testing.TB, suite jose.Suite) *world {
	t.Helper()
	keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	if err := issuer.Init(dir, pass, issuer.Options{Suite: suite, DevelopmentKeys: true, DevelopmentKeysDir: keys,
		KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("issuer init (depth %d): %v", circuits.ProductionDepth, time.Since(start))
	iss, err := issuer.Open(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iss.Close() })

	w := &world{iss: iss, clock: &clock{}}
	// Every client here is 127.0.0.1, and the verifier reads the issuer
	// service on each verification: no per-client rate limit (its own
	// tests are in internal/httpserv).
	isrv := httpserv.New(httpserv.Config{Name: "issuer", Rate: -1})
	iln := listen(t)
	if _, err := issuerapi.New(isrv, issuerapi.FromIssuer(iss), issuerapi.Options{Dir: dir,
		PublicURL: "http://" + iln.Addr().String(), AdminToken: []byte(adminToken)}); err != nil {
		iln.Close()
		t.Fatal(err)
	}
	w.issuerURL = serveOn(t, isrv, iln)

	// The verifier pins the issuer as `yinzheng verifier trust` would.
	vsrc := publication.HTTPSource(w.issuerURL, nil)
	inspected, err := verifier.Inspect(context.Background(), vsrc)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := inspected.Pin(context.Background(), verifier.PinOptions{AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Options{Dir: t.TempDir(), Source: vsrc, Trust: verifier.NewTrust(*pin),
		Now: w.clock.now, RequestTTL: time.Hour, MaxRootAge: 30 * time.Minute,
		CacheTTL: time.Millisecond, AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	// The platform: registered with a test registrar (intl, so that
	// crypto/tls verifies its TLS certificate), served over HTTPS on
	// loopback as https://localhost:PORT.
	reg := registrytest.New(t, jose.SuiteIntl)
	pl := reg.Register(t, registry.LoopbackDomain, registry.Entitlements{Predicates: registry.Predicates(),
		Claims: []string{"age_over_18"}, LegalBasis: "e2e: age check"})
	certPEM, keyPEM, err := reg.IssueTLS(registry.LoopbackDomain, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(registry.EncodeCertificates(reg.Root()))
	w.roots = reg.Roots()
	w.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "https://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	vsrv := httpserv.New(httpserv.Config{Name: "verifier", Rate: -1, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if _, err := verifierapi.NewPlatform(vsrv, v, verifierapi.PlatformOptions{
		Platform: &verifier.Platform{Domain: pl.Domain, Chain: pl.Chain, Key: pl.Key, Registration: pl.Registration, Status: reg.Status(t)},
		APIToken: apiToken, PublicURL: public, RedirectURI: public + "/done", QuotaPerMinute: 1000,
		Logger: vsrv.Logger(), Metrics: vsrv.Metrics()}); err != nil {
		t.Fatal(err)
	}
	serveOn(t, vsrv, ln)
	w.verifierURL = public
	return w
}

// residentID completes a GB 11643 number with its MOD 11-2 check character.
func residentID(region, birth string, seq int) string {
	base := fmt.Sprintf("%s%s%03d", region, birth, seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * weights[i]
	}
	return base + string("10X98765432"[sum%11])
}

func subject(name, birth string, seq int) []byte {
	data, _ := json.Marshal(issuer.Subject{DocType: "resident_id",
		DocNumber: residentID("110101", strings.ReplaceAll(birth, "-", ""), seq),
		Name:      name, BirthDate: birth, Region: "110101", Level: 3})
	return data
}

func httpDo(t testing.TB, method, u, auth, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// enrol enrols a person through the admin API and runs the wallet side of
// OpenID4VCI 1.0 (holder.Receive) from the offer link, with the tx_code;
// it returns the wallet and the credential's serial.
func (w *world) enrol(t testing.TB, name, birth string, seq int) (*holder.Wallet, uint64) {
	t.Helper()
	status, data := httpDo(t, "POST", w.issuerURL+"/admin/offers", adminToken, "application/json", subject(name, birth, seq))
	if status != http.StatusCreated {
		t.Fatalf("offer: %d %s", status, data)
	}
	var e issuerapi.Enrolment
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	wallet, _, err := holder.Init(t.TempDir(), pass, holder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wallet.Close() })
	info, err := wallet.Receive(context.Background(), e.OfferLink, holder.ReceiveOptions{IssuerURL: w.issuerURL,
		TxCode: func(*openid4vci.TxCode) (string, error) { return e.TxCode, nil }})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if !info.Pending || info.CopiesLeft != holder.SDJWTCopies {
		t.Fatalf("received %+v: want a pending credential with %d copies (the credential endpoint publishes no epoch)", info, holder.SDJWTCopies)
	}
	return wallet, info.Serial
}

// request has the platform's backend create a transaction under policy and
// the wallet fetch and authorize its request through the invocation URL.
func (w *world) request(t testing.TB, policy string) (*holder.AuthorizedRequest, verifierapi.TransactionDocument) {
	t.Helper()
	status, data := w.api(t, "POST", verifierapi.TransactionsPath, []byte(policy))
	if status != http.StatusCreated {
		t.Fatalf("transaction: %d %s", status, data)
	}
	var doc verifierapi.TransactionDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	a, err := holder.FetchRequest(context.Background(), w.client, doc.Invocation, w.roots, time.Now())
	if err != nil {
		t.Fatalf("the wallet refuses the platform's request: %v", err)
	}
	return a, doc
}

// api calls the platform API with the platform's token.
func (w *world) api(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, w.verifierURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (w *world) prove(t testing.TB, wallet *holder.Wallet, a *holder.AuthorizedRequest) []byte {
	t.Helper()
	p, err := wallet.Prove(context.Background(), a, publication.HTTPSource(w.issuerURL, nil), holder.ProveOptions{})
	if err != nil {
		t.Fatalf("prove: %v", err)
	}
	tok, err := holder.VPToken(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type result = verifier.Result

// respond posts vpToken for a with direct_post, as the wallet does, and
// reads the verdict as the platform's backend does, with the
// response_code of the redirect.
func (w *world) respond(t testing.TB, a *holder.AuthorizedRequest, vpToken []byte) result {
	t.Helper()
	redirect, err := holder.PostResponse(context.Background(), w.client, a, vpToken)
	if err != nil {
		t.Fatalf("direct_post: %v", err)
	}
	return w.verdict(t, a.State(), redirect)
}

func (w *world) verdict(t testing.TB, id, redirect string) result {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil || u.Query().Get("response_code") == "" {
		t.Fatalf("redirect_uri %q carries no response_code", redirect)
	}
	status, data := w.api(t, "GET", verifierapi.TransactionsPath+"/"+id+"?response_code="+url.QueryEscape(u.Query().Get("response_code")), nil)
	var doc verifierapi.VerdictDocument
	if err := json.Unmarshal(data, &doc); err != nil || status != 200 || doc.Status != "complete" || doc.Result == nil {
		t.Fatalf("verdict: %d %s", status, data)
	}
	if doc.Result.RequestID != id {
		t.Fatalf("verdict names request %q, want %q", doc.Result.RequestID, id)
	}
	return *doc.Result
}

const policy18 = `{"age_over":18}`

// mustVerify proves and verifies a fresh request: the service still serves.
func (w *world) mustVerify(t *testing.T, wallet *holder.Wallet) result {
	t.Helper()
	a, _ := w.request(t, policy18)
	res := w.respond(t, a, w.prove(t, wallet, a))
	if !res.Valid {
		t.Fatalf("valid verification: %+v", res)
	}
	return res
}

func wantRejected(t *testing.T, what string, res result, reason string) {
	t.Helper()
	if res.Valid || !slices.Contains(res.Reasons, reason) {
		t.Fatalf("%s: result %+v; want the reason %q", what, res, reason)
	}
}

func TestEndToEnd(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.enrol(t, "张三", "1990-03-07", 123)
	bob, bobSerial := w.enrol(t, "李四", "1985-11-20", 456)
	// The credential endpoint hands out pending bundles: until the issuer's
	// next epoch, the wallets cannot prove.
	r, _ := w.request(t, policy18)
	if _, err := alice.Prove(context.Background(), r, publication.HTTPSource(w.issuerURL, nil), holder.ProveOptions{}); !errors.Is(err, holder.ErrPending) {
		t.Fatalf("prove before the epoch: %v, want holder.ErrPending", err)
	}
	// One epoch for both issuances; each wallet completes its path from
	// the epoch's delta.
	e, err := w.iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e.LeafCount != bobSerial+1 {
		t.Fatalf("epoch %d holds %d leaves, want both issuances", e.Epoch, e.LeafCount)
	}
	for _, wallet := range []*holder.Wallet{alice, bob} {
		reps, err := wallet.Refresh(context.Background(), publication.HTTPSource(w.issuerURL, nil))
		if err != nil || len(reps) != 1 || reps[0].Pending || reps[0].ToEpoch != e.Epoch {
			t.Fatalf("refresh after the epoch: %+v, %v", reps, err)
		}
	}

	first := w.mustVerify(t, alice)
	if again := w.mustVerify(t, alice); again.Pseudonym != first.Pseudonym {
		t.Fatal("one platform saw two pseudonyms for the same holder")
	}
	if first.ClientID != "x509_san_dns:localhost" {
		t.Fatalf("the verdict is for client %q", first.ClientID)
	}

	t.Run("replayed vp_token", func(t *testing.T) {
		a, _ := w.request(t, policy18)
		p := w.prove(t, alice, a)
		redirect, err := holder.PostResponse(context.Background(), w.client, a, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := holder.PostResponse(context.Background(), w.client, a, p); !errors.Is(err, holder.ErrResponse) {
			t.Fatalf("replayed answer: %v", err)
		}
		// The verdict is the first answer's; the replay decided nothing.
		if res := w.verdict(t, a.State(), redirect); !res.Valid {
			t.Fatalf("verdict after a replay: %+v", res)
		}
		w.mustVerify(t, alice)
	})

	t.Run("response posted with another transaction's state", func(t *testing.T) {
		// The platform asks for age_over 18 (tx1); the holder answers a
		// policy-free request (tx2) and posts that answer with tx1's state.
		tx1, _ := w.request(t, policy18)
		tx2, _ := w.request(t, `{}`)
		p := w.prove(t, alice, tx2)
		res := w.respond(t, tx1, p)
		wantRejected(t, "another transaction's answer", res, verifier.ReasonProof)
		w.mustVerify(t, alice)
	})

	t.Run("stale root", func(t *testing.T) {
		a, _ := w.request(t, policy18)
		p := w.prove(t, alice, a)
		w.clock.set(45 * time.Minute)
		res := w.respond(t, a, p)
		w.clock.set(0)
		wantRejected(t, "stale root", res, verifier.ReasonStaleRoot)
		w.mustVerify(t, alice)
	})

	t.Run("tampered proof", func(t *testing.T) {
		a, _ := w.request(t, policy18)
		var tok map[string][]map[string]any
		json.Unmarshal(w.prove(t, alice, a), &tok)
		doc := tok["yinzheng_zk"][0]
		proof, err := base64.RawURLEncoding.DecodeString(doc["proof"].(string))
		if err != nil {
			t.Fatal(err)
		}
		proof[len(proof)/2] ^= 0x01
		doc["proof"] = base64.RawURLEncoding.EncodeToString(proof)
		data, _ := json.Marshal(tok)
		res := w.respond(t, a, data)
		if res.Valid || !(slices.Contains(res.Reasons, verifier.ReasonProof) || slices.Contains(res.Reasons, verifier.ReasonProofEncoding)) {
			t.Fatalf("tampered proof: %+v", res)
		}
		w.mustVerify(t, alice)
	})

	t.Run("wallet declines", func(t *testing.T) {
		a, _ := w.request(t, policy18)
		redirect, err := holder.Decline(context.Background(), w.client, a, "access_denied")
		if err != nil {
			t.Fatal(err)
		}
		res := w.verdict(t, a.State(), redirect)
		wantRejected(t, "declined", res, verifier.ReasonDeclined)
		if res.WalletError != "access_denied" {
			t.Fatalf("wallet error %q", res.WalletError)
		}
		w.mustVerify(t, alice)
	})

	t.Run("verdict needs the token and the response code", func(t *testing.T) {
		a, doc := w.request(t, policy18)
		redirect, err := holder.PostResponse(context.Background(), w.client, a, w.prove(t, alice, a))
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := w.api(t, "GET", verifierapi.TransactionsPath+"/"+doc.TransactionID, nil); status != http.StatusForbidden {
			t.Fatalf("verdict without response_code: %d", status)
		}
		req, _ := http.NewRequest("GET", w.verifierURL+verifierapi.TransactionsPath+"/"+doc.TransactionID, nil)
		req.Header.Set("Authorization", "Bearer wrong-token-wrong-token-wrong-token")
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("verdict with a wrong token: %d", resp.StatusCode)
		}
		req, _ = http.NewRequest("POST", w.verifierURL+verifierapi.TransactionsPath, strings.NewReader(policy18))
		resp, err = w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("transaction without a token: %d", resp.StatusCode)
		}
		if res := w.verdict(t, doc.TransactionID, redirect); !res.Valid {
			t.Fatalf("verdict: %+v", res)
		}
	})

	t.Run("malformed answers", func(t *testing.T) {
		a, _ := w.request(t, policy18)
		res := w.respond(t, a, []byte(`not json`))
		wantRejected(t, "malformed vp_token", res, verifier.ReasonMalformed)
		req, _ := http.NewRequest("POST", w.verifierURL+verifierapi.ResponsePath, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a JSON body instead of the form: %d", resp.StatusCode)
		}
		w.mustVerify(t, alice)
	})

	t.Run("revoked credential", func(t *testing.T) {
		w.mustVerify(t, bob)
		if err := w.iss.Revoke(bobSerial); err != nil {
			t.Fatal(err)
		}
		if _, err := w.iss.Publish(); err != nil {
			t.Fatal(err)
		}
		// The SD-JWT form: the verifier reads the status list. Each copy
		// has a status index of its own; revoking the serial revoked them
		// all, so every copy left is refused.
		left := bob.Credentials()[0].CopiesLeft
		if left == 0 {
			t.Fatal("bob has no SD-JWT copy left to show")
		}
		for range left {
			a, _ := w.request(t, `{"sd_jwt":["age_over_18"]}`)
			p, err := bob.Present(a)
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := holder.VPToken(p)
			res := w.respond(t, a, tok)
			wantRejected(t, "revoked sd-jwt", res, verifier.ReasonRevoked)
		}
		// The ZK form: the accumulator no longer holds bob's leaf, so no
		// proof under the latest root exists; the wallet says so.
		a, _ := w.request(t, policy18)
		if _, err := bob.Prove(context.Background(), a, publication.HTTPSource(w.issuerURL, nil), holder.ProveOptions{}); err == nil {
			t.Fatal("a revoked credential still proves under the latest root")
		}
		w.mustVerify(t, alice)
	})

	t.Run("burst of 50", func(t *testing.T) {
		const n = 50
		reqs := make([]*holder.AuthorizedRequest, n)
		presentations := make([][]byte, n)
		for i := range presentations {
			reqs[i], _ = w.request(t, policy18)
			presentations[i] = w.prove(t, alice, reqs[i])
		}
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i, p := range presentations {
			wg.Go(func() {
				redirect, err := holder.PostResponse(context.Background(), w.client, reqs[i], p)
				if err != nil || !strings.Contains(redirect, "response_code=") {
					errs <- fmt.Sprintf("%v %q", err, redirect)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		req, _ := http.NewRequest("GET", w.verifierURL+"/metrics", nil)
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text := string(data)
		for _, want := range []string{`yinzheng_verifications_total{reason="none",result="valid"}`,
			`reason="stale root",result="invalid"`, `route="POST /openid4vp/response"`} {
			if !strings.Contains(text, want) {
				t.Errorf("verifier metrics lack %s", want)
			}
		}
	})
}

// BenchmarkSameDevice times the same-device flow on loopback, from the
// invocation to the verdict: the backend creates the transaction, the
// wallet fetches and verifies the request object over HTTPS, proves
// (depth-32 Groth16), posts with direct_post, and the backend reads the
// verdict with the response_code. It reports the median.
func BenchmarkSameDevice(b *testing.B) {
	w := newWorld(b)
	alice, _ := w.enrol(b, "张三", "1990-03-07", 123)
	if _, err := w.iss.Publish(); err != nil {
		b.Fatal(err)
	}
	if _, err := alice.Refresh(context.Background(), publication.HTTPSource(w.issuerURL, nil)); err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	var size int
	for b.Loop() {
		start := time.Now()
		a, doc := w.request(b, policy18)
		res := w.respond(b, a, w.prove(b, alice, a))
		if !res.Valid {
			b.Fatalf("verdict %+v", res)
		}
		times = append(times, time.Since(start))
		size = len(doc.RequestObject)
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(size), "request-object-bytes")
}

// TestEndToEndIntl: under the intl suite everything a holder signs is
// ES256 too: the OpenID4VCI proofs, the SD-JWT copies' cnf keys and so the
// Key Binding JWT an ES256-only verifier checks; issue, present and verify
// (both forms) run end to end.
func TestEndToEndIntl(t *testing.T) {
	w := newWorldSuite(t, jose.SuiteIntl)
	wallet, _ := w.enrol(t, "王五", "1980-01-15", 789)
	if _, err := w.iss.Publish(); err != nil {
		t.Fatal(err)
	}
	if _, err := wallet.Refresh(context.Background(), publication.HTTPSource(w.issuerURL, nil)); err != nil {
		t.Fatal(err)
	}
	a, _ := w.request(t, `{"sd_jwt":["age_over_18"]}`)
	p, err := wallet.Present(a)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(p.SDJWT, "~")
	kb, err := jose.ParseCompact(parts[len(parts)-1])
	if err != nil || kb.Header["alg"] != jose.AlgES256 {
		t.Fatalf("Key Binding JWT alg %v (%v), want ES256", kb.Header["alg"], err)
	}
	iss, err := jose.ParseCompact(parts[0])
	if err != nil || iss.Header["alg"] != jose.AlgES256 {
		t.Fatalf("issuer-signed JWT alg %v (%v), want ES256", iss.Header["alg"], err)
	}
	tok, err := holder.VPToken(p)
	if err != nil {
		t.Fatal(err)
	}
	if res := w.respond(t, a, tok); !res.Valid {
		t.Fatalf("intl SD-JWT presentation: %+v", res)
	}
	w.mustVerify(t, wallet)
}
