package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// TestServeVerifierHTTPS serves the verifier over HTTPS on loopback with a
// TLS certificate from a test registrar (intl, so that crypto/tls clients
// verify it): a client pinning that registrar's root connects, one pinning
// another root and a plain HTTP client do not.
func TestServeVerifierHTTPS(t *testing.T) {
	r := registrytest.New(t, jose.SuiteIntl)
	certPEM, keyPEM, err := r.IssueTLS(registry.LoopbackDomain, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	if err := registry.SaveTLS(tlsDir, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(tlsDir, registry.TLSCertName), filepath.Join(tlsDir, registry.TLSKeyName)

	iss := verifiertest.NewIssuer(t, 4, time.Now())
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	flags, _ := servePlatformFlags(t)
	base := append([]string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0", "--issuer-dir", iss.Dir, "--allow-development-keys"}, flags...)

	var out, errOut lockedBuffer
	if err := runServe(append(base, "--tls-cert", certFile), strings.NewReader(""), &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("--tls-cert without --tls-key: %v", err)
	}
	if err := runServe(append(base, "--tls-cert", keyFile, "--tls-key", keyFile), strings.NewReader(""), &out, &errOut); err == nil || out.String() != "" {
		t.Fatalf("a key file as the certificate: %v", err)
	}

	serveHTTPS(t, base, certFile, keyFile, r.RootPath(), "/healthz")
}

// TestServeIssuerHTTPS: the issuer service over HTTPS, its metadata read
// by a client pinning the registrar root (a depth-4 issuer with cached
// development keys, to keep it short).
func TestServeIssuerHTTPS(t *testing.T) {
	const pass = "serve tls test passphrase"
	t.Setenv("YINZHENG_PASSPHRASE", pass)
	r := registrytest.New(t, jose.SuiteIntl)
	certPEM, keyPEM, err := r.IssueTLS(registry.LoopbackDomain, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	if err := registry.SaveTLS(tlsDir, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "issuer")
	keys, err := bench.DefaultKeysDir(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := issuer.Init(dir, []byte(pass), issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keys, Depth: 4, KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	serveHTTPS(t, []string{"issuer", "--dir", dir, "--addr", "127.0.0.1:0"},
		filepath.Join(tlsDir, registry.TLSCertName), filepath.Join(tlsDir, registry.TLSKeyName), r.RootPath(), "/issuer.json")
}

// serveHTTPS runs `serve` with args and the TLS files, and checks that a
// client pinning rootFile reads path over HTTPS while a client pinning
// another root, and a plain HTTP client, do not; then stops the service.
func serveHTTPS(t *testing.T, args []string, certFile, keyFile, rootFile, path string) {
	t.Helper()
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(append(args, "--tls-cert", certFile, "--tls-key", keyFile), strings.NewReader(""), &out, &errOut)
	}()
	url := awaitListening(t, &out, &errOut, done)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("listening line %q", out.String())
	}
	// The certificate names localhost (and the loopback addresses).
	url = strings.Replace(url, "127.0.0.1", "localhost", 1)
	get := func(roots *x509.CertPool, u string) (*http.Response, error) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		return c.Get(u)
	}
	pinned := x509.NewCertPool()
	if !pinned.AppendCertsFromPEM(readTestFile(t, rootFile)) {
		t.Fatal("root PEM")
	}
	var resp *http.Response
	var err error
	for range 100 {
		if resp, err = get(pinned, url+path); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s over HTTPS: %v %v", path, err, resp)
	}
	resp.Body.Close()
	other := registrytest.New(t, jose.SuiteIntl)
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(readTestFile(t, other.RootPath()))
	if resp, err := get(otherPool, url+path); err == nil {
		resp.Body.Close()
		t.Fatal("a client pinning another root connected")
	}
	if resp, err := get(pinned, strings.Replace(url, "https://", "http://", 1)+path); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered on the HTTPS port")
		}
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

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlainHTTPWarning: plain HTTP is quiet on loopback and warned about
// anywhere else (wallets refuse http off loopback).
func TestPlainHTTPWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:8080": false, "[::1]:8080": false, "localhost:0": false,
		"0.0.0.0:8080": true, ":8080": true, "192.0.2.1:443": true, "platform.example:80": true,
	} {
		var errOut strings.Builder
		if _, err := (tlsFlags{}).apply(httpserv.Config{}, addr, &errOut); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(errOut.String(), "warning: plain HTTP"); got != warn {
			t.Errorf("%s: warned %v, want %v", addr, got, warn)
		}
	}
}
