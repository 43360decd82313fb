package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

func TestServeUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "needs a service"},
		{[]string{"gateway"}, "unknown service"},
		{[]string{"issuer"}, "--dir is required"},
		{[]string{"verifier", "--dir", "x"}, "exactly one of --issuer-dir and --issuer-url"},
		{[]string{"verifier", "--dir", "x", "--issuer-dir", "a", "--issuer-url", "http://b"}, "exactly one of"},
		{[]string{"verifier", "--dir", "x", "--issuer-url", "ftp://b"}, "--issuer-url"},
		{[]string{"verifier", "--dir", "x", "--issuer-dir", "a", "--store", "memcached://h"}, "--store must be a redis://"},
		{[]string{"verifier", "--dir", "x", "--issuer-dir", "a", "--max-batch", "0"}, "--max-batch 0 outside"},
		{[]string{"verifier", "--dir", "x", "--issuer-dir", "a"}, "needs --platform PDIR and --api-token-file FILE"},
		{[]string{"issuer", "--dir", "x", "stray"}, "unexpected argument"},
		{[]string{"issuer", "--dir", "x", "--epoch-interval", "0s"}, "--epoch-interval must be"},
		{[]string{"issuer", "--dir", "x", "--epoch-interval", "13h"}, "--epoch-interval must be"},
	} {
		var out, errOut bytes.Buffer
		err := runServe(c.args, strings.NewReader(""), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestServeIssuerRefusesMissingDir(t *testing.T) {
	t.Setenv("YINZHENG_PASSPHRASE", "x")
	var out, errOut bytes.Buffer
	err := runServe([]string{"issuer", "--dir", t.TempDir(), "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &errOut)
	if err == nil {
		t.Fatal("served an empty directory")
	}
	if out.Len() != 0 {
		t.Fatalf("printed a listening line for a directory it cannot serve: %q", out.String())
	}
}

// lockedBuffer lets the test read what the serving goroutine writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// awaitListening waits up to 5 s for the service's listening line on out
// and returns its URL ("" if none came); it fails the test if the service
// stops first.
func awaitListening(t *testing.T, out, errOut *lockedBuffer, done <-chan error) string {
	t.Helper()
	for range 500 {
		select {
		case err := <-done:
			t.Fatalf("the service stopped: %v (%s)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if _, u, ok := strings.Cut(out.String(), "listening on "); ok {
			return strings.TrimSpace(u)
		}
	}
	return ""
}

func TestServeVerifierRunsAndStopsOnSIGTERM(t *testing.T) {
	var out, errOut lockedBuffer
	flags, _ := servePlatformFlags(t)
	// Unpinned, the service does not start.
	err := runServe(append([]string{"verifier", "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--issuer-dir", t.TempDir()}, flags...),
		strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, verifier.ErrNotPinned) || out.String() != "" {
		t.Fatalf("unpinned: %v, stdout %q", err, out.String())
	}
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	done := make(chan error, 1)
	go func() {
		done <- runServe(append([]string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0",
			"--issuer-dir", iss.Dir, "--allow-development-keys"}, flags...), strings.NewReader(""), &out, &errOut)
	}()
	base := awaitListening(t, &out, &errOut, done)
	if base == "" {
		t.Fatal("no listening line on stdout")
	}
	// Once /healthz answers, the server has registered for SIGTERM.
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get(base + "/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	// Pinned and published just now: ready.
	if resp, err = http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
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
	logs := errOut.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"route":"GET /healthz"`) ||
		!strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("structured logs lack the access or shutdown lines: %s", logs)
	}
}

// TestServeIssuerPublishesEpochs: the issuer service publishes the overdue
// epoch at once (the directory's last epoch is an hour old, the interval 10
// minutes), then waits for the next interval.
func TestServeIssuerPublishesEpochs(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the depth-32 circuit")
	}
	const pass = "serve test passphrase"
	t.Setenv("YINZHENG_PASSPHRASE", pass)
	keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "issuer")
	hourAgo := time.Now().Add(-time.Hour)
	if err := issuer.Init(dir, []byte(pass), issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keys, Now: func() time.Time { return hourAgo },
		KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe([]string{"issuer", "--dir", dir, "--addr", "127.0.0.1:0", "--epoch-interval", "10m"},
			strings.NewReader(""), &out, &errOut)
	}()
	published := false
	for i := 0; !published && i < 500; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve issuer stopped: %v (%s)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		published = strings.Contains(errOut.String(), `"msg":"published an epoch","epoch":2`)
	}
	if !published {
		t.Fatalf("no epoch published: %s", errOut.String())
	}
	for i := 0; !strings.Contains(out.String(), "listening on ") && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
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
	if strings.Contains(errOut.String(), `"epoch":3`) {
		t.Fatalf("published again before the interval: %s", errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "public", "roots", "2.jws")); err != nil {
		t.Fatal(err)
	}
}
