package issuer

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emmansun/gmsm/sm3"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// Key prefixes of the private database.
var (
	prefixPerson = []byte("person/")
	prefixAudit  = []byte("audit/")
)

// personRecord is all the issuer keeps about a person (Art. 9): the serials
// of the credentials issued to the 网号, so that a deletion request can
// revoke them, and for a minor the guardian's record that Art. 4 asks for.
// It is sealed with SM4-GCM under the data key; its database key is a keyed
// hash of the 网号, so the raw database shows neither.
type personRecord struct {
	Serials  []uint64        `json:"serials"`
	Guardian *guardianRecord `json:"guardian,omitempty"`
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
}

func openPrivateDB(dir string) (*badger.DB, error) {
	opts := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(true). // an issued credential or an audit entry must survive a crash
		WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithValueLogFileSize(16 << 20).
		WithNumVersionsToKeep(1)
	db, err := storelock.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("issuer: opening the private database: %w", err)
	}
	return db, nil
}

// personKey is the database key of a person's record: a keyed hash of the
// 网号 under a label of its own.
func personKey(secret []byte, wanghao string) []byte {
	mac := hmac.New(sm3.New, secret)
	mac.Write([]byte("yinzheng/issuer/person\x00"))
	mac.Write([]byte(wanghao))
	return append(bytes.Clone(prefixPerson), hex.EncodeToString(mac.Sum(nil))...)
}

// getPerson returns the record stored under key, or nil if there is none.
func getPerson(db *badger.DB, dataKey, key []byte) (*personRecord, error) {
	var sealed []byte
	err := storelock.View(db, func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		sealed, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: reading a person record: %w", err)
	}
	plain, err := seal.OpenKey(dataKey, sealed, key)
	if err != nil {
		return nil, fmt.Errorf("issuer: a person record does not open under the data key: %w", err)
	}
	var p personRecord
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("issuer: a person record is malformed: %w", err)
	}
	return &p, nil
}

// putPerson seals p under the data key, bound to its database key (so that
// records cannot be swapped), and stores it.
func putPerson(db *badger.DB, dataKey, key []byte, p *personRecord) error {
	plain, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sealed, err := seal.SealKey(dataKey, plain, key)
	clear(plain)
	if err != nil {
		return err
	}
	// The high-water mark of delivered serials moves in the same
	// transaction as the record, so that open can tell an accumulator
	// rolled back behind a serial already handed out (see checkStores).
	err = storelock.Update(db, func(txn *badger.Txn) error {
		next, err := readIssuedMark(txn)
		if err != nil {
			return err
		}
		for _, s := range p.Serials {
			next = max(next, s+1)
		}
		if err := txn.Set(keyIssued, binary.BigEndian.AppendUint64(nil, next)); err != nil {
			return err
		}
		return txn.Set(key, sealed)
	})
	if err != nil {
		return fmt.Errorf("issuer: storing a person record: %w", err)
	}
	return nil
}

// keyIssued holds one more than the highest serial ever recorded for a
// person (8 bytes, big-endian). Deletions erase records but never lower it.
// The leaf count is public (every root statement carries it), so keeping it
// in the clear tells nothing.
var keyIssued = []byte("meta/issued")

// readIssuedMark returns the mark, 0 if none was ever written.
func readIssuedMark(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(keyIssued)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: the issued-serials mark is %d bytes", storelock.ErrDamaged, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// issuedSerials returns one more than the highest serial the person
// database has recorded as delivered: the mark, or for a database written
// before the mark existed, the highest serial of the person records.
func issuedSerials(db *badger.DB, dataKey []byte) (uint64, error) {
	var next uint64
	found := false
	var keys [][]byte
	err := storelock.View(db, func(txn *badger.Txn) error {
		_, err := txn.Get(keyIssued)
		if err == nil {
			found = true
			next, err = readIssuedMark(txn)
			return err
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixPerson})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("issuer: reading the person database: %w", err)
	}
	if found {
		return next, nil
	}
	for _, k := range keys {
		p, err := getPerson(db, dataKey, k)
		if err != nil {
			return 0, err
		}
		if p == nil {
			continue
		}
		for _, s := range p.Serials {
			next = max(next, s+1)
		}
	}
	return next, nil
}

// erasePerson removes a person's record. DropPrefix flushes the memtables and
// rewrites every table that holds the key without it, so the sealed record
// leaves the files on disk instead of waiting for a compaction (a plain
// delete would only write a tombstone beside it).
func erasePerson(db *badger.DB, key []byte) error {
	if err := db.DropPrefix(key); err != nil {
		return fmt.Errorf("issuer: erasing a person record: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log. It never holds personal data:
// a person appears only as Subject, a keyed hash of the 网号 that the issuer
// can recompute for a given 网号 and nobody can reverse.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Action  string    `json:"action"` // init, issue, revoke, publish, delete
	Serials []uint64  `json:"serials,omitempty"`
	Epoch   *uint64   `json:"epoch,omitempty"`
	Subject string    `json:"subject,omitempty"`
	// Prev is the SM3 digest (hex) of the previous entry's stored bytes, so
	// that removing or editing an entry breaks the chain.
	Prev string `json:"prev"`
}

// auditLog appends chained entries to the private database. Its caller
// serialises appends (Issuer.mu).
type auditLog struct {
	db   *badger.DB
	next uint64
	prev string
}

func loadAuditLog(db *badger.DB) (*auditLog, error) {
	l := &auditLog{db: db, prev: zeroDigest}
	err := storelock.View(db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = prefixAudit
		it := txn.NewIterator(opts)
		defer it.Close()
		seek := append(bytes.Clone(prefixAudit), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		it.Seek(seek)
		if !it.Valid() {
			return nil
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		l.next = binary.BigEndian.Uint64(it.Item().Key()[len(prefixAudit):]) + 1
		l.prev = digestHex(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: reading the audit log: %w", err)
	}
	return l, nil
}

var zeroDigest = hex.EncodeToString(make([]byte, sm3.Size))

func digestHex(b []byte) string {
	d := sm3.Sum(b)
	return hex.EncodeToString(d[:])
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefixAudit), seq)
}

func (l *auditLog) append(e AuditEntry) error {
	e.Seq, e.Prev = l.next, l.prev
	e.Time = e.Time.UTC()
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := storelock.Update(l.db, func(txn *badger.Txn) error { return txn.Set(auditKey(e.Seq), v) }); err != nil {
		return fmt.Errorf("issuer: writing the audit log: %w", err)
	}
	l.next++
	l.prev = digestHex(v)
	return nil
}

// readAuditLog returns every entry, oldest first, checking the chain.
func readAuditLog(db *badger.DB) ([]AuditEntry, error) {
	var out []AuditEntry
	prev := zeroDigest
	err := storelock.View(db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefixAudit
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit entry %x is malformed: %w", it.Item().Key(), err)
			}
			if e.Seq != uint64(len(out)) {
				return fmt.Errorf("audit entry %d is missing", len(out))
			}
			if e.Prev != prev {
				return fmt.Errorf("audit entry %d does not chain to entry %d", e.Seq, int64(e.Seq)-1)
			}
			prev = digestHex(v)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: audit log: %w", err)
	}
	return out, nil
}
