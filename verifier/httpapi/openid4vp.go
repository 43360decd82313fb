package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/wire"
)

// Paths of the platform service: the wallet-facing OpenID4VP endpoints and
// the platform backend's authenticated API.
const (
	RequestPath      = "/openid4vp/request/"
	ResponsePath     = "/openid4vp/response"
	TransactionsPath = "/v1/transactions"
)

// Defaults of PlatformOptions.
const (
	DefaultQuotaPerMinute = 600
	// MinAPITokenLength is the shortest API token accepted (bytes).
	MinAPITokenLength = 32
)

// TransactionVerifier is what the platform service needs from the verifier
// library; *verifier.Verifier is one. Everything of a transaction lives in
// the verifier's store, none in the service, so replicas sharing the store
// serve any transaction.
type TransactionVerifier interface {
	NewPlatformRequest(ctx context.Context, p verifier.Policy, pl *verifier.Platform) (*verifier.Transaction, error)
	RecordedTransaction(ctx context.Context, id string) (*verifier.Transaction, error)
	Result(ctx context.Context, id, token string) (*verifier.Result, error)
	VerifyResponse(ctx context.Context, state string, vpToken []byte, expected *wire.RequestObject) (*verifier.Result, error)
	Decline(ctx context.Context, state, code string) (*verifier.Result, error)
}

// ResponseBatchVerifier is what a TransactionVerifier also implements when
// it can verify many wallet answers at once, as
// verifier.Verifier.VerifyResponses does (each decided as VerifyResponse
// would, the proofs checked together); the platform service then batches
// the answers that arrive together.
type ResponseBatchVerifier interface {
	VerifyResponses(ctx context.Context, items []verifier.ResponseItem) []verifier.BatchResult
}

// TransactionDocument is the answer of POST /v1/transactions (and what
// `yinzheng verifier request` prints): the transaction id the backend
// reads the verdict by, the signed request object, the request_uri that
// serves it and the openid4vp:// invocation URL (or QR code) for the
// wallet.
type TransactionDocument struct {
	TransactionID string `json:"transaction_id"`
	ClientID      string `json:"client_id"`
	RequestObject string `json:"request_object"`
	RequestURI    string `json:"request_uri"`
	Invocation    string `json:"invocation"`
	ExpiresAt     string `json:"expires_at"`
}

// NewTransactionDocument describes tx, served at requestURI.
func NewTransactionDocument(tx *verifier.Transaction, requestURI string) TransactionDocument {
	return TransactionDocument{TransactionID: tx.ID, ClientID: tx.Object.ClientID, RequestObject: tx.RequestObject,
		RequestURI: requestURI, Invocation: wire.InvocationURL(tx.Object.ClientID, requestURI), ExpiresAt: tx.Request.ExpiresAt}
}

// VerdictDocument is the answer of GET /v1/transactions/{id}.
type VerdictDocument struct {
	TransactionID string `json:"transaction_id"`
	// Status is "pending" (no answer yet) or "complete".
	Status string           `json:"status"`
	Result *verifier.Result `json:"result,omitempty"`
}

// PlatformOptions configure the platform service.
type PlatformOptions struct {
	// Platform is the registered identity requests are signed under.
	Platform *verifier.Platform
	// APIToken authenticates the platform's backend (Authorization:
	// Bearer TOKEN) on /v1/transactions; at least MinAPITokenLength bytes.
	APIToken string
	// PublicURL is the base URL wallets reach the service at; its host
	// must be the platform's domain. request_uri and response_uri are
	// under it.
	PublicURL string
	// RedirectURI, when set, is where the wallet sends the user after a
	// same-device answer, with a response_code appended; the verdict is
	// then read with that response_code only.
	RedirectURI string
	// QuotaPerMinute bounds the transactions created per minute by this
	// replica (0: DefaultQuotaPerMinute): the count is not shared, so a
	// fleet of n replicas admits up to n times it. The transactions kept
	// are bounded by the store's TTLs (the verifier's request TTL), not
	// by the service, which keeps none.
	QuotaPerMinute int
	// MaxBatch bounds the answers verified together when the verifier is
	// also a ResponseBatchVerifier; 0 is DefaultMaxBatch, 1 verifies one
	// by one.
	MaxBatch int
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Logger receives errors the client is not shown; nil discards them.
	Logger *slog.Logger
	// Metrics counts verdicts; nil counts nothing.
	Metrics Metrics
}

// PlatformService is the verifier's OpenID4VP 1.0 service for one
// registered platform: the backend creates transactions and reads
// verdicts over an authenticated API, wallets fetch request objects and
// post their answers. It is stateless on the verifier's store: the request
// object, the single-use record and the verdict are there, the result
// token and the response_code are derived from the API token (which every
// replica of one platform holds), so any replica serves any step of a
// transaction another made. Only the quota is per replica.
type PlatformService struct {
	v     TransactionVerifier
	opts  PlatformOptions
	log   *slog.Logger
	token [32]byte
	// codeKey derives the response_code of a transaction from its state.
	codeKey []byte
	batch   *collector // nil: one by one

	mu          sync.Mutex
	windowStart time.Time
	windowCount int
}

// deriveKey is HMAC-SHA256(API token, label): separate keys for separate
// uses of the one secret replicas share.
func deriveKey(token, label string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(label))
	return m.Sum(nil)
}

// NewPlatform registers the platform service's routes on mux: POST
// /v1/transactions and GET /v1/transactions/{id} (authenticated), GET
// /openid4vp/request/{id} and POST /openid4vp/response (wallets). When v
// is also a ResponseBatchVerifier (as *verifier.Verifier is) and MaxBatch
// is not 1, concurrent answers are verified together in batches.
func NewPlatform(mux Mux, v TransactionVerifier, opts PlatformOptions) (*PlatformService, error) {
	if v == nil || mux == nil {
		return nil, errors.New("platform service: no verifier or no mux")
	}
	if opts.Platform == nil {
		return nil, errors.New("platform service: no platform identity")
	}
	if len(opts.APIToken) < MinAPITokenLength {
		return nil, fmt.Errorf("platform service: the API token must be at least %d bytes", MinAPITokenLength)
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	u, err := wire.CheckHTTPSURL("public URL", opts.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("platform service: %w", err)
	}
	if u.Hostname() != opts.Platform.Domain {
		return nil, fmt.Errorf("platform service: public URL %s is not on the platform's domain %s", opts.PublicURL, opts.Platform.Domain)
	}
	if opts.RedirectURI != "" {
		if _, err := wire.CheckHTTPSURL("redirect URI", opts.RedirectURI); err != nil {
			return nil, fmt.Errorf("platform service: %w", err)
		}
	}
	pl := *opts.Platform
	if pl.ResponseURI == "" {
		pl.ResponseURI = opts.PublicURL + ResponsePath
	}
	pl.ResultSecret = deriveKey(opts.APIToken, "yinzheng platform result secret")
	opts.Platform = &pl
	if opts.QuotaPerMinute <= 0 {
		opts.QuotaPerMinute = DefaultQuotaPerMinute
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
	s := &PlatformService{v: v, opts: opts, log: log, token: sha256.Sum256([]byte(opts.APIToken)),
		codeKey: deriveKey(opts.APIToken, "yinzheng response_code key")}
	if bv, ok := v.(ResponseBatchVerifier); ok && opts.MaxBatch > 1 {
		s.batch = &collector{v: bv, max: opts.MaxBatch}
	}
	mux.HandleFunc("POST "+TransactionsPath, s.create)
	mux.HandleFunc("GET "+TransactionsPath+"/{id}", s.verdict)
	mux.HandleFunc("GET "+RequestPath+"{id}", s.requestObject)
	mux.HandleFunc("POST "+ResponsePath, s.response)
	return s, nil
}

// authenticated checks the bearer token in constant time (over hashes, so
// the length does not leak either).
func (s *PlatformService) authenticated(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	h := sha256.Sum256([]byte(tok))
	if !ok || subtle.ConstantTimeCompare(h[:], s.token[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="yinzheng-verifier"`)
		httpserv.WriteError(w, http.StatusUnauthorized, "the platform's API token is required (Authorization: Bearer TOKEN)")
		return false
	}
	return true
}

// admit applies this replica's quota.
func (s *PlatformService) admit(now time.Time) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.windowStart) >= time.Minute {
		s.windowStart, s.windowCount = now, 0
	}
	if s.windowCount >= s.opts.QuotaPerMinute {
		return http.StatusTooManyRequests, fmt.Sprintf("quota of %d transactions a minute reached", s.opts.QuotaPerMinute)
	}
	s.windowCount++
	return 0, ""
}

func (s *PlatformService) create(w http.ResponseWriter, r *http.Request) {
	if !s.authenticated(w, r) {
		return
	}
	var doc PolicyDocument
	if err := httpserv.DecodeJSON(r, &doc); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	now := s.opts.Now()
	if status, msg := s.admit(now); status != 0 {
		w.Header().Set("Retry-After", "60")
		httpserv.WriteError(w, status, msg)
		return
	}
	tx, err := s.v.NewPlatformRequest(r.Context(), verifier.Policy{Scope: doc.Scope, AgeOver: doc.AgeOver,
		AgeUnder: doc.AgeUnder, MinLevel: doc.MinLevel, GuardianConsent: doc.GuardianConsent,
		SDJWTClaims: doc.SDJWT}, s.opts.Platform)
	if err != nil {
		if errors.Is(err, verifier.ErrPolicy) {
			httpserv.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		s.log.Error("transaction not made", "error", err.Error())
		unavailable(w, "the verifier cannot make requests now; retry later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusCreated, NewTransactionDocument(tx, s.opts.PublicURL+RequestPath+tx.ID))
}

// pending reads the undecided transaction id from the store: nil and no
// error when it is unknown or answered. An expired one is returned (its
// late answer is decided, refused as expired, as the verdict).
func (s *PlatformService) pending(ctx context.Context, id string) (*verifier.Transaction, error) {
	tx, err := s.v.RecordedTransaction(ctx, id)
	if errors.Is(err, verifier.ErrUnknownRequest) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if tx.Object == nil || tx.Object.ClientID != s.opts.Platform.ClientID() {
		// Another platform's transaction on a shared store.
		return nil, nil
	}
	return tx, nil
}

// responseCode is the response_code of the transaction of state:
// HMAC-SHA256 under a key derived from the API token, so every replica
// computes the same one and none keeps it.
func (s *PlatformService) responseCode(state string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte("yinzheng response_code\x00"))
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// requestObject serves the signed request object (request_uri).
func (s *PlatformService) requestObject(w http.ResponseWriter, r *http.Request) {
	tx, err := s.pending(r.Context(), r.PathValue("id"))
	if err != nil {
		s.log.Error("request object not read", "error", err.Error())
		unavailable(w, "the verifier cannot serve requests now; retry later")
		return
	}
	if tx == nil || !s.opts.Now().Before(time.Unix(tx.Object.Expires, 0)) {
		httpserv.WriteError(w, http.StatusNotFound, "no open transaction with this id (unknown, answered or expired)")
		return
	}
	w.Header().Set("Content-Type", wire.RequestObjectMediaType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(tx.RequestObject))
}

// oauthError is an error answer of the response endpoint.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// response is the direct_post endpoint: the wallet posts vp_token and
// state, or error and state. A decided answer is 200 with the
// redirect_uri (same-device) whatever the verdict: the verdict goes to the
// platform's backend, not to whoever posts. A transaction already answered
// (on any replica: the store's single-use record decides, of concurrent
// answers exactly one is taken) or unknown (never made, expired) is 400
// invalid_request.
func (s *PlatformService) response(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxDocumentSize+64<<10)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "the answer is a form (application/x-www-form-urlencoded)"})
		return
	}
	if err := r.ParseForm(); err != nil {
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "unreadable form"})
		return
	}
	state := r.PostForm.Get("state")
	tx, err := s.pending(r.Context(), state)
	if err != nil {
		s.log.Error("transaction not read", "error", err.Error())
		unavailable(w, "the verifier could not decide; retry later")
		return
	}
	if tx == nil {
		// A transaction has one answer; a second post (a replay) changes
		// nothing and is told so.
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "unknown state, or this transaction was answered already"})
		return
	}
	var res *verifier.Result
	switch code, tok := r.PostForm.Get("error"), r.PostForm.Get("vp_token"); {
	case code != "" && tok == "":
		res, err = s.v.Decline(r.Context(), state, code)
	case tok != "" && code == "" && s.batch != nil:
		res, err = s.batch.verify(verifier.ResponseItem{State: state, VPToken: []byte(tok), Expected: tx.Object})
	case tok != "" && code == "":
		res, err = s.v.VerifyResponse(r.Context(), state, []byte(tok), tx.Object)
	default:
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "give vp_token or error"})
		return
	}
	if err != nil {
		s.log.Error("verification undecided", "error", err.Error())
		unavailable(w, "the verifier could not decide; retry later")
		return
	}
	if !res.Valid && slices.Contains(res.Reasons, verifier.ReasonUnknownNonce) {
		// Another answer (on this replica or another) consumed the
		// transaction between the read above and this one's decision.
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "this transaction was answered already"})
		return
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.ObserveVerification(res.Valid, res.Reasons)
	}
	var ans wire.DirectPostAnswer
	if s.opts.RedirectURI != "" {
		ans.RedirectURI = withQuery(s.opts.RedirectURI, "response_code", s.responseCode(state))
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, ans)
}

// verdict is GET /v1/transactions/{id}[?response_code=…] for the backend.
func (s *PlatformService) verdict(w http.ResponseWriter, r *http.Request) {
	if !s.authenticated(w, r) {
		return
	}
	id := r.PathValue("id")
	doc := VerdictDocument{TransactionID: id, Status: "pending"}
	res, err := s.v.Result(r.Context(), id, verifier.PlatformResultToken(s.opts.Platform.ResultSecret, id))
	switch {
	case errors.Is(err, verifier.ErrNoResult):
		// Not decided, or not this platform's: pending while it is open.
		tx, err := s.pending(r.Context(), id)
		if err != nil {
			s.log.Error("transaction not read", "error", err.Error())
			unavailable(w, "the verifier cannot report now; retry later")
			return
		}
		if tx == nil {
			httpserv.WriteError(w, http.StatusNotFound, "no transaction with this id (unknown or expired)")
			return
		}
	case err != nil:
		s.log.Error("verdict not read", "error", err.Error())
		unavailable(w, "the verifier cannot report now; retry later")
		return
	default:
		// Same-device: only the browser the wallet was sent back to holds
		// the response code, so a verdict cannot be claimed for another
		// session (session fixation).
		if s.opts.RedirectURI != "" && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("response_code")), []byte(s.responseCode(id))) != 1 {
			httpserv.WriteError(w, http.StatusForbidden, "this transaction's verdict is read with its response_code")
			return
		}
		doc.Status, doc.Result = "complete", res
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, doc)
}

func withQuery(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
