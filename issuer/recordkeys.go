package issuer

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/emmansun/gmsm/sm3"
	"github.com/yinzheng-id/yinzheng/internal/seal"
)

// recordKeysFile holds the key material of every person record: one slot of
// slotSize random bytes per record, at offset slot×slotSize. A record's
// sealing key is HMAC-SM3(data key, label ‖ slot ‖ slot bytes), so it needs
// both the passphrase-sealed data key and the slot; deleting a person
// overwrites the slot with zeros in place and syncs it.
//
// Why a file of its own and not a value in Badger: Badger never rewrites a
// value in place. A deleted value stays in its value log, WAL or table until
// a compaction rewrites that file, and a rewritten file's old blocks are
// unlinked, not wiped. Overwriting a fixed-size slot in place with pwrite is
// the one write a file system (ext4, xfs, without copy-on-write) puts on the
// same blocks, so the key that opened the record is gone even from copies
// of the record that survive in free blocks or in Badger's files. The record
// itself is also dropped from Badger (erasePerson); the slot is what makes
// its leftovers unreadable. Copy-on-write file systems (btrfs, zfs) and
// flash translation layers may keep the old block: put private/ on a file
// system that overwrites in place, or on an encrypted volume whose key is
// rotated.
const recordKeysFile = "record-keys" // DIR/private/…

// slotSize is the key material of one record. Slots are never reused: at
// 1.4×10^9 people the file is 45 GB, the size of the person database.
const slotSize = 32

// recordKeyLabel separates record keys from every other use of the data key.
const recordKeyLabel = "yinzheng/issuer/record-key\x00"

// ErrRecordKeyDestroyed means a record's key slot is zero: the record was
// deleted and its leftovers cannot be opened.
var ErrRecordKeyDestroyed = errors.New("issuer: the record's key was destroyed (the person was deleted)")

// recordKeys is the open slot file. Its caller serialises use (Issuer.mu).
type recordKeys struct {
	f    *os.File
	next uint64 // number of slots in the file
}

func openRecordKeys(path string) (*recordKeys, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("issuer: opening the record keys: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("issuer: %w", err)
	}
	// A crash while appending a slot may leave a torn one past the last
	// full slot: no record uses it (the record is written after the slot
	// is synced), so it is cut off.
	n := uint64(fi.Size()) / slotSize
	if uint64(fi.Size()) != n*slotSize {
		if err := f.Truncate(int64(n * slotSize)); err != nil {
			f.Close()
			return nil, fmt.Errorf("issuer: %w", err)
		}
	}
	return &recordKeys{f: f, next: n}, nil
}

// add appends a fresh random slot, synced before it returns (a record sealed
// under it must never be stored while the slot could still be lost).
func (r *recordKeys) add() (uint64, error) {
	var b [slotSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("issuer: %w", err)
	}
	slot := r.next
	if _, err := r.f.WriteAt(b[:], int64(slot*slotSize)); err != nil {
		return 0, fmt.Errorf("issuer: writing a record key: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return 0, fmt.Errorf("issuer: syncing the record keys: %w", err)
	}
	r.next++
	return slot, nil
}

// key returns the sealing key of slot under the data key.
func (r *recordKeys) key(dataKey []byte, slot uint64) ([]byte, error) {
	if slot >= r.next {
		return nil, fmt.Errorf("issuer: record key slot %d beyond the %d slots of %s", slot, r.next, recordKeysFile)
	}
	var b [slotSize]byte
	if _, err := r.f.ReadAt(b[:], int64(slot*slotSize)); err != nil {
		return nil, fmt.Errorf("issuer: reading a record key: %w", err)
	}
	if b == ([slotSize]byte{}) {
		return nil, ErrRecordKeyDestroyed
	}
	mac := hmac.New(sm3.New, dataKey)
	mac.Write([]byte(recordKeyLabel))
	mac.Write(binary.BigEndian.AppendUint64(nil, slot))
	mac.Write(b[:])
	clear(b[:])
	k := mac.Sum(nil)
	if len(k) != seal.KeySize {
		return nil, errors.New("issuer: record key size")
	}
	return k, nil
}

// destroy overwrites slot with zeros in place and syncs the file.
func (r *recordKeys) destroy(slot uint64) error {
	if slot >= r.next {
		return fmt.Errorf("issuer: record key slot %d beyond the %d slots", slot, r.next)
	}
	var zero [slotSize]byte
	if _, err := r.f.WriteAt(zero[:], int64(slot*slotSize)); err != nil {
		return fmt.Errorf("issuer: destroying a record key: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("issuer: syncing the record keys: %w", err)
	}
	return nil
}

func (r *recordKeys) close() error { return r.f.Close() }
