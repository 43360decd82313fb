package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	issuerapi "github.com/yinzheng-id/yinzheng/issuer/httpapi"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wallet/web"
)

// ScreenshotsEnv names a directory for the browser test's screenshots;
// unset, they go to the test's temporary directory.
const screenshotsEnv = "YINZHENG_SCREENSHOTS"

// phraseRE is a recovery phrase: 14 groups of 4.
var phraseRE = regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){13}$`)

// chromium finds the browser. Under CI=true a missing browser fails the
// test: CI installs it (.ci/run), so its absence is a broken build.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH (CI installs it with .ci/run)")
	}
	t.Skip("no chromium on PATH; install Debian's chromium package to run the browser wallet test")
	return ""
}

// browserWorld is an issuer and a verifier on loopback, both letting the
// wallet page's origin read their answers, and the wallet page itself.
type browserWorld struct {
	iss         *issuer.Issuer
	issuerURL   string
	verifierURL string
	walletURL   string
	engine      *web.Engine
	reg         *registrytest.Registrar
}

// listenHTTP is listen with the plain-HTTP base URL of the listener.
func listenHTTP(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

// engineOnce builds the wallet engine once per test binary run, into the
// shared cache (the Go build cache makes a rebuild of unchanged source a
// link step).
var engineOnce = sync.OnceValues(func() (*web.Engine, error) {
	base := os.Getenv(circuits.CacheEnv)
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return nil, err
		}
		base = filepath.Join(c, "yinzheng")
	}
	engine, err := web.Build(context.Background(), filepath.Join(base, "wallet-web"))
	if err != nil {
		return nil, err
	}
	keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		return nil, err
	}
	// The page's origin serves the uncompressed key and the compiled
	// circuit, so the first proof skips decompressing and compiling.
	if err := engine.AddArtifacts(keys); err != nil {
		return nil, err
	}
	return engine, nil
})

func newBrowserWorld(t *testing.T) *browserWorld {
	t.Helper()
	start := time.Now()
	engine, err := engineOnce()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wallet engine ready in %v: %d bytes, %d gzipped", time.Since(start), len(engine.Wasm), engine.GzipSize())
	keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	w := &browserWorld{engine: engine}
	wln, walletURL := listenHTTP(t)
	iln, issuerURL := listenHTTP(t)
	w.walletURL, w.issuerURL = walletURL, issuerURL

	h, err := engine.Handler()
	if err != nil {
		t.Fatal(err)
	}
	wsrv := httpserv.New(httpserv.Config{Name: "wallet", Rate: -1})
	wsrv.Handle("GET /", h)
	serveOn(t, wsrv, wln)

	dir := t.TempDir()
	// The identifier is an https URL; the page is told where the service
	// is (its "issuer service URL" field).
	if err := issuer.Init(dir, pass, issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keys,
		KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	if w.iss, err = issuer.Open(dir, pass); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.iss.Close() })
	origins := []string{walletURL}
	isrv := httpserv.New(httpserv.Config{Name: "issuer", Rate: -1, AllowOrigins: origins})
	if _, err := issuerapi.New(isrv, issuerapi.FromIssuer(w.iss), issuerapi.Options{Dir: dir, PublicURL: issuerURL, AdminToken: []byte(adminToken)}); err != nil {
		t.Fatal(err)
	}
	serveOn(t, isrv, iln)

	vsrc := publication.HTTPSource(issuerURL, nil)
	inspected, err := verifier.Inspect(context.Background(), vsrc)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := inspected.Pin(context.Background(), verifier.PinOptions{AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Options{Dir: t.TempDir(), Source: vsrc, Trust: verifier.NewTrust(*pin),
		CacheTTL: time.Millisecond, AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	// The platform: registered with a test registrar as localhost, the
	// one domain whose URLs may be plain http (on loopback), so the
	// browser needs no certificate exception; the wallet in the page pins
	// the registrar's root, and checks the signed request object, its
	// registration and status, exactly as the command line does.
	w.reg = registrytest.New(t, jose.SuiteGM)
	pl := w.reg.Register(t, registry.LoopbackDomain, registry.Entitlements{Predicates: registry.Predicates(),
		Claims: []string{"age_over_18"}, LegalBasis: "browser test: age check"})
	vln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.verifierURL = "http://localhost:" + strings.TrimPrefix(vln.Addr().String(), "127.0.0.1:")
	vsrv := httpserv.New(httpserv.Config{Name: "verifier", Rate: -1, AllowOrigins: origins})
	if _, err := verifierapi.NewPlatform(vsrv, v, verifierapi.PlatformOptions{
		Platform: &verifier.Platform{Domain: pl.Domain, Chain: pl.Chain, Key: pl.Key, Registration: pl.Registration, Status: w.reg.Status(t)},
		APIToken: apiToken, PublicURL: w.verifierURL, RedirectURI: w.verifierURL + "/done", QuotaPerMinute: 1000,
		Logger: vsrv.Logger(), Metrics: vsrv.Metrics()}); err != nil {
		t.Fatal(err)
	}
	serveOn(t, vsrv, vln)
	return w
}

// issue runs the issuance over HTTP for a holder request the page made.
func (w *browserWorld) issue(t *testing.T, holderRequest []byte, name, birth string, seq int) []byte {
	t.Helper()
	subj := issuer.Subject{DocType: "resident_id",
		DocNumber: residentID("110101", strings.ReplaceAll(birth, "-", ""), seq),
		Name:      name, BirthDate: birth, Region: "110101", Level: 3}
	if b, _ := time.Parse("2006-01-02", birth); time.Since(b) < 18*365*24*time.Hour {
		// A minor applies with a guardian's record (Art. 4).
		subj.Guardian = &issuer.Guardian{DocType: "resident_id", DocNumber: residentID("110101", "19800101", seq+1),
			Consent: true, Time: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
	}
	// The operator issues the bundle through the admin API (the page
	// imports a bundle; OpenID4VCI in the page is not built yet).
	sj, _ := json.Marshal(subj)
	body, _ := json.Marshal(issuerapi.IssueRequest{Subject: sj, HolderRequest: holderRequest})
	status, data := httpDo(t, "POST", w.issuerURL+"/admin/issue", adminToken, "application/json", body)
	if status != 200 {
		t.Fatalf("issue: %d %s", status, data)
	}
	return data
}

// request has the platform's backend open a transaction under policy and
// returns it (the page opens its invocation URL).
func (w *browserWorld) request(t *testing.T, policy string) verifierapi.TransactionDocument {
	t.Helper()
	status, data := httpDo(t, "POST", w.verifierURL+verifierapi.TransactionsPath, apiToken, "application/json", []byte(policy))
	if status != http.StatusCreated {
		t.Fatalf("transaction: %d %s", status, data)
	}
	var doc verifierapi.TransactionDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// verdict reads the platform's verdict on a transaction as its backend
// does, with the response_code of the redirect the page was given.
func (w *browserWorld) verdict(t *testing.T, doc verifierapi.TransactionDocument, redirect string) verifier.Result {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil || u.Query().Get("response_code") == "" {
		t.Fatalf("redirect_uri %q carries no response_code", redirect)
	}
	status, data := httpDo(t, "GET", w.verifierURL+verifierapi.TransactionsPath+"/"+doc.TransactionID+"?response_code="+url.QueryEscape(u.Query().Get("response_code")), apiToken, "", nil)
	var vd verifierapi.VerdictDocument
	if err := json.Unmarshal(data, &vd); err != nil || status != 200 || vd.Status != "complete" || vd.Result == nil {
		t.Fatalf("verdict: %d %s", status, data)
	}
	return *vd.Result
}

// page drives one browser profile (its own IndexedDB, so its own wallet).
type page struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func (w *browserWorld) openPage(t *testing.T, name string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()), chromedp.NoSandbox, chromedp.WindowSize(900, 1100))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	}
	p := &page{t: t, ctx: ctx, shots: filepath.Join(shots, name)}
	if err := os.MkdirAll(p.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(w.walletURL+"/")); err != nil {
		t.Fatal(err)
	}
	return p
}

// js runs a statement in the page.
func (p *page) js(expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](expr)); err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
}

// wait polls a JavaScript expression until it is truthy and returns it.
func (p *page) wait(expr string, timeout time.Duration) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	// As a string: "" is falsy, so the poll goes on until there is text.
	wrapped := fmt.Sprintf(`((v) => v ? String(v) : "")(%s)`, expr)
	v, err := chromedp.Run(ctx, chromedp.Poll[string](wrapped, chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		p.shot("timeout")
		errText, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("error").textContent`))
		p.t.Fatalf("waiting for %s: %v (page error: %q)", expr, err, errText)
	}
	return v
}

func (p *page) set(id, value string) {
	p.t.Helper()
	v, _ := json.Marshal(value)
	p.js(fmt.Sprintf(`document.getElementById(%q).value = %s`, id, v))
}

func (p *page) click(id string) {
	p.t.Helper()
	p.js(fmt.Sprintf(`document.getElementById(%q).click()`, id))
}

func (p *page) shot(name string) {
	p.t.Helper()
	p.n++
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.shots, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// visible is a JavaScript expression true when the element is shown.
func visible(id string) string { return fmt.Sprintf(`!document.getElementById(%q).hidden`, id) }

// enrol creates the wallet in the page and imports a credential for a
// holder born on birth.
func (p *page) enrol(w *browserWorld, name, birth string, seq int) {
	t := p.t
	p.wait(visible("create-section"), 60*time.Second)
	p.shot("start")
	p.set("pass1", "browser passphrase")
	p.set("pass2", "browser passphrase")
	p.click("create")
	phrase := p.wait(`document.getElementById("phrase").textContent`, 60*time.Second)
	if !phraseRE.MatchString(phrase) {
		t.Fatalf("recovery phrase %q", phrase)
	}
	p.shot("recovery-phrase")
	p.click("phrase-done")
	p.wait(visible("wallet-section"), 10*time.Second)
	if got := p.wait(`document.getElementById("phrase").textContent === "" ? "gone" : ""`, 5*time.Second); got != "gone" {
		t.Fatal("the recovery phrase stays on the page")
	}
	p.js(`document.getElementById("issuance").open = true`)
	p.click("holder-request-btn")
	hreq := p.wait(`document.getElementById("holder-request").value`, 30*time.Second)
	bundle := w.issue(t, []byte(hreq), name, birth, seq)
	// The bundle is pending until the issuer's next epoch; the wallet
	// completes it when it proves.
	if _, err := w.iss.Publish(); err != nil {
		t.Fatal(err)
	}
	p.set("bundle", string(bundle))
	p.set("issuer-url", w.issuerURL)
	p.click("import")
	p.wait(`document.getElementById("status").textContent.startsWith("Imported") || !document.getElementById("error").hidden`, 60*time.Second)
	if errText := p.wait(`document.getElementById("error").hidden ? "none" : document.getElementById("error").textContent`, time.Second); errText != "none" {
		t.Fatalf("import refused: %s", errText)
	}
	p.shot("imported")
	// The holder pins the registrar whose platforms the wallet answers.
	p.js(`document.getElementById("registrar").open = true`)
	p.set("registrar-pem", string(registry.EncodeCertificates(w.reg.Root())))
	p.click("trust-registrar")
	p.wait(`document.getElementById("status").textContent.startsWith("Pinned registrar") || !document.getElementById("error").hidden`, 30*time.Second)
	if errText := p.wait(`document.getElementById("error").hidden ? "none" : document.getElementById("error").textContent`, time.Second); errText != "none" {
		t.Fatalf("pinning the registrar refused: %s", errText)
	}
}

// answer opens a request in the page, approves it and returns the result
// and the platform's redirect_uri, or the refusal shown.
func (p *page) answer(invocation string, shotName string) (text, redirect, errText string) {
	p.set("request-input", invocation)
	p.click("open")
	p.wait(visible("consent-box")+` || `+visible("error"), 30*time.Second)
	if e := p.wait(`document.getElementById("error").hidden ? "none" : document.getElementById("error").textContent`, time.Second); e != "none" {
		return "", "", e
	}
	p.shot(shotName + "-consent")
	p.click("approve")
	// The page's clock ticks while the worker proves: the page is alive.
	p.wait(`parseFloat(document.getElementById("progress-clock").textContent) > 0 || !document.getElementById("result").hidden || !document.getElementById("error").hidden`, 60*time.Second)
	p.wait(visible("result")+` || `+visible("error"), 120*time.Second)
	p.shot(shotName + "-result")
	if e := p.wait(`document.getElementById("error").hidden ? "none" : document.getElementById("error").textContent`, time.Second); e != "none" {
		return "", "", e
	}
	return p.wait(`document.getElementById("result").textContent`, time.Second),
		p.wait(`document.getElementById("result").dataset.redirect`, time.Second), ""
}

func (p *page) consent() string {
	return p.wait(`document.getElementById("consent").textContent`, time.Second)
}

func (p *page) proofTimes() []float64 {
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]float64](`globalThis.yinzhengTimings.proofs`))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// TestBrowserWallet drives the browser wallet in headless Chromium: create
// the wallet, import a credential issued over HTTP, pin the registrar,
// answer a registered platform's request (the platform accepts), and
// refuse a request the holder cannot meet, with the holder library's
// reason on the page. make e2e (YINZHENG_E2E_FULL=1) adds more proofs for
// the figures and a minor's wallet in a second profile.
func TestBrowserWallet(t *testing.T) {
	chromium(t)
	full := os.Getenv("YINZHENG_E2E_FULL") == "1"
	w := newBrowserWorld(t)

	adult := w.openPage(t, "adult")
	adult.enrol(w, "张三", "1990-03-07", 123)
	doc := w.request(t, `{"age_over":18}`)
	text, redirect, errText := adult.answer(doc.Invocation, "answer")
	if errText != "" || !strings.Contains(text, "Sent to "+registry.LoopbackDomain) {
		t.Fatalf("adult, 18+: result %q error %q", text, errText)
	}
	if res := w.verdict(t, doc, redirect); !res.Valid {
		t.Fatalf("the platform refused the browser's proof: %+v", res)
	}
	if c := adult.consent(); !strings.Contains(c, "18 or over") || !strings.Contains(c, registry.LoopbackDomain) {
		t.Fatalf("consent text %q does not say what is revealed to whom", c)
	}
	// A request the holder does not meet: the wallet refuses before
	// proving, with the library's reason, and nothing is sent.
	_, _, errText = adult.answer(w.request(t, `{"age_under":18}`).Invocation, "refused")
	if !strings.Contains(errText, "not under 18") {
		t.Fatalf("adult, under 18: page shows %q, want the library's refusal", errText)
	}
	if !full {
		return
	}

	// A second proof in the same session: keys and circuit stay loaded.
	n := 6
	if v, err := strconv.Atoi(os.Getenv("YINZHENG_BROWSER_PROOFS")); err == nil && v > 1 {
		n = v
	}
	for i := 1; i < n; i++ {
		doc := w.request(t, `{"age_over":18}`)
		_, redirect, errText := adult.answer(doc.Invocation, fmt.Sprintf("answer-%d", i+1))
		if errText != "" {
			t.Fatalf("proof %d: error %q", i+1, errText)
		}
		if res := w.verdict(t, doc, redirect); !res.Valid {
			t.Fatalf("proof %d refused: %+v", i+1, res)
		}
	}
	times := adult.proofTimes()
	next := slices.Clone(times[1:])
	slices.Sort(next)
	t.Logf("browser proofs (ms): first %.0f (with key download and setup), next %v, median of the next %.0f", times[0], times[1:], next[len(next)/2])

	// A minor asked for 18+: the wallet refuses before proving.
	minor := w.openPage(t, "minor")
	minor.enrol(w, "王五", time.Now().AddDate(-15, 0, 0).Format("2006-01-02"), 789)
	_, _, errText = minor.answer(w.request(t, `{"age_over":18}`).Invocation, "refused")
	if !strings.Contains(errText, "not 18 or older") {
		t.Fatalf("minor, 18+: page shows %q, want the library's refusal", errText)
	}
}
