// Package web is the browser wallet: a static page (static/: index.html,
// app.js, style.css), a Web Worker (worker.js, memfs.js) and the wallet's
// engine, the holder library built for GOOS=js GOARCH=wasm (package
// wallet/web/wasm), with Go's wasm_exec.js. The page is plain HTML, CSS
// and JavaScript, with no build step of its own.
//
// The engine is built from source with the Go toolchain (Build), on
// demand into the cache by `yinzheng serve wallet`, or once into a
// directory of files for any static host (Export). The page needs no
// server of its own: any host that serves the files (with the wasm as
// application/wasm) will do.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/yinzheng-id/yinzheng/circuits"
)

//go:embed static
var static embed.FS

// Engine names the engine's files as the page loads them.
const (
	EngineFile   = "yinzheng.wasm"
	WasmExecFile = "wasm_exec.js"
	enginePkg    = "github.com/yinzheng-id/yinzheng/wallet/web/wasm"
)

// csp keeps the page to its own scripts (and WebAssembly); it talks to any
// issuer and verifier the holder chooses.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src *; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

// Engine is a built engine: the wasm module and the wasm_exec.js of the
// toolchain that built it (the two must match).
type Engine struct {
	Wasm     []byte
	WasmExec []byte

	artifacts map[string][]byte // served under artifacts/, see AddArtifacts
}

// Build compiles the engine with the Go toolchain into dir and reads it
// back. It needs the module's source (run it inside a clone of the
// repository) and a Go toolchain on PATH; the Go build cache makes a
// rebuild take seconds.
func Build(ctx context.Context, dir string) (*Engine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	out := filepath.Join(dir, EngineFile)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, enginePkg)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("web: build the wallet engine (GOOS=js GOARCH=wasm go build %s; run inside the module's source, or give a built engine): %v\n%s", enginePkg, err, stderr.String())
	}
	goroot, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("web: go env GOROOT: %w", err)
	}
	return Load(out, filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", WasmExecFile))
}

// Load reads a built engine.
func Load(wasmPath, wasmExecPath string) (*Engine, error) {
	w, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if !bytes.HasPrefix(w, []byte("\x00asm")) {
		return nil, fmt.Errorf("web: %s is not a WebAssembly module", wasmPath)
	}
	x, err := os.ReadFile(wasmExecPath)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return &Engine{Wasm: w, WasmExec: x}, nil
}

// Files returns the page's files with the engine: name → content.
func (e *Engine) Files() (map[string][]byte, error) {
	files := map[string][]byte{EngineFile: e.Wasm, WasmExecFile: e.WasmExec}
	for name, data := range e.artifacts {
		files[name] = data
	}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		files[strings.TrimPrefix(p, "static/")] = data
		return err
	})
	return files, err
}

// Export writes the page and the engine into dir, for a static host.
func (e *Engine) Export(dir string) error {
	files, err := e.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// GzipSize is the engine's size gzip-compressed, what a browser downloads.
func (e *Engine) GzipSize() int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(e.Wasm)
	zw.Close()
	return buf.Len()
}

var types = map[string]string{
	".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".png": "image/png",
	".json": "application/json", ".raw": "application/octet-stream", ".ccs": "application/octet-stream",
}

// Handler serves the page and the engine, the engine gzip-compressed to
// browsers that accept it.
func (e *Engine) Handler() (http.Handler, error) {
	files, err := e.Files()
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(e.Wasm)
	zw.Close()
	wasmGz := gz.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		data, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", types[path.Ext(name)])
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if name == EngineFile && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			h.Set("Vary", "Accept-Encoding")
			data = wasmGz
		}
		w.Write(data)
	}), nil
}

// ArtifactsIndex describes the artifacts served for one circuit id under
// /artifacts/<circuit id>/: index.json (this), proving.key.raw (the proving
// key uncompressed) and circuit.ccs (the compiled circuit). The wallet
// seeds its circuit cache with them; the holder library checks both
// against the issuer's manifest before using them.
type ArtifactsIndex struct {
	CircuitID     string `json:"circuit_id"`
	Depth         int    `json:"depth"`
	CircuitDigest string `json:"circuit_digest"`
}

// AddArtifacts prepares the artifacts of the keys in keysDir (a circuit
// keys directory: manifest.json, proving.key, verifying.key) for serving.
func (e *Engine) AddArtifacts(keysDir string) error {
	m, err := circuits.ReadManifest(keysDir)
	if err != nil {
		return err
	}
	c, err := circuits.Compile(m.Depth)
	if err != nil {
		return err
	}
	keys, err := circuits.Load(keysDir, c, circuits.LoadOptions{AllowDevelopment: true})
	if err != nil {
		return err
	}
	raw, err := circuits.EncodeRawProvingKey(keys.PK)
	if err != nil {
		return err
	}
	ccs, err := c.MarshalCompiled()
	if err != nil {
		return err
	}
	index, err := json.Marshal(ArtifactsIndex{CircuitID: m.CircuitID, Depth: m.Depth, CircuitDigest: c.Digest})
	if err != nil {
		return err
	}
	if e.artifacts == nil {
		e.artifacts = map[string][]byte{}
	}
	base := "artifacts/" + m.CircuitID + "/"
	e.artifacts[base+"index.json"] = index
	e.artifacts[base+circuits.RawProvingKeyFile] = raw
	e.artifacts[base+"circuit.ccs"] = ccs
	return nil
}
