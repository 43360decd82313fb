package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
)

// suiteSweeps are the sweeps other packages add to `yinzheng bench suite`
// (bench.Sweep): the verifier, one by one and batched.
var suiteSweeps = []bench.Sweep{{Name: "verifier", Run: verifierSweep}}

// verifierSweep measures in-process verifications per second at every
// GOMAXPROCS and batch size of bench.Verifier (0.3 s a figure with --quick,
// 1 s otherwise), with and without decoding the proofs.
func verifierSweep(quick bool, progress func(string)) ([]bench.Figure, error) {
	opts := bench.VerifierOptions{Progress: progress}
	if quick {
		opts.MinTime = 300 * time.Millisecond
	}
	rep, err := bench.Verifier(opts)
	if err != nil {
		return nil, err
	}
	var figs []bench.Figure
	for _, r := range rep.Runs {
		key := fmt.Sprintf("verifier/d%d/p%d/b%d", rep.Depth, r.GOMAXPROCS, r.Batch)
		figs = append(figs,
			bench.Figure{Key: key + "/verifications_per_s", Unit: "1/s", HigherIsBetter: true, Stats: bench.NewStats([]float64{r.PerSecond})},
			bench.Figure{Key: key + "/verifications_per_s_with_decode", Unit: "1/s", HigherIsBetter: true, Stats: bench.NewStats([]float64{r.PerSecondWithDecode})})
	}
	return figs, nil
}

// runBenchSuite implements `yinzheng bench suite [--quick] [--runs K]
// [--from results.json] --out DIR`.
func runBenchSuite(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench suite", stderr)
	quick := fs.Bool("quick", false, "the quick suite: fewer runs, PLONK at two depths, accumulator up to 10^6 leaves")
	out := fs.String("out", "", "directory for results.json, results.csv, the plots and report.md (required)")
	runs := fs.Int("runs", 0, "proving runs per configuration (default: 3 quick, 11 full)")
	from := fs.String("from", "", "measure nothing: redraw the plots and report from this results.json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("bench suite: --out DIR is required")
	}
	if *runs < 0 {
		return usageError("bench suite: --runs %d is negative", *runs)
	}
	if *from != "" {
		res, err := bench.ReadResults(*from)
		if err != nil {
			return err
		}
		return res.WriteAll(*out)
	}
	start := time.Now()
	res, err := bench.Suite(bench.SuiteOptions{
		Quick:    *quick,
		Runs:     *runs,
		Sweeps:   suiteSweeps,
		Progress: func(s string) { fmt.Fprintf(stderr, "bench suite: %s\n", s) },
	})
	if err != nil {
		return err
	}
	if err := res.WriteAll(*out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench suite: done in %.0f s\n", time.Since(start).Seconds())
	_, err = fmt.Fprintf(stdout, "%s\n", filepath.Join(*out, "report.md"))
	return err
}
