package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wire"
)

// HTTPDepth is the tree depth of the HTTP benchmark's proofs. Verifying a
// proof costs the same at every depth (the public inputs and the
// verifying key do not change with it); proving does not, and the
// benchmark proves its presentations first.
const HTTPDepth = 4

// VerifierHTTPOptions configure the verifier benchmark over HTTP.
type VerifierHTTPOptions struct {
	KeysDir  string        // development keys cache (a user cache directory when empty)
	RedisURL string        // the shared store; empty starts a redis-server for the run
	Duration time.Duration // measured time per figure (2 s when 0)
	// Concurrency is the number of clients posting answers at once (16
	// when 0); one more figure has a single client.
	Concurrency int
	// Executable is the program started for each replica, with ReplicaEnv
	// set (the running executable when empty): its main must call
	// MaybeServeReplica first, as yinzheng's does.
	Executable string
	Progress   func(stage string)
}

// VerifierHTTPReport holds the figures over HTTP.
type VerifierHTTPReport struct {
	Depth int `json:"depth"`
	// Setup says how the replicas and their load run.
	Setup  string `json:"setup"`
	NumCPU int    `json:"num_cpu"`
	// LoadAverage is /proc/loadavg when the figures start and when they
	// end (Linux; empty elsewhere): other work on the machine moves them.
	LoadAverage []string          `json:"load_average,omitempty"`
	Runs        []VerifierHTTPRun `json:"runs"`
	// ThreeOverOne is the throughput of three one-CPU replicas over one's,
	// at the same concurrency, answers batched (and ThreeOverOneUnbatched
	// one by one): at most NumCPU on this machine, since the replicas (and
	// the clients) share its CPUs.
	ThreeOverOne          float64 `json:"three_replicas_over_one"`
	ThreeOverOneUnbatched float64 `json:"three_replicas_over_one_unbatched"`
}

// VerifierHTTPRun is one figure: verifications per second through the
// platform flow and the latency of the wallet's answer, at one number of
// replica processes, their GOMAXPROCS and the number of concurrent clients.
type VerifierHTTPRun struct {
	Replicas int `json:"replicas"`
	// GOMAXPROCS of every replica process (its CPU limit).
	GOMAXPROCS  int `json:"replica_gomaxprocs"`
	Concurrency int `json:"concurrency"`
	MaxBatch    int `json:"max_batch"`
	// PerSecond counts the transactions whose answer was taken (200) and
	// whose verdict, read back by the backend, was valid.
	PerSecond float64 `json:"verifications_per_s"`
	// Latency of POST /openid4vp/response (the wallet's answer, which
	// the replica verifies before answering).
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Verified int     `json:"verified"`
	Errors   int     `json:"errors"`
	// FirstError is the first failed answer's or verdict's error, if any.
	FirstError string `json:"first_error,omitempty"`
	// CreateRetries counts the transactions the service could not make
	// (503, retry later: on a loaded machine its store can time out) and
	// that were asked again; FirstRetry is the first one's error, with
	// what the replica logged.
	CreateRetries int    `json:"create_retries"`
	FirstRetry    string `json:"first_retry,omitempty"`
	// MeanBatch is the mean number of answers verified together.
	MeanBatch float64 `json:"mean_batch"`
	// Redis round trips per verification, counted in the replicas, the
	// whole transaction included: record it (SET NX), read it for the
	// answer (two GETs: the service's pending check, the verifier's
	// read), consume it with its verdict (a script), read the verdict for
	// the backend.
	// The time is the replica's wall time from sending a command to
	// reading its answer: under load it includes waiting for the
	// replica's CPU, so the one-client figure is the round trips' own
	// cost.
	RedisTripsPerVerification float64 `json:"redis_round_trips_per_verification"`
	RedisMsPerVerification    float64 `json:"redis_ms_per_verification"`
	RedisMsPerTrip            float64 `json:"redis_ms_per_round_trip"`
	// ReplicaCPUms is the replicas' CPU time (user + system) per
	// verification: the request object's signature, the proof's check, the
	// HTTP and Redis work.
	ReplicaCPUms float64 `json:"replica_cpu_ms_per_verification"`
	// ReplicaBusy is the replicas' CPU time over the time measured, per
	// replica: 1 is a replica using its one CPU the whole time.
	ReplicaBusy float64 `json:"replica_cpu_busy"`
	// ClientCPUms is the bench process's CPU time per verification: the
	// clients share the machine with the replicas.
	ClientCPUms float64 `json:"client_cpu_ms_per_verification"`
}

// benchIssuer is the issuer id of the benchmark's publication.
const benchIssuer = "https://issuer.bench.example"

// The HTTP benchmark makes its transactions with producers concurrent
// clients, and distinctPerClient proofs per posting client plus two per
// producer; transactions reuse them (see cyclicRand), so there must be
// more than the transactions outstanding at once: the queue (one per
// client), the clients', and two per producer (one being made, one
// waiting for room). Eight producers: with four, making transactions
// capped the figures near 400/s on this machine (the replicas' CPUs were
// not busy); with sixteen, their transactions waiting cost more than they
// gave.
const (
	producers         = 8
	distinctPerClient = 3
)

// cyclicRand replays a fixed sequence of request ids and nonces forever,
// so that transaction k and k+len(data)/idNonceSize of one replica get the
// same id and nonce: one proof answers both. A verifier reads a request's
// id and nonce in one read of idNonceSize bytes (other reads get fresh
// random bytes), so concurrent requests each get a whole pair. It is only
// sound because each transaction is answered (consumed) before its pair
// comes round again, and because replicas get disjoint sequences.
type cyclicRand struct {
	mu   sync.Mutex
	data []byte
	off  int
}

// idNonceSize is what the verifier reads for a request's id and nonce.
const idNonceSize = 16 + verifier.NonceSize

func (c *cyclicRand) Read(p []byte) (int, error) {
	if len(p) != idNonceSize {
		return rand.Read(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	copy(p, c.data[c.off:])
	c.off = (c.off + idNonceSize) % len(c.data)
	return len(p), nil
}

// httpSetup is the Setup text of the report.
const httpSetup = "the OpenID4VP platform flow of verifier/httpapi.NewPlatform, for a platform registered with a throwaway registrar: " +
	"POST /v1/transactions with the API token, POST /openid4vp/response with the form state + vp_token (a Groth16 presentation), " +
	"then GET /v1/transactions/{id}, every verdict checked valid (the wallet's request_uri fetch is left out: the proofs are made beforehand). " +
	"Each replica is a separate process (the bench's own executable, GOMAXPROCS=N, like a container with an N-CPU limit), " +
	"all on one redis-server on loopback; the clients run in the bench process, on the same machine: 8 make transactions, " +
	"the others answer them round robin over the replicas. The 1-vs-3 figures use one-CPU replicas at the same concurrency; " +
	"on a 2-core machine three of them can serve at most twice what one does. The last figure is one replica with GOMAXPROCS=2, " +
	"the whole machine. Proofs are reused through recurring nonces (each replica its own cycle, each transaction answered before its nonce comes round)."

// VerifierHTTP measures the verifier's platform service over HTTP: one
// and three replica processes of one CPU each sharing one Redis, and one
// replica with two CPUs, loaded by concurrent clients in this process.
func VerifierHTTP(opts VerifierHTTPOptions) (*VerifierHTTPReport, error) {
	if opts.Duration == 0 {
		opts.Duration = 2 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 16
	}
	if opts.Concurrency < 1 || opts.Concurrency > 256 {
		return nil, fmt.Errorf("bench: concurrency %d outside 1…256", opts.Concurrency)
	}
	if opts.Duration < 0 || opts.Duration > time.Hour {
		return nil, fmt.Errorf("bench: duration %v outside (0, 1h]", opts.Duration)
	}
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bench: the executable to start replicas from: %w", err)
		}
	}
	distinct := distinctPerClient*opts.Concurrency + 2*producers
	tmp, err := os.MkdirTemp("", "yinzheng-bench-http-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	redisURL := opts.RedisURL
	if redisURL == "" {
		opts.Progress("starting redis-server")
		if err := os.MkdirAll(filepath.Join(tmp, "redis"), 0o700); err != nil {
			return nil, err
		}
		srv, err := redistest.Start(filepath.Join(tmp, "redis"))
		if err != nil {
			return nil, fmt.Errorf("bench: %w (give --redis URL, or install redis-server)", err)
		}
		defer srv.Stop()
		redisURL = srv.URL()
	}
	pub, err := newBenchPublication(filepath.Join(tmp, "issuer"), opts.KeysDir, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer pub.store.Close()
	base, err := newBenchPlatform(tmp, pub)
	if err != nil {
		return nil, err
	}
	base.RedisURL = redisURL
	f := &fleetLoad{pub: pub, exe: exe, base: base, proofs: map[string][]byte{}, distinct: distinct}
	r := &VerifierHTTPReport{Depth: HTTPDepth, Setup: httpSetup, NumCPU: runtime.NumCPU()}
	if l := loadAverage(); l != "" {
		r.LoadAverage = append(r.LoadAverage, l)
		defer func() { r.LoadAverage = append(r.LoadAverage, loadAverage()) }()
	}
	for _, c := range httpFigures(opts.Concurrency) {
		opts.Progress(fmt.Sprintf("HTTP: %d replica process(es) at GOMAXPROCS %d, %d clients, batches up to %d",
			c.Replicas, c.GOMAXPROCS, c.Concurrency, c.MaxBatch))
		run, err := f.run(c, opts.Duration)
		if err != nil {
			return nil, err
		}
		r.Runs = append(r.Runs, *run)
	}
	r.ThreeOverOneUnbatched = r.Runs[2].PerSecond / r.Runs[1].PerSecond
	r.ThreeOverOne = r.Runs[4].PerSecond / r.Runs[3].PerSecond
	return r, nil
}

// loadAverage is the first three fields of /proc/loadavg, or "".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// httpFigures are the figures VerifierHTTP measures, in order: one client
// (the latency of an idle replica); 1 and 3 one-CPU replicas at conc
// clients, one by one and batched; one two-CPU replica, batched.
func httpFigures(conc int) []VerifierHTTPRun {
	b := verifierapi.DefaultMaxBatch
	return []VerifierHTTPRun{
		{Replicas: 1, GOMAXPROCS: 1, Concurrency: 1, MaxBatch: b},
		{Replicas: 1, GOMAXPROCS: 1, Concurrency: conc, MaxBatch: 1},
		{Replicas: 3, GOMAXPROCS: 1, Concurrency: conc, MaxBatch: 1},
		{Replicas: 1, GOMAXPROCS: 1, Concurrency: conc, MaxBatch: b},
		{Replicas: 3, GOMAXPROCS: 1, Concurrency: conc, MaxBatch: b},
		{Replicas: 1, GOMAXPROCS: 2, Concurrency: conc, MaxBatch: b},
	}
}

// newBenchPlatform makes a throwaway registrar in dir, registers
// benchDomain with it and saves the platform for the replicas; it pins
// the benchmark issuer in a verifier directory and returns the replicas'
// configuration (without store and nonces).
func newBenchPlatform(dir string, pub *benchPublication) (*replicaConfig, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	pass := hex.EncodeToString(secret[:16])
	token := hex.EncodeToString(secret[16:]) + hex.EncodeToString(secret[:16])
	// Cheap sealing: the keys live for the run, in a directory removed after.
	kdf := &registry.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}
	reg, err := registry.Init(filepath.Join(dir, "registrar"), jose.SuiteGM, []byte(pass), &registry.Options{KDF: kdf})
	if err != nil {
		return nil, err
	}
	p, err := reg.Register(benchDomain, registry.Entitlements{Predicates: []string{registry.PredicateAgeOver}}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	if p.Status, err = reg.StatusList(); err != nil {
		return nil, err
	}
	platformDir := filepath.Join(dir, "platform")
	if err := p.Save(platformDir, []byte(pass), kdf); err != nil {
		return nil, err
	}
	verifierDir := filepath.Join(dir, "verifier")
	if err := os.MkdirAll(verifierDir, 0o700); err != nil {
		return nil, err
	}
	if err := pub.trust.Write(verifierDir); err != nil {
		return nil, err
	}
	return &replicaConfig{PublicationDir: pub.dir, VerifierDir: verifierDir, PlatformDir: platformDir,
		PlatformPassphrase: pass, APIToken: token}, nil
}

// benchPublication is an issuer publication with one credential.
type benchPublication struct {
	dir   string
	keys  *circuits.Keys
	key   *jose.PrivateKey
	store *revocation.Store
	cred  *circuits.Credential
	epoch uint64
	trust *verifier.Trust
}

func newBenchPublication(dir, keysDir string, progress func(string)) (*benchPublication, error) {
	if keysDir == "" {
		var err error
		if keysDir, err = DefaultKeysDir(HTTPDepth); err != nil {
			return nil, err
		}
	}
	compiled, err := circuits.Compile(HTTPDepth)
	if err != nil {
		return nil, err
	}
	keys, err := circuits.LoadOrSetupDevelopment(keysDir, compiled, progress)
	if err != nil {
		return nil, err
	}
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		return nil, err
	}
	public := filepath.Join(dir, "public")
	if err := keys.Save(filepath.Join(public, "circuit")); err != nil {
		return nil, err
	}
	store, err := revocation.Open(filepath.Join(dir, "accumulator"), revocation.Options{Depth: HTTPDepth, MemTableSize: 8 << 20})
	if err != nil {
		return nil, err
	}
	p := &benchPublication{dir: dir, keys: keys, key: key, store: store}
	fail := func(err error) (*benchPublication, error) { store.Close(); return nil, err }
	schemaID, err := schemas.SchemaID()
	if err != nil {
		return fail(err)
	}
	meta := publication.Metadata{Issuer: benchIssuer, Suite: jose.SuiteGM, JWK: key.Public(), KeyID: key.Public().KeyID(),
		Depth: HTTPDepth, CircuitID: keys.Manifest.CircuitID, SchemaID: schemaID, VCT: schemas.VCT,
		StatusListURI: benchIssuer + "/statuslist.jwt"}
	attrs := schemas.Attributes{Wanghao: "BENCHWANGHAO1", Name: "张三", BirthDate: schemas.Date{Year: 2000, Month: time.January, Day: 1},
		DocType: schemas.ResidentID, Region: "110101", Level: 3, Expiry: schemas.Date{Year: 2040, Month: time.January, Day: 1}}
	if _, err := rand.Read(attrs.Salt[:]); err != nil {
		return fail(err)
	}
	packed, identity, err := attrs.Encode()
	if err != nil {
		return fail(err)
	}
	var secret fr.Element
	if _, err := secret.SetRandom(); err != nil {
		return fail(err)
	}
	p.cred = &circuits.Credential{Attributes: packed, Identity: identity, Secret: secret}
	if p.cred.Serial, err = store.Append(p.cred.Leaf()); err != nil {
		return fail(err)
	}
	now := time.Now()
	ep, err := store.Publish(key, benchIssuer, now)
	if err != nil {
		return fail(err)
	}
	p.epoch = ep.Epoch
	path, err := store.Path(p.cred.Serial)
	if err != nil {
		return fail(err)
	}
	p.cred.Siblings = path.Siblings
	token, err := store.StatusListToken(key, benchIssuer, meta.StatusListURI, now)
	if err != nil {
		return fail(err)
	}
	metaJSON, err := json.Marshal(&meta)
	if err != nil {
		return fail(err)
	}
	for name, data := range map[string][]byte{
		publication.IssuerName: metaJSON, publication.RootName(ep.Epoch): []byte(ep.Statement),
		publication.LatestRootName: []byte(ep.Statement), publication.StatusListName: []byte(token),
	} {
		f := filepath.Join(public, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return fail(err)
		}
	}
	p.trust = &verifier.Trust{Version: verifier.TrustVersion, Issuers: []verifier.TrustedIssuer{{
		Issuer: benchIssuer, Keys: []*jose.PublicKey{key.Public()}, CircuitIDs: []string{keys.Manifest.CircuitID},
		AllowDevelopmentKeys: true, CircuitBasis: "benchmark development keys",
	}}}
	return p, nil
}

// root is the root of the publication's tree.
func (p *benchPublication) root() (fr.Element, error) {
	path, err := p.store.Path(p.cred.Serial)
	if err != nil {
		return fr.Element{}, err
	}
	return path.Root, nil
}

// answer is the wallet's vp_token for the transaction doc: it checks the
// signed request object (as a wallet does, short of the registrar's
// authorization, which the benchmark does not measure) and proves what
// its request asks.
func (p *benchPublication) answer(doc *verifierapi.TransactionDocument, root fr.Element) ([]byte, error) {
	signed, err := wire.VerifyRequestObject(doc.RequestObject, time.Now())
	if err != nil {
		return nil, err
	}
	req, err := signed.Object.YinzhengRequest()
	if err != nil {
		return nil, err
	}
	if req.ID != doc.TransactionID {
		return nil, fmt.Errorf("bench: the request object's state %q is not the transaction %q", req.ID, doc.TransactionID)
	}
	return p.prove(req, root)
}

// prove answers req with a zero-knowledge presentation, as a vp_token.
func (p *benchPublication) prove(req *verifier.Request, root fr.Element) ([]byte, error) {
	s := &circuits.Statement{Root: root, BornBefore: schemas.MaxDateCode, MinLevel: uint8(req.MinLevel)}
	code := func(v string) (uint32, error) {
		d, err := schemas.ParseDate(v)
		if err != nil {
			return 0, err
		}
		return d.Code()
	}
	var err error
	if s.Today, err = code(req.Today); err != nil {
		return nil, err
	}
	if req.BornAfter != nil {
		if s.BornAfter, err = code(*req.BornAfter); err != nil {
			return nil, err
		}
	}
	if req.BornBefore != nil {
		if s.BornBefore, err = code(*req.BornBefore); err != nil {
			return nil, err
		}
	}
	if s.Scope, err = schemas.ScopeElement(req.Scope); err != nil {
		return nil, err
	}
	nonce, err := base64.RawURLEncoding.DecodeString(req.Nonce)
	if err != nil {
		return nil, err
	}
	if s.Nonce, err = schemas.NonceElement(nonce); err != nil {
		return nil, err
	}
	proof, pseudonym, err := p.keys.Prove(s, p.cred)
	if err != nil {
		return nil, err
	}
	raw, err := proof.MarshalBinary()
	if err != nil {
		return nil, err
	}
	epoch := p.epoch
	return wire.NewVPToken(&verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeZK, RequestID: req.ID,
		CircuitID: p.keys.Manifest.CircuitID, Epoch: &epoch, Pseudonym: zkhash.FormatElement(pseudonym),
		Proof: base64.RawURLEncoding.EncodeToString(raw)})
}

// fleetLoad runs the HTTP figures: it starts the replicas of each figure,
// makes and keeps the proofs their transactions come round with, and
// loads them.
type fleetLoad struct {
	pub      *benchPublication
	exe      string
	base     *replicaConfig
	distinct int
	// cycles[i] is replica i's sequence of ids and nonces, the same in
	// every figure, so the proofs made for one serve the next.
	cycles [][]byte
	// proofs maps a transaction id to its vp_token.
	proofs map[string][]byte
}

// benchPolicy is what every transaction asks: an age over 18, proved.
const benchPolicy = `{"age_over":18}`

// platformClient is the bench's side of the flow, the platform's backend
// and the wallets in one.
type platformClient struct {
	http  *http.Client
	urls  []string
	token string
}

// create makes a transaction on replica i (POST /v1/transactions).
func (c *platformClient) create(i int) (*verifierapi.TransactionDocument, error) {
	req, err := http.NewRequest("POST", c.urls[i]+verifierapi.TransactionsPath, strings.NewReader(benchPolicy))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc verifierapi.TransactionDocument
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusCreated || doc.TransactionID == "" {
		return nil, fmt.Errorf("bench: POST %s: %d %v", verifierapi.TransactionsPath, resp.StatusCode, err)
	}
	return &doc, nil
}

// answer posts the wallet's direct_post form to replica i.
func (c *platformClient) answer(i int, state string, vpToken []byte) error {
	form := url.Values{"state": {state}, "vp_token": {string(vpToken)}}.Encode()
	resp, err := c.http.Post(c.urls[i]+verifierapi.ResponsePath, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ans struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ans)
	if resp.StatusCode == http.StatusBadRequest && ans.Error == wire.ErrorInvalidRequest {
		return fmt.Errorf("%w: %s", errAnswered, ans.Description)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: POST %s: %d %s %s %v", verifierapi.ResponsePath, resp.StatusCode, ans.Error, ans.Description, err)
	}
	return nil
}

// errAnswered means the service refused an answer as one to an unknown or
// answered transaction (400 invalid_request).
var errAnswered = errors.New("bench: the transaction is unknown or answered already")

// errVerdict means the backend did not read a valid verdict for a
// transaction whose answer was taken.
var errVerdict = errors.New("bench: the verdict read back is not a valid one for this transaction")

// verdict reads transaction id's verdict from replica i (GET
// /v1/transactions/{id}) and checks that it is complete, valid, names the
// transaction and holds its predicate.
func (c *platformClient) verdict(i int, id string) error {
	req, err := http.NewRequest("GET", c.urls[i]+verifierapi.TransactionsPath+"/"+id, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var doc verifierapi.VerdictDocument
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: GET %s/{id}: %d %v", verifierapi.TransactionsPath, resp.StatusCode, err)
	}
	if res := doc.Result; doc.Status != "complete" || res == nil || !res.Valid || res.RequestID != id || !res.Predicates["age_over_18"] {
		return fmt.Errorf("%w: %+v", errVerdict, doc)
	}
	return nil
}

// run measures figure fig (its replicas, their GOMAXPROCS and batch
// bound, its clients) for d.
func (f *fleetLoad) run(fig VerifierHTTPRun, d time.Duration) (*VerifierHTTPRun, error) {
	replicas, procs, conc := fig.Replicas, fig.GOMAXPROCS, fig.Concurrency
	for len(f.cycles) < replicas {
		c := make([]byte, f.distinct*idNonceSize)
		if _, err := io.ReadFull(rand.Reader, c); err != nil {
			return nil, err
		}
		f.cycles = append(f.cycles, c)
	}
	var reps []*replica
	defer func() {
		for _, r := range reps {
			r.stop()
		}
	}()
	for i := range replicas {
		cfg := *f.base
		cfg.Nonces, cfg.MaxBatch = f.cycles[i], fig.MaxBatch
		r, err := startReplica(f.exe, procs, &cfg)
		if err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	c := &platformClient{token: f.base.APIToken,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * f.distinct}, Timeout: 30 * time.Second}}
	defer c.http.CloseIdleConnections()
	for _, r := range reps {
		c.urls = append(c.urls, r.url)
	}
	// Warm-up: every replica goes round its cycle once; the proofs are
	// made the first time an id comes up and kept for the next figures.
	root, err := f.pub.root()
	if err != nil {
		return nil, err
	}
	for i := range reps {
		for range f.distinct {
			doc, err := c.create(i)
			if err != nil {
				return nil, fmt.Errorf("%w (warm-up; replica: %s)", err, reps[i].stderr)
			}
			tok, ok := f.proofs[doc.TransactionID]
			if !ok {
				if tok, err = f.pub.answer(doc, root); err != nil {
					return nil, err
				}
				f.proofs[doc.TransactionID] = tok
			}
			if err := c.answer(i, doc.TransactionID, tok); err != nil {
				return nil, fmt.Errorf("%w (warm-up; replica: %s)", err, reps[i].stderr)
			}
			if err := c.verdict(i, doc.TransactionID); err != nil {
				return nil, fmt.Errorf("%w (warm-up)", err)
			}
		}
	}

	type job struct {
		k   int
		id  string
		tok []byte
	}
	queue := make(chan job, (f.distinct-2*producers)/distinctPerClient)
	stop := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	noteErr := func(err error) { failed.Add(1); firstErr.CompareAndSwap(nil, &err) }
	var retries atomic.Int64
	var firstRetry atomic.Pointer[error]
	var produceErr error
	var errMu sync.Mutex
	setErr := func(err error) {
		errMu.Lock()
		if produceErr == nil {
			produceErr = err
		}
		errMu.Unlock()
	}
	// answerUntilTaken posts an answer until a replica takes it: an
	// undecided transaction left in the store would take the id of its
	// next round. failed says a post of it failed already, whose answer
	// may have been lost after the replica took it: then, as for every
	// post after the first, "answered already" means taken.
	answerUntilTaken := func(k int, j job, failed bool) error {
		var err error
		for try := range 20 {
			err = c.answer((k+try)%replicas, j.id, j.tok)
			if err == nil || ((failed || try > 0) && errors.Is(err, errAnswered)) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return err
	}
	before := make([]replicaStats, len(reps))
	for i, r := range reps {
		if before[i], err = r.stats(); err != nil {
			return nil, err
		}
	}
	var next atomic.Int64
	var pwg sync.WaitGroup
	for range producers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := int(next.Add(1))
				doc, err := c.create(k % replicas)
				for try := 0; err != nil && try < 5; try++ {
					// A transaction recorded whose answer was lost (a
					// timeout on a loaded machine) keeps its id in the
					// store, and the next one to draw that id is refused:
					// the one after draws another.
					retries.Add(1)
					e := fmt.Errorf("%w (replica: %s)", err, reps[k%replicas].stderr)
					firstRetry.CompareAndSwap(nil, &e)
					time.Sleep(20 * time.Millisecond)
					doc, err = c.create(k % replicas)
				}
				if err != nil {
					setErr(err)
					return
				}
				tok, ok := f.proofs[doc.TransactionID]
				if !ok {
					setErr(errors.New("bench: a transaction came round with an id not seen before"))
					return
				}
				j := job{k, doc.TransactionID, tok}
				select {
				case queue <- j:
				case <-stop:
					// Answered all the same: a transaction left in the
					// store would take the id of its next round.
					if err := answerUntilTaken(k+1, j, false); err != nil {
						setErr(err)
					}
					return
				}
			}
		}()
	}
	go func() { pwg.Wait(); close(queue) }()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	clientCPU := cpuNanos()
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for j := range queue {
				// Every transaction taken is answered, on the next
				// replica round robin, and its verdict read on the one
				// after (with one replica, all on it).
				t0 := time.Now()
				err := c.answer((j.k+1)%replicas, j.id, j.tok)
				took := time.Since(t0)
				if err != nil {
					noteErr(err)
					if errors.Is(err, errAnswered) {
						// Refused, not lost: the transaction was consumed
						// by someone else, which the benchmark never does.
						setErr(err)
					} else if err := answerUntilTaken(j.k+2, j, true); err != nil {
						setErr(err)
					}
				} else if err := c.verdict((j.k+2)%replicas, j.id); err != nil {
					noteErr(err)
				} else {
					mine = append(mine, took)
				}
				if time.Now().After(deadline) {
					break
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	clientCPU = cpuNanos() - clientCPU
	after := make([]replicaStats, len(reps))
	for i, r := range reps {
		if after[i], err = r.stats(); err != nil {
			return nil, err
		}
	}
	close(stop)
	for j := range queue { // until the producers have stopped
		if err := answerUntilTaken(j.k+1, j, false); err != nil {
			return nil, fmt.Errorf("%w (answering the queue after the run)", err)
		}
	}
	if produceErr != nil {
		return nil, produceErr
	}
	run := &fig
	run.Verified, run.Errors, run.CreateRetries = len(lat), int(failed.Load()), int(retries.Load())
	if e := firstRetry.Load(); e != nil {
		run.FirstRetry = (*e).Error()
	}
	if e := firstErr.Load(); e != nil {
		run.FirstError = (*e).Error()
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("bench: no verification completed (%s)", run.FirstError)
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	run.PerSecond = float64(len(lat)) / elapsed.Seconds()
	run.P50ms, run.P99ms = pct(0.50), pct(0.99)
	// The mean batch and how busy the replicas were: over the time
	// measured.
	var verified, calls, busyNs int64
	for i := range reps {
		verified += after[i].Verified - before[i].Verified
		calls += after[i].Calls - before[i].Calls
		busyNs += after[i].CPUNanos - before[i].CPUNanos
	}
	run.MeanBatch = 1
	if calls > 0 {
		run.MeanBatch = float64(verified) / float64(calls)
	}
	run.ReplicaBusy = float64(busyNs) / float64(elapsed) / float64(replicas)
	// The costs per verification: from the start of the time measured
	// until the queue is answered, when every transaction made has been
	// answered once (the time measured alone leaves the queue's
	// transactions made, not answered).
	var trips uint64
	var redisNs, cpuNs int64
	verified = 0
	for i, r := range reps {
		final, err := r.stats()
		if err != nil {
			return nil, err
		}
		trips += final.RedisRoundTrips - before[i].RedisRoundTrips
		redisNs += final.RedisNanos - before[i].RedisNanos
		cpuNs += final.CPUNanos - before[i].CPUNanos
		verified += final.Verified - before[i].Verified
	}
	per := float64(max(verified, 1))
	run.RedisTripsPerVerification = float64(trips) / per
	run.RedisMsPerVerification = float64(redisNs) / 1e6 / per
	if trips > 0 {
		run.RedisMsPerTrip = float64(redisNs) / 1e6 / float64(trips)
	}
	run.ReplicaCPUms = float64(cpuNs) / 1e6 / per
	run.ClientCPUms = float64(clientCPU) / 1e6 / float64(len(lat))
	return run, nil
}
