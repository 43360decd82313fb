package httpserv

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// get sends one request on conn and reads the status line, or fails after d.
func get(conn net.Conn, d time.Duration) (string, error) {
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return "", err
	}
	conn.SetReadDeadline(time.Now().Add(d))
	return bufio.NewReader(conn).ReadString('\n')
}

func TestConnectionCap(t *testing.T) {
	s := New(Config{MaxConns: 2})
	base := start(t, s)
	http.DefaultClient.CloseIdleConnections()
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The slot frees when the health check's connection closes.
		var line string
		for range 50 {
			if line, err = get(c, 200*time.Millisecond); err == nil {
				break
			}
			c.Close()
			if c, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(line, "200") {
			t.Fatalf("connection %d: %q %v", i, line, err)
		}
		held = append(held, c)
	}
	// The third connection is not served while two are open.
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := third.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	r := bufio.NewReader(third)
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("connection beyond the cap served: %q", line)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("third connection: %v, want a wait", err)
	}
	// Once one closes, it is served.
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(3 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("after a slot freed: %q %v", line, err)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	s := New(Config{IdleTimeout: 150 * time.Millisecond})
	base := start(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	// Kept alive, then idle: the server closes it well before the deadline.
	start := time.Now()
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want EOF from the server closing it", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("idle connection closed late")
	}
}

func TestSlowConnectionsFreeTheCap(t *testing.T) {
	// Slow clients that never finish their headers hold slots only until
	// the header timeout.
	s := New(Config{MaxConns: 2, ReadHeaderTimeout: 150 * time.Millisecond})
	base := start(t, s)
	http.DefaultClient.CloseIdleConnections()
	addr := strings.TrimPrefix(base, "http://")
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /healthz HTTP/1.1\r\n"))
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := get(c, 3*time.Second); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("served after slow connections: %q %v", line, err)
	}
}

// fakeClock is a settable clock for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func limitedServer(rate float64, burst int) (*Server, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{Rate: rate, Burst: burst, now: clock.now})
	ok := func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, http.StatusOK, map[string]string{}) }
	s.HandleFunc("GET /open", ok)
	s.HandleAuthenticated("POST /admin", http.HandlerFunc(ok))
	return s, clock
}

func call(h http.Handler, method, path, client string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = client
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRateLimitPerClient(t *testing.T) {
	s, clock := limitedServer(2, 3)
	h := s.Handler()
	a, b := "192.0.2.1:1000", "192.0.2.2:1000"
	for i := range 3 {
		if w := call(h, "GET", "/open", a); w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, w.Code)
		}
	}
	w := call(h, "GET", "/open", "192.0.2.1:2000") // same address, other port
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("over the burst: %d, want 429", w.Code)
	}
	if w.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1 (a token every 0.5 s)", w.Header().Get("Retry-After"))
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] == "" {
		t.Fatalf("429 body %q is not a JSON error", w.Body)
	}
	// Another client is unaffected.
	if w := call(h, "GET", "/open", b); w.Code != http.StatusOK {
		t.Fatalf("other client: %d", w.Code)
	}
	// Authenticated routes and the health check are not limited.
	if w := call(h, "POST", "/admin", a); w.Code != http.StatusOK {
		t.Fatalf("authenticated route: %d", w.Code)
	}
	if w := call(h, "GET", "/healthz", a); w.Code != http.StatusOK {
		t.Fatalf("health check: %d", w.Code)
	}
	// Tokens come back at the rate.
	clock.t = clock.t.Add(500 * time.Millisecond)
	if w := call(h, "GET", "/open", a); w.Code != http.StatusOK {
		t.Fatalf("after refill: %d", w.Code)
	}
	if w := call(h, "GET", "/open", a); w.Code != http.StatusTooManyRequests {
		t.Fatalf("one token came back, two spent: %d", w.Code)
	}
}

func TestRateLimitDisabledAndSwept(t *testing.T) {
	s := New(Config{Rate: -1})
	s.HandleFunc("GET /open", func(w http.ResponseWriter, r *http.Request) {})
	h := s.Handler()
	for range 200 {
		if w := call(h, "GET", "/open", "192.0.2.1:1"); w.Code != http.StatusOK {
			t.Fatalf("negative rate still limits: %d", w.Code)
		}
	}
	// Refilled buckets are forgotten, so the table does not grow forever.
	clock := &fakeClock{t: time.Unix(0, 0)}
	l := newRateLimiter(1, 1, clock.now)
	l.allow("a")
	l.allow("b")
	clock.t = clock.t.Add(2 * time.Minute)
	l.allow("c")
	if len(l.clients) != 1 {
		t.Fatalf("%d clients kept, want 1", len(l.clients))
	}
}
