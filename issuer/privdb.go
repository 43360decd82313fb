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

// Keys of the private database.
var (
	prefixPerson = []byte("person/") // + hex personKey: slot ‖ sealed personRecord
	prefixSerial = []byte("serial/") // + 8-byte serial: slot ‖ sealed status indices
	prefixAudit  = []byte("audit/")
	// keyPendingRevoke lists the serials whose status indices are revoked
	// but whose accumulator leaves may not be yet (see finishPendingRevoke).
	keyPendingRevoke = []byte("meta/pending-revoke")
)

// personRecord is all the issuer keeps about a person (Art. 9): the holder
// commitment the person's credentials are bound to (re-issuance keeps it,
// see Issue), the person's credentials with their status indices, so that
// re-issuance and deletion can revoke them, and for a minor the guardian's
// record that Art. 4 asks for. It is sealed with SM4-GCM under a key of its
// own (recordKeys) that deletion destroys; its database key is a keyed hash
// of the 网号, so the raw database shows neither.
type personRecord struct {
	Commitment  string          `json:"commitment"`
	Credentials []credentialRec `json:"credentials"`
	Guardian    *guardianRecord `json:"guardian,omitempty"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
}

// credentialRec is one credential of a person: its serial and the status
// list indices of its SD-JWT copies.
type credentialRec struct {
	Serial  uint64   `json:"serial"`
	Indices []uint64 `json:"indices"`
}

// serials returns the serials of p's credentials.
func (p *personRecord) serials() []uint64 {
	out := make([]uint64, 0, len(p.Credentials))
	for _, c := range p.Credentials {
		out = append(out, c.Serial)
	}
	return out
}

// indices returns the status indices of p's credentials.
func (p *personRecord) indices() []uint64 {
	var out []uint64
	for _, c := range p.Credentials {
		out = append(out, c.Indices...)
	}
	return out
}

func openPrivateDB(dir string) (*badger.DB, error) {
	opts := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(true). // an issued credential or an audit entry must survive a crash
		WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithValueLogFileSize(16 << 20).
		// Every value stays in the LSM tree, none in the value log: DropPrefix
		// rewrites the tables and the memtables without a dropped key, but
		// leaves the value log alone (see erase).
		WithValueThreshold(1 << 20).
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

// serialKey is the database key of a serial's status indices.
func serialKey(serial uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefixSerial), serial)
}

// sealRecord seals v under the key of slot, bound to its database key (so
// that records cannot be swapped): slot (8 bytes) ‖ SM4-GCM box. Each record
// key seals a handful of values in its life (a person record once per
// issuance, a serial's indices once), each with a fresh random 96-bit nonce,
// so a nonce repeats under one key with probability below 2^-90 whatever the
// number of people: the GCM bound is per key, and no two records share one.
func (iss *Issuer) sealRecord(slot uint64, dbKey []byte, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	k, err := iss.keys.key(iss.dataKey, slot)
	if err != nil {
		return nil, err
	}
	sealed, err := seal.SealKey(k, plain, dbKey)
	clear(plain)
	clear(k)
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(nil, slot), sealed...), nil
}

// openRecord opens a value sealRecord wrote under dbKey into v and returns
// its slot.
func (iss *Issuer) openRecord(dbKey, value []byte, v any) (uint64, error) {
	if len(value) < 8 {
		return 0, fmt.Errorf("%w: a private record of %d bytes", storelock.ErrDamaged, len(value))
	}
	slot := binary.BigEndian.Uint64(value)
	k, err := iss.keys.key(iss.dataKey, slot)
	if err != nil {
		return slot, err
	}
	plain, err := seal.OpenKey(k, value[8:], dbKey)
	clear(k)
	if err != nil {
		return slot, fmt.Errorf("issuer: a private record does not open under its key: %w", err)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, v); err != nil {
		return slot, fmt.Errorf("issuer: a private record is malformed: %w", err)
	}
	return slot, nil
}

// getValue returns the value stored under key, or nil if there is none.
func getValue(db *badger.DB, key []byte) ([]byte, error) {
	var v []byte
	err := storelock.View(db, func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: reading the private database: %w", err)
	}
	return v, nil
}

// getPerson returns the record stored under key and its slot, or nil if
// there is none. A record whose key was destroyed (a deletion interrupted
// before the record left the database) gives ErrRecordKeyDestroyed.
func (iss *Issuer) getPerson(key []byte) (*personRecord, uint64, error) {
	v, err := getValue(iss.db, key)
	if err != nil || v == nil {
		return nil, 0, err
	}
	var p personRecord
	slot, err := iss.openRecord(key, v, &p)
	if err != nil {
		return nil, slot, err
	}
	return &p, slot, nil
}

// serialIndices returns the status indices of a serial, or nil if the
// issuer keeps none (its person deleted).
func (iss *Issuer) serialIndices(serial uint64) ([]uint64, error) {
	key := serialKey(serial)
	v, err := getValue(iss.db, key)
	if err != nil || v == nil {
		return nil, err
	}
	var idx []uint64
	if _, err := iss.openRecord(key, v, &idx); err != nil {
		if errors.Is(err, ErrRecordKeyDestroyed) {
			return nil, nil
		}
		return nil, err
	}
	return idx, nil
}

// keyIssued holds one more than the highest serial ever recorded for a
// person (8 bytes, big-endian). Deletions erase records but never lower it.
// The leaf count is public (every root statement carries it), so keeping it
// in the clear tells nothing.
var keyIssued = []byte("meta/issued")

// keyRevokedMark counts the serials revoked (8 bytes, big-endian): an
// accumulator that revokes fewer was rolled back behind a revocation. The
// number of empty leaves is public (the deltas show them).
var keyRevokedMark = []byte("meta/revoked")

// readIssuedMark returns the mark, 0 if none was ever written.
func readIssuedMark(txn *badger.Txn) (uint64, error) { return readCounter(txn, keyIssued) }

// readCounter reads an 8-byte big-endian counter, 0 if missing.
func readCounter(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
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
		return 0, fmt.Errorf("%w: the counter %s is %d bytes", storelock.ErrDamaged, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// issuedSerials returns one more than the highest serial the person
// database has recorded as delivered.
func issuedSerials(db *badger.DB) (uint64, error) {
	var next uint64
	err := storelock.View(db, func(txn *badger.Txn) error {
		var err error
		next, err = readIssuedMark(txn)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("issuer: reading the person database: %w", err)
	}
	return next, nil
}

// erase drops keys from the private database. DropPrefix flushes the
// memtables (and their write-ahead logs) and rewrites every table that holds
// a key without it, so the value leaves the files on disk instead of waiting
// for a compaction (a plain delete would only write a tombstone beside it).
// Values never go to the value log (openPrivateDB), which DropPrefix does
// not rewrite. The blocks of the rewritten files are freed, not wiped: that
// is why the person's record key is destroyed first (recordKeys).
func erase(db *badger.DB, keys ...[]byte) error {
	if err := db.DropPrefix(keys...); err != nil {
		return fmt.Errorf("issuer: erasing a person record: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log. It holds what the law asks to
// keep, an event and its time, and nothing that names a person or a
// credential: no serial, no 网号, no tag computable from either. (A keyed
// hash of the 网号 would let whoever holds the issuer key find a deleted
// person's entries again from their document number.) Epoch is public: the
// epoch an issuance or deletion will be published in.
type AuditEntry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"` // init, issue, reissue, replace-device, revoke, publish, delete
	// Count is how many credentials a revoke call revoked.
	Count int     `json:"count,omitempty"`
	Epoch *uint64 `json:"epoch,omitempty"`
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
