// Package e2e runs the issuer and verifier HTTP services on loopback and
// drives them as a wallet would: issuance over OpenID4VCI-shaped endpoints,
// proofs from the holder library, verification over direct_post.
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	"github.com/yinzheng-id/yinzheng/publication"
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
}

// serve runs srv on a random loopback port until the test ends.
func serve(t *testing.T, srv *httpserv.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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

func newWorld(t *testing.T) *world {
	t.Helper()
	keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	if err := issuer.Init(dir, pass, issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keys,
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
	if _, err := issuerapi.New(isrv, issuerapi.FromIssuer(iss), issuerapi.Options{Dir: dir,
		AdminToken: []byte(adminToken)}); err != nil {
		t.Fatal(err)
	}
	w.issuerURL = serve(t, isrv)

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
		Now: w.clock.now, RequestTTL: 48 * time.Hour, MaxRootAge: 24 * time.Hour,
		CacheTTL: time.Millisecond, AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	vsrv := httpserv.New(httpserv.Config{Name: "verifier", Rate: -1})
	// The public URL is only echoed in requests; the tests post to the
	// listener directly.
	if _, err := verifierapi.New(vsrv, verifierapi.FromVerifier(v), verifierapi.Options{
		PublicURL: "http://verifier.test", Logger: vsrv.Logger(), Metrics: vsrv.Metrics()}); err != nil {
		t.Fatal(err)
	}
	w.verifierURL = serve(t, vsrv)
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

func httpDo(t *testing.T, method, u, auth, ctype string, body []byte) (int, []byte) {
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

// enrol runs the whole issuance over HTTP for a new wallet and imports the
// bundle; it returns the wallet and the credential's serial.
func (w *world) enrol(t *testing.T, name, birth string, seq int) (*holder.Wallet, uint64) {
	t.Helper()
	ctx := context.Background()
	status, data := httpDo(t, "POST", w.issuerURL+"/offers", adminToken, "application/json", subject(name, birth, seq))
	if status != http.StatusCreated {
		t.Fatalf("offer: %d %s", status, data)
	}
	var offer issuerapi.CredentialOffer
	if err := json.Unmarshal(data, &offer); err != nil {
		t.Fatal(err)
	}
	code := offer.Grants[issuerapi.PreAuthorizedGrant].(map[string]any)["pre-authorized_code"].(string)
	form := url.Values{"grant_type": {issuerapi.PreAuthorizedGrant}, "pre-authorized_code": {code}}
	status, data = httpDo(t, "POST", w.issuerURL+"/token", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if status != 200 {
		t.Fatalf("token: %d %s", status, data)
	}
	var tok issuerapi.TokenResponse
	json.Unmarshal(data, &tok)

	wallet, _, err := holder.Init(t.TempDir(), pass, holder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wallet.Close() })
	hr, err := wallet.Request()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(hr)
	body = append([]byte(`{"format":"dc+sd-jwt",`), body[1:]...)
	status, data = httpDo(t, "POST", w.issuerURL+"/credential", tok.AccessToken, "application/json", body)
	if status != 200 {
		t.Fatalf("credential: %d %s", status, data)
	}
	bundle, err := holder.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bundle.Pending || bundle.RootStatement != "" {
		t.Fatalf("the credential endpoint published an epoch for one issuance (pending %v)", bundle.Pending)
	}
	if _, err := wallet.Import(ctx, bundle, publication.HTTPSource(w.issuerURL, nil)); err != nil {
		t.Fatalf("import: %v", err)
	}
	return wallet, bundle.Serial
}

// request asks the verifier service for a request under policy.
func (w *world) request(t *testing.T, policy string) (*holder.Request, []byte) {
	t.Helper()
	status, data := httpDo(t, "POST", w.verifierURL+"/requests", "", "application/json", []byte(policy))
	if status != http.StatusCreated {
		t.Fatalf("request: %d %s", status, data)
	}
	var env struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	r, err := holder.ParseRequest(env.Request)
	if err != nil {
		t.Fatalf("holder cannot parse the request: %v", err)
	}
	return r, env.Request
}

func (w *world) prove(t *testing.T, wallet *holder.Wallet, r *holder.Request) []byte {
	t.Helper()
	p, err := wallet.Prove(context.Background(), r, publication.HTTPSource(w.issuerURL, nil), holder.ProveOptions{})
	if err != nil {
		t.Fatalf("prove: %v", err)
	}
	data, err := holder.MarshalPresentation(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type result struct {
	Valid     bool     `json:"valid"`
	Reasons   []string `json:"reasons"`
	Pseudonym string   `json:"pseudonym"`
	Error     string   `json:"error"`
	Claims    map[string]any
}

// respond posts a presentation as direct_post form data.
func (w *world) respond(t *testing.T, presentation []byte) (int, result) {
	t.Helper()
	form := url.Values{"vp_token": {string(presentation)}}
	return w.post(t, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

func (w *world) post(t *testing.T, ctype string, body []byte) (int, result) {
	t.Helper()
	status, data := httpDo(t, "POST", w.verifierURL+"/response", "", ctype, body)
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("response is not JSON: %d %q", status, data)
	}
	return status, r
}

const policy18 = `{"scope":"platform-a","age_over":18}`

// mustVerify proves and verifies a fresh request: the service still serves.
func (w *world) mustVerify(t *testing.T, wallet *holder.Wallet) result {
	t.Helper()
	r, _ := w.request(t, policy18)
	status, res := w.respond(t, w.prove(t, wallet, r))
	if status != 200 || !res.Valid {
		t.Fatalf("valid verification: %d %+v", status, res)
	}
	return res
}

func wantRejected(t *testing.T, what string, status int, res result, wantStatus int, reason string) {
	t.Helper()
	if status != wantStatus || res.Valid || !strings.Contains(strings.Join(res.Reasons, "; ")+res.Error, reason) {
		t.Fatalf("%s: status %d, result %+v; want %d with reason %q", what, status, res, wantStatus, reason)
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

	t.Run("replayed nonce", func(t *testing.T) {
		r, _ := w.request(t, policy18)
		p := w.prove(t, alice, r)
		if status, res := w.respond(t, p); status != 200 || !res.Valid {
			t.Fatalf("first use: %d %+v", status, res)
		}
		status, res := w.respond(t, p)
		wantRejected(t, "replay", status, res, 422, verifier.ReasonUnknownNonce)
		w.mustVerify(t, alice)
	})

	t.Run("stale root", func(t *testing.T) {
		r, _ := w.request(t, policy18)
		p := w.prove(t, alice, r)
		w.clock.set(25 * time.Hour)
		status, res := w.respond(t, p)
		w.clock.set(0)
		wantRejected(t, "stale root", status, res, 422, verifier.ReasonStaleRoot)
		w.mustVerify(t, alice)
	})

	t.Run("wrong scope", func(t *testing.T) {
		r, _ := w.request(t, policy18)
		other := *r
		other.Scope, other.Audience = "platform-b", "platform-b"
		p := w.prove(t, alice, &other)
		status, res := w.respond(t, p)
		wantRejected(t, "wrong scope", status, res, 422, verifier.ReasonProof)
		w.mustVerify(t, alice)
	})

	t.Run("wrong scope sd-jwt", func(t *testing.T) {
		r, _ := w.request(t, `{"scope":"platform-a","sd_jwt":["age_over_18"]}`)
		other := *r
		other.Scope, other.Audience = "platform-b", "platform-b"
		p, err := alice.Present(&other)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := holder.MarshalPresentation(p)
		status, res := w.respond(t, data)
		wantRejected(t, "sd-jwt wrong audience", status, res, 422, verifier.ReasonWrongScope)
		w.mustVerify(t, alice)
	})

	t.Run("tampered proof", func(t *testing.T) {
		r, _ := w.request(t, policy18)
		var doc map[string]any
		json.Unmarshal(w.prove(t, alice, r), &doc)
		proof, err := base64.RawURLEncoding.DecodeString(doc["proof"].(string))
		if err != nil {
			t.Fatal(err)
		}
		proof[len(proof)/2] ^= 0x01
		doc["proof"] = base64.RawURLEncoding.EncodeToString(proof)
		data, _ := json.Marshal(doc)
		status, res := w.respond(t, data)
		if status != 422 || res.Valid || !(strings.Contains(strings.Join(res.Reasons, ";"), verifier.ReasonProof) ||
			strings.Contains(strings.Join(res.Reasons, ";"), verifier.ReasonProofEncoding)) {
			t.Fatalf("tampered proof: %d %+v", status, res)
		}
		w.mustVerify(t, alice)
	})

	t.Run("oversized body", func(t *testing.T) {
		big := append([]byte(`{"version":1,"type":"zk","proof":"`), bytes.Repeat([]byte("A"), 2<<20)...)
		status, res := w.post(t, "application/json", append(big, `"}`...))
		wantRejected(t, "oversized", status, res, 413, "larger than")
		w.mustVerify(t, alice)
	})

	t.Run("malformed JSON", func(t *testing.T) {
		status, res := w.post(t, "application/json", []byte(`{"version":1,"type":`))
		wantRejected(t, "malformed", status, res, 400, "malformed presentation")
		status, res = w.respond(t, []byte(`not json`))
		wantRejected(t, "malformed form", status, res, 400, "malformed presentation")
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
			r, _ := w.request(t, `{"scope":"platform-a","sd_jwt":["age_over_18"]}`)
			p, err := bob.Present(r)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := holder.MarshalPresentation(p)
			status, res := w.respond(t, data)
			wantRejected(t, "revoked sd-jwt", status, res, 422, verifier.ReasonRevoked)
		}
		// The ZK form: the accumulator no longer holds bob's leaf, so no
		// proof under the latest root exists; the wallet says so.
		r, _ := w.request(t, policy18)
		if _, err := bob.Prove(context.Background(), r, publication.HTTPSource(w.issuerURL, nil), holder.ProveOptions{}); err == nil {
			t.Fatal("a revoked credential still proves under the latest root")
		}
		w.mustVerify(t, alice)
	})

	t.Run("burst of 50", func(t *testing.T) {
		const n = 50
		presentations := make([][]byte, n)
		for i := range presentations {
			r, _ := w.request(t, policy18)
			presentations[i] = w.prove(t, alice, r)
		}
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for _, p := range presentations {
			wg.Go(func() {
				form := url.Values{"vp_token": {string(p)}}
				resp, err := http.Post(w.verifierURL+"/response", "application/x-www-form-urlencoded",
					strings.NewReader(form.Encode()))
				if err != nil {
					errs <- err.Error()
					return
				}
				defer resp.Body.Close()
				var res result
				json.NewDecoder(resp.Body).Decode(&res)
				if resp.StatusCode != 200 || !res.Valid {
					errs <- fmt.Sprintf("%d %+v", resp.StatusCode, res)
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
		_, data := httpDo(t, "GET", w.verifierURL+"/metrics", "", "", nil)
		text := string(data)
		for _, want := range []string{`yinzheng_verifications_total{reason="none",result="valid"}`,
			`reason="stale root",result="invalid"`, `reason="malformed presentation",result="invalid"`,
			`route="POST /response"`} {
			if !strings.Contains(text, want) {
				t.Errorf("verifier metrics lack %s", want)
			}
		}
	})
}
