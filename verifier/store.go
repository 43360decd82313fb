package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// Store is where a verifier keeps what must outlive one request and be the
// same for every replica of a verifier service: the outstanding requests
// (each answerable once), the verdicts of the decided ones, and the
// rollback high-water marks of each issuer. Two implementations come with
// the package: an embedded Badger directory (the default, one process) and
// Redis or Valkey ([OpenRedisStore]), which replicas share.
//
// A Store is safe for concurrent use. Every error other than the refusals
// named below means the store could not be read or written and wraps
// ErrStoreUnavailable: the verifier then decides nothing (it fails closed)
// and a caller may retry later.
type Store interface {
	// PutRequest records a new request under id, kept for ttl. An id
	// already recorded is an error and changes nothing.
	PutRequest(ctx context.Context, id string, record []byte, ttl time.Duration) error
	// GetRequest returns the record of a request that has not been
	// consumed and has not been dropped, or ErrUnknownRequest.
	GetRequest(ctx context.Context, id string) ([]byte, error)
	// ConsumeRequest removes request id and records verdict under id for
	// ttl, as one atomic step on the store: of concurrent calls for one
	// id exactly one returns nil, the others ErrUnknownRequest; the
	// verdict is written exactly when the request is removed.
	ConsumeRequest(ctx context.Context, id string, verdict []byte, ttl time.Duration) error
	// GetVerdict returns the verdict recorded by ConsumeRequest, or
	// ErrUnknownRequest once it has been dropped (or was never made).
	GetVerdict(ctx context.Context, id string) ([]byte, error)
	// AdvanceMarks raises the marks of issuer to the latest epoch and the
	// status list issue time seen (each nil when not seen), atomically. A
	// value below its recorded mark is refused with an error wrapping
	// ErrRolledBack and nothing is written: a mark never goes back.
	AdvanceMarks(ctx context.Context, issuer string, epoch *uint64, statusIssuedAt *int64) error
	// Ping reports whether the store can be used now (nil), or an error
	// wrapping ErrStoreUnavailable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// ErrStoreUnavailable means the verifier's store (its Badger directory,
// or the Redis server replicas share) could not be read or written. The
// verifier decides nothing while it lasts: no request is made, no
// presentation is accepted, the verifier is not ready. Nothing is lost: the
// same presentation can be posted again once the store is back.
var ErrStoreUnavailable = errors.New("verifier: the store is unavailable")

// ErrUnknownRequest means a request was never recorded, has been answered
// or has been dropped after expiring; for a verdict, that none is recorded
// (the request is not decided yet, or the verdict was dropped).
var ErrUnknownRequest = errors.New("verifier: no such request")

// unavailable wraps a store failure in ErrStoreUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}

// epochRolledBack and statusRolledBack are the refusals of AdvanceMarks,
// worded alike by every store.
func epochRolledBack(issuer string, got, have uint64) error {
	return fmt.Errorf("%w: the latest root is epoch %d, this verifier has verified epoch %d of %s",
		ErrRolledBack, got, have, issuer)
}

func statusRolledBack(got, have int64) error {
	return fmt.Errorf("%w: the status list was issued at %s, this verifier has verified one issued at %s",
		ErrRolledBack, time.Unix(got, 0).UTC().Format(time.RFC3339), time.Unix(have, 0).UTC().Format(time.RFC3339))
}

// storeDir is the Badger directory of recorded requests inside VDIR.
const storeDir = "requests"

// Key prefixes in the Badger store.
const (
	requestKeyPrefix = "request/"
	verdictKeyPrefix = "verdict/"
	markKeyPrefix    = "mark/"
)

// expiryMargin keeps a request in the store a little past its expires_at,
// so that a late presentation is told "request expired" rather than
// "nonce unknown or already used"; the store drops it after that.
const expiryMargin = time.Hour

// badgerStore is the embedded default Store: one process, one directory,
// locked while open.
type badgerStore struct {
	db *badger.DB
}

// OpenBadgerStore opens (creating it if needed) the embedded store in
// dir/requests, the default of a verifier with Options.Dir = dir. The
// directory is locked while the store is open: one process at a time.
func OpenBadgerStore(dir string) (Store, error) {
	s, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openStore(dir string) (*badgerStore, error) {
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
	return &badgerStore{db: db}, nil
}

func (s *badgerStore) Close() error { return s.db.Close() }

// Ping: an embedded store is there while it is open.
func (s *badgerStore) Ping(context.Context) error {
	if s.db.IsClosed() {
		return unavailable(errors.New("request store closed"))
	}
	return nil
}

func (s *badgerStore) PutRequest(_ context.Context, id string, doc []byte, ttl time.Duration) error {
	err := storelock.Update(s.db, func(txn *badger.Txn) error {
		key := []byte(requestKeyPrefix + id)
		if _, err := txn.Get(key); err == nil {
			return errIDTaken
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return txn.SetEntry(badger.NewEntry(key, doc).WithTTL(ttl))
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errIDTaken), errors.Is(err, badger.ErrConflict):
		return fmt.Errorf("verifier: recording request: %w", errIDTaken)
	default:
		return unavailable(fmt.Errorf("recording request: %w", err))
	}
}

// errIDTaken refuses a request id already recorded (random ids make it
// happen only with a broken random source).
var errIDTaken = errors.New("request id already recorded")

func (s *badgerStore) get(key string) ([]byte, error) {
	var doc []byte
	// Under the guard, as writes are: a damaged file read here is an
	// error wrapping ErrDamaged, never a panic or an empty value.
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
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
		return nil, ErrUnknownRequest
	default:
		return nil, unavailable(fmt.Errorf("request store: %w", err))
	}
}

func (s *badgerStore) GetRequest(_ context.Context, id string) ([]byte, error) {
	return s.get(requestKeyPrefix + id)
}

func (s *badgerStore) GetVerdict(_ context.Context, id string) ([]byte, error) {
	return s.get(verdictKeyPrefix + id)
}

// ConsumeRequest removes the request and writes the verdict in one
// transaction: of several concurrent ones for a request, exactly one
// commits (conflict detection) and the others get ErrUnknownRequest.
func (s *badgerStore) ConsumeRequest(_ context.Context, id string, verdict []byte, ttl time.Duration) error {
	err := storelock.Update(s.db, func(txn *badger.Txn) error {
		key := []byte(requestKeyPrefix + id)
		if _, err := txn.Get(key); err != nil {
			return err
		}
		if err := txn.Delete(key); err != nil {
			return err
		}
		return txn.SetEntry(badger.NewEntry([]byte(verdictKeyPrefix+id), verdict).WithTTL(ttl))
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound), errors.Is(err, badger.ErrConflict):
		return ErrUnknownRequest
	default:
		return unavailable(fmt.Errorf("request store: %w", err))
	}
}

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

// AdvanceMarks reads and writes the marks in one transaction, retried on a
// conflict with a concurrent advance.
func (s *badgerStore) AdvanceMarks(_ context.Context, issuer string, epoch *uint64, statusIssuedAt *int64) error {
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
					return epochRolledBack(issuer, *epoch, m.Epoch)
				}
				next.Epoch = max(m.Epoch, *epoch)
			}
			if statusIssuedAt != nil {
				if *statusIssuedAt < m.StatusIssuedAt {
					return statusRolledBack(*statusIssuedAt, m.StatusIssuedAt)
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
			return unavailable(fmt.Errorf("request store: %w", err))
		}
		return nil
	}
	return unavailable(errors.New("request store: high-water mark kept conflicting"))
}
