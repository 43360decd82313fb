package verifier

import (
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
