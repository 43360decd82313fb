package main

import (
	"errors"
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

// TestServeVerifierPlatform: serve verifier --platform mounts the
// authenticated transaction API of the registered platform.
func TestServeVerifierPlatform(t *testing.T) {
	r := registrytest.New(t, jose.SuiteGM)
	pdir := registrytest.Save(t, r.Register(t, registry.LoopbackDomain, registrytest.AgeOnly()))
	t.Setenv(platformPassphraseEnv, string(registrytest.Passphrase))
	token := "serve-platform-token-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
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
	if err := runServe(append(base, "--platform", pdir), strings.NewReader(""), &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("--platform without --api-token-file: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- runServe(append(base, "--platform", pdir, "--api-token-file", tokenFile), strings.NewReader(""), &out, &errOut)
	}()
	post := func(tok string) int {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/transactions", strings.NewReader(`{"age_over":18}`))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := -1
	for range 300 {
		if status = post(token); status != -1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != http.StatusCreated {
		t.Fatalf("transaction with the token: %d (%s)", status, errOut.String())
	}
	if s := post(""); s != http.StatusUnauthorized {
		t.Fatalf("transaction without the token: %d", s)
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
