package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/holder/agent"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/wire"
)

const holderUsage = `usage:
  yinzheng holder init --dir W [--recover]
        create a wallet; prints the recovery phrase on stderr (--recover: read a
        recovery phrase from stdin and restore its holder secret instead)
  yinzheng holder request --dir W [--suite gm|intl]
        print a holder request (holder commitment and fresh SD-JWT keys of the issuer's
        suite: SM2 for gm, ES256 for intl) for an issuer
  yinzheng holder receive --dir W --offer LINK [--issuer-url URL] [--tx-code CODE]
        run the wallet side of OpenID4VCI 1.0 from an offer link
        (openid-credential-offer://… or its credential_offer_uri): token with the
        tx_code (prompted for when not given), nonce, proofs of possession, the SD-JWT
        copies and the ZK credential, checked and imported
  yinzheng holder import --dir W --bundle BUNDLE_JSON [--issuer-dir DIR | --issuer-url URL]
        check a bundle against the issuer's publication and store it (a pending
        bundle, issued between two epochs, proves after the next refresh)
  yinzheng holder refresh --dir W (--issuer-dir DIR | --issuer-url URL)
        bring every credential's witness up to the issuer's latest signed root
        (and complete pending credentials once their epoch is published)
  yinzheng holder trust --dir W --registry ROOT_CERT
        pin the registrar whose registered platforms the wallet answers
  yinzheng holder prove --dir W --request REQUEST [--issuer-dir DIR | --issuer-url URL] [--yes]
        answer a platform's zero-knowledge request (an openid4vp:// URL, or a file with it
        or the request object); prints the vp_token JSON
  yinzheng holder present --dir W --request REQUEST [--yes]
        answer a platform's SD-JWT request with only the requested claims; prints the vp_token
  yinzheng holder answer --dir W --request OPENID4VP_URL [--issuer-dir DIR | --issuer-url URL] [--yes]
        the same-device flow: fetch the request, ask, prove or present, post it to the
        platform (direct_post); prints the redirect_uri
  yinzheng holder list --dir W
        list the wallet's credentials
  yinzheng holder serve --dir W [--addr 127.0.0.1:PORT] [--allow-origin ORIGIN]
        keep the wallet open (one unlock, circuit and keys loaded) as a local agent on a
        loopback address; prove, present, answer, import and list use it while it runs (the token
        is in W/agent.json, mode 0600), and browser pages of --allow-origin may call it
"-" reads a document from stdin. The passphrase comes from YINZHENG_PASSPHRASE or a
prompt; when a document comes from stdin, set YINZHENG_PASSPHRASE. Without --issuer-dir
or --issuer-url, the issuer's publication is fetched from the issuer URL named in the
bundle or request. prove, present, answer, import and list hand their work to the wallet's
agent (holder serve) when one runs; --agent makes that a requirement.`

// holderFlags are the flags of every holder subcommand; each uses a subset.
type holderFlags struct {
	dir, bundle, request, issuerDir, issuerURL, registry *string
	suite, offer, txCode                                 *string
	recover, yes, agent                                  *bool
}

// runHolder implements `yinzheng holder …`.
func runHolder(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("%s", holderUsage)
	}
	sub := args[0]
	fs := newFlagSet("holder "+sub, stderr)
	f := holderFlags{dir: fs.String("dir", "", "wallet directory")}
	source := func() {
		f.issuerDir = fs.String("issuer-dir", "", "issuer directory whose public/ files to read")
		f.issuerURL = fs.String("issuer-url", "", "issuer base URL to fetch the public files from")
	}
	useAgent := func() {
		f.agent = fs.Bool("agent", false, "hand the work to the running wallet agent (holder serve); fail if none runs")
	}
	var serveAddr *string
	var allowOrigins []string
	switch sub {
	case "init":
		f.recover = fs.Bool("recover", false, "restore the holder secret from a recovery phrase read from stdin")
	case "request":
		f.suite = fs.String("suite", "gm", "suite of the SD-JWT holder keys, the issuer's: gm (SM2) or intl (ES256)")
	case "list":
		useAgent()
	case "receive":
		f.offer = fs.String("offer", "", "credential offer link (openid-credential-offer://?credential_offer_uri=…) or offer URI")
		f.issuerURL = fs.String("issuer-url", "", "base URL the issuer service is reached at, when not its identifier")
		f.txCode = fs.String("tx-code", "", "transaction code the issuer's operator gave you (prompted for when the offer needs one)")
	case "import":
		f.bundle = fs.String("bundle", "", "bundle JSON file, or - for stdin")
		source()
		useAgent()
	case "refresh":
		source()
	case "trust":
		f.registry = fs.String("registry", "", "the registrar's root certificate (PEM file, or - for stdin)")
	case "prove", "answer":
		f.request = fs.String("request", "", "the request: an openid4vp:// invocation URL, or a file (- for stdin) holding it or the request object JWT")
		f.yes = fs.Bool("yes", false, "do not ask for confirmation")
		source()
		useAgent()
	case "present":
		f.request = fs.String("request", "", "the request: an openid4vp:// invocation URL, or a file (- for stdin) holding it or the request object JWT")
		f.yes = fs.Bool("yes", false, "do not ask for confirmation")
		useAgent()
	case "serve":
		serveAddr = fs.String("addr", "127.0.0.1:0", "loopback address to listen on (host:port; port 0 picks one)")
		fs.Func("allow-origin", "a browser page origin (scheme://host:port) whose calls are accepted; repeatable", func(s string) error {
			allowOrigins = append(allowOrigins, s)
			return nil
		})
	default:
		return usageError("unknown subcommand %q\n%s", sub, holderUsage)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *f.dir == "" {
		return usageError("--dir is required")
	}
	if f.issuerDir != nil && *f.issuerDir != "" && f.issuerURL != nil && *f.issuerURL != "" {
		return usageError("give --issuer-dir or --issuer-url, not both")
	}
	ctx := context.Background()
	// While an agent keeps the wallet open, no second process opens it:
	// the work goes to the agent, or is refused.
	var client *agent.Client
	if sub != "init" && sub != "serve" {
		c, err := agent.Dial(ctx, *f.dir)
		switch {
		case err == nil:
			client = c
		case f.agent != nil && *f.agent:
			return err
		case !errors.Is(err, agent.ErrNoAgent):
			return err
		}
		if client != nil && f.agent == nil {
			return fmt.Errorf("the wallet is open in its agent (holder serve); stop the agent to %s", sub)
		}
	}
	switch sub {
	case "init":
		return holderInit(f, stdin, stdout, stderr)
	case "serve":
		return holderServe(f, *serveAddr, allowOrigins, stdin, stdout, stderr)
	case "request":
		suite := jose.Suite(*f.suite)
		if suite != jose.SuiteGM && suite != jose.SuiteIntl {
			return usageError("--suite must be gm or intl, not %q", *f.suite)
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			req, err := w.RequestFor(suite)
			if err != nil {
				return err
			}
			return writeJSON(stdout, req)
		})
	case "receive":
		if *f.offer == "" {
			return usageError("--offer is required")
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			opts := holder.ReceiveOptions{IssuerURL: *f.issuerURL, TxCode: func(tc *openid4vci.TxCode) (string, error) {
				if *f.txCode != "" {
					return *f.txCode, nil
				}
				if tc.Description != "" {
					fmt.Fprintf(stderr, "%s\n", tc.Description)
				}
				fmt.Fprintf(stderr, "transaction code (%d characters): ", tc.Length)
				return readLineByte(stdin)
			}}
			info, err := w.Receive(ctx, *f.offer, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "received serial %d from %s over OpenID4VCI (%d single-use SD-JWT copies)\n", info.Serial, info.Issuer, info.CopiesLeft)
			if info.Pending {
				fmt.Fprintf(stderr, "pending: run `holder refresh` after the issuer publishes epoch %d, then it can prove\n", info.Epoch)
			}
			return writeJSON(stdout, info)
		})
	case "list":
		if client != nil {
			list, err := client.Credentials(ctx)
			if err != nil {
				return err
			}
			return writeJSON(stdout, list)
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			return writeJSON(stdout, w.Credentials())
		})
	case "import":
		if *f.bundle == "" {
			return usageError("--bundle is required")
		}
		if client != nil {
			data, err := readInput(*f.bundle, stdin)
			if err != nil {
				return err
			}
			info, err := client.Import(ctx, data, *f.issuerURL, *f.issuerDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "imported serial %d from %s (%d single-use SD-JWT copies) through the agent\n", info.Serial, info.Issuer, info.CopiesLeft)
			return writeJSON(stdout, info)
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			data, err := readInput(*f.bundle, stdin)
			if err != nil {
				return err
			}
			b, err := holder.ParseBundle(data)
			if err != nil {
				return err
			}
			src, err := issuerSource(f, b.Issuer)
			if err != nil {
				return err
			}
			info, err := w.Import(ctx, b, src)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "imported serial %d from %s (%d single-use SD-JWT copies)\n", info.Serial, info.Issuer, info.CopiesLeft)
			if info.Pending {
				fmt.Fprintf(stderr, "pending: no signed root covers it yet; run `holder refresh` after the issuer publishes epoch %d, then it can prove\n", info.Epoch)
			}
			return writeJSON(stdout, info)
		})
	case "refresh":
		if *f.issuerDir == "" && *f.issuerURL == "" {
			return usageError("give --issuer-dir or --issuer-url")
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			src, err := issuerSource(f, "")
			if err != nil {
				return err
			}
			reps, err := w.Refresh(ctx, src)
			for _, r := range reps {
				switch {
				case r.Revoked:
					fmt.Fprintf(stderr, "REVOKED: credential serial %d of %s has been revoked by its issuer (%s)\n", r.Serial, r.Issuer, r.Note)
				case r.Pending:
					fmt.Fprintf(stderr, "serial %d: %s\n", r.Serial, r.Note)
				case r.UsedBucket:
					fmt.Fprintf(stderr, "serial %d: epoch %d -> %d (%s)\n", r.Serial, r.FromEpoch, r.ToEpoch, r.Note)
				default:
					fmt.Fprintf(stderr, "serial %d: epoch %d -> %d (%d deltas)\n", r.Serial, r.FromEpoch, r.ToEpoch, r.Deltas)
				}
			}
			if err != nil {
				return err
			}
			return writeJSON(stdout, reps)
		})
	case "trust":
		if *f.registry == "" {
			return usageError("--registry is required")
		}
		data, err := readInput(*f.registry, stdin)
		if err != nil {
			return err
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			roots, err := w.TrustRegistrar(data)
			if err != nil {
				return err
			}
			for _, c := range roots.Certificates() {
				fmt.Fprintf(stderr, "trusting registrar %s (SHA-256 %s)\n", c.Subject.CommonName, registry.Fingerprint(c))
			}
			return writeJSON(stdout, map[string]any{"registrars": len(roots.Certificates())})
		})
	case "prove", "present", "answer":
		if *f.request == "" {
			return usageError("--request is required")
		}
		request := *f.request
		if !strings.HasPrefix(request, wire.InvocationScheme+"://") {
			data, err := readInput(request, stdin)
			if err != nil {
				return err
			}
			request = strings.TrimSpace(string(data))
		}
		if sub == "answer" && !strings.HasPrefix(request, wire.InvocationScheme+"://") {
			return usageError("holder answer takes the invocation URL (openid4vp://?client_id=…&request_uri=…)")
		}
		if client != nil {
			return answerThroughAgent(ctx, client, f, sub, request, stdin, stdout, stderr)
		}
		return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
			roots, err := w.Registrars()
			if err != nil {
				return err
			}
			a, err := holder.FetchRequest(ctx, nil, request, roots, time.Now())
			if err != nil {
				return err
			}
			req := a.Request()
			if sub == "prove" && req.SDJWT != nil {
				return errors.New("this request asks for an SD-JWT presentation: answer it with holder present")
			}
			if sub == "present" && req.SDJWT == nil {
				return errors.New("this request asks for a zero-knowledge proof: answer it with holder prove")
			}
			fmt.Fprint(stderr, holder.Consent(a))
			if err := confirm(*f.yes, *f.request == "-", stdin, stderr); err != nil {
				if sub == "answer" {
					if _, derr := holder.Decline(ctx, nil, a, wire.ErrorAccessDenied); derr != nil {
						fmt.Fprintf(stderr, "warning: could not tell %s: %v\n", a.Platform, derr)
					}
				}
				return err
			}
			var p *holder.Presentation
			if req.SDJWT != nil {
				p, err = w.Present(a)
			} else {
				var src publication.Source
				if src, err = issuerSource(f, req.Issuer); err != nil {
					return err
				}
				warn := func(m string) { fmt.Fprintf(stderr, "warning: %s\n", m) }
				p, err = w.Prove(ctx, a, src, holder.ProveOptions{Warn: warn})
			}
			if err != nil {
				return err
			}
			tok, err := holder.VPToken(p)
			if err != nil {
				return err
			}
			if sub != "answer" {
				_, err = fmt.Fprintf(stdout, "%s\n", tok)
				return err
			}
			redirect, err := holder.PostResponse(ctx, nil, a, tok)
			if err != nil {
				return err
			}
			return writeJSON(stdout, map[string]string{"platform": a.Platform, "redirect_uri": redirect})
		})
	}
	return nil
}

// answerThroughAgent is prove, present and answer when the wallet is open
// in its agent: the agent fetches and authorizes the request with the
// wallet's pinned registrars, and the holder consents here.
func answerThroughAgent(ctx context.Context, client *agent.Client, f holderFlags, sub, request string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := client.Open(ctx, request)
	if err != nil {
		return err
	}
	if sub == "prove" && !o.ZK {
		return errors.New("this request asks for an SD-JWT presentation: answer it with holder present")
	}
	if sub == "present" && o.ZK {
		return errors.New("this request asks for a zero-knowledge proof: answer it with holder prove")
	}
	fmt.Fprint(stderr, o.Consent)
	if err := confirm(*f.yes, *f.request == "-", stdin, stderr); err != nil {
		if sub == "answer" {
			if _, derr := client.Answer(ctx, agent.AnswerBody{ID: o.ID, Decline: true}); derr != nil {
				fmt.Fprintf(stderr, "warning: could not tell %s: %v\n", o.Platform, derr)
			}
		}
		return err
	}
	body := agent.AnswerBody{ID: o.ID, Post: sub == "answer"}
	if f.issuerDir != nil {
		body.IssuerDir, body.IssuerURL = *f.issuerDir, *f.issuerURL
	}
	ans, err := client.Answer(ctx, body)
	if err != nil {
		return err
	}
	if sub != "answer" {
		_, err = fmt.Fprintf(stdout, "%s\n", ans.VPToken)
		return err
	}
	return writeJSON(stdout, map[string]string{"platform": o.Platform, "redirect_uri": ans.RedirectURI})
}

// holderInit creates a wallet, or restores one from a recovery phrase.
func holderInit(f holderFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	var phrase string
	if *f.recover {
		fmt.Fprint(stderr, "recovery phrase: ")
		line, err := readLineByte(stdin)
		if err != nil {
			return fmt.Errorf("recovery phrase: %w", err)
		}
		phrase = line
	}
	pass, err := passphrase.Get("new wallet passphrase", stdin, stderr, true)
	if err != nil {
		return err
	}
	var w *holder.Wallet
	if *f.recover {
		w, err = holder.Recover(*f.dir, pass, phrase, holder.Options{})
	} else {
		w, phrase, err = holder.Init(*f.dir, pass, holder.Options{})
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if !*f.recover {
		fmt.Fprintf(stderr, "Recovery phrase (shown once; write it down and keep it offline — anyone who has it can\n"+
			"act as you and link your pseudonyms; it is the only way to restore your accounts):\n\n  %s\n\n", phrase)
	} else {
		fmt.Fprintln(stderr, "wallet restored: same holder commitment and pseudonyms; ask the issuer to re-issue your credentials")
	}
	c := w.HolderCommitment()
	return writeJSON(stdout, map[string]string{"dir": *f.dir, "holder_commitment": zkhash.FormatElement(c)})
}

// readLineByte reads one line a byte at a time, so that nothing after it
// (the passphrase, when it is typed too) is consumed.
func readLineByte(r io.Reader) (string, error) {
	var b strings.Builder
	var one [1]byte
	for b.Len() < 1024 {
		n, err := r.Read(one[:])
		if n == 1 {
			if one[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(one[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", errors.New("nothing on stdin")
			}
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("the recovery phrase line is too long")
}

// withWallet opens the wallet with the passphrase and runs fn.
func withWallet(f holderFlags, stdin io.Reader, stderr io.Writer, fn func(*holder.Wallet) error) error {
	pass, err := passphrase.Get("wallet passphrase", stdin, stderr, false)
	if err != nil {
		return err
	}
	w, err := holder.Open(*f.dir, pass, holder.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	return fn(w)
}

// issuerSource returns the source the flags name, or else the publication at
// fallbackURL (the issuer named by the document at hand).
func issuerSource(f holderFlags, fallbackURL string) (publication.Source, error) {
	switch {
	case f.issuerDir != nil && *f.issuerDir != "":
		return publication.DirSource(*f.issuerDir), nil
	case f.issuerURL != nil && *f.issuerURL != "":
		if err := publication.CheckURL(*f.issuerURL); err != nil {
			return nil, usageError("--issuer-url: %v", err)
		}
		return publication.HTTPSource(*f.issuerURL, nil), nil
	case fallbackURL != "":
		if err := publication.CheckURL(fallbackURL); err != nil {
			return nil, fmt.Errorf("the issuer %q is not a URL to fetch its publication from (%v); give --issuer-dir or --issuer-url", fallbackURL, err)
		}
		return publication.HTTPSource(fallbackURL, nil), nil
	}
	return nil, usageError("give --issuer-dir or --issuer-url")
}

// confirm asks the holder to go ahead when stdin is a terminal; --yes, or a
// stdin that is not a terminal (a script, a pipe), proceeds.
func confirm(yes, docFromStdin bool, stdin io.Reader, stderr io.Writer) error {
	if yes || docFromStdin || !isTerminal(stdin) {
		return nil
	}
	fmt.Fprint(stderr, "Proceed? [y/N]: ")
	line, err := readLineByte(stdin)
	if err != nil {
		return fmt.Errorf("declined: %v", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("declined: nothing was revealed")
}

// isTerminal reports whether r is a character device (a terminal).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// holderServe runs the wallet agent: it opens the wallet once and serves
// the command line and allowed browser pages on a loopback address until
// SIGINT or SIGTERM.
func holderServe(f holderFlags, addr string, allowOrigins []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := agent.CheckLoopback(addr); err != nil {
		return fmt.Errorf("%w: --addr: %w", errUsage, err)
	}
	for _, o := range allowOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return usageError("--allow-origin %q is not an origin (scheme://host[:port])", o)
		}
	}
	if _, err := agent.Dial(context.Background(), *f.dir); err == nil {
		return fmt.Errorf("an agent already serves %s", *f.dir)
	}
	return withWallet(f, stdin, stderr, func(w *holder.Wallet) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %q: %w", addr, err)
		}
		a, err := agent.New(agent.Config{Wallet: w, AllowOrigins: allowOrigins,
			Warn: func(m string) { fmt.Fprintf(stderr, "warning: %s\n", m) }}, ln)
		if err != nil {
			ln.Close()
			return err
		}
		remove, err := a.WriteInfo()
		if err != nil {
			ln.Close()
			return err
		}
		defer remove()
		// One holder: no per-client rate limit, and proofs take longer than
		// a service's default write timeout allows on a slow device.
		srv := httpserv.New(httpserv.Config{Name: "holder-agent", Rate: -1, WriteTimeout: 10 * time.Minute,
			Logger: serviceLogger(stderr, slog.LevelWarn)})
		srv.HandleAuthenticated("/v1/", a.Handler())
		fmt.Fprintf(stdout, "holder agent listening on %s (token in %s)\n", a.Info().URL, filepath.Join(*f.dir, agent.AgentFile))
		return srv.Serve(context.Background(), ln)
	})
}
