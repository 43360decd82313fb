package bench

// A stand-in, for verifier_http.go only, for the unauthenticated routes
// verifier/httpapi served before it became the platform's OpenID4VP flow
// alone (POST /requests, POST /response): it keeps the HTTP benchmark
// measuring what it measured until verifier_http.go moves to the platform
// flow. Delete this file then. It is served on loopback test servers by the
// benchmark and never by `yinzheng serve`.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
)

// legacyVerifier is what the stand-in service needs of the library.
type legacyVerifier interface {
	NewTransaction(ctx context.Context, policy verifier.Policy) (*verifier.Request, string, error)
	Verify(ctx context.Context, presentation []byte) (*verifier.Result, error)
	Ready(ctx context.Context) (verifier.Readiness, error)
}

// legacyBatchVerifier verifies presentations in batches.
type legacyBatchVerifier interface {
	VerifyBatch(ctx context.Context, presentations [][]byte) []verifier.BatchResult
}

type legacyLib struct{ v *verifier.Verifier }

func legacyFromVerifier(v *verifier.Verifier) legacyVerifier { return legacyLib{v} }

func (l legacyLib) NewTransaction(ctx context.Context, p verifier.Policy) (*verifier.Request, string, error) {
	return l.v.NewTransaction(ctx, p)
}

func (l legacyLib) Verify(ctx context.Context, presentation []byte) (*verifier.Result, error) {
	return l.v.Verify(ctx, presentation, nil)
}

func (l legacyLib) Ready(ctx context.Context) (verifier.Readiness, error) { return l.v.Ready(ctx) }

func (l legacyLib) VerifyBatch(ctx context.Context, presentations [][]byte) []verifier.BatchResult {
	items := make([]verifier.BatchItem, len(presentations))
	for i, p := range presentations {
		items[i].Presentation = p
	}
	return l.v.VerifyBatch(ctx, items)
}

// legacyOptions configure the stand-in service.
type legacyOptions struct {
	PublicURL string
	MaxBatch  int
}

// legacyAuthorizationRequest is the answer of POST /requests.
type legacyAuthorizationRequest struct {
	State   string            `json:"state"`
	Request *verifier.Request `json:"request"`
}

type legacyService struct {
	v     legacyVerifier
	batch *legacyCollector
}

func newLegacyService(mux verifierapi.Mux, v legacyVerifier, opts legacyOptions) (*legacyService, error) {
	s := &legacyService{v: v}
	if bv, ok := v.(legacyBatchVerifier); ok && opts.MaxBatch != 1 {
		s.batch = &legacyCollector{v: bv, max: orDefault(opts.MaxBatch, verifierapi.DefaultMaxBatch)}
	}
	if err := verifierapi.NewReadiness(mux, v, verifierapi.ReadinessOptions{}); err != nil {
		return nil, err
	}
	mux.HandleFunc("POST /requests", s.create)
	mux.HandleFunc("POST /response", s.response)
	return s, nil
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func (s *legacyService) create(w http.ResponseWriter, r *http.Request) {
	var doc verifierapi.PolicyDocument
	if err := httpserv.DecodeJSON(r, &doc); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	req, _, err := s.v.NewTransaction(r.Context(), verifier.Policy{Scope: doc.Scope, AgeOver: doc.AgeOver})
	if err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, verifier.ErrPolicy) {
			status = http.StatusUnprocessableEntity
		}
		httpserv.WriteError(w, status, err.Error())
		return
	}
	httpserv.WriteJSON(w, http.StatusCreated, legacyAuthorizationRequest{State: req.ID, Request: req})
}

func (s *legacyService) response(w http.ResponseWriter, r *http.Request) {
	data, err := httpserv.ReadBody(r)
	if err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	var res *verifier.Result
	if s.batch != nil {
		res, err = s.batch.verify(data)
	} else {
		res, err = s.v.Verify(r.Context(), data)
	}
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(verifierapi.RetryAfter))
		httpserv.WriteError(w, http.StatusServiceUnavailable, "the verifier could not decide; retry later")
		return
	}
	status := http.StatusOK
	if !res.Valid {
		status = http.StatusUnprocessableEntity
	}
	httpserv.WriteJSON(w, status, res)
}

// legacyCollector batches concurrent presentations as the service's
// collector batches wallet answers: while one batch verifies the next
// gathers, a lone one waits for nothing.
type legacyCollector struct {
	v   legacyBatchVerifier
	max int

	mu    sync.Mutex
	queue []*legacyJob
	busy  bool
}

type legacyJob struct {
	data []byte
	done chan verifier.BatchResult
}

func (c *legacyCollector) verify(data []byte) (*verifier.Result, error) {
	j := &legacyJob{data: data, done: make(chan verifier.BatchResult, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, j)
	if !c.busy {
		c.busy = true
		go c.drain()
	}
	c.mu.Unlock()
	out := <-j.done
	return out.Result, out.Err
}

func (c *legacyCollector) drain() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		if n == 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		data := make([][]byte, len(batch))
		for i, j := range batch {
			data[i] = j.data
		}
		out := c.v.VerifyBatch(ctx, data)
		cancel()
		if len(out) != len(batch) {
			err := fmt.Errorf("bench: a batch of %d presentations gave %d outcomes", len(batch), len(out))
			out = make([]verifier.BatchResult, len(batch))
			for i := range out {
				out[i].Err = err
			}
		}
		for i, j := range batch {
			j.done <- out[i]
		}
	}
}
