// Package httpserv is the plumbing shared by Yinzheng's HTTP services: a
// net/http server with conservative timeouts, a request body limit, JSON
// errors, structured access logs that carry no personal data, Prometheus
// metrics on a private registry, panic recovery, a health check and graceful
// shutdown.
//
// A service creates a [Server], registers its routes with [Server.Handle]
// using the standard library's method patterns ("GET /issuer.json"), and runs
// it with [Server.Serve]. Handlers decode bodies with [DecodeJSON] and answer
// with [WriteJSON] or [WriteError].
//
// Access logs name the route pattern, never the concrete path, query or
// body: paths carry request ids and serial numbers, bodies carry proofs,
// nonces and personal data. Client addresses are not logged either.
package httpserv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/buildinfo"
)

// Defaults for [Config] fields left zero.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	// DefaultWriteTimeout leaves room for the largest response, the circuit's
	// proving key, on a slow link.
	DefaultWriteTimeout    = 2 * time.Minute
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
)

// Config sets a server's limits. Zero fields take the defaults above.
type Config struct {
	// Name labels the service in logs ("issuer", "verifier").
	Name string
	// Logger receives access and lifecycle logs; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds every request body; larger bodies get 413.
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once shutdown begins.
	ShutdownTimeout time.Duration
	// MaxConns caps the connections open at once (DefaultMaxConns if
	// zero); the one beyond waits to be accepted until another closes.
	MaxConns int
	// Rate is the sustained requests per second one client address may
	// make to routes registered with Handle or HandleFunc (DefaultRate if
	// zero, no limit if negative); Burst how many it may make at once
	// (DefaultBurst if zero). Over it, the answer is 429 with Retry-After.
	// Routes registered with HandleAuthenticated, /healthz and /metrics are
	// not limited.
	Rate  float64
	Burst int
	// AllowOrigins are the browser page origins ("https://wallet.example")
	// that may read this service's answers (CORS): a browser wallet served
	// from another origin fetches the issuer's publication and posts to
	// the verifier. "*" allows every origin. Preflights allow only the
	// Content-Type header, never Authorization, so a page can call no
	// route that takes a token. Empty: no CORS headers at all.
	AllowOrigins []string
	// TLS, when set, makes Serve speak HTTPS on its listener with this
	// configuration (its certificates); nil serves plain HTTP, for loopback
	// development or behind a TLS-terminating proxy.
	TLS *tls.Config
	// now is the limiter's clock (tests).
	now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "yinzheng"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Server is one HTTP service. Register routes before calling [Server.Serve];
// a Server serves once.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *Metrics
	limiter *rateLimiter // nil: no per-client limit
}

// New returns a server with /healthz and /metrics already registered.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newMetrics()}
	if cfg.Rate > 0 {
		s.limiter = newRateLimiter(cfg.Rate, cfg.Burst, cfg.now)
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.Handle("GET /metrics", s.metrics.handler())
	return s
}

// Handle registers h for pattern (a net/http ServeMux pattern, such as
// "POST /response"). The pattern is also the route label in logs and metrics.
// The route is rate-limited per client address (Config.Rate).
func (s *Server) Handle(pattern string, h http.Handler) {
	if s.limiter != nil {
		h = s.limiter.limit(h)
	}
	s.mux.Handle(pattern, h)
}

// HandleFunc is [Server.Handle] for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

// HandleAuthenticated registers h without the per-client rate limit, for a
// route whose handler authenticates every request (an admin token) before
// doing any work; the connection cap still applies.
func (s *Server) HandleAuthenticated(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Metrics returns the server's metrics, for services that record their own
// outcomes (verification results).
func (s *Server) Metrics() *Metrics { return s.metrics }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.cfg.Logger }

// Handler returns the complete handler: routes wrapped in recovery, body
// limit, access logging and metrics. [Server.Serve] uses it; tests may too.
func (s *Server) Handler() http.Handler {
	return s.instrument(s.mux)
}

// Serve accepts connections on ln until ctx is cancelled or the process
// receives SIGINT or SIGTERM, then shuts down gracefully: it stops accepting,
// lets in-flight requests finish within the shutdown timeout, and returns.
// A clean shutdown returns nil. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Signals are registered before the first connection is accepted, so a
	// caller that has seen a response knows a signal will shut down cleanly.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln = newLimitListener(ln, s.cfg.MaxConns)
	if s.cfg.TLS != nil {
		// The handshake happens on the accepted connection, inside the
		// connection cap and the read timeouts like any request.
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log := s.cfg.Logger.With("service", s.cfg.Name)
	log.Info("listening", append([]any{"addr", ln.Addr().String()}, buildinfo.Read().LogAttrs()...)...)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	log.Info("stopped")
	return nil
}

// ListenAndServe listens on addr (host:port; port 0 picks a free one), calls
// ready with the bound address once listening, then behaves as [Server.Serve].
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return s.Serve(ctx, ln)
}

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument wraps next in the body limit, panic recovery, access logging
// and metrics. The route label is read from r.Pattern after the mux has
// routed the request (the mux sets it on the same *http.Request).
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		if r.Body != nil {
			// The original writer, so net/http closes the connection after
			// an oversized body instead of draining it.
			r.Body = http.MaxBytesReader(rw, r.Body, s.cfg.MaxBodyBytes)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.Error("handler panic", "service", s.cfg.Name,
					"route", routeLabel(r), "panic", describePanic(v))
				if w.status == 0 {
					WriteError(w, http.StatusInternalServerError, "internal error")
				}
			}
			status := w.status
			if status == 0 {
				status = http.StatusOK
			}
			route := routeLabel(r)
			elapsed := time.Since(start)
			s.metrics.observeRequest(route, r.Method, status, elapsed)
			s.cfg.Logger.Info("request", "service", s.cfg.Name, "method", r.Method,
				"route", route, "status", status, "bytes", w.bytes,
				"duration_ms", float64(elapsed.Microseconds())/1000)
		}()
		if origin := r.Header.Get("Origin"); origin != "" && s.originAllowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(&unmatchedWriter{statusWriter: w, r: r}, r)
	})
}

// originAllowed reports whether a page of origin may read the answers.
func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.cfg.AllowOrigins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// unmatchedWriter turns the mux's own plain-text 404 and 405 answers (no
// route, or a route without this method) into the JSON {"error": …} body
// that every other answer has, so a client needs one error decoder. It acts
// only when no route matched (r.Pattern is empty): a handler's own 404
// ("no such request") is already JSON and passes through untouched.
type unmatchedWriter struct {
	*statusWriter
	r        *http.Request
	replaced bool
}

func (w *unmatchedWriter) WriteHeader(code int) {
	if w.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.replaced = true
		w.Header().Del("Content-Length")
		msg := "no such endpoint"
		if code == http.StatusMethodNotAllowed {
			// The mux has set Allow; repeat it in the message. The path is
			// not echoed: it may carry request ids or serial numbers.
			msg = fmt.Sprintf("method %s not allowed here (allowed: %s)", w.r.Method,
				strings.Join(w.Header().Values("Allow"), ", "))
		}
		WriteError(w.statusWriter, code, msg)
		return
	}
	w.statusWriter.WriteHeader(code)
}

func (w *unmatchedWriter) Write(p []byte) (int, error) {
	if w.replaced {
		// The mux's plain-text body; the JSON one is already written.
		return len(p), nil
	}
	return w.statusWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *unmatchedWriter) Unwrap() http.ResponseWriter { return w.statusWriter }

// routeLabel is the matched pattern, or "unmatched" for a 404/405: raw
// paths would leak identifiers into logs and blow up metric cardinality.
func routeLabel(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// describePanic keeps runtime errors (nil dereference, index out of range),
// whose messages hold no data, and reduces anything else to its type: an
// arbitrary panic value could carry a secret or personal data.
func describePanic(v any) string {
	if re, ok := v.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("value of type %T", v)
}
