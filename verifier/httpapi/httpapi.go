// Package httpapi is the verifier's HTTP service: OpenID4VP 1.0 for one
// registered platform (NewPlatform), with response_mode direct_post. The
// platform's backend creates transactions and reads their verdicts over an
// authenticated API (POST /v1/transactions, GET /v1/transactions/{id}, with
// the platform's API token and a quota); wallets fetch the signed request
// object at request_uri (GET /openid4vp/request/{id}) and post their answer
// to the response endpoint (POST /openid4vp/response), answered 200 with a
// response_code whatever the verdict (see docs/verifier.md). Nothing
// creates a transaction without the API token.
//
// Every check is the verifier library's: this package parses, routes,
// authenticates, limits, batches and counts. It keeps nothing itself:
// transactions, their single-use records and verdicts live in the
// verifier's store, so replicas sharing one (Redis) are interchangeable
// behind a load balancer: any of them serves any step of a transaction
// another made. NewReadiness adds GET /readyz, which says whether the
// verifier can decide now (see docs/http.md).
//
// Under load, concurrent answers are verified together in batches
// (verifier.VerifyResponses): while one batch is being verified the next
// gathers, so a lone answer waits for nothing.
//
// The service registers its routes on any mux with HandleFunc (an
// *http.ServeMux, or the server of `yinzheng serve`), so a program outside
// this module can run it.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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

// PolicyDocument is the body of POST /v1/transactions; the members mirror
// the flags of `yinzheng verifier request`.
type PolicyDocument struct {
	Scope           string   `json:"scope"`
	AgeOver         *int     `json:"age_over,omitempty"`
	AgeUnder        *int     `json:"age_under,omitempty"`
	MinLevel        int      `json:"min_level,omitempty"`
	GuardianConsent bool     `json:"guardian_consent,omitempty"`
	SDJWT           []string `json:"sd_jwt,omitempty"`
}

// DefaultMaxBatch is the largest batch of answers verified together.
const DefaultMaxBatch = 64

// Mux is where the service registers its routes: an *http.ServeMux, or
// any router with the same HandleFunc. Patterns are net/http's ("POST
// /openid4vp/response").
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Metrics counts verification outcomes.
type Metrics interface {
	// ObserveVerification counts one verdict and its first reason.
	ObserveVerification(valid bool, reasons []string)
}

// unavailable answers 503 with Retry-After: not a verdict, the client may
// send the same thing again later.
func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	httpserv.WriteError(w, http.StatusServiceUnavailable, msg)
}

// Readier is what GET /readyz asks; *verifier.Verifier is one.
type Readier interface {
	// Ready reports whether the verifier can decide now, as
	// verifier.Verifier.Ready does.
	Ready(ctx context.Context) (verifier.Readiness, error)
}

// ReadinessOptions configure NewReadiness.
type ReadinessOptions struct {
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
	// Registerer, if set, gets the readiness gauges
	// yinzheng_verifier_root_age_seconds and
	// yinzheng_verifier_status_list_expiry_seconds.
	Registerer prometheus.Registerer
}

// readiness serves GET /readyz and the gauges.
type readiness struct {
	v   Readier
	now func() time.Time
}

// NewReadiness registers GET /readyz on mux: 200 when v can decide
// presentations now, 503 with the reason otherwise (a ReadyDocument). It
// belongs to the verifier, not to one platform: register it once per mux.
func NewReadiness(mux Mux, v Readier, opts ReadinessOptions) error {
	if v == nil || mux == nil {
		return errors.New("verifier readiness: no verifier or no mux")
	}
	s := &readiness{v: v, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Registerer != nil {
		if err := s.registerGauges(opts.Registerer); err != nil {
			return fmt.Errorf("verifier readiness: metrics: %w", err)
		}
	}
	mux.HandleFunc("GET /readyz", s.ready)
	return nil
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
func (s *readiness) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rd, err := s.v.Ready(ctx)
	doc := ReadyDocument{Ready: err == nil, Issuer: rd.Issuer}
	now := s.now()
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
func (s *readiness) registerGauges(reg prometheus.Registerer) error {
	read := func(f func(verifier.Readiness, time.Time) float64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			rd, _ := s.v.Ready(ctx)
			return f(rd, s.now())
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
