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
	base := []string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0", "--issuer-dir", iss.Dir, "--allow-development-keys"}

	var out, errOut lockedBuffer
	if err := runServe(append(base, "--tls-cert", certFile), strings.NewReader(""), &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("--tls-cert without --tls-key: %v", err)
	}
	if err := runServe(append(base, "--tls-cert", keyFile, "--tls-key", keyFile), strings.NewReader(""), &out, &errOut); err == nil || out.String() != "" {
		t.Fatalf("a key file as the certificate: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		done <- runServe(append(base, "--tls-cert", certFile, "--tls-key", keyFile), strings.NewReader(""), &out, &errOut)
	}()
	var url string
	for i := 0; url == "" && i < 300; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve verifier stopped: %v (%s)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if _, u, ok := strings.Cut(out.String(), "listening on "); ok {
			url = strings.TrimSpace(u)
		}
	}
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
	if !pinned.AppendCertsFromPEM(readTestFile(t, r.RootPath())) {
		t.Fatal("root PEM")
	}
	var resp *http.Response
	for range 100 {
		if resp, err = get(pinned, url+"/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz over HTTPS: %v", err)
	}
	resp.Body.Close()
	other := registrytest.New(t, jose.SuiteIntl)
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(readTestFile(t, other.RootPath()))
	if resp, err := get(otherPool, url+"/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a client pinning another root connected")
	}
	if resp, err := get(pinned, strings.Replace(url, "https://", "http://", 1)+"/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("plain HTTP answered on the HTTPS port")
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
