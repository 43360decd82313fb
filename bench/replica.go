package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wire"
)

// ReplicaEnv is the environment variable that turns an executable linking
// this package into one replica of the HTTP benchmark (ServeReplica on
// stdin and stdout) instead of its normal self. VerifierHTTP sets it
// ("1") on the child processes it starts from its own executable; the
// executable's main (cmd/yinzheng's, or a test binary's TestMain) checks
// it with [MaybeServeReplica] before anything else. It is not a command:
// a replica is configured by its parent on stdin, never by a user.
const ReplicaEnv = "YINZHENG_BENCH_REPLICA"

// MaybeServeReplica runs ServeReplica on the process's stdin and stdout
// and exits when ReplicaEnv is set; otherwise it returns at once.
func MaybeServeReplica() {
	if os.Getenv(ReplicaEnv) == "" {
		return
	}
	if err := ServeReplica(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench replica: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// benchDomain is the throwaway registered platform of the HTTP benchmark.
const benchDomain = "platform-bench.example"

// replicaConfig is what the parent sends a replica, as one JSON line on
// its stdin (never on the command line or in the environment: it carries
// the platform passphrase and the API token).
type replicaConfig struct {
	RedisURL       string `json:"redis_url"`
	PublicationDir string `json:"publication_dir"`
	// VerifierDir holds trust.json (the pinned benchmark issuer).
	VerifierDir        string `json:"verifier_dir"`
	PlatformDir        string `json:"platform_dir"`
	PlatformPassphrase string `json:"platform_passphrase"`
	APIToken           string `json:"api_token"`
	// Nonces is this replica's cycle of request ids and nonces (see
	// cyclicRand); replicas get disjoint cycles.
	Nonces []byte `json:"nonces"`
	// MaxBatch bounds the answers verified together (1: one by one).
	MaxBatch int `json:"max_batch"`
}

// replicaHello is the replica's first line on stdout.
type replicaHello struct {
	Addr       string `json:"addr,omitempty"`
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
	Error      string `json:"error,omitempty"`
}

// replicaStats is a replica's answer to "stats": counters since it started.
type replicaStats struct {
	RedisRoundTrips uint64 `json:"redis_round_trips"`
	RedisNanos      int64  `json:"redis_ns"`
	// Answers verified, and in how many calls to the verifier (a batch
	// is one call).
	Verified int64 `json:"verified"`
	Calls    int64 `json:"calls"`
	// CPUNanos is the process's user+system CPU time.
	CPUNanos int64 `json:"cpu_ns"`
}

// countingVerifier counts the answers the platform service verifies.
type countingVerifier struct {
	verifierapi.TransactionVerifier
	verified, calls atomic.Int64
}

func (c *countingVerifier) VerifyResponse(ctx context.Context, state string, vpToken []byte, expected *wire.RequestObject) (*verifier.Result, error) {
	c.calls.Add(1)
	c.verified.Add(1)
	return c.TransactionVerifier.VerifyResponse(ctx, state, vpToken, expected)
}

// countingBatchVerifier also verifies answers in batches, counting them.
type countingBatchVerifier struct {
	*countingVerifier
	bv verifierapi.ResponseBatchVerifier
}

func (c *countingBatchVerifier) VerifyResponses(ctx context.Context, items []verifier.ResponseItem) []verifier.BatchResult {
	c.calls.Add(1)
	c.verified.Add(int64(len(items)))
	return c.bv.VerifyResponses(ctx, items)
}

// ServeReplica is one replica of the HTTP benchmark: the platform service
// (verifier/httpapi.NewPlatform) of the benchmark's registered platform on
// a loopback port, its store the shared Redis. It reads its configuration
// as one JSON line from in, answers one JSON line on out with its address
// (or the error that stopped it), then a JSON line of counters
// (replicaStats) for every "stats" line read, and stops when in closes.
func ServeReplica(in io.Reader, out io.Writer) error {
	lines := bufio.NewReader(in)
	enc := json.NewEncoder(out)
	fail := func(err error) error {
		_ = enc.Encode(replicaHello{Error: err.Error()})
		return err
	}
	line, err := lines.ReadBytes('\n')
	if err != nil {
		return fail(fmt.Errorf("reading the configuration: %w", err))
	}
	var cfg replicaConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return fail(fmt.Errorf("configuration: %w", err))
	}
	if len(cfg.Nonces) == 0 || len(cfg.Nonces)%idNonceSize != 0 {
		return fail(fmt.Errorf("configuration: %d nonce bytes, want a multiple of %d", len(cfg.Nonces), idNonceSize))
	}
	trust, err := verifier.ReadTrust(cfg.VerifierDir)
	if err != nil {
		return fail(err)
	}
	store, err := verifier.OpenRedisStore(cfg.RedisURL, os.Getenv("YINZHENG_REDIS_PASSWORD"))
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	v, err := verifier.New(verifier.Options{Source: publication.DirSource(cfg.PublicationDir), Trust: trust, Store: store,
		Rand: &cyclicRand{data: cfg.Nonces}, AllowDevelopmentKeys: true})
	if err != nil {
		return fail(err)
	}
	defer v.Close()
	p, err := registry.LoadPlatform(cfg.PlatformDir, []byte(cfg.PlatformPassphrase))
	if err != nil {
		return fail(err)
	}
	pl := &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration, Status: p.Status}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httpserv.New(httpserv.Config{Name: "bench-replica", Rate: -1, MaxConns: 1024, Logger: log})
	cv := &countingVerifier{TransactionVerifier: v}
	var tv verifierapi.TransactionVerifier = cv
	if cfg.MaxBatch > 1 {
		tv = &countingBatchVerifier{countingVerifier: cv, bv: v}
	}
	if _, err := verifierapi.NewPlatform(srv, tv, verifierapi.PlatformOptions{Platform: pl, APIToken: cfg.APIToken,
		PublicURL: "https://" + benchDomain, QuotaPerMinute: 1 << 30, MaxBatch: max(cfg.MaxBatch, 1), Logger: log}); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	if err := enc.Encode(replicaHello{Addr: ln.Addr().String(), GOMAXPROCS: runtime.GOMAXPROCS(0)}); err != nil {
		cancel()
		<-served
		return err
	}
	for {
		line, err := lines.ReadString('\n')
		if strings.TrimSpace(line) == "stats" {
			st := store.Stats()
			if err := enc.Encode(replicaStats{RedisRoundTrips: st.RoundTrips, RedisNanos: int64(st.Time),
				Verified: cv.verified.Load(), Calls: cv.calls.Load(), CPUNanos: cpuNanos()}); err != nil {
				break
			}
		}
		if err != nil {
			break // the parent closed stdin (or died): stop
		}
	}
	cancel()
	return <-served
}

// replica is a running replica process, seen from the parent.
type replica struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tailBuffer
	url    string
	procs  int
	mu     sync.Mutex // one stats exchange at a time
}

// startReplica starts exe as a replica with GOMAXPROCS procs and sends it
// cfg.
func startReplica(exe string, procs int, cfg *replicaConfig) (*replica, error) {
	cmd := exec.Command(exe)
	env := []string{ReplicaEnv + "=1", fmt.Sprintf("GOMAXPROCS=%d", procs)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ReplicaEnv+"=") && !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	r := &replica{cmd: cmd, stderr: &tailBuffer{max: 4096}, procs: procs}
	cmd.Stderr = r.stderr
	var err error
	if r.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting a replica (%s): %w", exe, err)
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		r.stop()
		return nil, err
	}
	var hello replicaHello
	if _, err = r.in.Write(append(data, '\n')); err == nil {
		err = r.read(&hello, 2*time.Minute)
	}
	switch {
	case err != nil:
		r.stop()
		return nil, fmt.Errorf("bench: replica did not start: %w (%s)", err, r.stderr)
	case hello.Error != "":
		r.stop()
		return nil, fmt.Errorf("bench: replica did not start: %s", hello.Error)
	case hello.GOMAXPROCS != procs:
		r.stop()
		return nil, fmt.Errorf("bench: replica runs at GOMAXPROCS %d, not the %d asked", hello.GOMAXPROCS, procs)
	}
	r.url = "http://" + hello.Addr
	return r, nil
}

// errReplicaSilent means a replica did not answer in time.
var errReplicaSilent = errors.New("bench: the replica did not answer")

// read decodes the replica's next stdout line into v.
func (r *replica) read(v any, timeout time.Duration) error {
	type answer struct {
		line []byte
		err  error
	}
	c := make(chan answer, 1)
	go func() {
		line, err := r.out.ReadBytes('\n')
		c <- answer{line, err}
	}()
	select {
	case a := <-c:
		if a.err != nil {
			return a.err
		}
		return json.Unmarshal(a.line, v)
	case <-time.After(timeout):
		return errReplicaSilent
	}
}

// stats asks the replica for its counters.
func (r *replica) stats() (replicaStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var st replicaStats
	if _, err := io.WriteString(r.in, "stats\n"); err != nil {
		return st, err
	}
	err := r.read(&st, 30*time.Second)
	return st, err
}

// stop closes the replica's stdin, which stops it, and waits; a replica
// that does not stop in 10 s is killed.
func (r *replica) stop() {
	r.in.Close()
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// tailBuffer keeps the last max bytes written (a replica's stderr, for
// error messages).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(bytes.TrimSpace(b.buf))
	if s == "" {
		return "no output on stderr"
	}
	return s
}
