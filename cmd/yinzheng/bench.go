package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/wallet/web"
)

// benchmarks lists the `yinzheng bench` subcommands.
func benchmarks() map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) error{
		"circuit":    runBenchCircuit,
		"revocation": runBenchRevocation,
		"verifier":   runBenchVerifier,
		"suite":      runBenchSuite,
		"compare":    runBenchCompare,
		"issuance":   runBenchIssuance,
	}
}

// runBench dispatches `yinzheng bench circuit|revocation|verifier|suite|compare …`.
func runBench(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	all := benchmarks()
	if len(args) == 0 {
		return usageError("usage: yinzheng bench circuit|revocation|verifier|issuance|suite|compare [flags]")
	}
	run, ok := all[args[0]]
	if !ok {
		return usageError("unknown benchmark %q", args[0])
	}
	return run(args[1:], stdin, stdout, stderr)
}

// runBenchCircuit implements `yinzheng bench circuit [--depth N] [--runs K]
// [--backend groth16|plonk] --json`.
func runBenchCircuit(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench circuit", stderr)
	depth := fs.Int("depth", circuits.ProductionDepth, "accumulator depth")
	runs := fs.Int("runs", 10, "number of proofs to time (verifications: 5× as many)")
	backend := fs.String("backend", bench.BackendGroth16, "groth16 or plonk")
	keys := fs.String("keys", "", "directory for cached development keys (default: user cache)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	wasm := fs.Bool("wasm", false, "also time the prover built for WebAssembly, under node (single-threaded, as in a browser worker), and report the browser wallet's download sizes; needs the module's source, the Go toolchain and node")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	progress := func(stage string) { fmt.Fprintf(stderr, "bench circuit: %s\n", stage) }
	if *quiet {
		progress = nil
	}
	r, err := bench.Presentation(bench.CircuitOptions{Depth: *depth, Runs: *runs, Backend: *backend, KeysDir: *keys, Progress: progress})
	if err != nil {
		return err
	}
	var wr *wasmReport
	if *wasm {
		if wr, err = benchWasm(*depth, *keys, progress); err != nil {
			return err
		}
		if wr.ProveMsMedian > 0 && r.ProveMsMedian > 0 {
			wr.RatioToNative = wr.ProveMsMedian / r.ProveMsMedian
		}
	}
	if *asJSON {
		if wr != nil {
			return writeJSON(stdout, struct {
				*bench.CircuitReport
				Wasm *wasmReport `json:"wasm"`
			}{r, wr})
		}
		return writeJSON(stdout, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s depth %d: %d %s constraints, %d public inputs\n", r.Backend, r.Depth, r.Constraints, r.ConstraintKind, r.PublicInputs)
	fmt.Fprintf(&b, "prove %.1f ms (median of %d, GOMAXPROCS=%d), verify %.2f ms, witness %.2f ms\n", r.ProveMsMedian, r.Runs, r.GOMAXPROCS, r.VerifyMsMedian, r.WitnessMsMedian)
	fmt.Fprintf(&b, "proof %d B, proving key %d B, peak RSS %.1f MiB (%s)\n", r.ProofBytes, r.ProvingKeyBytes, float64(r.PeakRSSBytes)/(1<<20), r.PeakRSSScope)
	if wr != nil {
		fmt.Fprintf(&b, "WebAssembly (%s, one thread): prove %.0f ms (median of %d, %.1f× native); compile %.0f ms or %.0f ms from the cached circuit; proving key %.0f ms compressed, %.0f ms uncompressed\n",
			wr.Runtime, wr.ProveMsMedian, len(wr.ProveMs), wr.RatioToNative, wr.CompileMs, wr.CompiledFromCacheMs, wr.ProvingKeyCompressedMs, wr.ProvingKeyUncompressedMs)
		fmt.Fprintf(&b, "browser wallet downloads: engine %d B (%d B gzipped), proving key %d B compressed (%d B uncompressed)\n",
			wr.EngineBytes, wr.EngineGzipBytes, wr.ProvingKeyBytes, wr.RawProvingKeyBytes)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// wasmReport holds the WebAssembly figures of bench circuit --wasm.
type wasmReport struct {
	Runtime                  string    `json:"runtime"`
	CompileMs                float64   `json:"compile_ms"`
	CompiledFromCacheMs      float64   `json:"compiled_from_cache_ms"`
	ProvingKeyCompressedMs   float64   `json:"proving_key_compressed_ms"`
	ProvingKeyUncompressedMs float64   `json:"proving_key_uncompressed_ms"`
	ProveMs                  []float64 `json:"prove_ms"`
	ProveMsMedian            float64   `json:"prove_ms_median"`
	RatioToNative            float64   `json:"ratio_to_native"`
	EngineBytes              int       `json:"engine_bytes"`
	EngineGzipBytes          int       `json:"engine_gzip_bytes"`
	ProvingKeyBytes          int       `json:"proving_key_bytes"`
	RawProvingKeyBytes       int       `json:"raw_proving_key_bytes"`
}

// benchWasm builds bench/wasmprove and the browser wallet's engine for
// GOOS=js GOARCH=wasm and runs the prover under node, five proofs.
func benchWasm(depth int, keysDir string, progress func(string)) (*wasmReport, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if keysDir == "" {
		d, err := bench.DefaultKeysDir(depth)
		if err != nil {
			return nil, err
		}
		keysDir = d
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("bench circuit --wasm runs the WebAssembly prover under node, which is not on PATH")
	}
	// The uncompressed copy the prover reads is written by a native load.
	if m, err := circuits.ReadManifest(keysDir); err == nil {
		if c, err := circuits.Compile(m.Depth); err == nil {
			_, _ = circuits.Load(keysDir, c, circuits.LoadOptions{AllowDevelopment: true, KeepUncompressed: true})
		}
	}
	tmp, err := os.MkdirTemp("", "yinzheng-wasm-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	progress("building the WebAssembly prover (GOOS=js GOARCH=wasm)")
	prover := filepath.Join(tmp, "wasmprove.wasm")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", prover, "github.com/yinzheng-id/yinzheng/bench/wasmprove")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the WebAssembly prover (run inside the module's source): %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, err
	}
	progress("proving under node")
	run := exec.Command(node, filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec_node.js"), prover, keysDir, "5")
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		return nil, fmt.Errorf("the WebAssembly prover: %v\n%s", err, stderr.String())
	}
	r := &wasmReport{Runtime: "node " + nodeVersion(node)}
	if err := json.Unmarshal(out, r); err != nil {
		return nil, fmt.Errorf("the WebAssembly prover printed %q: %v", out, err)
	}
	sorted := slices.Clone(r.ProveMs)
	slices.Sort(sorted)
	if len(sorted) > 0 {
		r.ProveMsMedian = sorted[len(sorted)/2]
	}
	progress("building the browser wallet's engine")
	engine, err := web.Build(context.Background(), filepath.Join(tmp, "engine"))
	if err != nil {
		return nil, err
	}
	r.EngineBytes, r.EngineGzipBytes = len(engine.Wasm), engine.GzipSize()
	if st, err := os.Stat(filepath.Join(keysDir, "proving.key")); err == nil {
		r.ProvingKeyBytes = int(st.Size())
	}
	if st, err := os.Stat(filepath.Join(keysDir, circuits.RawProvingKeyFile)); err == nil {
		r.RawProvingKeyBytes = int(st.Size())
	}
	return r, nil
}

func nodeVersion(node string) string {
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(v))
}
