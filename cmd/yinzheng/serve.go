package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/issuer"
	issuerapi "github.com/yinzheng-id/yinzheng/issuer/httpapi"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wallet/web"
)

// adminTokenEnv names the environment variable that may hold the issuer
// service's admin token (for the admin API, POST /admin/…) when no token
// file is given and DIR/private/admin-token does not exist. With none, the
// admin API is disabled.
const adminTokenEnv = "YINZHENG_ADMIN_TOKEN"

// redisPasswordEnv names the environment variable holding the Redis
// password of `serve verifier --store redis://…` when the URL has none.
const redisPasswordEnv = "YINZHENG_REDIS_PASSWORD"

// runServe runs `yinzheng serve issuer|verifier`.
func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("serve needs a service: issuer, verifier or wallet")
	}
	switch args[0] {
	case "issuer":
		return serveIssuer(args[1:], stdin, stdout, stderr)
	case "verifier":
		return serveVerifier(args[1:], stdin, stdout, stderr)
	case "wallet":
		return serveWallet(args[1:], stdout, stderr)
	default:
		return usageError("unknown service %q (want issuer, verifier or wallet)", args[0])
	}
}

// serverFlags are the flags both services share.
type serverFlags struct {
	dir, addr, publicURL string
	maxBody              int64
	logLevel             slog.Level
	limits               limitFlags
	tls                  tlsFlags
}

func (f *serverFlags) register(fs interface {
	StringVar(*string, string, string, string)
	Int64Var(*int64, string, int64, string)
	Func(string, string, func(string) error)
}, dirUsage string) {
	fs.StringVar(&f.dir, "dir", "", dirUsage)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks one)")
	fs.StringVar(&f.publicURL, "public-url", "", "base URL clients reach the service at (default: the issuer identifier; for the verifier https://DOMAIN of the platform, or http(s)://localhost:PORT for a localhost platform)")
	fs.Int64Var(&f.maxBody, "max-body", httpserv.DefaultMaxBodyBytes, "largest request body in bytes")
	f.logLevel = slog.LevelInfo
	fs.Func("log-level", "log level: "+strings.Join(httpserv.LogLevels, ", ")+" (default info)", func(s string) (err error) {
		f.logLevel, err = httpserv.ParseLogLevel(s)
		return err
	})
	f.limits.register(fs)
	f.tls.register(fs)
}

func serveIssuer(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve issuer", stderr)
	var f serverFlags
	f.register(fs, "issuer directory (from `yinzheng issuer init`)")
	interval := fs.Duration("epoch-interval", publication.DefaultEpochInterval, "publish one epoch per interval: the changes of the interval, or a heartbeat (which also re-signs the status list)")
	tokenFile := fs.String("admin-token", "", "file holding the admin API's bearer token (default: DIR/private/admin-token, written by issuer init; else $"+adminTokenEnv+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.dir == "" {
		return usageError("--dir is required")
	}
	var err error
	if *interval < time.Second || *interval > 12*time.Hour {
		// The status list lives 24 h: two epochs a day at least.
		return usageError("--epoch-interval must be between 1s and 12h, not %v", *interval)
	}
	adminToken := []byte(os.Getenv(adminTokenEnv))
	switch path := *tokenFile; {
	case path != "":
		if adminToken, err = readAdminToken(path); err != nil {
			return err
		}
	default:
		if _, statErr := os.Stat(adminTokenPath(f.dir)); statErr == nil {
			if adminToken, err = readAdminToken(adminTokenPath(f.dir)); err != nil {
				return err
			}
		}
	}
	pass, err := passphrase.Get("issuer passphrase: ", stdin, stderr, false)
	if err != nil {
		return err
	}
	iss, err := issuer.Open(f.dir, pass)
	if err != nil {
		return err
	}
	defer iss.Close()
	logger := serviceLogger(stderr, f.logLevel)
	cfg, err := f.tls.apply(f.limits.apply(httpserv.Config{Name: "issuer", Logger: logger, MaxBodyBytes: f.maxBody}), f.addr, stderr)
	if err != nil {
		return err
	}
	srv := httpserv.New(cfg)
	if _, err := issuerapi.New(srv, issuerapi.FromIssuer(iss), issuerapi.Options{
		Dir: f.dir, PublicURL: f.publicURL, AdminToken: adminToken,
	}); err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	epochs := &issuer.EpochScheduler{Issuer: iss, Interval: *interval, Report: func(e *revocation.Epoch, err error) {
		if err != nil {
			logger.Error("publishing an epoch", "err", err)
			return
		}
		logger.Info("published an epoch", "epoch", e.Epoch, "leaf_count", e.LeafCount)
	}}
	go epochs.Run(ctx)
	return listen(srv, f.addr, f.tls.scheme(), stdout)
}

func serveVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve verifier", stderr)
	var f serverFlags
	f.register(fs, "verifier directory (VDIR: trust file from `yinzheng verifier trust`, requests and nonces)")
	issuerDir := fs.String("issuer-dir", "", "read the issuer's publication from this issuer directory")
	issuerURL := fs.String("issuer-url", "", "read the issuer's publication from this issuer service (https, or http to a loopback address)")
	maxRootAge := fs.Duration("max-root-age", verifier.DefaultMaxRootAge, "oldest root statement a proof may use (three of the issuer's epoch intervals)")
	devKeys := fs.Bool("allow-development-keys", false, "accept development circuit keys (anyone can forge proofs; tests and demos only)")
	platformDir := fs.String("platform", "", "required: serve OpenID4VP 1.0 for the registered platform in `PDIR` (yinzheng registry register): /v1/transactions, /openid4vp/request/{id}, /openid4vp/response")
	tokenFile := fs.String("api-token-file", "", "required: the `FILE` holding the platform backend's API token (at least 32 bytes), without which no transaction is made")
	redirectURI := fs.String("redirect-uri", "", "where wallets send the user after a same-device answer (`URL`; a response_code is appended)")
	store := fs.String("store", "", "shared store of a fleet of replicas: redis://HOST:PORT/DB or rediss://… (TLS); password in the URL or $"+redisPasswordEnv+" (default: the embedded store in --dir, one process)")
	maxBatch := fs.Int("max-batch", verifierapi.DefaultMaxBatch, "largest batch of concurrent wallet answers verified together (1: one by one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.dir == "" {
		return usageError("--dir is required")
	}
	if *store != "" && !strings.HasPrefix(*store, "redis://") && !strings.HasPrefix(*store, "rediss://") {
		return usageError("--store must be a redis:// or rediss:// URL")
	}
	if *maxBatch < 1 || *maxBatch > 4096 {
		return usageError("--max-batch %d outside 1…4096", *maxBatch)
	}
	var src publication.Source
	switch {
	case (*issuerDir == "") == (*issuerURL == ""):
		return usageError("give exactly one of --issuer-dir and --issuer-url")
	case *issuerDir != "":
		src = publication.DirSource(*issuerDir)
	default:
		if err := publication.CheckURL(*issuerURL); err != nil {
			return usageError("--issuer-url: %v", err)
		}
		src = publication.HTTPSource(*issuerURL, nil)
	}
	if *platformDir == "" || *tokenFile == "" {
		// The service is the platform's OpenID4VP flow only: a transaction
		// is made by the platform's backend, with its API token and under
		// its quota, and its verdict is bound to that transaction.
		return usageError("serve verifier needs --platform PDIR and --api-token-file FILE: it serves one registered platform's transactions, which only that platform's backend creates (with its API token)")
	}
	cfg, err := f.tls.apply(f.limits.apply(httpserv.Config{Name: "verifier", Logger: serviceLogger(stderr, f.logLevel), MaxBodyBytes: f.maxBody}), f.addr, stderr)
	if err != nil {
		return err
	}
	v, err := verifier.New(verifier.Options{Dir: f.dir, Source: src, MaxRootAge: *maxRootAge,
		AllowDevelopmentKeys: *devKeys, StoreURL: *store, StorePassword: os.Getenv(redisPasswordEnv)})
	if err != nil {
		return err
	}
	defer v.Close()
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("--api-token-file: %w", err)
	}
	pl, err := loadPlatform(*platformDir, "", stdin, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", f.addr, err)
	}
	publicURL := strings.TrimRight(f.publicURL, "/")
	if publicURL == "" {
		publicURL = defaultPublicURL(pl.Domain, f.tls.scheme(), ln.Addr())
	}
	pl.ResponseURI = publicURL + verifierapi.ResponsePath
	srv := httpserv.New(cfg)
	if _, err := verifierapi.NewPlatform(srv, v, verifierapi.PlatformOptions{Platform: pl, APIToken: strings.TrimSpace(string(token)),
		PublicURL: publicURL, RedirectURI: *redirectURI, MaxBatch: *maxBatch, Logger: srv.Logger(), Metrics: srv.Metrics()}); err != nil {
		ln.Close()
		return err
	}
	if err := verifierapi.NewReadiness(srv, v, verifierapi.ReadinessOptions{Registerer: srv.Metrics().Registry()}); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "verifier service listening on %s://%s\n", f.tls.scheme(), ln.Addr())
	return srv.Serve(context.Background(), ln)
}

// listen serves srv on addr and prints the bound address on stdout (with
// port 0 it is the only way to learn it).
func listen(srv *httpserv.Server, addr, scheme string, stdout io.Writer) error {
	return srv.ListenAndServe(context.Background(), addr, func(a net.Addr) {
		fmt.Fprintf(stdout, "issuer service listening on %s://%s\n", scheme, a)
	})
}

// serviceLogger writes JSON logs on stderr at level and above; stdout
// carries only the listening line.
func serviceLogger(stderr io.Writer, level slog.Level) *slog.Logger {
	return httpserv.NewLogger(stderr, level)
}

// serveWallet serves the browser wallet's page and engine. The engine is
// built from the module's source into the cache (or read from --wasm); with
// --export the files are written to a directory for a static host instead.
func serveWallet(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve wallet", stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on (host:port; port 0 picks one)")
	wasm := fs.String("wasm", "", "a built engine (yinzheng.wasm; wasm_exec.js beside it) instead of building one")
	export := fs.String("export", "", "write the page and engine into this directory for a static host, and exit")
	var keyDirs []string
	fs.Func("circuit-keys", "a circuit keys `DIR` whose uncompressed proving key and compiled circuit the page serves, so a first proof skips decompressing and compiling (the wallet checks both against the issuer's manifest); repeatable", func(s string) error {
		keyDirs = append(keyDirs, s)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	engine, err := walletEngine(*wasm, stderr)
	if err != nil {
		return err
	}
	for _, d := range keyDirs {
		if err := engine.AddArtifacts(d); err != nil {
			return fmt.Errorf("--circuit-keys %s: %w", d, err)
		}
	}
	if *export != "" {
		if err := engine.Export(*export); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "browser wallet written to %s (engine %d bytes, %d gzipped)\n", *export, len(engine.Wasm), engine.GzipSize())
		return nil
	}
	h, err := engine.Handler()
	if err != nil {
		return err
	}
	srv := httpserv.New(httpserv.Config{Name: "wallet", Rate: -1, Logger: serviceLogger(stderr, slog.LevelWarn)})
	srv.Handle("GET /", h)
	return srv.ListenAndServe(context.Background(), *addr, func(a net.Addr) {
		fmt.Fprintf(stdout, "browser wallet at http://%s/\n", a)
	})
}

// walletEngine reads the engine at wasmPath, or builds it into the cache.
func walletEngine(wasmPath string, stderr io.Writer) (*web.Engine, error) {
	if wasmPath != "" {
		return web.Load(wasmPath, filepath.Join(filepath.Dir(wasmPath), web.WasmExecFile))
	}
	base := os.Getenv(circuits.CacheEnv)
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the wallet engine (set %s, or give --wasm): %w", circuits.CacheEnv, err)
		}
		base = filepath.Join(c, "yinzheng")
	}
	fmt.Fprintln(stderr, "building the wallet engine (GOOS=js GOARCH=wasm)…")
	return web.Build(context.Background(), filepath.Join(base, "wallet-web"))
}

// defaultPublicURL is the base URL wallets reach the service at when
// --public-url is not given: the platform's domain over https (behind a
// TLS-terminating proxy), or, for a loopback platform (localhost), this
// listener's port on it.
func defaultPublicURL(domain, scheme string, addr net.Addr) string {
	if domain != registry.LoopbackDomain {
		return "https://" + domain
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return scheme + "://" + net.JoinHostPort(domain, port)
}
