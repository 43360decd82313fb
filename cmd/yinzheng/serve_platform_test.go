package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// servePlatformFlags registers a localhost platform (age predicates only)
// with a test registrar, writes its API token to a file and returns the
// flags `serve verifier` needs for it, and the token. The platform
// passphrase is set in the environment.
func servePlatformFlags(t *testing.T) ([]string, string) {
	t.Helper()
	r := registrytest.New(t, jose.SuiteGM)
	pdir := registrytest.Save(t, r.Register(t, registry.LoopbackDomain, registrytest.AgeOnly()))
	t.Setenv(platformPassphraseEnv, string(registrytest.Passphrase))
	token := "serve-platform-token-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--platform", pdir, "--api-token-file", tokenFile}, token
}

// TestServeVerifierPlatform: serve verifier requires the platform and its
// API token, and mounts the platform's authenticated transaction API and
// nothing else that makes a request: the old unauthenticated routes (POST
// /requests, POST /response, GET /requests/{id}) are not there, so no
// request is made and no presentation decided without the API token.
func TestServeVerifierPlatform(t *testing.T) {
	flags, token := servePlatformFlags(t)
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	iss.Publish(t, time.Now())
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	public := "http://localhost:" + strings.TrimPrefix(addr, "127.0.0.1:")
	base := []string{"verifier", "--dir", vdir, "--addr", addr, "--issuer-dir", iss.Dir, "--allow-development-keys", "--public-url", public}
	var out, errOut lockedBuffer
	for name, args := range map[string][]string{
		"no platform":                  base,
		"--platform alone":             append(base[:len(base):len(base)], flags[:2]...),
		"--api-token-file alone":       append(base[:len(base):len(base)], flags[2:]...),
		"an empty --platform argument": append(base[:len(base):len(base)], "--platform", "", flags[2], flags[3]),
	} {
		err := runServe(args, strings.NewReader(""), &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--platform PDIR and --api-token-file FILE") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if out.String() != "" {
		t.Fatalf("a refused start printed %q", out.String())
	}
	done := make(chan error, 1)
	go func() {
		done <- runServe(append(base, flags...), strings.NewReader(""), &out, &errOut)
	}()
	do := func(method, path, tok, body string) int {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	status := -1
	for range 300 {
		if status = do("GET", "/readyz", "", ""); status != -1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != http.StatusOK {
		t.Fatalf("readyz: %d (%s)", status, errOut.String())
	}
	// The routes of the unauthenticated flow are gone: with or without a
	// token, nothing there makes a request or decides a presentation.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/requests", `{"scope":"platform-a","age_over":18}`},
		{"POST", "/response", `{"version":1,"type":"zk","request_id":"x"}`},
		{"GET", "/requests/x", ""},
		{"GET", "/requests/x/result", ""},
	} {
		for _, tok := range []string{"", token} {
			if s := do(c.method, c.path, tok, c.body); s != http.StatusNotFound && s != http.StatusMethodNotAllowed {
				t.Errorf("%s %s (token %v): %d, want 404 or 405", c.method, c.path, tok != "", s)
			}
		}
	}
	if s := do("POST", "/v1/transactions", "", `{"age_over":18}`); s != http.StatusUnauthorized {
		t.Fatalf("transaction without the token: %d", s)
	}
	if s := do("POST", "/v1/transactions", token, `{"age_over":18}`); s != http.StatusCreated {
		t.Fatalf("transaction with the token: %d (%s)", s, errOut.String())
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not stop the service")
	}
}
