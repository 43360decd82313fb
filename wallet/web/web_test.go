package web

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	e := &Engine{Wasm: []byte("\x00asm\x01\x00\x00\x00engine"), WasmExec: []byte("// wasm_exec")}
	h, err := e.Handler()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, enc string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("/", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Yinzheng wallet") || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("index: %d %v", w.Code, w.Header())
	}
	w = get("/"+EngineFile, "gzip")
	if w.Header().Get("Content-Type") != "application/wasm" || w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("engine headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(zr); string(data) != string(e.Wasm) {
		t.Fatal("the gzipped engine is not the engine")
	}
	if w := get("/"+EngineFile, ""); w.Body.String() != string(e.Wasm) || w.Header().Get("Content-Encoding") != "" {
		t.Fatal("engine without gzip")
	}
	for _, p := range []string{"/../web.go", "/static/app.js", "/nope.js"} {
		if w := get(p, ""); w.Code != 404 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	if _, err := Load("web.go", "web.go"); err == nil {
		t.Fatal("Load took a Go file for a WebAssembly module")
	}
}
