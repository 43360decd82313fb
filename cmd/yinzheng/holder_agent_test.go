package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/holder/agent"
	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// agentWorld is an issuer directory, a wallet holding one proving
// credential of a holder born in 1990, and a verifier.
type agentWorld struct {
	idir, wdir string
	v          *verifier.Verifier
	pl         *verifier.Platform
}

func newAgentWorld(t *testing.T) *agentWorld {
	t.Helper()
	t.Setenv(passphrase.EnvVar, "agent test passphrase")
	keysDir, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	w := &agentWorld{idir: filepath.Join(t.TempDir(), "issuer"), wdir: filepath.Join(t.TempDir(), "wallet")}
	if err := issuer.Init(w.idir, []byte("issuer pass"), issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keysDir}); err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.Open(w.idir, []byte("issuer pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	mustHolder(t, "", "init", "--dir", w.wdir)
	out, _ := mustHolder(t, "", "request", "--dir", w.wdir)
	hreq, err := issuer.ParseHolderRequest([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := iss.Issue(&issuer.Subject{DocType: "resident_id", DocNumber: "110101199005170016", Name: "张三",
		BirthDate: "1990-05-17", Region: "110101", Level: 3}, hreq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(bundle)
	mustHolder(t, "", "import", "--dir", w.wdir, "--bundle", writeTemp(t, "bundle.json", data), "--issuer-dir", w.idir)
	mustHolder(t, "", "refresh", "--dir", w.wdir, "--issuer-dir", w.idir)
	vdir := t.TempDir()
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", w.idir, "--allow-development-keys", "--yes"); err != nil {
		t.Fatal(err)
	}
	if w.v, err = verifier.New(verifier.Options{Dir: vdir, Source: publication.DirSource(w.idir), AllowDevelopmentKeys: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.v.Close() })
	// The wallet answers platforms of the registrar it pins.
	reg, pl := testPlatform(t, "platform-a.example", registry.Entitlements{Predicates: registry.Predicates()})
	w.pl = pl
	mustHolder(t, "", "trust", "--dir", w.wdir, "--registry", reg.RootPath())
	return w
}

// request is a transaction of the platform and the file holding its
// request object.
func (w *agentWorld) request(t *testing.T, p verifier.Policy) (*verifier.Transaction, string) {
	t.Helper()
	tx, err := w.v.NewPlatformRequest(context.Background(), p, w.pl)
	if err != nil {
		t.Fatal(err)
	}
	return tx, writeTemp(t, "request.jwt", []byte(tx.RequestObject))
}

func (w *agentWorld) verify(t *testing.T, tx *verifier.Transaction, vpToken string) (*verifier.Result, error) {
	t.Helper()
	return w.v.VerifyResponse(context.Background(), tx.ID, []byte(vpToken), tx.Object)
}

// startAgent runs the agent of `holder serve` for the wallet until the test
// ends and returns it.
func startAgent(t *testing.T, wdir string, origins ...string) *agent.Agent {
	t.Helper()
	wallet, err := holder.Open(wdir, []byte(os.Getenv(passphrase.EnvVar)), holder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{Wallet: wallet, AllowOrigins: origins}, ln)
	if err != nil {
		t.Fatal(err)
	}
	remove, err := a.WriteInfo()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		remove()
		wallet.Close()
	})
	return a
}

func TestHolderAgent(t *testing.T) {
	w := newAgentWorld(t)
	eighteen := 18
	a := startAgent(t, w.wdir, "http://wallet.test")

	// Through the agent, prove needs no passphrase: the wallet is unlocked
	// once, in the agent.
	t.Setenv(passphrase.EnvVar, "")
	ztx, path := w.request(t, verifier.Policy{AgeOver: &eighteen})
	out, errOut := mustHolder(t, "", "prove", "--dir", w.wdir, "--request", path, "--issuer-dir", w.idir, "--yes", "--agent")
	if !strings.Contains(errOut, "platform-a.example") || !strings.Contains(errOut, "18 or over") {
		t.Fatalf("no consent text through the agent: %q", errOut)
	}
	if res, err := w.verify(t, ztx, out); err != nil || !res.Valid {
		t.Fatalf("proof through the agent refused: %+v %v", res, err)
	}
	// Without --agent, a running agent is used too (no passphrase is set).
	ztx, path = w.request(t, verifier.Policy{AgeOver: &eighteen})
	out, _ = mustHolder(t, "", "prove", "--dir", w.wdir, "--request", path, "--issuer-dir", w.idir, "--yes")
	if res, err := w.verify(t, ztx, out); err != nil || !res.Valid {
		t.Fatalf("second proof through the agent refused: %+v %v", res, err)
	}
	// The agent authorizes with the wallet's pinned registrars: a
	// platform of another registrar is refused.
	_, stranger := testPlatform(t, "platform-x.example", registry.Entitlements{Predicates: registry.Predicates()})
	xtx, err := w.v.NewPlatformRequest(context.Background(), verifier.Policy{AgeOver: &eighteen}, stranger)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := holderCLI(t, "", "prove", "--dir", w.wdir, "--request", writeTemp(t, "x.jwt", []byte(xtx.RequestObject)), "--issuer-dir", w.idir, "--yes"); !errors.Is(err, holder.ErrUntrustedPlatform) {
		t.Fatalf("another registrar's platform through the agent: %v, want holder.ErrUntrustedPlatform", err)
	}
	// An opened request is answered once.
	client, err := agent.Dial(context.Background(), w.wdir)
	if err != nil {
		t.Fatal(err)
	}
	_, path = w.request(t, verifier.Policy{AgeOver: &eighteen})
	jwt, _ := os.ReadFile(path)
	o, err := client.Open(context.Background(), string(jwt))
	if err != nil || !o.ZK || o.Platform != "platform-a.example" {
		t.Fatalf("open: %+v %v", o, err)
	}
	if _, err := client.Answer(context.Background(), agent.AnswerBody{ID: o.ID, IssuerDir: w.idir}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Answer(context.Background(), agent.AnswerBody{ID: o.ID, IssuerDir: w.idir}); !errors.Is(err, agent.ErrUnknownRequest) {
		t.Fatalf("second answer to one request: %v, want agent.ErrUnknownRequest", err)
	}
	// A refusal comes back as the library's sentinel, with its reason.
	_, path = w.request(t, verifier.Policy{AgeUnder: &eighteen})
	_, _, err = holderCLI(t, "", "prove", "--dir", w.wdir, "--request", path, "--issuer-dir", w.idir, "--yes")
	if !errors.Is(err, circuits.ErrBirthDate) || !strings.Contains(err.Error(), "not under 18") {
		t.Fatalf("refused request through the agent: %v, want circuits.ErrBirthDate", err)
	}
	// A second process does not open the wallet while the agent holds it.
	if _, _, err := holderCLI(t, "", "refresh", "--dir", w.wdir, "--issuer-dir", w.idir); err == nil || !strings.Contains(err.Error(), "agent") {
		t.Fatalf("refresh beside the agent: %v", err)
	}

	info := a.Info()
	body := `{"request":""}`
	call := func(host, origin, token string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", info.URL+"/v1/open", strings.NewReader(body))
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(data)
	}
	host := strings.TrimPrefix(info.URL, "http://")
	_, zpath := w.request(t, verifier.Policy{AgeOver: &eighteen})
	zjwt, _ := os.ReadFile(zpath)
	body = `{"request":"` + string(zjwt) + `"}`
	if status, _, data := call(host, "", info.Token); status != 200 || !strings.Contains(data, "18 or over") {
		t.Fatalf("open with the token: %d %s", status, data)
	}
	for _, c := range []struct {
		name, host, origin, token string
		status                    int
	}{
		{"no token", host, "", "", 401},
		{"wrong token", host, "", info.Token + "x", 401},
		{"rebound host", "evil.test:80", "", info.Token, 403},
		{"page not allowed", host, "http://evil.test", info.Token, 403},
	} {
		if status, _, data := call(c.host, c.origin, c.token); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, data, c.status)
		}
	}
	status, hdr, _ := call(host, "http://wallet.test", info.Token)
	if status != 200 || hdr.Get("Access-Control-Allow-Origin") != "http://wallet.test" {
		t.Fatalf("allowed page: %d, CORS %q", status, hdr.Get("Access-Control-Allow-Origin"))
	}

	// The token file is the holder's alone; a readable one is refused.
	path = filepath.Join(w.wdir, agent.AgentFile)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v", path, err, st.Mode().Perm())
	}
	os.Chmod(path, 0o644)
	if _, err := agent.Dial(context.Background(), w.wdir); err == nil || errors.Is(err, agent.ErrNoAgent) {
		t.Fatalf("dial through a readable token file: %v", err)
	}
	os.Chmod(path, 0o600)
}

// TestHolderAgentStale: an agent file left by an agent that is gone makes
// prove work in process, or fail with ErrNoAgent under --agent.
func TestHolderAgentStale(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	wdir := t.TempDir()
	data, _ := json.Marshal(agent.Info{URL: "http://" + addr, Token: "t"})
	os.WriteFile(filepath.Join(wdir, agent.AgentFile), data, 0o600)
	if _, err := agent.Dial(context.Background(), wdir); !errors.Is(err, agent.ErrNoAgent) {
		t.Fatalf("stale agent file: %v, want ErrNoAgent", err)
	}
	_, _, err := holderCLI(t, "", "list", "--dir", wdir, "--agent")
	if !errors.Is(err, agent.ErrNoAgent) {
		t.Fatalf("list --agent with a stale file: %v", err)
	}
	// Without --agent the wallet is opened in process (and here there is
	// none: the wallet's own error, not the agent's).
	t.Setenv(passphrase.EnvVar, "x")
	_, _, err = holderCLI(t, "", "list", "--dir", wdir)
	if !errors.Is(err, holder.ErrNotWallet) {
		t.Fatalf("list without an agent: %v, want holder.ErrNotWallet", err)
	}
}

func TestAgentLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", "192.168.1.2:1", "localhost:1", "[::]:1", "example.com:80"} {
		if err := agent.CheckLoopback(addr); !errors.Is(err, agent.ErrNotLoopback) {
			t.Errorf("%s: %v, want ErrNotLoopback", addr, err)
		}
		if _, _, err := holderCLI(t, "", "serve", "--dir", t.TempDir(), "--addr", addr); !errors.Is(err, agent.ErrNotLoopback) {
			t.Errorf("holder serve --addr %s: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "127.0.0.2:9"} {
		if err := agent.CheckLoopback(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
