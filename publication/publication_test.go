package publication

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	for name, want := range map[string]string{
		RootName(7):       "roots/7.jws",
		DeltaName(0):      "deltas/0.json",
		BucketName(8, 42): "buckets/8/42",
	} {
		if name != want {
			t.Errorf("got %q, want %q", name, want)
		}
	}
	for _, name := range []string{IssuerName, LatestRootName, StatusListName, ManifestName,
		VerifyingKeyName, ProvingKeyName, RootName(1 << 63), DeltaName(3), BucketName(16, 1)} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}
}

func TestCheckNameRefuses(t *testing.T) {
	for _, name := range []string{"", "/etc/passwd", "../private/key", "roots/../../x", "roots//1.jws",
		"roots/./1.jws", "roots\\1.jws", "roots/1.jws?x=1", "a b", "issuer.json/", strings.Repeat("a", 257)} {
		if err := CheckName(name); !errors.Is(err, ErrName) {
			t.Errorf("CheckName(%q) = %v, want ErrName", name, err)
		}
	}
}

func writePublic(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, "public", filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirSource(t *testing.T) {
	dir := t.TempDir()
	writePublic(t, dir, RootName(3), []byte("statement"))
	writePublic(t, dir, IssuerName, bytes.Repeat([]byte("x"), 100))
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("private"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := DirSource(dir)
	ctx := context.Background()

	got, err := src.Get(ctx, RootName(3), 100)
	if err != nil || string(got) != "statement" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := src.Get(ctx, RootName(4), 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	if got, err := src.Get(ctx, IssuerName, 100); err != nil || len(got) != 100 {
		t.Errorf("file of exactly the limit: %d bytes, %v", len(got), err)
	}
	if _, err := src.Get(ctx, IssuerName, 99); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized file: %v, want ErrTooLarge", err)
	}
	if _, err := src.Get(ctx, "../secret", 100); !errors.Is(err, ErrName) {
		t.Errorf("escaping name: %v, want ErrName", err)
	}
	if _, err := src.Get(ctx, "roots", 100); err == nil {
		t.Error("a directory was read as a file")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.Get(canceled, RootName(3), 100); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestHTTPSource(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/base/roots/3.jws":
			w.Write([]byte("statement"))
		case "/base/big":
			w.Write(bytes.Repeat([]byte("x"), 1000))
		case "/base/chunked":
			// No Content-Length: the limit must hold while streaming.
			w.(http.Flusher).Flush()
			w.Write(bytes.Repeat([]byte("x"), 1000))
		case "/base/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/base/slow":
			time.Sleep(300 * time.Millisecond)
			w.Write([]byte("late"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	src := HTTPSource(srv.URL+"/base/", srv.Client())

	got, err := src.Get(ctx, RootName(3), 100)
	if err != nil || string(got) != "statement" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if paths[0] != "/base/roots/3.jws" {
		t.Errorf("requested %q", paths[0])
	}
	if _, err := src.Get(ctx, RootName(4), 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
	if _, err := src.Get(ctx, "big", 999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("declared oversized body: %v, want ErrTooLarge", err)
	}
	if _, err := src.Get(ctx, "chunked", 999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("streamed oversized body: %v, want ErrTooLarge", err)
	}
	if got, err := src.Get(ctx, "chunked", 1000); err != nil || len(got) != 1000 {
		t.Errorf("body of exactly the limit: %d bytes, %v", len(got), err)
	}
	if _, err := src.Get(ctx, "broken", 100); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("server error: %v", err)
	}
	if _, err := src.Get(ctx, "../admin", 100); !errors.Is(err, ErrName) {
		t.Errorf("escaping name: %v, want ErrName", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := src.Get(short, "slow", 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow server: %v, want a deadline error", err)
	}
}

func TestHTTPSourceBadURL(t *testing.T) {
	for _, u := range []string{"", "issuer.example", "ftp://issuer.example", "http://", "https://a.example/?q=1",
		"https://a.example/#f", "http://user:hunter2@a.example"} {
		if err := CheckURL(u); err == nil {
			t.Errorf("CheckURL(%q) accepted", u)
		}
		_, err := HTTPSource(u, nil).Get(context.Background(), IssuerName, 100)
		if err == nil {
			t.Errorf("HTTPSource(%q).Get accepted", u)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	if err := CheckURL("https://issuer.yinzheng.example/pub"); err != nil {
		t.Error(err)
	}
}

// TestCheckURLInsecure: plain http is refused for any host but a loopback
// one, https is accepted for every host.
func TestCheckURLInsecure(t *testing.T) {
	for _, u := range []string{"http://issuer.example", "http://10.0.0.1:8080/pub", "http://[2001:db8::1]/",
		"http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://0.0.0.0:80"} {
		if err := CheckURL(u); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("CheckURL(%q) = %v, want ErrInsecureURL", u, err)
		}
		if _, err := HTTPSource(u, nil).Get(context.Background(), IssuerName, 100); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("HTTPSource(%q).Get = %v, want ErrInsecureURL", u, err)
		}
	}
	for _, u := range []string{"https://issuer.example", "https://10.0.0.1:8443/pub", "http://127.0.0.1:8080",
		"http://127.1.2.3/pub", "http://localhost:9000", "http://LOCALHOST", "http://[::1]:8080/"} {
		if err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%q): %v", u, err)
		}
	}
}

// TestHTTPSourceRedirectToHTTP: an https source (or a CDN in front of it)
// that redirects to plain http would take the fetch off TLS, to where
// anyone on the path can replay or withhold files: the redirect is refused
// as CheckURL refuses such a base URL. A redirect that stays on https, or
// goes to a loopback http address, is followed.
func TestHTTPSourceRedirectToHTTP(t *testing.T) {
	var target string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pub/" + IssuerName:
			http.Redirect(w, r, target, http.StatusFound)
		case "/moved/" + IssuerName:
			w.Write([]byte("{}"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	defer plain.Close()
	src := HTTPSource(srv.URL+"/pub", srv.Client())
	for _, bad := range []string{"http://issuer.example/" + IssuerName, "http://localhost./" + IssuerName, "ftp://issuer.example/" + IssuerName} {
		target = bad
		if _, err := src.Get(context.Background(), IssuerName, 100); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("redirect to %s: err = %v, want ErrInsecureURL", bad, err)
		}
	}
	for _, good := range []string{srv.URL + "/moved/" + IssuerName, plain.URL + "/" + IssuerName} {
		target = good
		if data, err := src.Get(context.Background(), IssuerName, 100); err != nil || string(data) != "{}" {
			t.Errorf("redirect to %s: %q, %v", good, data, err)
		}
	}
}
