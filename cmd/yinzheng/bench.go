package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
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
	if *asJSON {
		return writeJSON(stdout, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s depth %d: %d %s constraints, %d public inputs\n", r.Backend, r.Depth, r.Constraints, r.ConstraintKind, r.PublicInputs)
	fmt.Fprintf(&b, "prove %.1f ms (median of %d, GOMAXPROCS=%d), verify %.2f ms, witness %.2f ms\n", r.ProveMsMedian, r.Runs, r.GOMAXPROCS, r.VerifyMsMedian, r.WitnessMsMedian)
	fmt.Fprintf(&b, "proof %d B, proving key %d B, peak RSS %.1f MiB (%s)\n", r.ProofBytes, r.ProvingKeyBytes, float64(r.PeakRSSBytes)/(1<<20), r.PeakRSSScope)
	_, err = io.WriteString(stdout, b.String())
	return err
}
