// Package httpapi is the verifier's HTTP service, in the shape of OpenID4VP
// with response_mode direct_post: a platform creates a request from its
// policy (POST /requests), hands it to the holder (inline, or by reference
// as GET /requests/{id}), and the holder's wallet posts its presentation to
// the response endpoint (POST /response), which answers with the result.
//
// Every check is the verifier library's: this package parses, routes,
// limits, batches and counts. It keeps nothing itself: requests, their
// single-use nonces and verdicts live in the verifier's store, so replicas
// sharing one (Redis) are interchangeable behind a load balancer: any of
// them serves GET /requests/{id}, accepts the response and reports the
// result (GET /requests/{id}/result) of a request another made. GET
// /readyz says whether the verifier can decide now (see docs/http.md).
//
// Under load, concurrent responses are verified together in batches
// (verifier.VerifyBatch): while one batch is being verified the next
// gathers, so a lone response waits for nothing.
//
// NewPlatform is the OpenID4VP 1.0 service of one registered platform:
// transactions created and verdicts read over an authenticated API, signed
// request objects served at request_uri, direct_post answered 200 with a
// response_code (see docs/verifier.md). New's routes above carry no platform
// identity, and wallets refuse their requests.
//
// The service registers its routes on any mux with HandleFunc (an
// *http.ServeMux, or the server of `yinzheng serve`), so a program outside
// this module can run it.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// RetryAfter is the Retry-After, in seconds, of a 503 answer: the verifier
// could not decide now (the issuer's publication is unreachable, say) and
// the same request can be answered again.
const RetryAfter = 10

// readyTimeout bounds the publication reads of one readiness check (a
// probe or a metrics scrape).
const readyTimeout = 5 * time.Second

// Verifier is what the service needs from the verifier library.
type Verifier interface {
	// NewTransaction makes a request for policy, records it and returns
	// it with its result token. An error wrapping verifier.ErrPolicy is
	// the caller's fault.
	NewTransaction(ctx context.Context, policy verifier.Policy) (*verifier.Request, string, error)
	// PendingRequest returns a recorded request that can still be
	// answered; an error wrapping verifier.ErrUnknownRequest otherwise.
	PendingRequest(ctx context.Context, id string) (*verifier.Request, error)
	// Result returns the verdict on request id for its result token;
	// verifier.ErrNoResult when there is none (yet) or the token is wrong.
	Result(ctx context.Context, id, token string) (*verifier.Result, error)
	// Verify checks a presentation against the stored request it answers.
	// An error means the verifier could not decide (for example the
	// issuer's publication was unreachable), not that the
	// presentation is invalid.
	// The presentation has already been parsed once with
	// verifier.ParsePresentation.
	Verify(ctx context.Context, presentation []byte) (*verifier.Result, error)
	// Ready reports whether the verifier can decide now, as
	// verifier.Verifier.Ready does.
	Ready(ctx context.Context) (verifier.Readiness, error)
}

// FromVerifier adapts a verifier library instance to [Verifier].
func FromVerifier(v *verifier.Verifier) Verifier { return libVerifier{v} }

type libVerifier struct{ v *verifier.Verifier }

func (l libVerifier) NewTransaction(ctx context.Context, p verifier.Policy) (*verifier.Request, string, error) {
	return l.v.NewTransaction(ctx, p)
}

func (l libVerifier) PendingRequest(ctx context.Context, id string) (*verifier.Request, error) {
	return l.v.PendingRequest(ctx, id)
}

func (l libVerifier) Result(ctx context.Context, id, token string) (*verifier.Result, error) {
	return l.v.Result(ctx, id, token)
}

// VerifyBatch passes no expected requests, as Verify.
func (l libVerifier) VerifyBatch(ctx context.Context, presentations [][]byte) []verifier.BatchResult {
	items := make([]verifier.BatchItem, len(presentations))
	for i, p := range presentations {
		items[i].Presentation = p
	}
	return l.v.VerifyBatch(ctx, items)
}

func (l libVerifier) Ready(ctx context.Context) (verifier.Readiness, error) {
	return l.v.Ready(ctx)
}

// Verify passes no expected request: over direct_post the wallet names the
// request by its id, and the verifier checks it against its own record.
func (l libVerifier) Verify(ctx context.Context, presentation []byte) (*verifier.Result, error) {
	return l.v.Verify(ctx, presentation, nil)
}

// PolicyDocument is the body of POST /requests; the members mirror the
// flags of `yinzheng verifier request`.
type PolicyDocument struct {
	Scope           string   `json:"scope"`
	AgeOver         *int     `json:"age_over,omitempty"`
	AgeUnder        *int     `json:"age_under,omitempty"`
	MinLevel        int      `json:"min_level,omitempty"`
	GuardianConsent bool     `json:"guardian_consent,omitempty"`
	SDJWT           []string `json:"sd_jwt,omitempty"`
}

// AuthorizationRequest is the answer of POST /requests and GET
// /requests/{id}: the Yinzheng request, unchanged so wallets parse it
// strictly, inside the OpenID4VP members that say where to answer.
type AuthorizationRequest struct {
	ResponseType string            `json:"response_type"`
	ResponseMode string            `json:"response_mode"`
	ResponseURI  string            `json:"response_uri"`
	RequestURI   string            `json:"request_uri"`
	State        string            `json:"state"`
	Request      *verifier.Request `json:"request"`
}

// BatchVerifier is a Verifier that can verify many presentations at once,
// as verifier.Verifier.VerifyBatch does; the service then batches the
// responses that arrive together.
type BatchVerifier interface {
	VerifyBatch(ctx context.Context, presentations [][]byte) []verifier.BatchResult
}

// DefaultMaxBatch is the largest batch of responses verified together.
const DefaultMaxBatch = 64

// ResultTokenHeader is the header of the POST /requests answer that
// carries the request's result token: a secret for the platform that made
// the request (not for the wallet), sent back as "Authorization: Bearer
// <token>" to GET /requests/{id}/result. It is a header, not a member of
// the request document, so that a platform passing the document on to a
// wallet does not pass it on too.
const ResultTokenHeader = "Yinzheng-Result-Token"

// Mux is where the service registers its routes: an *http.ServeMux, or
// any router with the same HandleFunc. Patterns are net/http's ("POST
// /response").
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Metrics counts verification outcomes.
type Metrics interface {
	// ObserveVerification counts one verdict and its first reason.
	ObserveVerification(valid bool, reasons []string)
}

// Options configures the service.
type Options struct {
	// PublicURL is the base URL wallets reach the service at, for
	// response_uri and request_uri.
	PublicURL string
	// MaxBatch bounds the responses verified together when the verifier
	// is a BatchVerifier; 0 is DefaultMaxBatch, 1 verifies one by one.
	MaxBatch int
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
	// Logger receives errors the client is not shown; nil discards them.
	Logger *slog.Logger
	// Metrics counts verdicts; nil counts nothing.
	Metrics Metrics
	// Registerer, if set, gets the readiness gauges
	// yinzheng_verifier_root_age_seconds and
	// yinzheng_verifier_status_list_expiry_seconds.
	Registerer prometheus.Registerer
}

// Service is the verifier's HTTP service.
type Service struct {
	v     Verifier
	opts  Options
	log   *slog.Logger
	batch *collector // nil: one by one
}

// New registers the service's routes on mux: POST /requests, GET
// /requests/{id}, GET /requests/{id}/result, POST /response and GET
// /readyz.
func New(mux Mux, v Verifier, opts Options) (*Service, error) {
	if v == nil {
		return nil, errors.New("verifier service: no verifier")
	}
	if mux == nil {
		return nil, errors.New("verifier service: no mux")
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if !strings.HasPrefix(opts.PublicURL, "http://") && !strings.HasPrefix(opts.PublicURL, "https://") {
		return nil, fmt.Errorf("verifier service: public URL %q is not an http(s) URL", opts.PublicURL)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{v: v, opts: opts, log: log}
	if bv, ok := v.(BatchVerifier); ok && opts.MaxBatch > 1 {
		s.batch = &collector{v: bv, max: opts.MaxBatch}
	}
	if opts.Registerer != nil {
		if err := s.registerGauges(opts.Registerer); err != nil {
			return nil, fmt.Errorf("verifier service: metrics: %w", err)
		}
	}
	mux.HandleFunc("POST /requests", s.create)
	mux.HandleFunc("GET /requests/{id}", s.get)
	mux.HandleFunc("GET /requests/{id}/result", s.result)
	mux.HandleFunc("POST /response", s.response)
	mux.HandleFunc("GET /readyz", s.ready)
	return s, nil
}

func (s *Service) observe(valid bool, reasons []string) {
	if s.opts.Metrics != nil {
		s.opts.Metrics.ObserveVerification(valid, reasons)
	}
}

// unavailable answers 503 with Retry-After: not a verdict, the client may
// send the same thing again later.
func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	httpserv.WriteError(w, http.StatusServiceUnavailable, msg)
}

// ReadyDocument is the body of GET /readyz.
type ReadyDocument struct {
	Ready bool `json:"ready"`
	// Reason is a stable phrase naming the failing check (not ready only):
	// "store unavailable", "issuer not pinned", "trust changed", "untrusted circuit keys",
	// "publication rolled back", "stale root", "status list expired",
	// "publication unusable", "publication unreachable".
	Reason string `json:"reason,omitempty"`
	// Error is the verifier's message (not ready only).
	Error string `json:"error,omitempty"`
	// Issuer and Epoch are the pinned issuer and its latest verified epoch.
	Issuer string  `json:"issuer,omitempty"`
	Epoch  *uint64 `json:"epoch,omitempty"`
	// RootAgeSeconds is the age of the latest verified root.
	RootAgeSeconds *float64 `json:"root_age_seconds,omitempty"`
	// StatusListExpirySeconds is the time left before the status list
	// expires.
	StatusListExpirySeconds *float64 `json:"status_list_expiry_seconds,omitempty"`
}

// readinessReason names the check a readiness error comes from.
func readinessReason(err error) string {
	switch {
	case errors.Is(err, verifier.ErrStoreUnavailable):
		return "store unavailable"
	case errors.Is(err, verifier.ErrNotPinned):
		return "issuer not pinned"
	case errors.Is(err, verifier.ErrTrustChanged):
		return "trust changed"
	case errors.Is(err, verifier.ErrUntrustedKeys):
		return "untrusted circuit keys"
	case errors.Is(err, verifier.ErrRolledBack):
		return "publication rolled back"
	case errors.Is(err, verifier.ErrStaleRoot):
		return "stale root"
	case errors.Is(err, verifier.ErrStatusListExpired):
		return "status list expired"
	case errors.Is(err, verifier.ErrIssuer):
		return "publication unusable"
	default:
		return "publication unreachable"
	}
}

// ready is GET /readyz: 200 when the verifier can decide presentations,
// 503 with the reason otherwise. /healthz (the server's) stays liveness.
func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rd, err := s.v.Ready(ctx)
	doc := ReadyDocument{Ready: err == nil, Issuer: rd.Issuer}
	now := s.opts.Now()
	if !rd.RootIssuedAt.IsZero() {
		epoch, age := rd.Epoch, now.Sub(rd.RootIssuedAt).Seconds()
		doc.Epoch, doc.RootAgeSeconds = &epoch, &age
	}
	if !rd.StatusListExpires.IsZero() {
		left := rd.StatusListExpires.Sub(now).Seconds()
		doc.StatusListExpirySeconds = &left
	}
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		doc.Reason, doc.Error = readinessReason(err), err.Error()
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		httpserv.WriteJSON(w, http.StatusServiceUnavailable, doc)
		return
	}
	httpserv.WriteJSON(w, http.StatusOK, doc)
}

// registerGauges adds the readiness gauges; each scrape runs a readiness
// check (cached by the verifier). A value that is not known, because the
// check failed before it, is NaN.
func (s *Service) registerGauges(reg prometheus.Registerer) error {
	read := func(f func(verifier.Readiness, time.Time) float64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			rd, _ := s.v.Ready(ctx)
			return f(rd, s.opts.Now())
		}
	}
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yinzheng_verifier_root_age_seconds",
			Help: "Age of the issuer's latest verified root statement (NaN when none).",
		}, read(func(rd verifier.Readiness, now time.Time) float64 {
			if rd.RootIssuedAt.IsZero() {
				return math.NaN()
			}
			return now.Sub(rd.RootIssuedAt).Seconds()
		})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yinzheng_verifier_status_list_expiry_seconds",
			Help: "Seconds until the issuer's verified status list expires (NaN when none is valid).",
		}, read(func(rd verifier.Readiness, now time.Time) float64 {
			if rd.StatusListExpires.IsZero() {
				return math.NaN()
			}
			return rd.StatusListExpires.Sub(now).Seconds()
		})),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var doc PolicyDocument
	if err := httpserv.DecodeJSON(r, &doc); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	req, token, err := s.v.NewTransaction(r.Context(), verifier.Policy{Scope: doc.Scope, AgeOver: doc.AgeOver,
		AgeUnder: doc.AgeUnder, MinLevel: doc.MinLevel, GuardianConsent: doc.GuardianConsent,
		SDJWTClaims: doc.SDJWT})
	if err != nil {
		if errors.Is(err, verifier.ErrPolicy) {
			httpserv.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		// The verifier cannot make requests now (publication unreachable,
		// stale, rolled back or no longer matching the pins; the store):
		// GET /readyz says which. The detail goes to the log only.
		s.log.Error("request not made", "error", err.Error())
		unavailable(w, "the verifier cannot make requests now; retry later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(ResultTokenHeader, token)
	httpserv.WriteJSON(w, http.StatusCreated, s.envelope(req))
}

func (s *Service) envelope(req *verifier.Request) AuthorizationRequest {
	return AuthorizationRequest{ResponseType: "vp_token", ResponseMode: "direct_post",
		ResponseURI: s.opts.PublicURL + "/response", RequestURI: s.opts.PublicURL + "/requests/" + req.ID,
		State: req.ID, Request: req}
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	req, err := s.v.PendingRequest(r.Context(), r.PathValue("id"))
	if errors.Is(err, verifier.ErrUnknownRequest) {
		httpserv.WriteError(w, http.StatusNotFound, "no pending request with this id (unknown, answered or expired)")
		return
	}
	if err != nil {
		s.log.Error("request not read", "error", err.Error())
		unavailable(w, "the verifier cannot read requests now; retry later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, s.envelope(req))
}

// result is GET /requests/{id}/result: the verdict, for the bearer of the
// request's result token, from whichever replica decided it. 404 until
// the request is decided (and for a wrong token: the two are not told
// apart), then 200 with the result, valid or not.
func (s *Service) result(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		httpserv.WriteError(w, http.StatusUnauthorized, "the request's result token is required (Authorization: Bearer)")
		return
	}
	res, err := s.v.Result(r.Context(), r.PathValue("id"), token)
	if errors.Is(err, verifier.ErrNoResult) {
		httpserv.WriteError(w, http.StatusNotFound, "no result for this request (not decided yet, or unknown)")
		return
	}
	if err != nil {
		s.log.Error("result not read", "error", err.Error())
		unavailable(w, "the verifier cannot read results now; retry later")
		return
	}
	if res.Reasons == nil {
		res.Reasons = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, res)
}

// response is the direct_post endpoint: the presentation JSON arrives as
// the form field vp_token, or as the JSON body itself.
func (s *Service) response(w http.ResponseWriter, r *http.Request) {
	data, err := presentationBytes(r)
	if err != nil {
		s.reject(w, err)
		return
	}
	if _, err := verifier.ParsePresentation(data); err != nil {
		s.reject(w, httpserv.Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	var res *verifier.Result
	if s.batch != nil {
		res, err = s.batch.verify(data)
	} else {
		res, err = s.v.Verify(r.Context(), data)
	}
	if err != nil {
		// Not a verdict on the presentation: the verifier could not decide
		// and the request is still unused, so the same presentation can
		// be posted again.
		s.log.Error("verification undecided", "error", err.Error())
		if errors.Is(err, verifier.ErrStoreUnavailable) {
			unavailable(w, "the verifier's store is unavailable; nothing was accepted, retry later")
			return
		}
		unavailable(w, "the verifier could not decide; retry later")
		return
	}
	s.observe(res.Valid, res.Reasons)
	if res.Reasons == nil {
		res.Reasons = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if !res.Valid {
		status = http.StatusUnprocessableEntity
	}
	httpserv.WriteJSON(w, status, res)
}

func presentationBytes(r *http.Request) ([]byte, error) {
	ctype := r.Header.Get("Content-Type")
	if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return nil, httpserv.BodyError(err)
		}
		tok := r.PostForm.Get("vp_token")
		if tok == "" {
			return nil, httpserv.Errorf(http.StatusBadRequest, "malformed presentation: form field vp_token is missing")
		}
		return []byte(tok), nil
	}
	data, err := httpserv.ReadBody(r)
	if err != nil {
		var he *httpserv.Error
		if errors.As(err, &he) && he.Status == http.StatusBadRequest {
			return nil, httpserv.Errorf(http.StatusBadRequest, "malformed presentation: %s", he.Msg)
		}
		return nil, err
	}
	return data, nil
}

// reject answers a presentation that could not even be read: a result with
// valid false and the reason, with 400 (or 413 for an oversized body).
func (s *Service) reject(w http.ResponseWriter, err error) {
	status, msg := http.StatusBadRequest, err.Error()
	var he *httpserv.Error
	if errors.As(err, &he) {
		status = he.Status
	}
	if !strings.HasPrefix(msg, "malformed presentation") && status == http.StatusBadRequest {
		msg = "malformed presentation: " + msg
	}
	s.observe(false, []string{msg})
	httpserv.WriteJSON(w, status, verifier.Result{Valid: false, Reasons: []string{msg}})
}
