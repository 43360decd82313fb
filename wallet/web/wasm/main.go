//go:build js && wasm

// Command wasm is the browser wallet's engine: the holder library built for
// GOOS=js GOARCH=wasm, run in a Web Worker (worker.js). It exposes a few
// functions on globalThis.yinzheng, each returning a Promise of a JSON
// string, and calls globalThis.yinzhengProgress(stage) as a proof goes.
//
// The wallet lives in a directory of the worker's in-memory file system
// (memfs.js), which the worker persists to IndexedDB: wallet.key (the data
// key sealed under the passphrase with Argon2id and SM4-GCM, exactly as the
// command-line wallet, package internal/seal), wallet.sealed (the state
// sealed under the data key) and the public circuit cache. Nothing leaves
// the browser unsealed. The page never sees the holder secret, only the
// recovery phrase once at creation.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall/js"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/wallet/flow"
)

// walletDir is the wallet's directory in the worker's file system.
const walletDir = "/wallet"

type session struct {
	mu     sync.Mutex
	w      *holder.Wallet
	opened *flow.Opened
	answer []byte
}

var s session

func main() {
	api := map[string]any{
		"exists":         fn(exists),
		"create":         fn(create),
		"unlock":         fn(unlock),
		"lock":           fn(lock),
		"holderRequest":  fn(holderRequest),
		"importBundle":   fn(importBundle),
		"credentials":    fn(credentials),
		"openRequest":    fn(openRequest),
		"answer":         fn(answer),
		"post":           fn(post),
		"decline":        fn(decline),
		"trustRegistrar": fn(trustRegistrar),
		"registrars":     fn(registrars),
	}
	js.Global().Set("yinzheng", js.ValueOf(api))
	js.Global().Call("yinzhengReady")
	select {}
}

// fn wraps a Go function as a JavaScript one returning a Promise: the work
// runs on its own goroutine, since a call that waits on the network (fetch)
// must not block the event loop that delivers its answer.
func fn(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, pa []js.Value) any {
			resolve, reject := pa[0], pa[1]
			go func() {
				v, err := f(args)
				if err != nil {
					reject.Invoke(js.Global().Get("Error").New(err.Error()))
					return
				}
				data, err := json.Marshal(v)
				if err != nil {
					reject.Invoke(js.Global().Get("Error").New(err.Error()))
					return
				}
				resolve.Invoke(string(data))
			}()
			return nil
		}))
	})
}

func arg(args []js.Value, i int) string {
	if i >= len(args) || args[i].Type() != js.TypeString {
		return ""
	}
	return args[i].String()
}

func progress(stage string) {
	if p := js.Global().Get("yinzhengProgress"); p.Type() == js.TypeFunction {
		p.Invoke(stage)
	}
}

var errLocked = errors.New("the wallet is locked: unlock it with its passphrase")

func exists(args []js.Value) (any, error) {
	_, err := os.Stat(filepath.Join(walletDir, "wallet.key"))
	return map[string]bool{"exists": err == nil}, nil
}

func create(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, phrase, err := holder.Init(walletDir, []byte(arg(args, 0)), holder.Options{})
	if err != nil {
		return nil, err
	}
	s.w = w
	return map[string]string{"phrase": phrase, "holder_commitment": zkhash.FormatElement(w.HolderCommitment())}, nil
}

func unlock(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	start := time.Now()
	w, err := holder.Open(walletDir, []byte(arg(args, 0)), holder.Options{})
	if err != nil {
		return nil, err
	}
	s.w = w
	return map[string]any{"holder_commitment": zkhash.FormatElement(w.HolderCommitment()), "ms": msSince(start)}, nil
}

func lock(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	s.opened, s.answer = nil, nil
	return map[string]bool{"locked": true}, nil
}

func wallet() (*holder.Wallet, error) {
	if s.w == nil {
		return nil, errLocked
	}
	return s.w, nil
}

func holderRequest(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	return w.Request()
}

// sourcesFile maps issuer identifiers to the URL their publication is
// read from, when that is not the identifier itself (an issuer service
// reached at another address). It is not sealed: it names issuers, and is
// the holder's own device's file.
const sourcesFile = walletDir + "/sources.json"

func readSources() map[string]string {
	m := map[string]string{}
	if data, err := os.ReadFile(sourcesFile); err == nil {
		_ = json.Unmarshal(data, &m)
	}
	return m
}

// sourceFor returns where the issuer's publication is read from.
func sourceFor(issuer string) (publication.Source, error) {
	u := issuer
	if m, ok := readSources()[issuer]; ok {
		u = m
	}
	if err := publication.CheckURL(u); err != nil {
		return nil, fmt.Errorf("the issuer %q is not a URL to fetch its publication from (%v); give the issuer service URL", issuer, err)
	}
	return publication.HTTPSource(u, nil), nil
}

func importBundle(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	b, err := holder.ParseBundle([]byte(arg(args, 0)))
	if err != nil {
		return nil, err
	}
	if u := arg(args, 1); u != "" {
		if err := publication.CheckURL(u); err != nil {
			return nil, err
		}
		m := readSources()
		m[b.Issuer] = u
		data, _ := json.Marshal(m)
		if err := os.WriteFile(sourcesFile, data, 0o600); err != nil {
			return nil, err
		}
	}
	src, err := sourceFor(b.Issuer)
	if err != nil {
		return nil, err
	}
	return w.Import(context.Background(), b, src)
}

func credentials(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	return w.Credentials(), nil
}

func openRequest(args []js.Value) (any, error) {
	s.mu.Lock()
	w, err := wallet()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	o, err := flow.Open(context.Background(), w, arg(args, 0), nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.opened, s.answer = o, nil
	s.mu.Unlock()
	req := o.Authorized.Request()
	return map[string]any{"consent": o.Consent, "zk": o.ZK, "response_uri": o.Authorized.ResponseURI(),
		"platform": o.Platform, "issuer": req.Issuer}, nil
}

// trustRegistrar pins the registrar root certificates (PEM) whose
// registered platforms the wallet answers, as `holder trust` does.
func trustRegistrar(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	roots, err := w.TrustRegistrar([]byte(arg(args, 0)))
	if err != nil {
		return nil, err
	}
	return registrarList(roots), nil
}

// registrars lists the pinned registrar roots.
func registrars(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	roots, err := w.Registrars()
	if errors.Is(err, holder.ErrNoRegistrar) {
		return []map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return registrarList(roots), nil
}

func registrarList(roots *registry.Roots) []map[string]string {
	list := []map[string]string{}
	for _, c := range roots.Certificates() {
		list = append(list, map[string]string{"name": c.Subject.CommonName, "sha256": registry.Fingerprint(c)})
	}
	return list
}

func answer(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := wallet()
	if err != nil {
		return nil, err
	}
	if s.opened == nil {
		return nil, errors.New("no request is open")
	}
	var warnings []string
	start := time.Now()
	progress("proving")
	var src publication.Source
	if s.opened.ZK {
		req := s.opened.Authorized.Request()
		if src, err = sourceFor(req.Issuer); err != nil {
			return nil, err
		}
		progress("loading the circuit")
		seedArtifacts(req.CircuitID)
		progress("proving")
	}
	data, err := flow.Answer(context.Background(), w, s.opened, src, holder.ProveOptions{
		Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		return nil, err
	}
	s.answer = data
	progress("done")
	return map[string]any{"presentation": json.RawMessage(data), "ms": msSince(start), "warnings": warnings}, nil
}

func post(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened == nil || s.answer == nil {
		return nil, errors.New("no answer to post")
	}
	redirect, err := flow.Post(context.Background(), nil, s.opened, s.answer)
	if err != nil {
		return nil, err
	}
	platform := s.opened.Platform
	s.opened, s.answer = nil, nil // a nonce is single use
	return map[string]string{"platform": platform, "redirect_uri": redirect}, nil
}

// decline tells the platform the holder refused the open request.
func decline(args []js.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened == nil {
		return nil, errors.New("no request is open")
	}
	redirect, err := flow.Decline(context.Background(), nil, s.opened)
	s.opened, s.answer = nil, nil
	if err != nil {
		return nil, err
	}
	return map[string]string{"redirect_uri": redirect}, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// seedArtifacts puts the uncompressed proving key and the compiled circuit
// that the page's own origin serves for circuitID into the wallet's circuit
// cache, unless they are there already. They are only a head start: the
// library checks the key against the issuer's manifest (every point on the
// curve, the recompressed key's digest) and the circuit against its digest,
// and decodes or compiles its own when a copy is missing or fails.
func seedArtifacts(circuitID string) {
	if !circuits.IsDigestName(circuitID) {
		return
	}
	keyDir := filepath.Join(holder.CircuitCacheDir(walletDir), circuitID)
	if _, err := os.Stat(filepath.Join(keyDir, circuits.RawProvingKeyFile)); err == nil {
		return
	}
	origin := js.Global().Get("location").Get("origin").String()
	base := origin + "/artifacts/" + circuitID + "/"
	get := func(name string, limit int64) []byte {
		resp, err := http.Get(base + name)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil || int64(len(data)) > limit {
			return nil
		}
		return data
	}
	var index struct {
		CircuitID     string `json:"circuit_id"`
		Depth         int    `json:"depth"`
		CircuitDigest string `json:"circuit_digest"`
	}
	if data := get("index.json", 4096); data == nil || json.Unmarshal(data, &index) != nil || index.CircuitID != circuitID || !circuits.IsDigestName(index.CircuitDigest) {
		return
	}
	raw, ccs := get(circuits.RawProvingKeyFile, 256<<20), get("circuit.ccs", 256<<20)
	if raw == nil || ccs == nil || os.MkdirAll(keyDir, 0o700) != nil {
		return
	}
	_ = os.WriteFile(filepath.Join(keyDir, circuits.RawProvingKeyFile), raw, 0o600)
	_ = os.WriteFile(circuits.CompiledCacheFile(holder.CircuitCacheDir(walletDir), index.Depth, index.CircuitDigest), ccs, 0o600)
}
