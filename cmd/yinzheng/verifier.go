package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/verifier"
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
		return runVerifierRequest(args[1:], stdout, stderr)
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

func runVerifierRequest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verifier request", stderr)
	var vf verifierFlags
	vf.register(fs)
	scope := fs.String("scope", "", "the platform's scope (pseudonyms are per scope)")
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
	if *scope == "" {
		return usageError("--scope is required")
	}
	if *ttl <= 0 || *grace < 0 {
		return usageError("--ttl must be positive and --root-grace not negative")
	}
	p := verifier.Policy{Scope: *scope, AgeOver: *ageOver, AgeUnder: *ageUnder, MinLevel: *minLevel, GuardianConsent: *consent}
	if *claims != "" {
		for _, c := range strings.Split(*claims, ",") {
			if c = strings.TrimSpace(c); c == "" {
				return usageError("--sd-jwt has an empty claim name")
			}
			p.SDJWTClaims = append(p.SDJWTClaims, strings.TrimSpace(c))
		}
	}
	v, err := vf.open(func(o *verifier.Options) { o.RequestTTL, o.RootGrace = *ttl, *grace })
	if err != nil {
		return err
	}
	defer v.Close()
	req, err := v.NewRequest(context.Background(), p)
	if err != nil {
		return err
	}
	return writeJSON(stdout, req)
}

func runVerifierVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("verifier verify", stderr)
	var vf verifierFlags
	vf.register(fs)
	reqName := fs.String("request", "", "the request (`REQUEST_JSON` file, - for stdin) the presentation answers")
	presName := fs.String("presentation", "", "the presentation (`PRESENTATION_JSON` file, - for stdin)")
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
	req, err := verifier.ParseRequest(reqDoc)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	pres, err := readInput(*presName, stdin)
	if err != nil {
		return err
	}
	v, err := vf.open(nil)
	if err != nil {
		return err
	}
	defer v.Close()
	res, err := v.Verify(context.Background(), pres, req)
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

// runVerifierTrust implements `yinzheng verifier trust`: it reads the
// issuer's publication, shows its fingerprints (and what changed since the
// last pin) and pins it in VDIR/trust.json once the operator agrees.
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
