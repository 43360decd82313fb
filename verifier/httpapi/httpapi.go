// Package httpapi is the verifier's HTTP service, in the shape of OpenID4VP
// with response_mode direct_post: a platform creates a request from its
// policy (POST /requests), hands it to the holder (inline, or by reference
// as GET /requests/{id}), and the holder's wallet posts its presentation to
// the response endpoint (POST /response), which answers with the result.
//
// Every check is the verifier library's: this package parses, routes,
// limits and counts. Requests are kept in memory only for GET
// /requests/{id}; the single-use nonce and the request the proof is checked
// against live in the verifier's own store.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// Verifier is what the service needs from the verifier library.
type Verifier interface {
	// NewRequest makes a request for policy and records its nonce. An
	// error wrapping verifier.ErrPolicy is the caller's fault.
	NewRequest(ctx context.Context, policy verifier.Policy) (*verifier.Request, error)
	// Verify checks a presentation against the stored request it answers.
	// An error means the verifier could not decide (for example the
	// issuer's publication was unreachable), not that the
	// presentation is invalid.
	// The presentation has already been parsed once with
	// verifier.ParsePresentation.
	Verify(ctx context.Context, presentation []byte) (*verifier.Result, error)
}

// FromVerifier adapts a verifier library instance to [Verifier].
func FromVerifier(v *verifier.Verifier) Verifier { return libVerifier{v} }

type libVerifier struct{ v *verifier.Verifier }

func (l libVerifier) NewRequest(ctx context.Context, p verifier.Policy) (*verifier.Request, error) {
	return l.v.NewRequest(ctx, p)
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

// DefaultMaxPending bounds the requests kept in memory for GET /requests/{id}.
const DefaultMaxPending = 100000

// Options configures the service.
type Options struct {
	// PublicURL is the base URL wallets reach the service at, for
	// response_uri and request_uri.
	PublicURL string
	// MaxPending bounds the requests kept for GET /requests/{id}.
	MaxPending int
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
}

// Service is the verifier's HTTP service.
type Service struct {
	v    Verifier
	opts Options
	srv  *httpserv.Server

	mu      sync.Mutex
	pending map[string]pendingRequest
	// order holds the ids of pending requests oldest first, from head on.
	// A verifier gives every request the same lifetime, so this is also
	// the order they expire in: expiring and evicting take the front, and
	// remember costs O(1) amortized instead of a scan of every request.
	order []string
	head  int
}

type pendingRequest struct {
	req     *verifier.Request
	expires time.Time
}

// New registers the service's routes on srv.
func New(srv *httpserv.Server, v Verifier, opts Options) (*Service, error) {
	if v == nil {
		return nil, errors.New("verifier service: no verifier")
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if !strings.HasPrefix(opts.PublicURL, "http://") && !strings.HasPrefix(opts.PublicURL, "https://") {
		return nil, fmt.Errorf("verifier service: public URL %q is not an http(s) URL", opts.PublicURL)
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{v: v, opts: opts, srv: srv, pending: make(map[string]pendingRequest)}
	srv.HandleFunc("POST /requests", s.create)
	srv.HandleFunc("GET /requests/{id}", s.get)
	srv.HandleFunc("POST /response", s.response)
	return s, nil
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var doc PolicyDocument
	if err := httpserv.DecodeJSON(r, &doc); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	req, err := s.v.NewRequest(r.Context(), verifier.Policy{Scope: doc.Scope, AgeOver: doc.AgeOver,
		AgeUnder: doc.AgeUnder, MinLevel: doc.MinLevel, GuardianConsent: doc.GuardianConsent,
		SDJWTClaims: doc.SDJWT})
	if err != nil {
		if errors.Is(err, verifier.ErrPolicy) {
			httpserv.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	expires, err := time.Parse(time.RFC3339, req.ExpiresAt)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), fmt.Errorf("request expires_at: %w", err))
		return
	}
	s.remember(req, expires)
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusCreated, s.envelope(req))
}

func (s *Service) envelope(req *verifier.Request) AuthorizationRequest {
	return AuthorizationRequest{ResponseType: "vp_token", ResponseMode: "direct_post",
		ResponseURI: s.opts.PublicURL + "/response", RequestURI: s.opts.PublicURL + "/requests/" + req.ID,
		State: req.ID, Request: req}
}

func (s *Service) remember(req *verifier.Request, expires time.Time) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.head < len(s.order) {
		id := s.order[s.head]
		// When full, the oldest is dropped even if it has not expired:
		// only the by-reference copy goes, the request itself, in the
		// verifier's store, still verifies.
		if p, ok := s.pending[id]; ok && now.Before(p.expires) && len(s.pending) < s.opts.MaxPending {
			break
		}
		delete(s.pending, id)
		s.order[s.head] = ""
		s.head++
	}
	if s.head > len(s.order)/2 {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
	s.pending[req.ID] = pendingRequest{req: req, expires: expires}
	s.order = append(s.order, req.ID)
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	p, ok := s.pending[id]
	s.mu.Unlock()
	if !ok || !s.opts.Now().Before(p.expires) {
		httpserv.WriteError(w, http.StatusNotFound, "no pending request with this id (unknown or expired)")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, s.envelope(p.req))
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
	res, err := s.v.Verify(r.Context(), data)
	if err != nil {
		// Not a verdict on the presentation: the verifier could not decide.
		s.srv.Logger().Error("verification undecided", "error", err.Error())
		httpserv.WriteError(w, http.StatusServiceUnavailable, "the verifier could not decide; retry later")
		return
	}
	s.srv.Metrics().ObserveVerification(res.Valid, res.Reasons)
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
	s.srv.Metrics().ObserveVerification(false, []string{msg})
	httpserv.WriteJSON(w, status, verifier.Result{Valid: false, Reasons: []string{msg}})
}
