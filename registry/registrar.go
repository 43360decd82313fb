package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/internal/atomicfile"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/wire"
)

// DefaultID is the identifier of a registrar initialised without one.
const DefaultID = "https://registry.yinzheng.example"

// RegistrationType is the JWS "typ" of a registration.
const RegistrationType = "registration+jwt"

// StatusListType is the JWS "typ" of the registration status list (IETF
// Token Status List).
const StatusListType = revocation.StatusListType

// Files of a registrar directory. Everything under public/ is meant to be
// published; the root certificate is what wallets pin.
const (
	configFile        = "yinzheng-registry.json" // RDIR/…, written last by Init
	configFormat      = "yinzheng-registry/v1"
	registrationsFile = "registrations.json" // RDIR/…
	privateDir        = "private"
	keyFile           = "registrar-key.sealed" // RDIR/private/…
	publicDir         = "public"
	// RootName is the registrar's root certificate (PEM) in RDIR/public/
	// and, as the root it was certified under, in a platform directory.
	RootName = "root.pem"
	// StatusListName is the signed registration status list in
	// RDIR/public/ and, as the copy the platform staples, in a platform
	// directory.
	StatusListName = "registration-status.jwt"
)

// Validity defaults and bounds.
const (
	// DefaultRootValidity is the validity of a new root certificate.
	DefaultRootValidity = 10 * 365 * 24 * time.Hour
	// DefaultValidity is the validity of a registration when the caller
	// gives none (the CLI's --days default).
	DefaultValidity = 365 * 24 * time.Hour
)

// keyAAD binds the sealed registrar key to its purpose.
var keyAAD = []byte("yinzheng-registry/v1 key")

// KDFParams are the Argon2id costs of sealing a key under a passphrase.
// The zero value (or a nil pointer) means the defaults: t=3, m=64 MiB, p=2.
// Cheaper parameters keep tests fast; the sealed file records them.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

func (k *KDFParams) params() seal.Params {
	if k == nil || *k == (KDFParams{}) {
		return seal.DefaultParams
	}
	return seal.Params{Time: k.Time, Memory: k.MemoryKiB, Threads: k.Threads}
}

// Options configure Init.
type Options struct {
	// ID is the registrar's identifier, an https URL without query,
	// fragment or trailing slash: the registrations' "iss" and the base of
	// the status list URI. "" means DefaultID. It names; it does not
	// authenticate (the wallet trusts the pinned root's key).
	ID string
	// RootValidity is the root certificate's validity; 0 means
	// DefaultRootValidity.
	RootValidity time.Duration
	// KDF seals the registrar key; nil means the defaults.
	KDF *KDFParams
	// Now is the registrar's clock (tests move it); nil means time.Now.
	Now func() time.Time
}

// config marks a registrar directory.
type config struct {
	Format string     `json:"format"`
	ID     string     `json:"id"`
	Suite  jose.Suite `json:"suite"`
}

// record is one registration on record.
type record struct {
	Domain    string    `json:"domain"`
	Index     uint64    `json:"index"`
	Serial    string    `json:"certificate_serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Revoked   bool      `json:"revoked"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// records is RDIR/registrations.json: every registration ever made, by
// status list index.
type records struct {
	Format        string   `json:"format"`
	Registrations []record `json:"registrations"`
}

const recordsFormat = "yinzheng-registrations/v1"

// maxFile bounds every file the package reads.
const maxFile = 16 << 20

// Registrar is an open registrar directory: the registrar key, its root
// certificate and the registrations on record. Its methods are safe for
// concurrent use within one process; two processes must not change one
// directory at the same time.
type Registrar struct {
	dir   string
	cfg   config
	key   *jose.PrivateKey
	root  *smx509.Certificate
	roots *Roots // the root alone, for checking what Register hands out
	now   func() time.Time

	mu sync.Mutex // serialises changes to registrations.json and the status list
}

// Init creates a registrar directory: a new registrar key of suite
// (jose.SuiteGM, SM2, when ""; jose.SuiteIntl, ECDSA P-256), sealed under
// passphrase; its self-signed root certificate in public/root.pem; an empty
// registration list and its signed status list. dir must be missing or
// empty; on failure Init removes what it created.
func Init(dir string, suite jose.Suite, passphrase []byte, opts *Options) (r *Registrar, err error) {
	if opts == nil {
		opts = &Options{}
	}
	switch suite {
	case "":
		suite = jose.SuiteGM
	case jose.SuiteGM, jose.SuiteIntl:
	default:
		return nil, fmt.Errorf("registry: unknown suite %q (gm or intl)", suite)
	}
	id := opts.ID
	if id == "" {
		id = DefaultID
	}
	if err := wire.CheckIdentifier(id); err != nil {
		return nil, fmt.Errorf("registry: identifier: %w", err)
	}
	if len(passphrase) == 0 {
		return nil, errors.New("registry: empty passphrase")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rootValidity := opts.RootValidity
	if rootValidity == 0 {
		rootValidity = DefaultRootValidity
	}
	if rootValidity < 0 {
		return nil, errors.New("registry: negative root validity")
	}
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, privateDir), 0o700); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer func() {
		if err != nil {
			removeContents(dir)
		}
	}()
	key, err := jose.GenerateKey(suite, nil)
	if err != nil {
		return nil, fmt.Errorf("registry: generating the registrar key: %w", err)
	}
	if err := sealKey(filepath.Join(dir, privateDir, keyFile), key, passphrase, keyAAD, opts.KDF); err != nil {
		return nil, err
	}
	t := now().UTC().Truncate(time.Second)
	host := id
	if u, err := url.Parse(id); err == nil {
		host = u.Host
	}
	root, err := createRoot(key, "Yinzheng registrar "+host, t, t.Add(rootValidity))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, publicDir), 0o755); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if err := writeFile(filepath.Join(dir, publicDir, RootName), EncodeCertificates(root), 0o644); err != nil {
		return nil, err
	}
	roots, err := NewRoots(root)
	if err != nil {
		return nil, err
	}
	r = &Registrar{dir: dir, cfg: config{Format: configFormat, ID: id, Suite: suite}, key: key, root: root, roots: roots, now: now}
	if err := r.writeRecords(&records{Format: recordsFormat, Registrations: []record{}}); err != nil {
		return nil, err
	}
	if _, err := r.statusListLocked(&records{}); err != nil {
		return nil, err
	}
	cfgJSON, err := json.MarshalIndent(r.cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, configFile), append(cfgJSON, '\n'), 0o644); err != nil {
		return nil, err
	}
	return r, nil
}

// Open opens a registrar directory with its passphrase. A wrong passphrase
// gives ErrWrongPassphrase.
func Open(dir string, passphrase []byte) (*Registrar, error) {
	data, err := readFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (run registry init)", ErrNotRegistryDir, dir, configFile)
	}
	if err != nil {
		return nil, err
	}
	var cfg config
	if err := strictjson.Unmarshal(data, maxFile, &cfg); err != nil || cfg.Format != configFormat {
		return nil, fmt.Errorf("%w: %s is not a %s configuration", ErrNotRegistryDir, configFile, configFormat)
	}
	key, err := openKey(filepath.Join(dir, privateDir, keyFile), passphrase, keyAAD)
	if err != nil {
		return nil, err
	}
	rootPEM, err := readFile(filepath.Join(dir, publicDir, RootName))
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(rootPEM)
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("registry: %s/%s must hold exactly the root certificate", publicDir, RootName)
	}
	pub, err := PublicKeyOf(certs[0])
	if err != nil || !pub.Equal(key.Public()) || key.Suite() != cfg.Suite {
		return nil, fmt.Errorf("registry: %s/%s is not the certificate of the sealed registrar key", publicDir, RootName)
	}
	roots, err := NewRoots(certs[0])
	if err != nil {
		return nil, fmt.Errorf("registry: %s/%s: %w", publicDir, RootName, err)
	}
	return &Registrar{dir: dir, cfg: cfg, key: key, root: certs[0], roots: roots, now: time.Now}, nil
}

// ID returns the registrar's identifier.
func (r *Registrar) ID() string { return r.cfg.ID }

// Suite returns the suite of the registrar key.
func (r *Registrar) Suite() jose.Suite { return r.cfg.Suite }

// Root returns the registrar's root certificate, the one wallets pin.
func (r *Registrar) Root() *smx509.Certificate { return r.root }

// RootPath returns the path of the root certificate (PEM) in the directory.
func (r *Registrar) RootPath() string { return filepath.Join(r.dir, publicDir, RootName) }

// StatusListPath returns the path of the latest signed status list.
func (r *Registrar) StatusListPath() string { return filepath.Join(r.dir, publicDir, StatusListName) }

// StatusURI returns the URI of the registration status list: the "sub"
// of the status list token and the "uri" registrations refer to.
func (r *Registrar) StatusURI() string { return r.cfg.ID + "/" + StatusListName }

// Roots returns a Roots holding only this registrar's root.
func (r *Registrar) Roots() *Roots { return r.roots }

// Register certifies a platform: it generates the platform key (of the
// registrar's suite), issues its access certificate (DNS SAN exactly
// domain, digitalSignature, signed by the root) and signs its registration
// (a registration+jwt: sub domain, iat/nbf/exp, the entitlements, cnf the
// platform key, and a status list index), valid for validity from now (0
// means DefaultValidity). The registration is recorded and the status list
// re-signed. A domain may be registered again (a renewal or new
// entitlements); Revoke revokes all its registrations.
func (r *Registrar) Register(domain string, e Entitlements, validity time.Duration) (*Platform, error) {
	if err := e.Check(domain); err != nil {
		return nil, err
	}
	if validity == 0 {
		validity = DefaultValidity
	}
	now := r.now().UTC().Truncate(time.Second)
	notAfter := now.Add(validity)
	switch {
	case validity < time.Second:
		return nil, fmt.Errorf("registry: validity %v is not positive", validity)
	case notAfter.After(r.root.NotAfter):
		return nil, fmt.Errorf("registry: a registration until %s would outlive the root certificate (until %s)", notAfter.Format(time.RFC3339), r.root.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(r.root.NotBefore):
		return nil, errors.New("registry: the clock is before the root certificate's validity")
	}
	key, err := jose.GenerateKey(r.cfg.Suite, nil)
	if err != nil {
		return nil, fmt.Errorf("registry: generating the platform key: %w", err)
	}
	signer, err := signerOf(key)
	if err != nil {
		return nil, err
	}
	leaf, err := createLeaf(r.root, r.key, signer.Public(), domain, now, notAfter, false)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	recs, err := r.readRecords()
	if err != nil {
		return nil, err
	}
	index := uint64(len(recs.Registrations))
	claims := registrationClaims{
		Iss: r.cfg.ID, Sub: domain, Iat: now.Unix(), Nbf: now.Unix(), Exp: notAfter.Unix(),
		Cnf:          cnf{JWK: key.Public()},
		Entitlements: e.normalised(),
		Status:       statusClaim{StatusList: statusRef{Idx: index, URI: r.StatusURI()}},
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	reg, err := jose.Sign(r.key, map[string]any{"typ": RegistrationType, "kid": r.key.Public().KeyID()}, payload)
	if err != nil {
		return nil, fmt.Errorf("registry: signing the registration: %w", err)
	}
	recs.Registrations = append(recs.Registrations, record{
		Domain: domain, Index: index, Serial: leaf.SerialNumber.Text(16), NotBefore: now, NotAfter: notAfter,
	})
	if err := r.writeRecords(recs); err != nil {
		return nil, err
	}
	status, err := r.statusListLocked(recs)
	if err != nil {
		return nil, err
	}
	p := &Platform{Domain: domain, Chain: []*smx509.Certificate{leaf}, Key: key, Registration: reg, Status: status, Root: r.root}
	// The registrar checks what it hands out the way a wallet will.
	if p.Registered, err = VerifyPlatform(p.Chain, reg, status, r.Roots(), r.now()); err != nil {
		return nil, fmt.Errorf("registry: the new registration does not verify: %w", err)
	}
	return p, nil
}

// Revoke revokes every registration of domain and re-signs the status
// list. Revoking a domain whose registrations are all revoked already
// changes nothing; a domain never registered gives ErrUnknownPlatform.
func (r *Registrar) Revoke(domain string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	recs, err := r.readRecords()
	if err != nil {
		return err
	}
	found := false
	now := r.now().UTC().Truncate(time.Second)
	for i := range recs.Registrations {
		rec := &recs.Registrations[i]
		if rec.Domain != domain {
			continue
		}
		found = true
		if !rec.Revoked {
			rec.Revoked, rec.RevokedAt = true, now
		}
	}
	if !found {
		return fmt.Errorf("%w: %q", ErrUnknownPlatform, domain)
	}
	if err := r.writeRecords(recs); err != nil {
		return err
	}
	_, err = r.statusListLocked(recs)
	return err
}

// StatusList re-signs the registration status list as of now, writes it to
// public/registration-status.jwt and returns it. Platforms fetch it and
// staple it to their requests; it expires after
// revocation.StatusListLifetime, so the registrar re-signs it more often
// than that (a timer running `registry status`).
func (r *Registrar) StatusList() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recs, err := r.readRecords()
	if err != nil {
		return "", err
	}
	return r.statusListLocked(recs)
}

func (r *Registrar) statusListLocked(recs *records) (string, error) {
	// At least one byte, so that an empty list is still a list.
	bits := make([]byte, max(1, (len(recs.Registrations)+7)/8))
	for _, rec := range recs.Registrations {
		if rec.Revoked {
			bits[rec.Index/8] |= 1 << (rec.Index % 8)
		}
	}
	tok, err := revocation.SignStatusList(r.key, r.cfg.ID, r.StatusURI(), bits, r.now().UTC())
	if err != nil {
		return "", fmt.Errorf("registry: signing the status list: %w", err)
	}
	if err := writeFile(r.StatusListPath(), []byte(tok+"\n"), 0o644); err != nil {
		return "", err
	}
	return tok, nil
}

// IssueTLS issues a TLS server certificate for domain signed by the
// registrar root, with a fresh ECDSA P-256 key (TLS stacks take no SM2
// keys), and returns both as PEM. The key is returned unencrypted: a
// server needs it at start without a person present, so whoever stores it
// protects it by file permissions. Clients verify the certificate with
// the registrar root only if they can verify its signature: any TLS client
// for an intl registrar, only SM-aware ones (gmsm's smx509) for a gm
// registrar; public deployments may prefer a certificate from a WebPKI CA.
func (r *Registrar) IssueTLS(domain string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := CheckDomain(domain); err != nil {
		return nil, nil, err
	}
	if validity == 0 {
		validity = DefaultValidity
	}
	now := r.now().UTC().Truncate(time.Second)
	if validity < time.Second || now.Add(validity).After(r.root.NotAfter) {
		return nil, nil, fmt.Errorf("registry: TLS validity %v is not positive or outlives the root", validity)
	}
	k, err := newTLSKey()
	if err != nil {
		return nil, nil, err
	}
	cert, err := createLeaf(r.root, r.key, &k.PublicKey, domain, now, now.Add(validity), true)
	if err != nil {
		return nil, nil, err
	}
	der, err := smx509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return EncodeCertificates(cert), pemBlock("PRIVATE KEY", der), nil
}

func (r *Registrar) readRecords() (*records, error) {
	data, err := readFile(filepath.Join(r.dir, registrationsFile))
	if err != nil {
		return nil, err
	}
	var recs records
	if err := strictjson.Unmarshal(data, maxFile, &recs); err != nil || recs.Format != recordsFormat {
		return nil, fmt.Errorf("registry: %s is not a %s list", registrationsFile, recordsFormat)
	}
	for i, rec := range recs.Registrations {
		if rec.Index != uint64(i) {
			return nil, fmt.Errorf("registry: %s: registration %d has index %d", registrationsFile, i, rec.Index)
		}
	}
	return &recs, nil
}

func (r *Registrar) writeRecords(recs *records) error {
	recs.Format = recordsFormat
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(r.dir, registrationsFile), append(data, '\n'), 0o644)
}

// checkEmpty refuses an existing directory that holds anything.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if len(entries) != 0 {
		return fmt.Errorf("registry: %s is not empty; choose a new directory", dir)
	}
	return nil
}

// removeContents undoes a failed Init (dir was missing or empty).
func removeContents(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// writeFile replaces path atomically and sets its mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// readFile reads at most maxFile bytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("registry: %s is larger than %d bytes", path, maxFile)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return data, nil
}

// sealKey writes key's private JWK sealed under passphrase to path (0600).
func sealKey(path string, key *jose.PrivateKey, passphrase, aad []byte, kdf *KDFParams) error {
	jwk, err := key.MarshalJSON()
	if err != nil {
		return err
	}
	sealed, err := seal.SealWithParams(kdf.params(), passphrase, jwk, aad)
	clear(jwk)
	if err != nil {
		return fmt.Errorf("registry: sealing the key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return writeFile(path, sealed, 0o600)
}

// openKey opens a key sealed by sealKey.
func openKey(path string, passphrase, aad []byte) (*jose.PrivateKey, error) {
	sealed, err := readFile(path)
	if err != nil {
		return nil, err
	}
	jwk, err := seal.Open(passphrase, sealed, aad)
	if errors.Is(err, seal.ErrWrongPassphrase) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", filepath.Base(path), err)
	}
	defer clear(jwk)
	key, err := jose.ParsePrivateJWK(jwk)
	if err != nil {
		return nil, fmt.Errorf("registry: the sealed key: %w", err)
	}
	return key, nil
}
