package main

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
		{[]string{"issuer", "--dir", "x", "stray"}, "unexpected argument"},
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

func TestServeVerifierRunsAndStopsOnSIGTERM(t *testing.T) {
	var out, errOut lockedBuffer
	// Unpinned, the service does not start.
	err := runServe([]string{"verifier", "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--issuer-dir", t.TempDir()},
		strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, verifier.ErrNotPinned) || out.String() != "" {
		t.Fatalf("unpinned: %v, stdout %q", err, out.String())
	}
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	done := make(chan error, 1)
	go func() {
		done <- runServe([]string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0",
			"--issuer-dir", iss.Dir, "--allow-development-keys"}, strings.NewReader(""), &out, &errOut)
	}()
	var base string
	for i := 0; base == "" && i < 200; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve verifier stopped: %v (%s)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if _, u, ok := strings.Cut(out.String(), "listening on "); ok {
			base = strings.TrimSpace(u)
		}
	}
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
