package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
)

// runBenchVerifier implements `yinzheng bench verifier [--distinct N]
// [--min-time D] [--keys DIR] --json`: in-process verifications per second
// at the production depth, one by one and in batches, at GOMAXPROCS 1 and 2.
func runBenchVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench verifier", stderr)
	distinct := fs.Int("distinct", 8, "distinct proofs to make (batches repeat them)")
	minTime := fs.Duration("min-time", time.Second, "minimum time measured per figure")
	keys := fs.String("keys", "", "directory for cached development keys (default: user cache)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *minTime <= 0 || *minTime > time.Minute {
		return usageError("--min-time %v outside (0, 1m]", *minTime)
	}
	if *distinct < 1 || *distinct > 256 {
		return usageError("--distinct %d outside 1…256", *distinct)
	}
	progress := func(stage string) { fmt.Fprintf(stderr, "bench verifier: %s\n", stage) }
	if *quiet {
		progress = nil
	}
	r, err := bench.Verifier(bench.VerifierOptions{KeysDir: *keys, Distinct: *distinct, MinTime: *minTime, Progress: progress})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "groth16 depth %d, %d public inputs, %d distinct proofs, %d-bit batch weights (%d CPUs)\n",
		r.Depth, r.PublicInputs, r.DistinctProofs, r.WeightBits, r.NumCPU)
	fmt.Fprintf(&b, "%-10s %-6s %14s %8s %18s %8s\n", "GOMAXPROCS", "batch", "verif/s", "speedup", "verif/s (decode)", "speedup")
	for _, run := range r.Runs {
		fmt.Fprintf(&b, "%-10d %-6d %14.0f %7.2f× %18.0f %7.2f×\n",
			run.GOMAXPROCS, run.Batch, run.PerSecond, run.Speedup, run.PerSecondWithDecode, run.SpeedupWithDecode)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
