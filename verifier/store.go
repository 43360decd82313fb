package verifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// storeDir is the Badger directory of recorded requests inside VDIR.
const storeDir = "requests"

// requestKeyPrefix prefixes a request's id in the store.
const requestKeyPrefix = "request/"

// expiryMargin keeps a request in the store a little past its expires_at,
// so that a late presentation is told "request expired" rather than
// "nonce unknown or already used"; Badger drops it after that.
const expiryMargin = time.Hour

// errNoRequest means the request was never recorded, has been used or has
// been dropped after expiring.
var errNoRequest = errors.New("verifier: no such request")

// requestStore records outstanding requests, each usable once.
type requestStore struct {
	db *badger.DB
}

func openStore(dir string) (*requestStore, error) {
	path := filepath.Join(dir, storeDir)
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("verifier: request store: %w", err)
	}
	opts := badger.DefaultOptions(path).
		WithLogger(nil).
		WithMetricsEnabled(false).
		// Conflict detection is what makes a request single use: of two
		// transactions that both read and delete it, one fails to commit.
		WithDetectConflicts(true).
		// Every write is synced before it is acknowledged: a consumed
		// request must stay consumed across a crash (or it could be
		// replayed), and so must the rollback high-water marks.
		WithSyncWrites(true).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(0).
		WithNumCompactors(2)
	db, err := storelock.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("verifier: opening request store %s: %w", path, err)
	}
	return &requestStore{db: db}, nil
}

func (s *requestStore) close() error { return s.db.Close() }

// put records a request's document until ttl has passed.
func (s *requestStore) put(id string, doc []byte, ttl time.Duration) error {
	err := storelock.Update(s.db, func(txn *badger.Txn) error {
		key := []byte(requestKeyPrefix + id)
		if _, err := txn.Get(key); err == nil {
			return errors.New("request id already recorded")
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return txn.SetEntry(badger.NewEntry(key, doc).WithTTL(ttl))
	})
	if err != nil {
		return fmt.Errorf("verifier: recording request: %w", err)
	}
	return nil
}

// get returns a recorded request's document without consuming it.
func (s *requestStore) get(id string) ([]byte, error) {
	var doc []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(requestKeyPrefix + id))
		if err != nil {
			return err
		}
		doc, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, errNoRequest
	default:
		return nil, fmt.Errorf("verifier: request store: %w", err)
	}
}

// take removes a request and returns its document, in one transaction:
// of several concurrent takes of one request, exactly one succeeds and the
// others get errNoRequest.
func (s *requestStore) take(id string) ([]byte, error) {
	var doc []byte
	err := storelock.Update(s.db, func(txn *badger.Txn) error {
		key := []byte(requestKeyPrefix + id)
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		if doc, err = item.ValueCopy(nil); err != nil {
			return err
		}
		return txn.Delete(key)
	})
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, badger.ErrKeyNotFound), errors.Is(err, badger.ErrConflict):
		return nil, errNoRequest
	default:
		return nil, fmt.Errorf("verifier: request store: %w", err)
	}
}

// markKeyPrefix prefixes the high-water marks of an issuer in the store.
const markKeyPrefix = "mark/"

// mark is what the verifier has verified of one issuer, durably: the
// highest epoch of a root statement and the issue time of the newest
// status list. It only moves up. It is kept per issuer, not per issuer
// key: the epochs count the issuer's accumulator, which a key rotation
// does not restart, so a mark per key would let a mirror serve the old
// key's older (and still pinned) publication after a rotation.
type mark struct {
	Epoch          uint64 `json:"epoch"`
	StatusIssuedAt int64  `json:"status_iat,omitempty"`
}

// markKey is the store key of issuer's marks.
func markKey(issuer string) []byte {
	return []byte(markKeyPrefix + issuer)
}

func readMark(txn *badger.Txn, key []byte) (m mark, present bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	data, err := item.ValueCopy(nil)
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, false, fmt.Errorf("high-water mark: %w", err)
	}
	return m, true, nil
}

// advance raises the marks of an issuer to the latest epoch and the
// status list issue time seen (each nil when not seen). One below its
// recorded mark is refused with ErrRolledBack and nothing is written: the
// latest root and the status list never go back.
func (s *requestStore) advance(issuer string, epoch *uint64, statusIssuedAt *int64) error {
	key := markKey(issuer)
	for range 16 {
		err := s.db.Update(func(txn *badger.Txn) error {
			m, present, err := readMark(txn, key)
			if err != nil {
				return err
			}
			next := m
			if epoch != nil {
				if *epoch < m.Epoch {
					return fmt.Errorf("%w: the latest root is epoch %d, this verifier has verified epoch %d of %s",
						ErrRolledBack, *epoch, m.Epoch, issuer)
				}
				next.Epoch = max(m.Epoch, *epoch)
			}
			if statusIssuedAt != nil {
				if *statusIssuedAt < m.StatusIssuedAt {
					return fmt.Errorf("%w: the status list was issued at %s, this verifier has verified one issued at %s",
						ErrRolledBack, time.Unix(*statusIssuedAt, 0).UTC().Format(time.RFC3339),
						time.Unix(m.StatusIssuedAt, 0).UTC().Format(time.RFC3339))
				}
				next.StatusIssuedAt = max(m.StatusIssuedAt, *statusIssuedAt)
			}
			if next == m && present {
				return nil
			}
			data, err := json.Marshal(next)
			if err != nil {
				return err
			}
			return txn.Set(key, data)
		})
		if errors.Is(err, badger.ErrConflict) {
			continue // a concurrent advance; read again
		}
		if errors.Is(err, ErrRolledBack) {
			return err
		}
		if err != nil {
			return fmt.Errorf("verifier: request store: %w", err)
		}
		return nil
	}
	return errors.New("verifier: request store: high-water mark kept conflicting")
}
