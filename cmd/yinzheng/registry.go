package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
)

const registryUsage = `usage: yinzheng registry <subcommand> [flags]

  init     --dir RDIR [--suite gm|intl] [--id URL]   (prints the root certificate's path)
  register --dir RDIR --platform DOMAIN --out PDIR [--predicates age_over,age_under,min_level,guardian_consent]
           [--claims CLAIM,...] [--legal-basis TEXT] [--days N] [--response-uri URL ...] [--tls]
  revoke   --dir RDIR --platform DOMAIN
  status   --dir RDIR   (re-signs the registration status list; prints it and writes RDIR/public/` + registry.StatusListName + `)

The registrar certifies platforms: an access certificate naming the domain
and a signed registration of what the platform may ask (see docs/registry.md).
Wallets pin RDIR/public/root.pem. Platforms staple the latest status list,
which expires after 24 h: run "registry status" at least daily.

The registrar passphrase comes from YINZHENG_PASSPHRASE, or is read as the
first line of stdin after a prompt. register seals the new platform key under
YINZHENG_PLATFORM_PASSPHRASE when set, else under a new passphrase asked next
(YINZHENG_PASSPHRASE again when that is set: then both are the same).
--tls writes PDIR/tls-cert.pem and PDIR/tls-key.pem, the key UNENCRYPTED
(0600) because a server reads it at start.`

// platformPassphraseEnv names the environment variable with the passphrase
// that seals a new platform's key, so that a registrar running with
// YINZHENG_PASSPHRASE set can still give each platform its own.
const platformPassphraseEnv = "YINZHENG_PLATFORM_PASSPHRASE"

// runRegistry runs `yinzheng registry …`: the registrar of platforms.
func runRegistry(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, registryUsage)
		return usageError("registry: missing subcommand")
	}
	switch args[0] {
	case "init":
		return registryInit(args[1:], stdin, stdout, stderr)
	case "register":
		return registryRegister(args[1:], stdin, stdout, stderr)
	case "revoke":
		return registryRevoke(args[1:], stdin, stdout, stderr)
	case "status":
		return registryStatus(args[1:], stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, registryUsage)
		return nil
	default:
		fmt.Fprintln(stderr, registryUsage)
		return usageError("registry: unknown subcommand %q", args[0])
	}
}

func registryInit(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("registry init", stderr)
	dir := fs.String("dir", "", "registrar directory `RDIR` to create (must be missing or empty)")
	suite := fs.String("suite", "gm", "signature suite: gm (SM2) or intl (ECDSA P-256)")
	id := fs.String("id", registry.DefaultID, "registrar identifier (https `URL`; names the status list)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("registry init: --dir is required")
	}
	if *suite != string(jose.SuiteGM) && *suite != string(jose.SuiteIntl) {
		return usageError("registry init: --suite must be gm or intl, not %q", *suite)
	}
	pass, err := passphrase.Get("New registrar passphrase", stdin, stderr, true)
	if err != nil {
		return err
	}
	r, err := registry.Init(*dir, jose.Suite(*suite), pass, &registry.Options{ID: *id})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "registrar %s ready (%s); wallets pin its root certificate, SHA-256 %s\n", r.ID(), r.Suite(), registry.Fingerprint(r.Root()))
	_, err = fmt.Fprintln(stdout, r.RootPath())
	return err
}

// openRegistrar opens a registrar directory with the passphrase.
func openRegistrar(dir string, stdin io.Reader, stderr io.Writer) (*registry.Registrar, error) {
	pass, err := passphrase.Get("Registrar passphrase", stdin, stderr, false)
	if err != nil {
		return nil, err
	}
	return registry.Open(dir, pass)
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// splitList splits a comma-separated flag value; "" is the empty list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// registerResult is what `registry register` prints.
type registerResult struct {
	Domain       string                `json:"domain"`
	ClientID     string                `json:"client_id"`
	Dir          string                `json:"dir"`
	NotBefore    time.Time             `json:"not_before"`
	NotAfter     time.Time             `json:"not_after"`
	StatusIndex  uint64                `json:"status_index"`
	Entitlements registry.Entitlements `json:"entitlements"`
	TLS          bool                  `json:"tls"`
}

func registryRegister(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("registry register", stderr)
	dir := fs.String("dir", "", "registrar directory `RDIR`")
	domain := fs.String("platform", "", "the platform's `DOMAIN` (lower-case DNS name; its client_id is x509_san_dns:DOMAIN)")
	out := fs.String("out", "", "platform directory `PDIR` to write (key, certificate chain, registration)")
	predicates := fs.String("predicates", "", "predicates it may ask, comma-separated: "+strings.Join(registry.Predicates(), ","))
	claims := fs.String("claims", "", "`CLAIMS` it may receive in plaintext by SD-JWT, comma-separated (needs --legal-basis)")
	legal := fs.String("legal-basis", "", "the legal basis `TEXT` for the plaintext claims")
	days := fs.Int("days", int(registry.DefaultValidity/(24*time.Hour)), "validity of the registration and certificate, in days")
	var uris listFlag
	fs.Var(&uris, "response-uri", "an https `URL` on the domain the wallet may post answers to (repeatable; none: any https URL on the domain)")
	withTLS := fs.Bool("tls", false, "also write a TLS server certificate for the domain (tls-cert.pem, tls-key.pem unencrypted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *dir == "" || *domain == "" || *out == "":
		return usageError("registry register: --dir, --platform and --out are required")
	case *days < 1 || *days > 3650:
		return usageError("registry register: --days must be 1 to 3650, not %d", *days)
	}
	e := registry.Entitlements{Predicates: splitList(*predicates), Claims: splitList(*claims), LegalBasis: *legal, ResponseURIs: uris}
	// The entitlements are checked before any passphrase is asked.
	if err := e.Check(*domain); err != nil {
		return err
	}
	r, err := openRegistrar(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	var platformPass []byte
	if v, ok := os.LookupEnv(platformPassphraseEnv); ok {
		if v == "" {
			return fmt.Errorf("%s is set but empty", platformPassphraseEnv)
		}
		platformPass = []byte(v)
	} else if platformPass, err = passphrase.Get("New platform passphrase", stdin, stderr, true); err != nil {
		return err
	}
	// Refuse an occupied PDIR before anything is recorded.
	if _, err := os.Stat(filepath.Join(*out, registry.PlatformKeyName)); err == nil {
		return fmt.Errorf("%s already holds a platform key; choose a new directory", *out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	validity := time.Duration(*days) * 24 * time.Hour
	p, err := r.Register(*domain, e, validity)
	if err != nil {
		return err
	}
	if err := p.Save(*out, platformPass, nil); err != nil {
		return fmt.Errorf("%w (the registration is on record with status index %d: revoke it if the platform will not get it)", err, p.Registered.StatusIndex)
	}
	if *withTLS {
		certPEM, keyPEM, err := r.IssueTLS(*domain, validity)
		if err != nil {
			return err
		}
		if err := registry.SaveTLS(*out, certPEM, keyPEM); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s/%s and %s/%s: the TLS key is not encrypted (mode 0600), protect the file\n", *out, registry.TLSCertName, *out, registry.TLSKeyName)
		if r.Suite() == jose.SuiteGM {
			fmt.Fprintln(stderr, "note: the TLS certificate is signed with SM2 by the registrar root; only SM-aware TLS clients verify it, use a WebPKI certificate for browsers")
		}
	}
	reg := p.Registered
	return writeJSON(stdout, registerResult{
		Domain: p.Domain, ClientID: p.ClientID(), Dir: *out, NotBefore: reg.NotBefore, NotAfter: reg.NotAfter,
		StatusIndex: reg.StatusIndex, Entitlements: reg.Entitlements, TLS: *withTLS,
	})
}

func registryRevoke(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("registry revoke", stderr)
	dir := fs.String("dir", "", "registrar directory `RDIR`")
	domain := fs.String("platform", "", "the platform's `DOMAIN` (every registration of it is revoked)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *domain == "" {
		return usageError("registry revoke: --dir and --platform are required")
	}
	r, err := openRegistrar(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	if err := r.Revoke(*domain); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "revoked %s; wallets refuse it once the status lists signed before now have expired (24 h at most)\n", *domain)
	return writeJSON(stdout, map[string]any{"domain": *domain, "revoked": true, "status_list": r.StatusListPath()})
}

func registryStatus(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("registry status", stderr)
	dir := fs.String("dir", "", "registrar directory `RDIR`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("registry status: --dir is required")
	}
	r, err := openRegistrar(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	tok, err := r.StatusList()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", r.StatusListPath())
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
