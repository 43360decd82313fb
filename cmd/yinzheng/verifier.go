package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wire"
)

// runVerifier implements `yinzheng verifier trust|request|verify`.
func runVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("verifier needs a subcommand: trust, request or verify")
	}
	switch args[0] {
	case "trust":
		return runVerifierTrust(args[1:], stdin, stdout, stderr)
	case "request":
		return runVerifierRequest(args[1:], stdin, stdout, stderr)
	case "verify":
		return runVerifierVerify(args[1:], stdin, stdout, stderr)
	default:
		return usageError("unknown verifier subcommand %q (want trust, request or verify)", args[0])
	}
}

// verifierFlags are the flags both subcommands share.
type verifierFlags struct {
	dir, issuerDir, issuerURL string
	allowDev                  bool
	maxRootAge                time.Duration
}

func (f *verifierFlags) register(fs *flag.FlagSet) {
	f.registerSource(fs)
	fs.DurationVar(&f.maxRootAge, "max-root-age", verifier.DefaultMaxRootAge, "oldest root statement accepted (three of the issuer's epoch intervals)")
}

func (f *verifierFlags) registerSource(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "dir", "", "the verifier's directory (`VDIR`): its trust file and recorded requests")
	fs.StringVar(&f.issuerDir, "issuer-dir", "", "read the issuer's publication from `DIR`/public")
	fs.StringVar(&f.issuerURL, "issuer-url", "", "read the issuer's publication from `URL` (https, or http to a loopback address)")
	fs.BoolVar(&f.allowDev, "allow-development-keys", false,
		"accept circuit keys from the development setup (INSECURE: anyone can forge proofs; for the demo and tests)")
}

// source returns the publication source the flags name.
func (f *verifierFlags) source() (publication.Source, error) {
	if f.dir == "" {
		return nil, usageError("--dir is required")
	}
	switch {
	case f.issuerDir != "" && f.issuerURL != "":
		return nil, usageError("give one of --issuer-dir and --issuer-url, not both")
	case f.issuerDir != "":
		return publication.DirSource(f.issuerDir), nil
	case f.issuerURL != "":
		if err := publication.CheckURL(f.issuerURL); err != nil {
			return nil, usageError("--issuer-url: %v", err)
		}
		return publication.HTTPSource(f.issuerURL, nil), nil
	default:
		return nil, usageError("one of --issuer-dir or --issuer-url is required")
	}
}

// open opens the verifier of VDIR, with the trust pinned in VDIR/trust.json.
func (f *verifierFlags) open(extra func(*verifier.Options)) (*verifier.Verifier, error) {
	src, err := f.source()
	if err != nil {
		return nil, err
	}
	if f.maxRootAge <= 0 {
		return nil, usageError("--max-root-age must be positive")
	}
	opts := verifier.Options{Dir: f.dir, Source: src, AllowDevelopmentKeys: f.allowDev, MaxRootAge: f.maxRootAge}
	if extra != nil {
		extra(&opts)
	}
	return verifier.New(opts)
}

// optionalInt is an integer flag that remembers whether it was given.
func optionalInt(fs *flag.FlagSet, name, usage string) **int {
	var p *int
	fs.Func(name, usage, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		p = &n
		return nil
	})
	return &p
}

// loadPlatform reads a platform directory (`yinzheng registry register`),
// its key opened with the passphrase (YINZHENG_PLATFORM_PASSPHRASE, else
// YINZHENG_PASSPHRASE or a prompt), as the verifier's platform identity.
func loadPlatform(dir, responseURI string, stdin io.Reader, stderr io.Writer) (*verifier.Platform, error) {
	pass := []byte(os.Getenv(platformPassphraseEnv))
	if len(pass) == 0 {
		var err error
		if pass, err = passphrase.Get("platform passphrase", stdin, stderr, false); err != nil {
			return nil, err
		}
	}
	p, err := registry.LoadPlatform(dir, pass)
	if err != nil {
		return nil, err
	}
	if responseURI == "" {
		responseURI = "https://" + p.Domain + verifierapi.ResponsePath
	}
	return &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration,
		Status: p.Status, ResponseURI: responseURI}, nil
}

// transactionDocument is what `verifier request` prints (and POST
// /v1/transactions answers).
type transactionDocument = verifierapi.TransactionDocument

func runVerifierRequest(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("verifier request", stderr)
	var vf verifierFlags
	vf.register(fs)
	platformDir := fs.String("platform", "", "the platform directory (`PDIR`) written by yinzheng registry register")
	responseURI := fs.String("response-uri", "", "where wallets post the answer (`URL`, default https://DOMAIN"+verifierapi.ResponsePath+")")
	requestURI := fs.String("request-uri", "", "where request_uri serves the request object (`URL`, default https://DOMAIN"+verifierapi.RequestPath+"ID)")
	qr := fs.Bool("qr", false, "also draw the invocation URL as a QR code on stderr")
	ageOver := optionalInt(fs, "age-over", "require an age of at least `N`")
	ageUnder := optionalInt(fs, "age-under", "require an age below `N`")
	minLevel := fs.Int("min-level", 0, "minimum verification level `L` (1 to 4)")
	consent := fs.Bool("guardian-consent", false, "require a guardian's consent")
	claims := fs.String("sd-jwt", "", "ask for an SD-JWT disclosing these claims (`CLAIM,...`) instead of a proof")
	ttl := fs.Duration("ttl", verifier.DefaultRequestTTL, "how long the request can be answered")
	grace := fs.Duration("root-grace", 0, "also accept epochs that were the latest within this period")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *platformDir == "" {
		return usageError("--platform is required: requests are made under a registered platform's identity (yinzheng registry register)")
	}
	if *ttl <= 0 || *grace < 0 || *ttl > wire.MaxRequestLifetime {
		return usageError("--ttl must be positive and at most %s, --root-grace not negative", wire.MaxRequestLifetime)
	}
	p := verifier.Policy{AgeOver: *ageOver, AgeUnder: *ageUnder, MinLevel: *minLevel, GuardianConsent: *consent}
	if *claims != "" {
		for _, c := range strings.Split(*claims, ",") {
			if c = strings.TrimSpace(c); c == "" {
				return usageError("--sd-jwt has an empty claim name")
			}
			p.SDJWTClaims = append(p.SDJWTClaims, strings.TrimSpace(c))
		}
	}
	pl, err := loadPlatform(*platformDir, *responseURI, stdin, stderr)
	if err != nil {
		return err
	}
	v, err := vf.open(func(o *verifier.Options) { o.RequestTTL, o.RootGrace = *ttl, *grace })
	if err != nil {
		return err
	}
	defer v.Close()
	tx, err := v.NewPlatformRequest(context.Background(), p, pl)
	if err != nil {
		return err
	}
	ruri := *requestURI
	if ruri == "" {
		ruri = "https://" + pl.Domain + verifierapi.RequestPath + tx.ID
	}
	doc := verifierapi.NewTransactionDocument(tx, ruri)
	if *qr {
		if err := writeQR(stderr, doc.Invocation); err != nil {
			return err
		}
	}
	return writeJSON(stdout, doc)
}

func runVerifierVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("verifier verify", stderr)
	var vf verifierFlags
	vf.register(fs)
	reqName := fs.String("request", "", "the request object (`FILE` with the compact JWT, or the JSON `verifier request` printed; - for stdin)")
	presName := fs.String("presentation", "", "the vp_token JSON (`FILE`, - for stdin)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *reqName == "" || *presName == "" {
		return usageError("--request and --presentation are required")
	}
	if *reqName == "-" && *presName == "-" {
		return usageError("only one of --request and --presentation can be stdin")
	}
	reqDoc, err := readInput(*reqName, stdin)
	if err != nil {
		return err
	}
	jwt := strings.TrimSpace(string(reqDoc))
	if strings.HasPrefix(jwt, "{") {
		var doc transactionDocument
		if err := json.Unmarshal(reqDoc, &doc); err != nil || doc.RequestObject == "" {
			return fmt.Errorf("request: not a request object nor the JSON of verifier request")
		}
		jwt = doc.RequestObject
	}
	v, err := vf.open(nil)
	if err != nil {
		return err
	}
	defer v.Close()
	// Our own request object: its signature and rules are checked as a
	// wallet would have when it was issued (whether it has expired since is
	// the recorded transaction's to say: "request expired"), and then the
	// transaction recorded under its state decides.
	issued := time.Now()
	if j, err := jose.ParseCompact(jwt); err == nil {
		var claims struct {
			IssuedAt int64 `json:"iat"`
		}
		if json.Unmarshal(j.Payload, &claims) == nil && claims.IssuedAt > 0 {
			issued = time.Unix(claims.IssuedAt, 0)
		}
	}
	sro, err := wire.VerifyRequestObject(jwt, issued)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	pres, err := readInput(*presName, stdin)
	if err != nil {
		return err
	}
	res, err := v.VerifyResponse(context.Background(), sro.Object.State, pres, sro.Object)
	if err != nil {
		return err
	}
	if err := writeJSON(stdout, res); err != nil {
		return err
	}
	if !res.Valid {
		return errors.New("presentation refused: " + strings.Join(res.Reasons, "; "))
	}
	return nil
}

func runVerifierTrust(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("verifier trust", stderr)
	var vf verifierFlags
	vf.registerSource(fs)
	yes := fs.Bool("yes", false, "pin without asking")
	circuitID := fs.String("circuit-id", "", "the circuit id (`ID`) the issuer announced out of band; the published one must equal it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	src, err := vf.source()
	if err != nil {
		return err
	}
	ctx := context.Background()
	in, err := verifier.Inspect(ctx, src)
	if err != nil {
		return err
	}
	printInspection(stdout, in)

	trust, err := verifier.ReadTrust(vf.dir)
	if errors.Is(err, verifier.ErrNotPinned) {
		trust = &verifier.Trust{Version: verifier.TrustVersion}
	} else if err != nil {
		return err
	}
	old := trust.Lookup(in.Issuer)
	switch err := trust.Check(in); {
	case err == nil && old.AllowDevelopmentKeys == (in.DevelopmentKeys && vf.allowDev):
		fmt.Fprintf(stdout, "already pinned in %s: nothing changed\n", filepath.Join(vf.dir, verifier.TrustFileName))
		return nil
	case errors.Is(err, verifier.ErrTrustChanged) && old != nil:
		fmt.Fprintf(stdout, "CHANGED since the last pin: %v\n", err)
	case errors.Is(err, verifier.ErrTrustChanged):
		fmt.Fprintf(stdout, "new issuer (also pinned: %d other)\n", len(trust.Issuers))
	}
	ti, err := in.Pin(ctx, verifier.PinOptions{AllowDevelopmentKeys: vf.allowDev, CircuitID: *circuitID,
		Progress: func(s string) { fmt.Fprintf(stderr, "transcript: %s\n", s) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "circuit pinned on the basis of: %s\n", ti.CircuitBasis)
	if err := confirmPin(*yes, stdin, stderr); err != nil {
		return err
	}
	trust.Set(*ti)
	if err := trust.Write(vf.dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pinned %s in %s\n", in.Issuer, filepath.Join(vf.dir, verifier.TrustFileName))
	return nil
}

// printInspection shows what pinning would pin, for the operator to
// compare with what the issuer announced out of band.
func printInspection(w io.Writer, in *verifier.Inspection) {
	dev := "no"
	if in.DevelopmentKeys {
		dev = "YES (anyone can forge proofs)"
	}
	transcript := "not published"
	if in.Transcript {
		transcript = "published (" + publication.TranscriptName + ")"
	}
	fmt.Fprintf(w, "issuer               %s\n", in.Issuer)
	fmt.Fprintf(w, "key id               %s (SM3 JWK thumbprint, suite %s)\n", in.KeyID, in.Key.Suite())
	fmt.Fprintf(w, "circuit id           %s\n", in.CircuitID)
	fmt.Fprintf(w, "depth                %d\n", in.Depth)
	fmt.Fprintf(w, "setup label          %s\n", in.Setup)
	fmt.Fprintf(w, "development keys     %s\n", dev)
	fmt.Fprintf(w, "ceremony transcript  %s\n", transcript)
}

// confirmPin asks on a terminal; without one, only --yes pins.
func confirmPin(yes bool, stdin io.Reader, stderr io.Writer) error {
	if yes {
		return nil
	}
	if !isTerminal(stdin) {
		return errors.New("not pinned: confirm on a terminal, or pass --yes after checking the fingerprints")
	}
	fmt.Fprint(stderr, "Pin this issuer? [y/N]: ")
	line, err := readLineByte(stdin)
	if err != nil {
		return fmt.Errorf("not pinned: %v", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not pinned: declined")
}
