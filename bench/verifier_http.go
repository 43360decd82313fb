package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
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
	// Concurrency is the number of clients posting presentations at once
	// (16 when 0); one figure also has a single client.
	Concurrency int
	Progress    func(stage string)
}

// VerifierHTTPReport holds the figures over HTTP.
type VerifierHTTPReport struct {
	Depth int `json:"depth"`
	// Setup says how the replicas and their load run.
	Setup string            `json:"setup"`
	Runs  []VerifierHTTPRun `json:"runs"`
}

// VerifierHTTPRun is one figure: POST /response verifications per second
// and their latency, at one number of replicas and of concurrent clients.
type VerifierHTTPRun struct {
	Replicas    int     `json:"replicas"`
	Concurrency int     `json:"concurrency"`
	MaxBatch    int     `json:"max_batch"`
	PerSecond   float64 `json:"verifications_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Verified    int     `json:"verified"`
	Errors      int     `json:"errors"`
	// FirstError is the first failed verification's error, if any.
	FirstError string `json:"first_error,omitempty"`
	// MeanBatch is the mean number of responses verified together.
	MeanBatch float64 `json:"mean_batch"`
	// Redis round trips per verification (its request creation included:
	// one to record the request, two to verify) and their time.
	RedisTripsPerVerification float64 `json:"redis_round_trips_per_verification"`
	RedisMsPerVerification    float64 `json:"redis_ms_per_verification"`
	RedisMsPerTrip            float64 `json:"redis_ms_per_round_trip"`
}

// benchIssuer is the issuer id of the benchmark's publication.
const benchIssuer = "https://issuer.bench.example"

// The HTTP benchmark makes its requests with producers concurrent
// clients, and distinctPerClient proofs per posting client plus two per
// producer; requests reuse them (see cyclicRand), so there must be more
// than the requests outstanding at once: the queue (one per client), the
// clients', and two per producer (one being made, one waiting for room).
const (
	producers         = 4
	distinctPerClient = 3
)

// cyclicRand replays a fixed sequence of request ids and nonces forever,
// so that request k and request k+distinct get the same id and nonce: one
// proof answers both. A verifier reads a request's id and nonce in one
// read of idNonceSize bytes (other reads, the result token, get fresh
// random bytes), so concurrent requests each get a whole pair. It is only
// sound because each request is answered before its pair comes round
// again, when the store no longer holds it.
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

func (c *cyclicRand) reset() { c.mu.Lock(); c.off = 0; c.mu.Unlock() }

// VerifierHTTP measures the verifier service over HTTP: one and three
// replicas (in-process HTTP servers, each with its own verifier and
// publication cache) sharing one Redis, loaded by concurrent clients in
// the same process.
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
	rnd := &cyclicRand{data: make([]byte, distinct*idNonceSize)}
	if _, err := io.ReadFull(rand.Reader, rnd.data); err != nil {
		return nil, err
	}
	r := &VerifierHTTPReport{Depth: HTTPDepth,
		Setup: "in-process replicas (httptest servers, one verifier each, store on one redis-server on loopback) " +
			"and clients in the same process on the same CPUs; one client makes the requests round robin, " +
			"the others post the presentations (Groth16) round robin; proofs are reused through recurring nonces"}
	proofs := map[string][]byte{} // request id → presentation
	conc := opts.Concurrency
	for _, c := range []struct{ replicas, conc, batch int }{
		{1, 1, verifierapi.DefaultMaxBatch}, {1, conc, 1}, {1, conc, verifierapi.DefaultMaxBatch}, {3, conc, verifierapi.DefaultMaxBatch},
	} {
		opts.Progress(fmt.Sprintf("HTTP: %d replicas, %d clients, batches up to %d", c.replicas, c.conc, c.batch))
		run, err := runHTTP(pub, redisURL, rnd, proofs, distinct, c.replicas, c.conc, c.batch, opts.Duration)
		if err != nil {
			return nil, err
		}
		r.Runs = append(r.Runs, *run)
	}
	return r, nil
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

// prove answers req with a zero-knowledge presentation.
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
	return json.Marshal(&verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeZK, RequestID: req.ID,
		CircuitID: p.keys.Manifest.CircuitID, Epoch: &epoch, Pseudonym: zkhash.FormatElement(pseudonym),
		Proof: base64.RawURLEncoding.EncodeToString(raw)})
}

// counting wraps the service's verifier to count batches.
type counting struct {
	legacyVerifier
	bv               legacyBatchVerifier
	batches, members atomic.Int64
}

func (c *counting) VerifyBatch(ctx context.Context, docs [][]byte) []verifier.BatchResult {
	c.batches.Add(1)
	c.members.Add(int64(len(docs)))
	return c.bv.VerifyBatch(ctx, docs)
}

const benchPolicy = `{"scope":"platform-bench","age_over":18}`

func runHTTP(pub *benchPublication, redisURL string, rnd *cyclicRand, proofs map[string][]byte,
	distinct, replicas, conc, maxBatch int, d time.Duration) (*VerifierHTTPRun, error) {
	rnd.reset()
	var urls []string
	var stores []*verifier.RedisStore
	var counters []*counting
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	for range replicas {
		store, err := verifier.OpenRedisStore(redisURL, os.Getenv("YINZHENG_REDIS_PASSWORD"))
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { store.Close() })
		v, err := verifier.New(verifier.Options{Source: publication.DirSource(pub.dir), Trust: pub.trust, Store: store,
			Rand: rnd, AllowDevelopmentKeys: true})
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { v.Close() })
		srv := httpserv.New(httpserv.Config{Rate: -1, MaxConns: 4 * distinct})
		lib := legacyFromVerifier(v)
		c := &counting{legacyVerifier: lib, bv: lib.(legacyBatchVerifier)}
		counters = append(counters, c)
		if _, err := newLegacyService(srv, c, legacyOptions{PublicURL: "https://verifier.bench.example", MaxBatch: maxBatch}); err != nil {
			return nil, err
		}
		ts := httptest.NewServer(srv.Handler())
		closers = append(closers, ts.Close)
		urls = append(urls, ts.URL)
		stores = append(stores, store)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * distinct}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	create := func(k int) (*verifier.Request, error) {
		resp, err := client.Post(urls[k%len(urls)]+"/requests", "application/json", bytes.NewReader([]byte(benchPolicy)))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var env legacyAuthorizationRequest
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusCreated || env.Request == nil {
			return nil, fmt.Errorf("bench: POST /requests: %d %v (readiness: %s)", resp.StatusCode, err, readiness(client, urls[k%len(urls)]))
		}
		return env.Request, nil
	}
	respond := func(k int, doc []byte) error {
		resp, err := client.Post(urls[k%len(urls)]+"/response", "application/json", bytes.NewReader(doc))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var res verifier.Result
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK || !res.Valid {
			return fmt.Errorf("bench: POST /response: %d %v %v", resp.StatusCode, res.Reasons, err)
		}
		return nil
	}
	// The first round: make the proofs once (they are kept for the next
	// runs, whose requests come round with the same ids and nonces).
	var root fr.Element
	if path, err := pub.store.Path(pub.cred.Serial); err != nil {
		return nil, err
	} else {
		root = path.Root
	}
	for k := range distinct {
		req, err := create(k)
		if err != nil {
			return nil, fmt.Errorf("%w (warm-up)", err)
		}
		doc, ok := proofs[req.ID]
		if !ok {
			if doc, err = pub.prove(req, root); err != nil {
				return nil, err
			}
			proofs[req.ID] = doc
		}
		if err := respond(k, doc); err != nil {
			return nil, fmt.Errorf("%w (warm-up)", err)
		}
	}

	type job struct {
		k   int
		doc []byte
	}
	queue := make(chan job, (distinct-2*producers)/distinctPerClient)
	stop := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	var produceErr error
	var next atomic.Int64
	next.Store(int64(distinct))
	var errMu sync.Mutex
	setErr := func(err error) {
		errMu.Lock()
		if produceErr == nil {
			produceErr = err
		}
		errMu.Unlock()
	}
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
				req, err := create(k)
				for try := 0; err != nil && try < 5; try++ {
					// A request recorded whose answer was lost (a
					// timeout on a loaded machine) keeps its id in the
					// store, and the next request to draw that id is
					// refused: the one after draws another.
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					time.Sleep(20 * time.Millisecond)
					req, err = create(k)
				}
				if err != nil {
					setErr(err)
					return
				}
				doc, ok := proofs[req.ID]
				if !ok {
					setErr(errors.New("bench: a request came round with an id not seen before"))
					return
				}
				select {
				case queue <- job{k, doc}:
				case <-stop:
					// Answered all the same: a request left in the store
					// would take the id of its next round.
					if err := respond(k+1, doc); err != nil {
						setErr(err)
					}
					return
				}
			}
		}()
	}
	go func() { pwg.Wait(); close(queue) }()
	before := make([]verifier.RedisStats, len(stores))
	for i, s := range stores {
		before[i] = s.Stats()
	}
	for _, c := range counters {
		c.batches.Store(0)
		c.members.Store(0)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for j := range queue {
				// Every request taken is answered: one left in the
				// store would take the id of its next round.
				t0 := time.Now()
				if err := respond(j.k+1, j.doc); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					// Posted again until decided: an undecided request
					// left in the store would take the id of its next
					// round.
					for try := 0; try < 20 && respond(j.k+1, j.doc) != nil; try++ {
						time.Sleep(50 * time.Millisecond)
					}
				} else {
					mine = append(mine, time.Since(t0))
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
	close(stop)
	for j := range queue { // until the producer has stopped
		if err := respond(j.k+1, j.doc); err != nil {
			return nil, fmt.Errorf("%w (answering the queue after the run)", err)
		}
	}
	if produceErr != nil {
		return nil, produceErr
	}
	run := &VerifierHTTPRun{Replicas: replicas, Concurrency: conc, MaxBatch: maxBatch, Verified: len(lat), Errors: int(failed.Load())}
	if e := firstErr.Load(); e != nil {
		run.FirstError = (*e).Error()
	}
	if len(lat) == 0 {
		return nil, errors.New("bench: no verification completed")
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	run.PerSecond = float64(len(lat)) / elapsed.Seconds()
	run.P50ms, run.P99ms = pct(0.50), pct(0.99)
	var trips uint64
	var tripTime time.Duration
	for i, s := range stores {
		st := s.Stats()
		trips += st.RoundTrips - before[i].RoundTrips
		tripTime += st.Time - before[i].Time
	}
	var batches, members int64
	for _, c := range counters {
		batches += c.batches.Load()
		members += c.members.Load()
	}
	if batches > 0 {
		run.MeanBatch = float64(members) / float64(batches)
	} else {
		run.MeanBatch = 1 // MaxBatch 1: one by one, without the collector
	}
	// The queue's requests made but not verified also cost their trip.
	run.RedisTripsPerVerification = float64(trips) / float64(len(lat))
	run.RedisMsPerVerification = float64(tripTime.Microseconds()) / 1000 / float64(len(lat))
	if trips > 0 {
		run.RedisMsPerTrip = float64(tripTime.Microseconds()) / 1000 / float64(trips)
	}
	return run, nil
}

// readiness returns a replica's /readyz answer, for error messages.
func readiness(client *http.Client, url string) string {
	resp, err := client.Get(url + "/readyz")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return string(bytes.TrimSpace(data))
}
