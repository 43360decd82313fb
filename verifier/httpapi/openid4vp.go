package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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
	// DefaultMaxTransactions bounds the transactions a platform service
	// keeps in memory.
	DefaultMaxTransactions = 100000
	// MinAPITokenLength is the shortest API token accepted (bytes).
	MinAPITokenLength = 32
)

// TransactionVerifier is what the platform service needs from the verifier
// library; *verifier.Verifier is one.
type TransactionVerifier interface {
	NewPlatformRequest(ctx context.Context, p verifier.Policy, pl *verifier.Platform) (*verifier.Transaction, error)
	VerifyResponse(ctx context.Context, state string, vpToken []byte, expected *wire.RequestObject) (*verifier.Result, error)
	Decline(ctx context.Context, state, code string) (*verifier.Result, error)
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
	// QuotaPerMinute bounds the transactions created per minute (0:
	// DefaultQuotaPerMinute); MaxPending bounds those kept (0:
	// DefaultMaxTransactions).
	QuotaPerMinute int
	MaxPending     int
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
// post their answers.
type PlatformService struct {
	v     TransactionVerifier
	opts  PlatformOptions
	log   *slog.Logger
	token [32]byte

	mu          sync.Mutex
	txs         map[string]*transaction
	windowStart time.Time
	windowCount int
}

type transaction struct {
	jwt          string
	object       *wire.RequestObject
	expires      time.Time
	result       *verifier.Result
	responseCode string
}

// NewPlatform registers the platform service's routes on mux: POST
// /v1/transactions and GET /v1/transactions/{id} (authenticated), GET
// /openid4vp/request/{id} and POST /openid4vp/response (wallets).
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
	if opts.Platform.ResponseURI == "" {
		pl := *opts.Platform
		pl.ResponseURI = opts.PublicURL + ResponsePath
		opts.Platform = &pl
	}
	if opts.QuotaPerMinute <= 0 {
		opts.QuotaPerMinute = DefaultQuotaPerMinute
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxTransactions
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &PlatformService{v: v, opts: opts, log: log, token: sha256.Sum256([]byte(opts.APIToken)), txs: map[string]*transaction{}}
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

// admit applies the quota and the bound on kept transactions.
func (s *PlatformService) admit(now time.Time) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.windowStart) >= time.Minute {
		s.windowStart, s.windowCount = now, 0
	}
	if s.windowCount >= s.opts.QuotaPerMinute {
		return http.StatusTooManyRequests, fmt.Sprintf("quota of %d transactions a minute reached", s.opts.QuotaPerMinute)
	}
	if len(s.txs) >= s.opts.MaxPending {
		for id, tx := range s.txs {
			if !now.Before(tx.expires) {
				delete(s.txs, id)
			}
		}
		if len(s.txs) >= s.opts.MaxPending {
			return http.StatusServiceUnavailable, "too many open transactions"
		}
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
	s.mu.Lock()
	s.txs[tx.ID] = &transaction{jwt: tx.RequestObject, object: tx.Object, expires: time.Unix(tx.Object.Expires, 0)}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusCreated, NewTransactionDocument(tx, s.opts.PublicURL+RequestPath+tx.ID))
}

func (s *PlatformService) lookup(id string) *transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.txs[id]
	if tx == nil || !s.opts.Now().Before(tx.expires.Add(time.Hour)) {
		return nil
	}
	return tx
}

// requestObject serves the signed request object (request_uri).
func (s *PlatformService) requestObject(w http.ResponseWriter, r *http.Request) {
	tx := s.lookup(r.PathValue("id"))
	if tx == nil || !s.opts.Now().Before(tx.expires) {
		httpserv.WriteError(w, http.StatusNotFound, "no open transaction with this id (unknown or expired)")
		return
	}
	w.Header().Set("Content-Type", wire.RequestObjectMediaType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(tx.jwt))
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
// (or unknown: never made, expired, or made before a restart, since the
// transactions are kept in memory) is 400 invalid_request.
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
	tx := s.lookup(state)
	if tx == nil {
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "unknown state"})
		return
	}
	s.mu.Lock()
	answered := tx.result != nil
	s.mu.Unlock()
	if answered {
		// A transaction has one answer; a second post (a replay) changes
		// nothing and is told so.
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "this transaction was answered already"})
		return
	}
	var (
		res *verifier.Result
		err error
	)
	switch code, tok := r.PostForm.Get("error"), r.PostForm.Get("vp_token"); {
	case code != "" && tok == "":
		res, err = s.v.Decline(r.Context(), state, code)
	case tok != "" && code == "":
		res, err = s.v.VerifyResponse(r.Context(), state, []byte(tok), tx.object)
	default:
		httpserv.WriteJSON(w, http.StatusBadRequest, oauthError{wire.ErrorInvalidRequest, "give vp_token or error"})
		return
	}
	if err != nil {
		s.log.Error("verification undecided", "error", err.Error())
		unavailable(w, "the verifier could not decide; retry later")
		return
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.ObserveVerification(res.Valid, res.Reasons)
	}
	var ans wire.DirectPostAnswer
	s.mu.Lock()
	if tx.result == nil {
		tx.result = res
		if s.opts.RedirectURI != "" {
			tx.responseCode = randomToken()
		}
	}
	code := tx.responseCode
	s.mu.Unlock()
	if code != "" {
		ans.RedirectURI = withQuery(s.opts.RedirectURI, "response_code", code)
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
	tx := s.lookup(id)
	if tx == nil {
		httpserv.WriteError(w, http.StatusNotFound, "no transaction with this id (unknown or expired)")
		return
	}
	s.mu.Lock()
	res, code := tx.result, tx.responseCode
	s.mu.Unlock()
	doc := VerdictDocument{TransactionID: id, Status: "pending"}
	if res != nil {
		// Same-device: only the browser the wallet was sent back to holds
		// the response code, so a verdict cannot be claimed for another
		// session (session fixation).
		if code != "" && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("response_code")), []byte(code)) != 1 {
			httpserv.WriteError(w, http.StatusForbidden, "this transaction's verdict is read with its response_code")
			return
		}
		doc.Status, doc.Result = "complete", res
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, doc)
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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
