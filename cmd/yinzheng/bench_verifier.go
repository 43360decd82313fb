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
// then over HTTP, the OpenID4VP platform flow, against 1 and 3 replica
// processes of one CPU each (answers one by one and batched) and one of
// two CPUs, sharing one Redis (--redis
// URL, or a redis-server started for the run; --no-http skips it). The
// replicas are this executable started again with bench.ReplicaEnv set
// (main calls bench.MaybeServeReplica), not a subcommand.
func runBenchVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench verifier", stderr)
	distinct := fs.Int("distinct", 8, "distinct proofs to make (batches repeat them)")
	minTime := fs.Duration("min-time", time.Second, "minimum time measured per figure")
	keys := fs.String("keys", "", "directory for cached development keys (default: user cache)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	redisURL := fs.String("redis", "", "Redis of the HTTP figures (default: start redis-server for the run)")
	httpTime := fs.Duration("http-time", 2*time.Second, "time measured per HTTP figure")
	clients := fs.Int("http-clients", 16, "concurrent clients answering transactions in the HTTP figures (one figure has 1)")
	noHTTP := fs.Bool("no-http", false, "in-process figures only")
	httpOnly := fs.Bool("http-only", false, "HTTP figures only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *minTime <= 0 || *minTime > time.Minute {
		return usageError("--min-time %v outside (0, 1m]", *minTime)
	}
	if *httpTime <= 0 || *httpTime > time.Minute {
		return usageError("--http-time %v outside (0, 1m]", *httpTime)
	}
	if *clients < 1 || *clients > 256 {
		return usageError("--http-clients %d outside 1…256", *clients)
	}
	if *distinct < 1 || *distinct > 256 {
		return usageError("--distinct %d outside 1…256", *distinct)
	}
	if *noHTTP && *httpOnly {
		return usageError("--no-http and --http-only exclude each other")
	}
	progress := func(stage string) { fmt.Fprintf(stderr, "bench verifier: %s\n", stage) }
	if *quiet {
		progress = nil
	}
	httpOpts := bench.VerifierHTTPOptions{RedisURL: *redisURL, Duration: *httpTime, Concurrency: *clients, Progress: progress}
	if *httpOnly {
		h, err := bench.VerifierHTTP(httpOpts)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, struct {
				HTTP *bench.VerifierHTTPReport `json:"http"`
			}{h})
		}
		_, err = io.WriteString(stdout, httpTable(h))
		return err
	}
	r, err := bench.Verifier(bench.VerifierOptions{KeysDir: *keys, Distinct: *distinct, MinTime: *minTime, Progress: progress})
	if err != nil {
		return err
	}
	if !*noHTTP {
		if r.HTTP, err = bench.VerifierHTTP(httpOpts); err != nil {
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
	if r.HTTP != nil {
		b.WriteString("\n" + httpTable(r.HTTP))
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// httpTable is the text form of the HTTP figures.
func httpTable(h *bench.VerifierHTTPReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "over HTTP (depth %d, %d CPUs): %s\n", h.Depth, h.NumCPU, h.Setup)
	fmt.Fprintf(&b, "%-8s %-10s %-11s %-9s %10s %8s %8s %10s %12s %10s %12s %5s\n", "replicas", "GOMAXPROCS", "concurrency", "max batch",
		"verif/s", "p50 ms", "p99 ms", "mean batch", "redis trips", "redis ms", "replica cpu", "busy")
	for _, run := range h.Runs {
		fmt.Fprintf(&b, "%-8d %-10d %-11d %-9d %10.0f %8.2f %8.2f %10.1f %12.2f %10.3f %9.2f ms %5.2f\n", run.Replicas, run.GOMAXPROCS,
			run.Concurrency, run.MaxBatch, run.PerSecond, run.P50ms, run.P99ms, run.MeanBatch, run.RedisTripsPerVerification,
			run.RedisMsPerVerification, run.ReplicaCPUms, run.ReplicaBusy)
	}
	if len(h.LoadAverage) > 0 {
		fmt.Fprintf(&b, "load average (1, 5, 15 min) %s\n", strings.Join(h.LoadAverage, " → "))
	}
	if h.ThreeOverOne != h.ThreeOverOneUnbatched {
		fmt.Fprintf(&b, "three one-CPU replicas serve %.2f× one batched, %.2f× one by one\n", h.ThreeOverOne, h.ThreeOverOneUnbatched)
	} else {
		fmt.Fprintf(&b, "three one-CPU replicas serve %.2f× one\n", h.ThreeOverOne)
	}
	return b.String()
}
