package holder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
)

// Files of a wallet directory. The key file holds a random data key sealed
// under the passphrase (argon2id, then SM4-GCM); the state file holds
// everything else sealed under the data key (SM4-GCM), so that the slow
// passphrase derivation runs once per Open, not once per write. The circuit
// cache holds public proving and verifying keys and is not sealed.
const (
	keyFile      = "wallet.key"
	stateFile    = "wallet.sealed"
	circuitCache = "circuit"
)

// Additional authenticated data of the two sealed files: a file cannot be
// swapped for the other, nor for another program's sealed blob.
var (
	keyAAD   = []byte("yinzheng-wallet/v1 data key")
	stateAAD = []byte("yinzheng-wallet/v1 state")
)

const (
	dataKeyBytes = seal.KeySize
	// maxPending bounds the holder requests awaiting a bundle.
	maxPending = 16
	// pathHistory is how many verified epochs of its path a credential
	// keeps: the latest and the publication.EpochGrace before it, the only
	// ones Prove answers under. Older paths (the import path among them)
	// are dropped: answering under them would tell a verifier when the
	// wallet was last refreshed, and with the root's leaf count, which
	// serial it holds.
	pathHistory = publication.EpochGrace + 1
)

// StateVersion is the format version of the sealed wallet state
// (wallet.sealed), apart from FormatVersion, the version of the documents
// the roles exchange: the state is the wallet's own file and changes on its
// own schedule. Version 1 wallets (written before the state had a version
// of its own, with the same members) are still read, and written back as
// StateVersion.
const StateVersion = 2

// legacyStateVersion is the state version written before StateVersion.
const legacyStateVersion = 1

// MaxStateBytes bounds the wallet state (its JSON, before sealing). It is
// not the protocol's MaxDocumentBytes: a credential with its SD-JWT copies
// and path history takes some 50 KB at the production depth, so a 1 MiB
// limit stopped a wallet at 21 to 45 credentials. 1 GiB holds some 20,000
// and still bounds what Open reads into memory.
const MaxStateBytes = 1 << 30

// stateLimit is MaxStateBytes; tests lower it to reach the limit cheaply.
var stateLimit = MaxStateBytes

// sealOverhead bounds what sealing adds to the state (nonce and tag).
const sealOverhead = 1 << 10

// ErrWalletFull reports a change that would make the wallet state larger
// than MaxStateBytes. Nothing was written: the wallet is as before.
var ErrWalletFull = errors.New("holder: the wallet state would exceed its size limit")

// ErrWrongPassphrase reports a passphrase that does not open the wallet.
var ErrWrongPassphrase = errors.New("holder: wrong passphrase (the wallet cannot be opened with it)")

// ErrNotWallet reports a directory that is not a wallet.
var ErrNotWallet = errors.New("holder: not a wallet directory")

// Options adjust a wallet; the zero value is the production behaviour.
type Options struct {
	// Now is the wallet's clock; nil means time.Now.
	Now func() time.Time
}

// Wallet is a holder's wallet: the holder secret, the SD-JWT holder keys,
// the credentials and their current paths, sealed in a directory. A Wallet
// is safe for concurrent use within one process; two processes must not
// open the same directory at once.
type Wallet struct {
	dir     string
	dataKey []byte
	now     func() time.Time

	mu       sync.Mutex
	st       *state
	secret   fr.Element
	circuits map[int]*circuits.Compiled // compiled once per depth
	keys     map[string]*circuits.Keys  // loaded once per circuit id
}

// state is the sealed content of a wallet.
type state struct {
	Version     int             `json:"version"`
	Secret      string          `json:"secret"`
	Created     time.Time       `json:"created"`
	Issuers     []*pinnedIssuer `json:"issuers"`
	Pending     []*pending      `json:"pending"`
	Credentials []*credential   `json:"credentials"`
}

// pinnedIssuer is an issuer's metadata as first seen at import: later
// fetches must show the same key.
type pinnedIssuer struct {
	Issuer    string          `json:"issuer"`
	JWK       json.RawMessage `json:"jwk"`
	KID       string          `json:"kid"`
	Depth     int             `json:"depth"`
	CircuitID string          `json:"circuit_id"`
}

// pending is a holder request waiting for its bundle.
type pending struct {
	Created time.Time         `json:"created"`
	Keys    []json.RawMessage `json:"keys"` // private JWKs
}

// credential is one imported bundle and its witness state.
type credential struct {
	Issuer   string      `json:"issuer"`
	Serial   uint64      `json:"serial"`
	Wanghao  string      `json:"wanghao"`
	Imported time.Time   `json:"imported"`
	ZK       BundleZK    `json:"zk"`
	Copies   []*sdCopy   `json:"copies"`
	Paths    []*pathRec  `json:"paths"` // oldest first, the newest is current
	Revoked  *revokedRec `json:"revoked,omitempty"`
}

// sdCopy is one single-use SD-JWT copy and the key its cnf names.
type sdCopy struct {
	SDJWT   string          `json:"sd_jwt"`
	Key     json.RawMessage `json:"key"` // private JWK
	ShownAt *time.Time      `json:"shown_at,omitempty"`
}

// pathRec is the credential's path under the root of one verified epoch,
// or, when Pending, the path of a pending bundle: under the unsigned tree of
// epoch Epoch, the one being built when the bundle was issued, with no
// statement. A pending record is the credential's only one, until Refresh
// replaces it with a verified path.
type pathRec struct {
	Epoch     uint64   `json:"epoch"`
	Root      string   `json:"root"`
	Leaf      string   `json:"leaf"`
	LeafCount uint64   `json:"leaf_count"`
	Siblings  []string `json:"siblings"`
	Statement string   `json:"statement"` // the root statement that signs Root
	Pending   bool     `json:"pending,omitempty"`
}

// revokedRec records when the wallet saw its leaf emptied.
type revokedRec struct {
	Epoch uint64    `json:"epoch"`
	Seen  time.Time `json:"seen"`
}

// Init creates a wallet in dir (which must not exist or be empty) with a
// holder secret generated here, and returns the recovery phrase that
// restores the secret. Show the phrase to the holder once; it is not stored
// anywhere in clear.
func Init(dir string, passphrase []byte, opts Options) (*Wallet, string, error) {
	var secret fr.Element
	for secret.IsZero() {
		if _, err := secret.SetRandom(); err != nil {
			return nil, "", fmt.Errorf("holder: generate the holder secret: %w", err)
		}
	}
	w, err := create(dir, passphrase, secret, opts)
	if err != nil {
		return nil, "", err
	}
	return w, encodeRecoveryPhrase(secret), nil
}

// Recover creates a wallet in dir (which must not exist or be empty) from a
// recovery phrase: it has the holder secret of the wallet the phrase came
// from, hence the same holder commitment and pseudonyms. Credentials are
// not restored; the issuer re-issues them to the same commitment.
func Recover(dir string, passphrase []byte, phrase string, opts Options) (*Wallet, error) {
	secret, err := decodeRecoveryPhrase(phrase)
	if err != nil {
		return nil, err
	}
	return create(dir, passphrase, secret, opts)
}

func create(dir string, passphrase []byte, secret fr.Element, opts Options) (*Wallet, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("holder: the passphrase is empty")
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	dataKey, err := seal.NewKey()
	if err != nil {
		return nil, fmt.Errorf("holder: generate the data key: %w", err)
	}
	sealedKey, err := seal.Seal(passphrase, dataKey, keyAAD)
	if err != nil {
		return nil, fmt.Errorf("holder: seal the data key: %w", err)
	}
	w := &Wallet{dir: dir, dataKey: dataKey, now: opts.Now, secret: secret}
	if w.now == nil {
		w.now = time.Now
	}
	w.st = &state{Version: StateVersion, Secret: zkhash.FormatElement(secret), Created: w.now().UTC()}
	// The state goes first: a directory with a key file and no state is
	// never mistaken for a finished wallet.
	if err := w.save(); err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(dir, keyFile), sealedKey); err != nil {
		return nil, err
	}
	return w, nil
}

// emptyDir creates dir or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("holder: create the wallet: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("holder: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("holder: %s is not empty; a wallet is created in a new or empty directory", dir)
	}
	return os.Chmod(dir, 0o700)
}

// Open opens the wallet in dir with its passphrase.
func Open(dir string, passphrase []byte, opts Options) (*Wallet, error) {
	sealedKey, err := readLimited(filepath.Join(dir, keyFile), 4096)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s (create one with holder init)", ErrNotWallet, dir, keyFile)
		}
		return nil, fmt.Errorf("holder: %w", err)
	}
	dataKey, err := seal.Open(passphrase, sealedKey, keyAAD)
	if err != nil {
		if errors.Is(err, seal.ErrWrongPassphrase) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("holder: open %s: %w", keyFile, err)
	}
	if len(dataKey) != dataKeyBytes {
		return nil, fmt.Errorf("%w: the data key in %s has %d bytes", ErrNotWallet, keyFile, len(dataKey))
	}
	sealedState, err := readLimited(filepath.Join(dir, stateFile), int64(stateLimit)+sealOverhead)
	if err != nil {
		return nil, fmt.Errorf("holder: %w", err)
	}
	plain, err := seal.OpenKey(dataKey, sealedState, stateAAD)
	if err != nil {
		return nil, fmt.Errorf("holder: %s does not open with the wallet's data key (corrupt or replaced): %w", stateFile, err)
	}
	var st state
	// The state's own limit, not the protocol's document limit.
	err = strictjson.Unmarshal(plain, stateLimit, &st)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: wallet state: %v", ErrFormat, err)
	}
	if st.Version != StateVersion && st.Version != legacyStateVersion {
		return nil, fmt.Errorf("%w: wallet state version %d, this build reads %d (and %d)", ErrNotWallet, st.Version, StateVersion, legacyStateVersion)
	}
	st.Version = StateVersion
	secret, err := zkhash.ParseElement(st.Secret)
	if err != nil || secret.IsZero() {
		return nil, fmt.Errorf("%w: the holder secret in the state is malformed", ErrNotWallet)
	}
	w := &Wallet{dir: dir, dataKey: dataKey, now: opts.Now, st: &st, secret: secret}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Dir returns the wallet's directory.
func (w *Wallet) Dir() string { return w.dir }

// HolderCommitment returns the commitment to the holder secret that issuers
// bind credentials to.
func (w *Wallet) HolderCommitment() fr.Element { return zkhash.HolderCommitment(w.secret) }

// Pseudonym returns the pseudonym the wallet shows a verifier of the given
// scope, the same every time for that scope.
func (w *Wallet) Pseudonym(scope fr.Element) fr.Element { return zkhash.Pseudonym(w.secret, scope) }

// Close forgets the wallet's keys. The Wallet must not be used afterwards.
func (w *Wallet) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.dataKey)
	w.secret = fr.Element{}
	w.st = nil
	return nil
}

// Request generates SDJWTCopies fresh SD-JWT holder keys (SM2, the gm
// suite), remembers them until the bundle arrives, and returns the holder
// request for an issuer. RequestFor chooses the suite.
func (w *Wallet) Request() (*HolderRequest, error) { return w.RequestFor(jose.SuiteGM) }

// RequestFor is Request with holder keys of the given suite: an issuer of
// the intl suite binds ES256 keys, so that the Key Binding JWTs of its
// SD-JWT VCs are ES256 too, which any ES256 verifier can check.
func (w *Wallet) RequestFor(suite jose.Suite) (*HolderRequest, error) {
	req, _, err := w.newRequest(suite, SDJWTCopies)
	return req, err
}

// newRequest adds a pending request of n keys and saves the wallet; it
// returns the private keys too, for the proofs of possession of OpenID4VCI.
func (w *Wallet) newRequest(suite jose.Suite, n int) (*HolderRequest, []*jose.PrivateKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil, nil, errClosed
	}
	req, keys, err := w.requestLocked(suite, n)
	if err != nil {
		return nil, nil, err
	}
	if err := w.save(); err != nil {
		return nil, nil, err
	}
	return req, keys, nil
}

// requestLocked adds a pending request to the state in memory; the caller
// holds w.mu and saves.
func (w *Wallet) requestLocked(suite jose.Suite, n int) (*HolderRequest, []*jose.PrivateKey, error) {
	if suite != jose.SuiteGM && suite != jose.SuiteIntl {
		return nil, nil, fmt.Errorf("holder: unknown suite %q (gm or intl)", suite)
	}
	if n < 1 || n > SDJWTCopies {
		return nil, nil, fmt.Errorf("holder: %d SD-JWT keys, want 1 to %d", n, SDJWTCopies)
	}
	p := &pending{Created: w.now().UTC()}
	req := &HolderRequest{Version: FormatVersion, HolderCommitment: zkhash.FormatElement(w.HolderCommitment())}
	keys := make([]*jose.PrivateKey, 0, n)
	for range n {
		k, err := jose.GenerateKey(suite, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("holder: generate an SD-JWT key: %w", err)
		}
		priv, err := k.MarshalJSON()
		if err != nil {
			return nil, nil, fmt.Errorf("holder: %w", err)
		}
		pub, err := k.Public().MarshalJSON()
		if err != nil {
			return nil, nil, fmt.Errorf("holder: %w", err)
		}
		p.Keys = append(p.Keys, priv)
		req.SDJWTKeys = append(req.SDJWTKeys, pub)
		keys = append(keys, k)
	}
	w.st.Pending = append(w.st.Pending, p)
	if len(w.st.Pending) > maxPending {
		w.st.Pending = w.st.Pending[len(w.st.Pending)-maxPending:]
	}
	return req, keys, nil
}

var errClosed = errors.New("holder: the wallet is closed")

// save seals the state and replaces the state file atomically. The caller
// holds w.mu (or owns w exclusively). A state over MaxStateBytes is refused
// with ErrWalletFull before anything is written, so the file on disk stays
// one Open reads back.
func (w *Wallet) save() error {
	plain, err := json.Marshal(w.st)
	if err != nil {
		return fmt.Errorf("holder: encode the wallet state: %w", err)
	}
	if len(plain) > stateLimit {
		n := len(plain)
		clear(plain)
		return fmt.Errorf("%w: %d bytes, the limit is %d (remove credentials you no longer need)", ErrWalletFull, n, stateLimit)
	}
	sealed, err := seal.SealKey(w.dataKey, plain, stateAAD)
	clear(plain)
	if err != nil {
		return fmt.Errorf("holder: seal the wallet state: %w", err)
	}
	return writeAtomic(filepath.Join(w.dir, stateFile), sealed)
}

// writeAtomic writes data to a temporary file beside path, syncs it and
// renames it into place, so a crash leaves the old file or the new one.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	defer os.Remove(tmp.Name()) // harmless after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("holder: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("holder: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable where the platform allows it
		d.Close()
	}
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
