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
// at the production depth, one by one and in batches, at GOMAXPROCS 1 and 2;
// then over HTTP against 1 and 3 replicas sharing one Redis (--redis URL,
// or a redis-server started for the run; --no-http skips it).
func runBenchVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench verifier", stderr)
	distinct := fs.Int("distinct", 8, "distinct proofs to make (batches repeat them)")
	minTime := fs.Duration("min-time", time.Second, "minimum time measured per figure")
	keys := fs.String("keys", "", "directory for cached development keys (default: user cache)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	redisURL := fs.String("redis", "", "Redis of the HTTP figures (default: start redis-server for the run)")
	httpTime := fs.Duration("http-time", 2*time.Second, "time measured per HTTP figure")
	noHTTP := fs.Bool("no-http", false, "in-process figures only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *minTime <= 0 || *minTime > time.Minute {
		return usageError("--min-time %v outside (0, 1m]", *minTime)
	}
	if *httpTime <= 0 || *httpTime > time.Minute {
		return usageError("--http-time %v outside (0, 1m]", *httpTime)
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
	if !*noHTTP {
		if r.HTTP, err = bench.VerifierHTTP(bench.VerifierHTTPOptions{RedisURL: *redisURL, Duration: *httpTime, Progress: progress}); err != nil {
			return err
		}
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
	if h := r.HTTP; h != nil {
		fmt.Fprintf(&b, "\nover HTTP (depth %d): %s\n", h.Depth, h.Setup)
		fmt.Fprintf(&b, "%-8s %-11s %-9s %10s %8s %8s %10s %12s %12s\n", "replicas", "concurrency", "max batch",
			"verif/s", "p50 ms", "p99 ms", "mean batch", "redis trips", "redis ms")
		for _, run := range h.Runs {
			fmt.Fprintf(&b, "%-8d %-11d %-9d %10.0f %8.2f %8.2f %10.1f %12.2f %12.3f\n", run.Replicas, run.Concurrency,
				run.MaxBatch, run.PerSecond, run.P50ms, run.P99ms, run.MeanBatch, run.RedisTripsPerVerification, run.RedisMsPerVerification)
		}
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
