package issuer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
	"github.com/yinzheng-id/yinzheng/wire"
)

// DefaultIssuer is the issuer identifier of a directory initialised without
// one.
const DefaultIssuer = "https://issuer.yinzheng.example"

// Layout of an issuer directory.
const (
	configFile     = "yinzheng-issuer.json" // DIR/…, written last by Init
	configFormat   = "yinzheng-issuer/v1"
	privateDir     = "private"
	keysFile       = "keys.sealed" // DIR/private/…
	dbDir          = "db"          // DIR/private/…
	accumulatorDir = "accumulator"
	publicDir      = "public"
	circuitDir     = "circuit" // DIR/public/…
)

// keysAAD binds the sealed keys file to its purpose.
var keysAAD = []byte("yinzheng-issuer/v1 keys")

// Errors callers may want to tell apart.
var (
	// ErrWrongPassphrase means the passphrase does not open the issuer's keys.
	ErrWrongPassphrase = errors.New("issuer: wrong passphrase (or the sealed keys are corrupted)")
	// ErrNotIssuerDir means the directory is not an issuer directory.
	ErrNotIssuerDir = errors.New("issuer: not an issuer directory")
	// ErrUnknownWanghao means no person with this 网号 is on record.
	ErrUnknownWanghao = errors.New("issuer: no person on record with this 网号")
	// ErrUnpublished means the tree has changes no published epoch covers yet.
	ErrUnpublished = errors.New("issuer: the accumulator has unpublished changes; publish first")
	// ErrClosed means the issuer was closed.
	ErrClosed = errors.New("issuer: closed")
	// ErrKeysChoice means Options name no circuit keys, or more than one
	// source of them (CircuitKeys, DevelopmentKeys, SkipCircuitKeys).
	ErrKeysChoice = errors.New("issuer: choose exactly one source of circuit keys: ceremony keys (CircuitKeys) or development keys (DevelopmentKeys)")
	// ErrCircuitKeys means the ceremony keys given to Init are refused: not
	// for this circuit or depth, development keys, or a transcript that
	// does not verify. The message names the check.
	ErrCircuitKeys = errors.New("issuer: circuit keys refused")
)

// China Standard Time: the day on which a person's age and a credential's
// expiry are counted.
var chinaTime = schemas.ChinaTime

// Options configure Init.
type Options struct {
	// Issuer is the issuer identifier, an https URL without query or
	// fragment; "" means DefaultIssuer.
	Issuer string
	// Suite is the signature suite of the issuer key; "" means jose.SuiteGM.
	Suite jose.Suite
	// Depth is the accumulator depth; 0 means circuits.ProductionDepth.
	Depth int
	// CircuitKeys is a directory of ceremony circuit keys: manifest.json,
	// verifying.key, proving.key and, when the ceremony left one,
	// transcript.bin. Init refuses them unless they load for the circuit
	// compiled here at Depth (circuit digest and depth), are not
	// development keys (recognised by content, whatever the manifest
	// says), and the transcript, when present, verifies and yields exactly
	// these keys. They are copied to DIR/public/circuit, the transcript as
	// publication.TranscriptName so that verifiers can check it too.
	CircuitKeys string
	// WithoutTranscript accepts CircuitKeys that come without a ceremony
	// transcript. Without it they are refused: nothing would then show that
	// their randomness is unknown (development keys re-randomised by someone
	// who knows their trapdoor look like any other keys), and verifiers
	// could pin them only on a circuit id learnt out of band.
	WithoutTranscript bool
	// DevelopmentKeys installs development keys instead, loaded from (or
	// set up and saved into) DevelopmentKeysDir. Their setup randomness is
	// public: anyone can forge proofs under them. Tests and demos only.
	DevelopmentKeys bool
	// DevelopmentKeysDir is where the development keys are cached (the CLI
	// passes the shared cache, bench.DefaultKeysDir).
	DevelopmentKeysDir string
	// SkipCircuitKeys publishes no circuit keys and leaves circuit_id empty.
	// Unit tests use it; such an issuer cannot serve ZK presentations.
	//
	// Exactly one of CircuitKeys, DevelopmentKeys and SkipCircuitKeys must
	// be set: an issuer never gets development keys by default.
	SkipCircuitKeys bool
	// Progress, when set, is told each stage of the circuit key setup.
	Progress func(stage string)
	// KDF are the Argon2id parameters sealing the keys; zero means
	// seal.DefaultParams.
	KDF seal.Params
	// StatusListEntries is the size of the SD-JWT copies' status list,
	// fixed for the directory's life; 0 means DefaultStatusListEntries.
	// Size it for every copy the issuer will sign (credentials ever issued
	// times the copies each): each copy takes an index of its own, never
	// reused. A positive multiple of 8, at most 2^32.
	StatusListEntries uint64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Metadata is the issuer's public issuer.json.
type Metadata struct {
	Issuer        string          `json:"issuer"`
	Suite         jose.Suite      `json:"suite"`
	JWK           json.RawMessage `json:"jwk"`
	KID           string          `json:"kid"`
	Depth         int             `json:"depth"`
	CircuitID     string          `json:"circuit_id"`
	SchemaID      string          `json:"schema_id"`
	VCT           string          `json:"vct"`
	StatusListURI string          `json:"status_list_uri"`
}

// config is the plain record that marks an issuer directory.
type config struct {
	Format string     `json:"format"`
	Issuer string     `json:"issuer"`
	Suite  jose.Suite `json:"suite"`
	Depth  int        `json:"depth"`
}

// secrets are sealed together under the passphrase in DIR/private/keys.sealed.
type secrets struct {
	Version int             `json:"version"`
	JWK     json.RawMessage `json:"jwk"`         // the issuer's private JWK
	Wanghao []byte          `json:"wanghao_key"` // HMAC-SM3 key of the 网号
	DataKey []byte          `json:"data_key"`    // seals personal data at rest
}

// Issuer is an open issuer directory. Its methods are safe for concurrent
// use: changes (issue, revoke, publish, delete) are serialised, and the
// public files are replaced atomically.
type Issuer struct {
	dir  string
	now  func() time.Time
	meta Metadata
	key  *jose.PrivateKey

	mu      sync.Mutex // guards everything below and every change
	secret  []byte
	dataKey []byte
	acc     *revocation.Store
	db      *badger.DB
	audit   *auditLog
	keys    *recordKeys
	status  *statusBitmaps
	latest  *revocation.Epoch
	// latestAt is when latest was signed (its statement's iat).
	latestAt time.Time
	closed   bool
}

// Init creates an issuer directory: the issuer key (SM2 or ES256), the
// 网号 secret and the data key sealed under passphrase, the private database,
// the accumulator, the circuit keys, issuer.json, and epoch 0. dir must be
// missing or empty; on failure Init removes what it created.
func Init(dir string, passphrase []byte, opts Options) (err error) {
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	if err := opts.checkKeysChoice(); err != nil {
		return err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("issuer: creating %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			removeContents(dir)
		}
	}()

	key, err := jose.GenerateKey(cfg.Suite, nil)
	if err != nil {
		return fmt.Errorf("issuer: generating the issuer key: %w", err)
	}
	jwk, err := key.MarshalJSON()
	if err != nil {
		return err
	}
	s := secrets{Version: 1, JWK: jwk}
	if s.Wanghao, err = seal.NewKey(); err != nil {
		return err
	}
	if s.DataKey, err = seal.NewKey(); err != nil {
		return err
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	kdf := opts.KDF
	if kdf == (seal.Params{}) {
		kdf = seal.DefaultParams
	}
	sealed, err := seal.SealWithParams(kdf, passphrase, plain, keysAAD)
	clear(plain)
	if err != nil {
		return fmt.Errorf("issuer: sealing the keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, privateDir), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, privateDir, keysFile), sealed, 0o600); err != nil {
		return err
	}

	meta := Metadata{
		Issuer:        cfg.Issuer,
		Suite:         cfg.Suite,
		KID:           key.Public().KeyID(),
		Depth:         cfg.Depth,
		VCT:           schemas.VCT,
		StatusListURI: cfg.Issuer + "/" + publication.StatusListName,
	}
	if meta.JWK, err = key.Public().MarshalJSON(); err != nil {
		return err
	}
	if meta.SchemaID, err = schemas.SchemaID(); err != nil {
		return err
	}
	if !opts.SkipCircuitKeys {
		if meta.CircuitID, err = installCircuitKeys(dir, cfg.Depth, opts); err != nil {
			return err
		}
	}
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := writePublicFile(dir, publication.IssuerName, append(metaJSON, '\n')); err != nil {
		return err
	}
	// The accumulator is created here, not by open: open refuses a
	// missing one as lost.
	acc, err := revocation.Open(filepath.Join(dir, accumulatorDir), revocation.Options{Depth: cfg.Depth})
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	if err := acc.Close(); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	entries := opts.StatusListEntries
	if entries == 0 {
		entries = DefaultStatusListEntries
	}
	if err := checkStatusEntries(entries); err != nil {
		return err
	}
	db, err := openPrivateDB(filepath.Join(dir, privateDir, dbDir))
	if err != nil {
		return err
	}
	err = initStatusList(db, entries)
	if err2 := db.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	cfgJSON, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, configFile), append(cfgJSON, '\n'), 0o644); err != nil {
		return err
	}
	iss, err := open(dir, passphrase, now)
	if err != nil {
		return err
	}
	defer iss.Close()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if err := iss.audit.append(AuditEntry{Time: now(), Action: "init"}); err != nil {
		return err
	}
	_, err = iss.publishLocked()
	return err
}

// checkKeysChoice requires exactly one source of circuit keys.
func (o Options) checkKeysChoice() error {
	n := 0
	for _, set := range []bool{o.CircuitKeys != "", o.DevelopmentKeys, o.SkipCircuitKeys} {
		if set {
			n++
		}
	}
	if n != 1 {
		return ErrKeysChoice
	}
	return nil
}

func (o Options) config() (config, error) {
	c := config{Format: configFormat, Issuer: o.Issuer, Suite: o.Suite, Depth: o.Depth}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if err := wire.CheckIdentifier(c.Issuer); err != nil {
		return c, fmt.Errorf("issuer: identifier: %w", err)
	}
	switch c.Suite {
	case "":
		c.Suite = jose.SuiteGM
	case jose.SuiteGM, jose.SuiteIntl:
	default:
		return c, fmt.Errorf("issuer: unknown suite %q (gm or intl)", c.Suite)
	}
	if c.Depth == 0 {
		c.Depth = circuits.ProductionDepth
	}
	if err := revocation.CheckDepth(c.Depth); err != nil {
		return c, fmt.Errorf("issuer: %w", err)
	}
	return c, nil
}

// checkEmpty refuses an existing directory that holds anything.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		return fmt.Errorf("issuer: %s is already an issuer directory", dir)
	}
	return fmt.Errorf("issuer: %s is not empty and is not an issuer directory; choose a new directory", dir)
}

// removeContents undoes a failed Init (dir was missing or empty).
func removeContents(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// Open opens an issuer directory with its passphrase. A wrong passphrase
// gives ErrWrongPassphrase and changes nothing.
func Open(dir string, passphrase []byte) (*Issuer, error) {
	return open(dir, passphrase, time.Now)
}

func open(dir string, passphrase []byte, now func() time.Time) (*Issuer, error) {
	cfgData, err := os.ReadFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (run issuer init)", ErrNotIssuerDir, dir, configFile)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	var cfg config
	if err := decodeStrict(cfgData, configFile, &cfg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotIssuerDir, err)
	}
	if cfg.Format != configFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrNotIssuerDir, cfg.Format, configFormat)
	}
	sealed, err := os.ReadFile(filepath.Join(dir, privateDir, keysFile))
	if err != nil {
		return nil, fmt.Errorf("issuer: reading the sealed keys: %w", err)
	}
	plain, err := seal.Open(passphrase, sealed, keysAAD)
	if errors.Is(err, seal.ErrWrongPassphrase) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: sealed keys: %w", err)
	}
	var s secrets
	err = json.Unmarshal(plain, &s)
	clear(plain)
	if err != nil || s.Version != 1 || len(s.Wanghao) != seal.KeySize || len(s.DataKey) != seal.KeySize {
		return nil, errors.New("issuer: the sealed keys are malformed")
	}
	key, err := jose.ParsePrivateJWK(s.JWK)
	clear(s.JWK)
	if err != nil {
		return nil, fmt.Errorf("issuer: the sealed issuer key: %w", err)
	}
	metaData, err := os.ReadFile(filepath.Join(dir, publicDir, filepath.FromSlash(publication.IssuerName)))
	if err != nil {
		return nil, fmt.Errorf("issuer: reading issuer.json: %w", err)
	}
	var meta Metadata
	if err := decodeStrict(metaData, publication.IssuerName, &meta); err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	pub, err := jose.ParsePublicJWK(meta.JWK)
	if err != nil || !pub.Equal(key.Public()) || meta.Issuer != cfg.Issuer || meta.Depth != cfg.Depth {
		return nil, errors.New("issuer: issuer.json does not match the sealed key and configuration")
	}

	iss := &Issuer{dir: dir, now: now, meta: meta, key: key, secret: s.Wanghao, dataKey: s.DataKey}
	if iss.db, err = openPrivateDB(filepath.Join(dir, privateDir, dbDir)); err != nil {
		return nil, err
	}
	// revocation.Open creates a missing accumulator; Init creates it, so
	// here a missing one is lost, and a fresh one would re-issue every
	// serial.
	accPath := filepath.Join(dir, accumulatorDir)
	if entries, err := os.ReadDir(accPath); err != nil || len(entries) == 0 {
		iss.db.Close()
		return nil, fmt.Errorf("%w: the accumulator (%s/) is missing or empty; %s", ErrRolledBack, accumulatorDir, restoreHint)
	}
	if iss.acc, err = revocation.Open(accPath, revocation.Options{Depth: cfg.Depth}); err != nil {
		iss.db.Close()
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if err := cleanTemp(dir); err != nil {
		iss.closeStores()
		return nil, err
	}
	if iss.audit, err = loadAuditLog(iss.db); err != nil {
		iss.closeStores()
		return nil, err
	}
	if iss.keys, err = openRecordKeys(filepath.Join(dir, privateDir, recordKeysFile)); err != nil {
		iss.closeStores()
		return nil, err
	}
	if iss.status, err = loadStatusBitmaps(iss.db); err != nil {
		iss.closeStores()
		return nil, err
	}
	history, err := iss.acc.RootHistory()
	if err != nil {
		iss.closeStores()
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if len(history) > 0 {
		iss.latest = history[len(history)-1]
		rs, err := revocation.VerifyRootStatement(iss.latest.Statement, key.Public())
		if err != nil {
			iss.closeStores()
			return nil, fmt.Errorf("issuer: the latest root statement: %w", err)
		}
		iss.latestAt = rs.IssuedAt
	}
	// Before anything else: refuse a rollback, then finish an interrupted
	// publish (its epoch is committed before its public files exist).
	if err := iss.checkStores(history); err != nil {
		iss.closeStores()
		return nil, err
	}
	if err := iss.finishPendingRevoke(); err != nil {
		iss.closeStores()
		return nil, err
	}
	if err := iss.repairPublic(history); err != nil {
		iss.closeStores()
		return nil, err
	}
	return iss, nil
}

func (iss *Issuer) closeStores() {
	if iss.acc != nil {
		iss.acc.Close()
	}
	if iss.db != nil {
		iss.db.Close()
	}
	if iss.keys != nil {
		iss.keys.close()
	}
}

// Close closes the stores and forgets the secrets. Closing twice is harmless.
func (iss *Issuer) Close() error {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil
	}
	iss.closed = true
	clear(iss.secret)
	clear(iss.dataKey)
	err := iss.acc.Close()
	if err2 := iss.db.Close(); err == nil {
		err = err2
	}
	if err2 := iss.keys.close(); err == nil {
		err = err2
	}
	return err
}

// Metadata returns the issuer's public metadata (issuer.json).
func (iss *Issuer) Metadata() Metadata {
	m := iss.meta
	m.JWK = bytes.Clone(m.JWK)
	return m
}

// PublicKey returns the issuer's public signing key.
func (iss *Issuer) PublicKey() *jose.PublicKey { return iss.key.Public() }

// today is the issuer's calendar date at t (China Standard Time).
func today(t time.Time) schemas.Date { return schemas.DateOf(t.In(chinaTime)) }

// ErrDeviceChanged means the person already holds a credential bound to
// another holder commitment. Re-issuing to a new device (lost device, lost
// recovery phrase) would give the person a second, independent pseudonym at
// every platform: it is the operator's decision, IssueOptions.ReplaceDevice.
var ErrDeviceChanged = errors.New("issuer: the person's credentials are bound to another holder commitment; re-issuing to a new device needs the operator's decision (replace device)")

// IssueOptions are the operator's decisions on one issuance.
type IssueOptions struct {
	// ReplaceDevice accepts a holder commitment other than the one on
	// record for the person: the person lost the device and the recovery
	// phrase. The earlier credentials are revoked as on any re-issuance,
	// the new commitment replaces the old one, and the audit log records a
	// "replace-device" event.
	ReplaceDevice bool
}

// Issue is IssueWithOptions without operator decisions.
func (iss *Issuer) Issue(subject *Subject, req *HolderRequest) (*Bundle, error) {
	return iss.IssueWithOptions(subject, req, IssueOptions{})
}

// IssueWithOptions enrols subject and issues a bundle bound to the holder's
// request: the 网号, the attributes and their leaf appended to the
// accumulator, and one SD-JWT VC per holder key, each with a status index of
// its own drawn at random (see DefaultStatusListEntries).
//
// A person has one live credential. Issuing again to a person on record
// revokes every earlier credential of the person in the same call (status
// indices first, then the accumulator leaves, with the new leaf's append),
// and needs the holder commitment on record (the recovery flow: a wallet
// restored from its recovery phrase has the same commitment, hence the same
// pseudonyms); another commitment is refused with ErrDeviceChanged unless
// opts.ReplaceDevice.
//
// Issue publishes no epoch: the bundle is pending, its path under the
// current tree that the next Publish signs (Bundle.Pending, Path.Epoch the
// epoch being built), so that one epoch holds every issuance of an interval
// and a root does not name the one credential issued under it. The new
// copies' indices read as valid in the status list already (an unused index
// is never set), so a first issuance does not rewrite it.
func (iss *Issuer) IssueWithOptions(subject *Subject, req *HolderRequest, opts IssueOptions) (*Bundle, error) {
	if subject == nil || req == nil {
		return nil, errors.New("issuer: issue needs a subject and a holder request")
	}
	now := iss.now()
	e, err := subject.validate(now.In(chinaTime))
	if err != nil {
		return nil, err
	}
	hr, err := checkHolderRequest(req)
	if err != nil {
		return nil, err
	}
	issued := today(now)

	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil, ErrClosed
	}
	wanghao := deriveWanghao(iss.secret, e.docType, e.docNumber)
	var salt [schemas.SaltBytes]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	attrs := e.attributes(wanghao, salt)
	if err := attrs.ValidateAt(issued); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSubject, err)
	}
	packed, identity, err := attrs.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSubject, err)
	}
	leaf := zkhash.Leaf(zkhash.LeafTag(circuits.SchemaName), packed, hr.commitment, identity)

	pkey := personKey(iss.secret, wanghao)
	person, slot, err := iss.getPerson(pkey)
	if errors.Is(err, ErrRecordKeyDestroyed) {
		// A deletion stopped after destroying the record's key: finish it,
		// and enrol the person anew.
		if err := erase(iss.db, pkey); err != nil {
			return nil, err
		}
		person, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	commitment := zkhash.FormatElement(hr.commitment)
	action := "issue"
	if person != nil {
		switch {
		case person.Commitment == commitment:
			action = "reissue"
		case opts.ReplaceDevice:
			action = "replace-device"
		default:
			return nil, ErrDeviceChanged
		}
	}

	serial, err := iss.acc.LeafCount()
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	indices, err := iss.status.draw(len(hr.keys))
	if err != nil {
		return nil, err
	}
	copies, err := iss.signCopies(&attrs, issued, indices, hr.keys)
	if err != nil {
		return nil, err
	}
	var earlier []uint64
	if person == nil {
		if slot, err = iss.keys.add(); err != nil {
			return nil, err
		}
		person = &personRecord{Created: now.UTC()}
	} else {
		// The earlier copies are refused from here on, before anything
		// else changes.
		earlier = person.serials()
		if err := iss.revokeIndicesLocked(earlier, person.indices()); err != nil {
			return nil, err
		}
	}
	first, err := iss.acc.ApplyBatch(revocation.Batch{Append: []fr.Element{leaf}, Revoke: earlier})
	if err != nil {
		return nil, fmt.Errorf("issuer: appending the leaf: %w", err)
	}
	if first != serial {
		iss.acc.Revoke(first)
		return nil, fmt.Errorf("issuer: the accumulator assigned serial %d, expected %d (another writer?)", first, serial)
	}
	person.Commitment = commitment
	person.Credentials = append(person.Credentials, credentialRec{Serial: serial, Indices: indices})
	person.Updated = now.UTC()
	if e.guardian != nil {
		person.Guardian = e.guardian
	}
	if err := iss.commitIssue(pkey, slot, person, serial, indices); err != nil {
		// Without a record, a deletion request could not find this
		// credential: take it back.
		iss.acc.Revoke(serial)
		return nil, err
	}
	if len(earlier) > 0 {
		if err := iss.writeStatusList(now); err != nil {
			return nil, err
		}
	}
	path, err := iss.acc.Path(serial)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if !path.Leaf.Equal(&leaf) || path.Verify() != nil {
		return nil, errors.New("issuer: the new leaf's path does not fold to the current root")
	}
	epoch := iss.nextEpochLocked()
	if err := iss.audit.append(AuditEntry{Time: now, Action: action, Epoch: &epoch}); err != nil {
		return nil, err
	}

	b := &Bundle{
		Version: FormatVersion,
		Issuer:  iss.meta.Issuer,
		Serial:  serial,
		Wanghao: wanghao,
		SDJWT:   copies,
		ZK: BundleZK{
			BirthDate:               attrs.BirthDate.String(),
			Expiry:                  attrs.Expiry.String(),
			Level:                   int(attrs.Level),
			GuardianConsent:         attrs.GuardianConsent,
			GuardianAcknowledgement: attrs.GuardianAcknowledgement,
			DocType:                 attrs.DocType.String(),
			Name:                    attrs.Name,
			Region:                  attrs.Region,
			Salt:                    b64.EncodeToString(attrs.Salt[:]),
			Attributes:              zkhash.FormatElement(packed),
			Identity:                zkhash.FormatElement(identity),
			Leaf:                    zkhash.FormatElement(leaf),
		},
		Path: BundlePath{
			Serial: serial,
			Epoch:  epoch,
			Root:   zkhash.FormatElement(path.Root),
		},
		Pending: true,
	}
	for _, s := range path.Siblings {
		b.Path.Siblings = append(b.Path.Siblings, zkhash.FormatElement(s))
	}
	return b, nil
}

// commitIssue stores, in one transaction, the person record, the new
// serial's status indices, their allocation and the mark of delivered
// serials, and ends the pending revocation of the person's earlier serials
// (the accumulator batch that revoked them has committed).
func (iss *Issuer) commitIssue(pkey []byte, slot uint64, person *personRecord, serial uint64, indices []uint64) error {
	sealedPerson, err := iss.sealRecord(slot, pkey, person)
	if err != nil {
		return err
	}
	skey := serialKey(serial)
	sealedIdx, err := iss.sealRecord(slot, skey, indices)
	if err != nil {
		return err
	}
	var apply func()
	// The high-water mark of delivered serials moves in the same
	// transaction as the record, so that open can tell an accumulator
	// rolled back behind a serial already handed out (see checkStores).
	err = storelock.Update(iss.db, func(txn *badger.Txn) error {
		next, err := readIssuedMark(txn)
		if err != nil {
			return err
		}
		if err := txn.Set(keyIssued, binary.BigEndian.AppendUint64(nil, max(next, serial+1))); err != nil {
			return err
		}
		if apply, err = setBits(txn, prefixStatusAlloc, iss.status.alloc, indices); err != nil {
			return err
		}
		if err := txn.Set(pkey, sealedPerson); err != nil {
			return err
		}
		if err := txn.Set(skey, sealedIdx); err != nil {
			return err
		}
		return txn.Delete(keyPendingRevoke)
	})
	if err != nil {
		return fmt.Errorf("issuer: storing a person record: %w", err)
	}
	apply()
	iss.status.used += uint64(len(indices))
	return nil
}

// revokeIndicesLocked revokes the status indices of serials (idx, which the
// caller gathered), in one transaction that also records serials as pending: the accumulator side
// comes next, and if the process stops before it, the next open finishes it
// (finishPendingRevoke). The SD-JWT copies are refused from this commit on;
// the caller rewrites the status list. The caller holds iss.mu.
func (iss *Issuer) revokeIndicesLocked(serials, idx []uint64) error {
	pending, err := json.Marshal(serials)
	if err != nil {
		return err
	}
	// The count of revoked serials moves with them, so that open can tell
	// an accumulator rolled back behind a revocation (see checkStores).
	live := 0
	seen := map[uint64]bool{}
	for _, s := range serials {
		st, err := iss.acc.Status(s)
		if err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
		if st == revocation.Valid && !seen[s] {
			live++
		}
		seen[s] = true
	}
	var apply func()
	err = storelock.Update(iss.db, func(txn *badger.Txn) error {
		var err error
		if apply, err = setBits(txn, prefixStatusRevoked, iss.status.revoked, idx); err != nil {
			return err
		}
		if live > 0 {
			n, err := readCounter(txn, keyRevokedMark)
			if err != nil {
				return err
			}
			if err := txn.Set(keyRevokedMark, binary.BigEndian.AppendUint64(nil, n+uint64(live))); err != nil {
				return err
			}
		}
		return txn.Set(keyPendingRevoke, pending)
	})
	if err != nil {
		return fmt.Errorf("issuer: revoking status indices: %w", err)
	}
	apply()
	return nil
}

// clearPendingRevoke ends a pending revocation once the accumulator has it.
func (iss *Issuer) clearPendingRevoke() error {
	if err := storelock.Update(iss.db, func(txn *badger.Txn) error { return txn.Delete(keyPendingRevoke) }); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	return nil
}

// finishPendingRevoke completes, at open, a revocation whose status indices
// were revoked but whose accumulator leaves may not be: the process stopped
// between the two.
func (iss *Issuer) finishPendingRevoke() error {
	v, err := getValue(iss.db, keyPendingRevoke)
	if err != nil || v == nil {
		return err
	}
	var serials []uint64
	if err := json.Unmarshal(v, &serials); err != nil {
		return fmt.Errorf("%w: the pending revocation: %v", storelock.ErrDamaged, err)
	}
	if len(serials) > 0 {
		if err := iss.acc.Revoke(serials...); err != nil {
			return fmt.Errorf("issuer: finishing an interrupted revocation: %w", err)
		}
	}
	return iss.clearPendingRevoke()
}

// signCopies signs one SD-JWT VC per holder key: fresh salts each, every
// personal claim selectively disclosable, copy i at status index idx[i].
// Nothing else in the clear is per credential: iat is the start of the day
// of issuance and exp the end of the expiry day (China time), shared by
// everyone issued that day with the same expiry; the header is the issuer's
// (typ, alg, kid); cnf is the copy's own key.
func (iss *Issuer) signCopies(attrs *schemas.Attributes, issued schemas.Date, idx []uint64, keys []*jose.PublicKey) ([]string, error) {
	claims, err := schemas.ClaimsFromAttributes(attrs, issued)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSubject, err)
	}
	delete(claims, "vct") // set by IssueOptions.VCT
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		return nil, err
	}
	var disclosable []sdjwt.ClaimPath
	for _, s := range specs {
		if _, ok := claims[s.Name]; ok && s.Selective {
			disclosable = append(disclosable, sdjwt.ClaimPath{s.Name})
		}
	}
	iat := time.Date(issued.Year, issued.Month, issued.Day, 0, 0, 0, 0, chinaTime)
	// The credential is valid to the end of its expiry day, China time.
	exp := time.Date(attrs.Expiry.Year, attrs.Expiry.Month, attrs.Expiry.Day+1, 0, 0, 0, 0, chinaTime)
	out := make([]string, 0, len(keys))
	for i, k := range keys {
		status := map[string]any{"status_list": map[string]any{"idx": idx[i], "uri": iss.meta.StatusListURI}}
		sd, err := sdjwt.Issue(iss.key, claims, sdjwt.IssueOptions{
			Disclosable: disclosable,
			HolderKey:   k,
			Issuer:      iss.meta.Issuer,
			VCT:         schemas.VCT,
			Status:      status,
			IssuedAt:    iat,
			Expiry:      exp,
			Header:      map[string]any{"kid": iss.meta.KID},
		})
		if err != nil {
			return nil, fmt.Errorf("issuer: signing SD-JWT copy %d: %w", i, err)
		}
		out = append(out, sd.Compact())
	}
	return out, nil
}

// Revoke revokes credentials: the status indices of their SD-JWT copies are
// set (effective at once: the status list is republished) and their leaves
// become empty in the accumulator (effective for ZK proofs from the next
// published epoch, which batches them with the interval's other changes).
// The serials are revoked together: one transaction in each store, one
// status list signature and one audit entry for the call, so revoking many
// at once costs little more than revoking one. A serial never issued is an
// error and nothing is revoked; revoking a revoked serial changes nothing.
func (iss *Issuer) Revoke(serials ...uint64) error {
	if len(serials) == 0 {
		return errors.New("issuer: revoke needs at least one serial")
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return ErrClosed
	}
	leaves, err := iss.acc.LeafCount()
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	var idx []uint64
	for _, s := range serials {
		if s >= leaves {
			return fmt.Errorf("issuer: serial %d was never issued (%d serials issued); nothing was revoked", s, leaves)
		}
		more, err := iss.serialIndices(s)
		if err != nil {
			return err
		}
		idx = append(idx, more...)
	}
	if err := iss.revokeIndicesLocked(serials, idx); err != nil {
		return err
	}
	if err := iss.acc.Revoke(serials...); err != nil {
		if errors.Is(err, revocation.ErrUnknownSerial) {
			return fmt.Errorf("issuer: a serial was never issued; nothing was revoked: %w", err)
		}
		return fmt.Errorf("issuer: %w", err)
	}
	if err := iss.clearPendingRevoke(); err != nil {
		return err
	}
	now := iss.now()
	if err := iss.writeStatusList(now); err != nil {
		return err
	}
	return iss.audit.append(AuditEntry{Time: now, Action: "revoke", Count: len(serials)})
}

// Publish freezes the accumulator's root as a new epoch, signs it and
// rewrites the public files (the epoch's root statement and delta, the
// latest root, the status list). The epoch holds every issuance and
// revocation since the previous one; with none, it is a heartbeat that
// keeps the latest root and the status list fresh. See EpochScheduler.
func (iss *Issuer) Publish() (*revocation.Epoch, error) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil, ErrClosed
	}
	e, err := iss.publishLocked()
	if err != nil {
		return nil, err
	}
	if err := iss.audit.append(AuditEntry{Time: iss.now(), Action: "publish", Epoch: &e.Epoch}); err != nil {
		return nil, err
	}
	return e, nil
}

// DeleteResult says what a deletion did.
type DeleteResult struct {
	// Revoked are the person's serials, now revoked (in the status list at
	// once).
	Revoked []uint64 `json:"revoked"`
	// NextEpoch is the epoch that will carry the revocation in the
	// accumulator: the one the next Publish signs.
	NextEpoch uint64 `json:"next_epoch"`
}

// Delete carries out a deletion request (Art. 9): every credential of the
// person with this 网号 is revoked (status indices and leaves) and the status
// list republished, the key that sealed the person's record is destroyed,
// and the record and its serials' entries are dropped from the private
// database's files. Nothing left in the issuer directory links the person to
// the serials or to anything computable from their document number: the
// audit log records "delete" and a time. The accumulator's side follows at
// the next published epoch, like any revocation: publishing an epoch for the
// deletion alone would make its root, and its delta of a few leaves, point
// at the person. The leaves stay as empty slots: serials are never reused,
// so other holders' paths remain valid.
func (iss *Issuer) Delete(wanghao string) (*DeleteResult, error) {
	if len(wanghao) != WanghaoLen {
		return nil, fmt.Errorf("issuer: %q is not a 网号 of this issuer (%d letters and digits)", wanghao, WanghaoLen)
	}
	if _, err := wanghaoEncoding.DecodeString(wanghao); err != nil {
		return nil, fmt.Errorf("issuer: %q is not a 网号 of this issuer (lower-case base32)", wanghao)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil, ErrClosed
	}
	pkey := personKey(iss.secret, wanghao)
	person, slot, err := iss.getPerson(pkey)
	if errors.Is(err, ErrRecordKeyDestroyed) {
		// An earlier deletion stopped after destroying the key: the
		// credentials are revoked, only the unreadable record is left.
		if err := erase(iss.db, pkey, keyPendingRevoke); err != nil {
			return nil, err
		}
		return nil, ErrUnknownWanghao
	}
	if err != nil {
		return nil, err
	}
	if person == nil {
		return nil, ErrUnknownWanghao
	}
	serials := person.serials()
	// Revoke first: if anything below fails, a retry finds the record and
	// revoking again changes nothing.
	if err := iss.revokeIndicesLocked(serials, person.indices()); err != nil {
		return nil, err
	}
	if err := iss.acc.Revoke(serials...); err != nil {
		return nil, fmt.Errorf("issuer: revoking the person's credentials: %w", err)
	}
	now := iss.now()
	if err := iss.writeStatusList(now); err != nil {
		return nil, err
	}
	if err := iss.keys.destroy(slot); err != nil {
		return nil, err
	}
	drop := [][]byte{pkey, keyPendingRevoke}
	for _, s := range serials {
		drop = append(drop, serialKey(s))
	}
	if err := erase(iss.db, drop...); err != nil {
		return nil, err
	}
	epoch := iss.nextEpochLocked()
	if err := iss.audit.append(AuditEntry{Time: now, Action: "delete", Epoch: &epoch}); err != nil {
		return nil, err
	}
	return &DeleteResult{Revoked: serials, NextEpoch: epoch}, nil
}

// AuditLog returns the audit log, oldest first, after checking its chain.
func (iss *Issuer) AuditLog() ([]AuditEntry, error) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil, ErrClosed
	}
	return readAuditLog(iss.db)
}

// Status returns the accumulator status of a serial.
func (iss *Issuer) Status(serial uint64) (revocation.Status, error) {
	return iss.acc.Status(serial)
}

// publishLocked publishes an epoch and its files. The caller holds iss.mu.
func (iss *Issuer) publishLocked() (*revocation.Epoch, error) {
	now := iss.now()
	e, err := iss.acc.Publish(iss.key, iss.meta.Issuer, now)
	if err != nil {
		return nil, fmt.Errorf("issuer: publishing: %w", err)
	}
	// From here the epoch exists: if writing its files fails or the
	// process dies, the next open rewrites them (repairPublic).
	iss.latest = e
	iss.latestAt = now
	if publishCommitted != nil {
		if err := publishCommitted(); err != nil {
			return nil, err
		}
	}
	d, err := iss.acc.Delta(e.Epoch)
	if err != nil {
		return nil, fmt.Errorf("issuer: delta of epoch %d: %w", e.Epoch, err)
	}
	delta, err := d.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// The epoch's own files first, the latest root last: a reader that
	// follows roots/latest.jws finds everything it names.
	if err := writePublicFile(iss.dir, publication.RootName(e.Epoch), []byte(e.Statement)); err != nil {
		return nil, err
	}
	if err := writePublicFile(iss.dir, publication.DeltaName(e.Epoch), delta); err != nil {
		return nil, err
	}
	if err := iss.writeSpansLocked(e.Epoch); err != nil {
		return nil, err
	}
	if err := iss.writeStatusList(now); err != nil {
		return nil, err
	}
	if err := writePublicFile(iss.dir, publication.LatestRootName, []byte(e.Statement)); err != nil {
		return nil, err
	}
	return e, nil
}

// writeSpansLocked writes the span deltas that end at epoch
// (revocation.SpanLevels): the merge of the last 2^L deltas, so that a
// wallet far behind catches up in a few files instead of falling back to a
// bucket. A span lost to a crash is not rewritten: wallets then use the
// finer spans or the epoch deltas. The caller holds iss.mu.
func (iss *Issuer) writeSpansLocked(epoch uint64) error {
	for _, level := range revocation.SpanLevels {
		size := uint64(1) << uint(level)
		if epoch%size != 0 {
			continue
		}
		ds := make([]*revocation.Delta, 0, size)
		for e := epoch - size + 1; e <= epoch; e++ {
			d, err := iss.acc.Delta(e)
			if err != nil {
				return fmt.Errorf("issuer: delta of epoch %d for a span: %w", e, err)
			}
			ds = append(ds, d)
		}
		m, err := revocation.MergeDeltas(ds)
		if err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
		data, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		if err := writePublicFile(iss.dir, publication.SpanName(level, revocation.SpanIndex(epoch, level)), data); err != nil {
			return err
		}
	}
	return nil
}

// nextEpochLocked is the epoch the next Publish signs. The caller holds iss.mu.
func (iss *Issuer) nextEpochLocked() uint64 {
	if iss.latest == nil {
		return 1 // revocation numbers epochs from 1
	}
	return iss.latest.Epoch + 1
}

// writeStatusList signs and writes the status list of the SD-JWT copies.
func (iss *Issuer) writeStatusList(now time.Time) error {
	tok, err := revocation.SignStatusList(iss.key, iss.meta.Issuer, iss.meta.StatusListURI, iss.status.revoked, now)
	if err != nil {
		return fmt.Errorf("issuer: status list: %w", err)
	}
	return writePublicFile(iss.dir, publication.StatusListName, []byte(tok))
}

// PublicFile returns a published file by its publication name (such as
// "roots/latest.jws"). Buckets are not files: see Bucket.
func (iss *Issuer) PublicFile(name string) ([]byte, error) {
	if err := publication.CheckName(name); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(filepath.Join(iss.dir, publicDir))
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	defer root.Close()
	data, err := root.ReadFile(filepath.FromSlash(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", publication.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: reading %s: %w", name, err)
	}
	return data, nil
}

// Bucket returns the encoded bucket number index of k levels (4^k leaves,
// the serials index×4^k onwards; see revocation.BucketIndex)
// (revocation.Bucket.MarshalBinary) under the latest published root. It is
// asked for by bucket, not by serial: the issuer learns that the holder is
// one of 4^k. A bucket whose first serial was never issued is
// revocation.ErrUnknownSerial. While
// changes are unpublished the current tree has no signed root, so it returns
// ErrUnpublished rather than a bucket no holder could check. With batched
// epochs that is most of an interval on a busy issuer: the bucket is a
// fallback, the deltas are the refresh path.
func (iss *Issuer) Bucket(index uint64, k int) ([]byte, error) {
	if k < 0 || k > revocation.MaxBucketLevels {
		return nil, fmt.Errorf("issuer: bucket size 4^%d outside 4^0…4^%d", k, revocation.MaxBucketLevels)
	}
	shift := uint(2 * k)
	if index > (^uint64(0))>>shift {
		return nil, fmt.Errorf("issuer: bucket %d: %w", index, revocation.ErrUnknownSerial)
	}
	serial := index << shift
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return nil, ErrClosed
	}
	b, err := iss.acc.Bucket(serial, k)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if iss.latest == nil || !b.Root.Equal(&iss.latest.Root) {
		return nil, ErrUnpublished
	}
	return b.MarshalBinary()
}

// writePublicFile replaces DIR/public/<name> atomically.
func writePublicFile(dir, name string, data []byte) error {
	if err := publication.CheckName(name); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, publicDir, filepath.FromSlash(name)), data, 0o644)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it into place, so readers see the old file or the new one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("issuer: writing %s: %w", path, err)
	}
	return nil
}
