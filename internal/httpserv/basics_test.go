package httpserv

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/buildinfo"
)

// rawDo returns the status, headers and raw body of one request.
func rawDo(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestUnmatchedRoutesAnswerJSON(t *testing.T) {
	_, base, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"no route", "GET", "/nowhere/11010519491231002X", http.StatusNotFound, ""},
		{"wrong method", "DELETE", "/echo", http.StatusMethodNotAllowed, "POST"},
		{"wrong method on a pattern", "POST", "/items/7", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := rawDo(t, tc.method, base+tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q, body %q", ct, body)
			}
			var m map[string]string
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil || m["error"] == "" || len(m) != 1 {
				t.Fatalf("body %q is not {\"error\": …}: %v", body, err)
			}
			if dec.More() {
				t.Fatalf("body %q carries more than the JSON object (the plain-text answer leaked)", body)
			}
			if strings.Contains(m["error"], "11010519491231002X") {
				t.Fatalf("error echoes the path: %q", m["error"])
			}
			if tc.allow != "" {
				if got := h.Get("Allow"); got != tc.allow {
					t.Fatalf("Allow %q, want %q", got, tc.allow)
				}
				if !strings.Contains(m["error"], tc.allow) || !strings.Contains(m["error"], tc.method) {
					t.Fatalf("405 message %q does not name the method and the allowed ones", m["error"])
				}
			}
		})
	}
}

func TestHandlerNotFoundPassesThrough(t *testing.T) {
	// A matched route's own 404 keeps its message: only the mux's answers
	// are rewritten.
	s := New(Config{})
	s.HandleFunc("GET /requests/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no such request")
	})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/requests/abc", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "no such request") {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
}

func TestBuildInfoMetricAndListeningLine(t *testing.T) {
	_, base, logs := newTestServer(t, Config{Name: "svc"})
	want := buildinfo.Read()
	text := getText(t, base+"/metrics")
	var line string
	for l := range strings.Lines(text) {
		if strings.HasPrefix(l, "yinzheng_build_info{") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" || !strings.HasSuffix(line, "} 1") {
		t.Fatalf("no yinzheng_build_info sample set to 1 in:\n%s", text)
	}
	for i, name := range buildinfo.LabelNames() {
		if label := name + `="` + want.Labels()[i] + `"`; !strings.Contains(line, label) {
			t.Errorf("build_info lacks %s: %s", label, line)
		}
	}
	var rec map[string]any
	for l := range strings.Lines(logs.String()) {
		var r map[string]any
		if json.Unmarshal([]byte(l), &r) == nil && r["msg"] == "listening" {
			rec = r
		}
	}
	if rec == nil {
		t.Fatalf("no listening line in %s", logs.String())
	}
	attrs := want.LogAttrs()
	for i := 0; i < len(attrs); i += 2 {
		if rec[attrs[i].(string)] != attrs[i+1] {
			t.Errorf("listening line %s = %v, want %v", attrs[i], rec[attrs[i].(string)], attrs[i+1])
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLogLevel(name); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "info+2", "verbose", "warning"} {
		if _, err := ParseLogLevel(bad); !errors.Is(err, ErrLogLevel) {
			t.Errorf("ParseLogLevel(%q) err = %v, want ErrLogLevel", bad, err)
		}
	}
}

func TestLogLevelFiltersAccessLogs(t *testing.T) {
	// Access logs are at info: at warn they are gone, errors stay.
	var buf syncBuffer
	s := New(Config{Logger: NewLogger(&buf, slog.LevelWarn)})
	s.HandleFunc("GET /internal", func(w http.ResponseWriter, r *http.Request) {
		Fail(w, s.Logger(), errors.New("disk on fire"))
	})
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/internal", nil))
	out := buf.String()
	if strings.Contains(out, `"msg":"request"`) || !strings.Contains(out, `"msg":"internal error"`) {
		t.Fatalf("warn level log:\n%s", out)
	}
	buf = syncBuffer{}
	s = New(Config{Logger: NewLogger(&buf, slog.LevelInfo)})
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	if !strings.Contains(buf.String(), `"msg":"request"`) {
		t.Fatalf("info level dropped the access log: %q", buf.String())
	}
}
