package httpserv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAllowOrigins(t *testing.T) {
	s := New(Config{AllowOrigins: []string{"http://wallet.test"}, Rate: -1})
	s.HandleFunc("GET /doc", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, "ok") })
	h := s.Handler()
	do := func(method, origin string, preflight bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/doc", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if preflight {
			r.Header.Set("Access-Control-Request-Method", "GET")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "http://wallet.test", false); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "http://wallet.test" {
		t.Fatalf("allowed origin: %d, %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w := do("GET", "http://evil.test", false); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("another origin may read the answer")
	}
	w := do("OPTIONS", "http://wallet.test", true)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Headers") != "Content-Type" {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	if w := do("OPTIONS", "http://evil.test", true); w.Code == http.StatusNoContent {
		t.Fatal("a preflight of another origin succeeded")
	}
	none := New(Config{Rate: -1})
	none.HandleFunc("GET /doc", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, "ok") })
	r := httptest.NewRequest("GET", "/doc", nil)
	r.Header.Set("Origin", "http://wallet.test")
	rec := httptest.NewRecorder()
	none.Handler().ServeHTTP(rec, r)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS headers without AllowOrigins")
	}
}
