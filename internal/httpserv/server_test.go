package httpserv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type echo struct {
	Name string `json:"name"`
}

// newTestServer returns a server with a few routes, running on a loopback
// port until the test ends, its base URL and its log.
func newTestServer(t *testing.T, cfg Config) (*Server, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	s := New(cfg)
	s.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var v echo
		if err := DecodeJSON(r, &v); err != nil {
			Fail(w, s.Logger(), err)
			return
		}
		WriteJSON(w, http.StatusOK, v)
	})
	s.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	s.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("secret-panic-value")
	})
	s.HandleFunc("GET /nilpanic", func(w http.ResponseWriter, r *http.Request) {
		var items []int
		_ = items[len(r.URL.Path)] // index out of range: a runtime error
	})
	s.HandleFunc("GET /internal", func(w http.ResponseWriter, r *http.Request) {
		Fail(w, s.Logger(), errors.New("disk on fire"))
	})
	base := start(t, s)
	return s, base, logs
}

// start runs s on a loopback port until the test ends and waits until it answers.
func start(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base)
	return base
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for range 100 {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", base)
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: response is not JSON: %q", method, url, data)
		}
	}
	return resp.StatusCode, m
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func TestHealthz(t *testing.T) {
	_, base, _ := newTestServer(t, Config{})
	code, body := do(t, "GET", base+"/healthz", "")
	if code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, body)
	}
}

func TestDecodeJSON(t *testing.T) {
	_, base, _ := newTestServer(t, Config{})
	cases := []struct {
		name, body string
		code       int
		errPart    string
	}{
		{"valid", `{"name":"a"}`, 200, ""},
		{"malformed", `{"name":`, 400, "malformed JSON"},
		{"unknown field", `{"name":"a","extra":1}`, 400, "unknown field"},
		{"trailing value", `{"name":"a"}{"name":"b"}`, 400, "data after the first value"},
		{"trailing garbage", `{"name":"a"} x`, 400, "malformed JSON"},
		{"empty", ``, 400, "empty request body"},
		{"wrong type", `{"name":5}`, 400, "malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, "POST", base+"/echo", c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d (%v)", code, c.code, body)
			}
			if c.errPart == "" {
				if body["name"] != "a" {
					t.Fatalf("echo: %v", body)
				}
				return
			}
			msg, _ := body["error"].(string)
			if !strings.Contains(msg, c.errPart) {
				t.Fatalf("error %q does not mention %q", msg, c.errPart)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	_, base, _ := newTestServer(t, Config{MaxBodyBytes: 100})
	big := `{"name":"` + strings.Repeat("a", 200) + `"}`
	code, body := do(t, "POST", base+"/echo", big)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: status %d, want 413 (%v)", code, body)
	}
	if msg, _ := body["error"].(string); !strings.Contains(msg, "larger than 100 bytes") {
		t.Fatalf("oversized body: error %q", msg)
	}
	// A body just under the limit still works: the limit is the cause above.
	if code, body := do(t, "POST", base+"/echo", `{"name":"a"}`); code != 200 {
		t.Fatalf("small body after oversized: %d %v", code, body)
	}
}

func TestPanicRecovery(t *testing.T) {
	_, base, logs := newTestServer(t, Config{})
	code, body := do(t, "GET", base+"/panic", "")
	if code != http.StatusInternalServerError || body["error"] != "internal error" {
		t.Fatalf("panic: %d %v", code, body)
	}
	if strings.Contains(logs.String(), "secret-panic-value") {
		t.Fatal("an arbitrary panic value reached the log")
	}
	if !strings.Contains(logs.String(), "value of type string") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	code, _ = do(t, "GET", base+"/nilpanic", "")
	if code != http.StatusInternalServerError {
		t.Fatalf("runtime panic: %d", code)
	}
	if !strings.Contains(logs.String(), "index out of range") {
		t.Fatalf("runtime error message not logged: %s", logs.String())
	}
	// The server keeps serving.
	if code, _ := do(t, "GET", base+"/healthz", ""); code != 200 {
		t.Fatalf("after panic: %d", code)
	}
}

func TestInternalErrorHidden(t *testing.T) {
	_, base, logs := newTestServer(t, Config{})
	code, body := do(t, "GET", base+"/internal", "")
	if code != 500 || body["error"] != "internal error" {
		t.Fatalf("internal: %d %v", code, body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Fatal("internal error detail not logged for the operator")
	}
}

func TestAccessLogHasNoPathsOrBodies(t *testing.T) {
	_, base, logs := newTestServer(t, Config{Name: "svc"})
	do(t, "GET", base+"/items/serial-4711?nonce=n0nce", "")
	do(t, "POST", base+"/echo", `{"name":"personal-name"}`)
	do(t, "GET", base+"/nowhere/abc", "")
	out := logs.String()
	for _, leak := range []string{"serial-4711", "n0nce", "personal-name", "/nowhere/abc"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q", leak)
		}
	}
	var sawItem, sawUnmatched bool
	for line := range strings.Lines(out) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] != "request" {
			continue
		}
		if _, ok := rec["remote"]; ok {
			t.Error("access log carries the client address")
		}
		if rec["service"] != "svc" {
			t.Errorf("service label %v", rec["service"])
		}
		switch rec["route"] {
		case "GET /items/{id}":
			sawItem = rec["status"] == float64(200)
		case "unmatched":
			sawUnmatched = rec["status"] == float64(404)
		}
	}
	if !sawItem || !sawUnmatched {
		t.Fatalf("access log lacks route patterns: %s", out)
	}
}

func TestMetrics(t *testing.T) {
	s, base, _ := newTestServer(t, Config{})
	other, otherBase, _ := newTestServer(t, Config{})
	do(t, "GET", base+"/items/1", "")
	do(t, "GET", base+"/items/2", "")
	do(t, "GET", base+"/nowhere", "")
	s.Metrics().ObserveVerification(true, nil)
	s.Metrics().ObserveVerification(false, []string{"stale root: statement is 30h old"})
	s.Metrics().ObserveVerification(false, nil)
	other.Metrics().ObserveVerification(false, []string{"replayed nonce"})

	text := getText(t, base+"/metrics")
	for _, want := range []string{
		`yinzheng_http_requests_total{code="200",method="GET",route="GET /items/{id}"} 2`,
		`yinzheng_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`yinzheng_http_request_duration_seconds_count{method="GET",route="GET /items/{id}"} 2`,
		`yinzheng_verifications_total{reason="none",result="valid"} 1`,
		`yinzheng_verifications_total{reason="stale root",result="invalid"} 1`,
		`yinzheng_verifications_total{reason="unspecified",result="invalid"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "replayed nonce") {
		t.Error("servers share a registry")
	}
	if !strings.Contains(getText(t, otherBase+"/metrics"), `reason="replayed nonce"`) {
		t.Error("second server lost its own metric")
	}
}

func TestReasonLabelsBounded(t *testing.T) {
	m := newMetrics()
	for i := range maxReasons + 10 {
		m.ObserveVerification(false, []string{fmt.Sprintf("reason %d: detail", i)})
	}
	if got := m.reasonLabel("yet another"); got != "other" {
		t.Fatalf("label past the bound: %q", got)
	}
	if got := m.reasonLabel("reason 3: different detail"); got != "reason 3" {
		t.Fatalf("known label: %q", got)
	}
	m2 := newMetrics()
	// Invalid UTF-8 and an overlong reason must not panic the counter.
	m2.ObserveVerification(false, []string{"bad \xff utf8"})
	long := strings.Repeat("é", 40) // 80 bytes, cut mid-character at 64
	m2.ObserveVerification(false, []string{long})
	if got := m2.reasonLabel(long); len(got) > 64 || !strings.HasPrefix(got, "éé") {
		t.Fatalf("long label %q", got)
	}
}

func TestGracefulShutdownWaitsForInFlight(t *testing.T) {
	s := New(Config{ShutdownTimeout: 5 * time.Second})
	entered, release := make(chan struct{}), make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		WriteJSON(w, 200, map[string]string{"done": "yes"})
	})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base)

	got := make(chan int, 1)
	go func() {
		code, _ := do(t, "GET", base+"/slow", "")
		got <- code
	}()
	<-entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if code := <-got; code != 200 {
		t.Fatalf("in-flight request: %d", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

func TestShutdownTimeout(t *testing.T) {
	s := New(Config{ShutdownTimeout: 50 * time.Millisecond})
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base)
	go http.Get(base + "/stuck")
	<-entered
	cancel()
	err = <-served
	if err == nil || !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("Serve with a stuck request: %v", err)
	}
}

func TestSignalShutsDown(t *testing.T) {
	s := New(Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	// Once the server answers, Serve has registered for the signal.
	waitHealthy(t, "http://"+ln.Addr().String())
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not stop the server")
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	s := New(Config{ReadHeaderTimeout: 100 * time.Millisecond})
	base := start(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A client that never finishes its headers is cut off.
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	data, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a connection with unfinished headers open")
	}
	if strings.Contains(string(data), "200 OK") {
		t.Fatalf("incomplete request answered: %q", data)
	}
}

func TestListenAndServeReportsAddress(t *testing.T) {
	s := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc
	waitHealthy(t, "http://"+addr.String())
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := s.ListenAndServe(context.Background(), "256.0.0.1:x", nil); err == nil ||
		!strings.Contains(err.Error(), "listen on") {
		t.Fatalf("bad address: %v", err)
	}
}
