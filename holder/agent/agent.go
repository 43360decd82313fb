// Package agent is the local wallet agent of `yinzheng holder serve`: one
// process keeps a wallet open (unlocked once, its data key in memory), its
// compiled circuit and proving keys loaded, and answers the command line
// and the holder's browser over HTTP on a loopback address, so that a
// second proof costs the proof alone.
//
// Nothing outside the holder's own account may use it. The agent listens on
// a loopback address only, and every call carries a bearer token: 32 random
// bytes the agent writes to AgentFile in the wallet directory (mode 0600,
// readable by the holder's account alone) and the command line reads. A
// call whose Host is not the agent's own address is refused (a DNS
// rebinding page would name its own host), and so is a call from a browser
// page (it has an Origin header) unless its origin was allowed when the
// agent started.
//
// The agent makes no decision of its own: every answer is the holder
// library's (FetchRequest with the wallet's pinned registrars, Consent,
// Prove, Present, PostResponse, Import), and a refusal travels back as
// its sentinel's code, so the client's errors.Is sees the same sentinel as
// an in-process call would.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/internal/atomicfile"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/wire"
)

// AgentFile is the file, in the wallet directory, that tells the command
// line where the running agent listens and the token it wants.
const AgentFile = "agent.json"

// Errors of the agent itself.
var (
	// ErrNotLoopback refuses an address that is not a loopback IP.
	ErrNotLoopback = errors.New("agent: the wallet agent listens on a loopback address only (127.0.0.1 or ::1)")
	// ErrNoAgent reports that no agent runs for a wallet directory.
	ErrNoAgent = errors.New("agent: no wallet agent runs for this wallet (start one with holder serve)")
	// ErrUnauthorized reports a call without the agent's token.
	ErrUnauthorized = errors.New("agent: the call does not carry the agent's token")
	// ErrForbidden reports a call from a host or page origin the agent does
	// not serve.
	ErrForbidden = errors.New("agent: the call comes from a host or page origin this agent does not serve")
	// ErrUnknownRequest reports an answer to a request the agent did not
	// open, already answered, or forgot (after ten minutes).
	ErrUnknownRequest = errors.New("agent: no opened request with this id (open it again)")
)

// sentinels are the holder library's refusals, by the code they travel as.
var sentinels = map[string]error{
	"request_refused": holder.ErrRequest,
	"pending":         holder.ErrPending,
	"revoked":         holder.ErrRevoked,
	"no_copies":       holder.ErrNoCopies,
	"malformed":       holder.ErrFormat,
	"birth_date":      circuits.ErrBirthDate,
	"level":           circuits.ErrLevel,
	"flags":           circuits.ErrFlags,
	"expired":         circuits.ErrExpired,
	"untrusted":       holder.ErrUntrustedPlatform,
	"unsigned":        holder.ErrUnsignedRequest,
	"client_id":       holder.ErrClientID,
	"response_uri":    holder.ErrResponseURI,
	"not_entitled":    holder.ErrNotEntitled,
	"no_registrar":    holder.ErrNoRegistrar,
	"response":        holder.ErrResponse,
	"unknown_request": ErrUnknownRequest,
	"unauthorized":    ErrUnauthorized,
	"forbidden":       ErrForbidden,
}

// codeOf returns the code of the first sentinel err wraps, or "".
func codeOf(err error) string {
	codes := make([]string, 0, len(sentinels))
	for c := range sentinels {
		codes = append(codes, c)
	}
	slices.Sort(codes) // one answer for an error that wraps two
	for _, c := range codes {
		if errors.Is(err, sentinels[c]) {
			return c
		}
	}
	return ""
}

// RemoteError is a refusal the agent sent back: its message is the
// library's, and errors.Is matches the library's sentinel.
type RemoteError struct {
	Code string
	Msg  string
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the sentinel the code names, or nil.
func (e *RemoteError) Unwrap() error { return sentinels[e.Code] }

// Info is the content of AgentFile.
type Info struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// CheckLoopback refuses an address whose host is not a loopback IP. Names
// ("localhost") are refused too: what they resolve to is not the agent's
// to decide.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("agent: address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w, not %q", ErrNotLoopback, host)
	}
	return nil
}

// Config configures an agent.
type Config struct {
	// Wallet is the open wallet the agent answers for.
	Wallet *holder.Wallet
	// AllowOrigins are the browser page origins ("http://127.0.0.1:8090")
	// whose calls are accepted (with the token); calls from any other page
	// are refused.
	AllowOrigins []string
	// Source returns the issuer publication for an issuer URL; nil uses
	// publication.HTTPSource after publication.CheckURL.
	Source func(issuer string) (publication.Source, error)
	// Warn receives the library's warnings to the holder; nil discards.
	Warn func(msg string)
	// HTTPClient fetches request objects and posts answers to platforms;
	// nil is http.DefaultClient (the system's TLS roots).
	HTTPClient *http.Client
}

// Agent is a running wallet agent's handler.
type Agent struct {
	cfg   Config
	token string
	host  string // the Host calls must name

	mu     sync.Mutex
	opened map[string]openedRequest
}

// New returns an agent for the wallet that will listen at ln's address.
// It draws a fresh token.
func New(cfg Config, ln net.Listener) (*Agent, error) {
	if cfg.Wallet == nil {
		return nil, errors.New("agent: no wallet")
	}
	if err := CheckLoopback(ln.Addr().String()); err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if cfg.Source == nil {
		cfg.Source = func(issuer string) (publication.Source, error) {
			if err := publication.CheckURL(issuer); err != nil {
				return nil, fmt.Errorf("the issuer %q is not a URL to fetch its publication from: %v", issuer, err)
			}
			return publication.HTTPSource(issuer, nil), nil
		}
	}
	if cfg.Warn == nil {
		cfg.Warn = func(string) {}
	}
	return &Agent{cfg: cfg, token: base64.RawURLEncoding.EncodeToString(tok), host: ln.Addr().String(), opened: map[string]openedRequest{}}, nil
}

// Info returns what AgentFile holds for this agent.
func (a *Agent) Info() Info {
	return Info{URL: "http://" + a.host, Token: a.token, PID: os.Getpid()}
}

// WriteInfo writes AgentFile into the wallet directory, readable by the
// holder's account alone, and returns a function that removes it.
func (a *Agent) WriteInfo() (remove func(), err error) {
	data, err := json.MarshalIndent(a.Info(), "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(a.cfg.Wallet.Dir(), AgentFile)
	// atomicfile creates its temporary file 0600 (os.CreateTemp).
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("agent: write %s: %w", path, err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// Request bodies.
type (
	// OpenBody carries a platform's request as the holder was handed it:
	// an openid4vp:// invocation URL, or the compact request object.
	OpenBody struct {
		Request string `json:"request"`
	}
	// Opened is the agent's answer to /v1/open: the request, fetched and
	// authorized with the wallet's pinned registrars, is kept under ID for
	// one /v1/answer; Consent is the holder library's text to show first.
	Opened struct {
		ID       string `json:"id"`
		Platform string `json:"platform"`
		Consent  string `json:"consent"`
		// ZK is true for a zero-knowledge request, false for an SD-JWT one.
		ZK bool `json:"zk"`
	}
	// AnswerBody answers an opened request: Decline tells the platform
	// the holder refused; otherwise the agent proves or presents, and
	// posts the vp_token to the platform when Post is set. IssuerURL or
	// IssuerDir say where to read the issuer's publication for a proof.
	AnswerBody struct {
		ID        string `json:"id"`
		Decline   bool   `json:"decline,omitempty"`
		Post      bool   `json:"post,omitempty"`
		IssuerURL string `json:"issuer_url,omitempty"`
		IssuerDir string `json:"issuer_dir,omitempty"`
	}
	// Answered is the agent's answer to /v1/answer: the vp_token (not
	// when declined) and, when posted or declined, the platform's
	// redirect_uri.
	Answered struct {
		VPToken     json.RawMessage `json:"vp_token,omitempty"`
		RedirectURI string          `json:"redirect_uri,omitempty"`
	}
	// ImportBody carries a bundle.
	ImportBody struct {
		Bundle    json.RawMessage `json:"bundle"`
		IssuerURL string          `json:"issuer_url,omitempty"`
		IssuerDir string          `json:"issuer_dir,omitempty"`
	}
	// errorBody is every refusal.
	errorBody struct {
		Error string `json:"error"`
		Code  string `json:"code,omitempty"`
	}
)

// maxBody bounds a call's body: a document and a few members.
const maxBody = holder.MaxDocumentBytes + 4096

// Opened requests are kept this long, and at most maxOpened at once (the
// oldest goes first): a request object expires within minutes anyway.
const (
	openedTTL  = 10 * time.Minute
	maxOpened  = 64
	openIDSize = 16
)

type openedRequest struct {
	a  *holder.AuthorizedRequest
	at time.Time
}

// open fetches and authorizes a request with the wallet's pinned
// registrars and keeps it for one answer.
func (a *Agent) open(ctx context.Context, request string) (*Opened, error) {
	roots, err := a.cfg.Wallet.Registrars()
	if err != nil {
		return nil, err
	}
	ar, err := holder.FetchRequest(ctx, a.cfg.HTTPClient, request, roots, time.Now())
	if err != nil {
		return nil, err
	}
	raw := make([]byte, openIDSize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	a.mu.Lock()
	now := time.Now()
	for k, o := range a.opened {
		if now.Sub(o.at) > openedTTL {
			delete(a.opened, k)
		}
	}
	for len(a.opened) >= maxOpened {
		oldest := ""
		for k, o := range a.opened {
			if oldest == "" || o.at.Before(a.opened[oldest].at) {
				oldest = k
			}
		}
		delete(a.opened, oldest)
	}
	a.opened[id] = openedRequest{a: ar, at: now}
	a.mu.Unlock()
	req := ar.Request()
	return &Opened{ID: id, Platform: ar.Platform, Consent: holder.Consent(ar), ZK: req.SDJWT == nil}, nil
}

// take removes and returns the opened request id: each is answered once.
func (a *Agent) take(id string) (*holder.AuthorizedRequest, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.opened[id]
	delete(a.opened, id)
	if !ok || time.Since(o.at) > openedTTL {
		return nil, ErrUnknownRequest
	}
	return o.a, nil
}

// answer declines, or proves or presents (and posts) an opened request.
func (a *Agent) answer(ctx context.Context, body AnswerBody) (*Answered, error) {
	ar, err := a.take(body.ID)
	if err != nil {
		return nil, err
	}
	if body.Decline {
		redirect, err := holder.Decline(ctx, a.cfg.HTTPClient, ar, wire.ErrorAccessDenied)
		if err != nil {
			return nil, err
		}
		return &Answered{RedirectURI: redirect}, nil
	}
	req := ar.Request()
	var p *holder.Presentation
	if req.SDJWT != nil {
		p, err = a.cfg.Wallet.Present(ar)
	} else {
		var src publication.Source
		if src, err = a.source(body.IssuerURL, body.IssuerDir, req.Issuer); err == nil {
			p, err = a.cfg.Wallet.Prove(ctx, ar, src, holder.ProveOptions{Warn: a.cfg.Warn})
		}
	}
	if err != nil {
		return nil, err
	}
	tok, err := holder.VPToken(p)
	if err != nil {
		return nil, err
	}
	out := &Answered{VPToken: tok}
	if body.Post {
		if out.RedirectURI, err = holder.PostResponse(ctx, a.cfg.HTTPClient, ar, tok); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Handler returns the agent's routes: POST /v1/open, /v1/answer,
// /v1/import and GET /v1/credentials.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/open", func(w http.ResponseWriter, r *http.Request) {
		var body OpenBody
		if !a.readBody(w, r, &body) {
			return
		}
		o, err := a.open(r.Context(), body.Request)
		if err != nil {
			writeErr(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	mux.HandleFunc("POST /v1/answer", func(w http.ResponseWriter, r *http.Request) {
		var body AnswerBody
		if !a.readBody(w, r, &body) {
			return
		}
		out, err := a.answer(r.Context(), body)
		if err != nil {
			writeErr(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /v1/import", func(w http.ResponseWriter, r *http.Request) {
		var body ImportBody
		if !a.readBody(w, r, &body) {
			return
		}
		b, err := holder.ParseBundle(body.Bundle)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		src, err := a.source(body.IssuerURL, body.IssuerDir, b.Issuer)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		info, err := a.cfg.Wallet.Import(r.Context(), b, src)
		if err != nil {
			writeErr(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.cfg.Wallet.Credentials())
	})
	return a.guard(mux)
}

// guard refuses calls from another host, another page, or without the
// token, and answers the CORS preflight of allowed pages.
func (a *Agent) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != a.host {
			writeErr(w, http.StatusForbidden, fmt.Errorf("%w: Host %q", ErrForbidden, r.Host))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(a.cfg.AllowOrigins, origin) {
				writeErr(w, http.StatusForbidden, fmt.Errorf("%w: origin %q", ErrForbidden, origin))
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
			writeErr(w, http.StatusUnauthorized, ErrUnauthorized)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (a *Agent) readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := readAll(r.Body, maxBody)
	if err == nil {
		err = strictjson.Unmarshal(data, maxBody, v)
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("%w: agent call: %v", holder.ErrFormat, err))
		return false
	}
	return true
}

// source picks the publication a call names, or the issuer's own URL.
func (a *Agent) source(issuerURL, issuerDir, issuer string) (publication.Source, error) {
	switch {
	case issuerURL != "" && issuerDir != "":
		return nil, errors.New("agent: give issuer_url or issuer_dir, not both")
	case issuerDir != "":
		return publication.DirSource(issuerDir), nil
	case issuerURL != "":
		return a.cfg.Source(issuerURL)
	}
	return a.cfg.Source(issuer)
}

// readAll reads a body of at most limit bytes.
func readAll(body io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"agent: encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func writeErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error(), Code: codeOf(err)})
}

// Client calls a running agent.
type Client struct {
	info Info
	hc   *http.Client
}

// Dial reads AgentFile in the wallet directory and checks that the agent
// answers; ErrNoAgent when there is no file or nothing listens (a stale
// file from an agent that died).
func Dial(ctx context.Context, walletDir string) (*Client, error) {
	path := filepath.Join(walletDir, AgentFile)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrNoAgent, walletDir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("agent: %s is readable by other accounts (mode %v); stop the agent and start it again", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	var info Info
	if err := strictjson.Unmarshal(data, 4096, &info); err != nil {
		return nil, fmt.Errorf("agent: %s: %v", path, err)
	}
	host, ok := strings.CutPrefix(info.URL, "http://")
	if !ok || CheckLoopback(host) != nil {
		return nil, fmt.Errorf("agent: %s names %q, not a loopback address", path, info.URL)
	}
	c := &Client{info: info, hc: &http.Client{Timeout: 5 * time.Minute}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Credentials(ctx); err != nil {
		var re *RemoteError
		if errors.As(err, &re) {
			return nil, err // an agent answered, and refused
		}
		return nil, fmt.Errorf("%w: %s names %s, which does not answer (%v)", ErrNoAgent, path, info.URL, err)
	}
	return c, nil
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd *strings.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(data))
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.info.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readAll(resp.Body, 2*holder.MaxDocumentBytes)
	if err != nil {
		return fmt.Errorf("agent: read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			return fmt.Errorf("agent: answer %d", resp.StatusCode)
		}
		return &RemoteError{Code: e.Code, Msg: e.Error}
	}
	return json.Unmarshal(data, out)
}

// Open hands the agent a platform's request (an openid4vp:// invocation
// URL or the compact request object); the agent fetches and authorizes it
// with the wallet's pinned registrars and returns the consent text and
// the id to answer it with.
func (c *Client) Open(ctx context.Context, request string) (*Opened, error) {
	var o Opened
	if err := c.call(ctx, "POST", "/v1/open", OpenBody{Request: request}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Answer answers a request Open returned (once).
func (c *Client) Answer(ctx context.Context, body AnswerBody) (*Answered, error) {
	var out Answered
	if err := c.call(ctx, "POST", "/v1/answer", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Import hands the agent a bundle.
func (c *Client) Import(ctx context.Context, bundle []byte, issuerURL, issuerDir string) (*holder.CredentialInfo, error) {
	var info holder.CredentialInfo
	if err := c.call(ctx, "POST", "/v1/import", ImportBody{Bundle: bundle, IssuerURL: issuerURL, IssuerDir: issuerDir}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Credentials lists the wallet's credentials.
func (c *Client) Credentials(ctx context.Context) ([]holder.CredentialInfo, error) {
	var list []holder.CredentialInfo
	if err := c.call(ctx, "GET", "/v1/credentials", nil, &list); err != nil {
		return nil, err
	}
	return list, nil
}
