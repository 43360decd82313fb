package storelock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// The memtable log format (badger/v4: memtable.go logFile, structs.go
// header, value.go bit flags): a 20-byte header, then entries of
// meta, user meta, uvarint key length, value length and expiry, the key,
// the value, and a big-endian CRC-32C of all of it.
const (
	memHeaderSize = 20
	maxEntryHead  = 22
	maxKeyLen     = 1 << 16
	bitTxn        = 1 << 6
	bitFinTxn     = 1 << 7
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkMemLog reads a memtable log (a .mem file) as Badger's replay will
// (memtable.go, logFile.iterate) and tells apart the two reasons the replay
// stops before the file's end:
//
//   - what a crash leaves: the entries of a transaction that never got its
//     commit record, at most one entry cut short (a prefix of its bytes,
//     the rest still zero), and zeros to the end of the file; that
//     transaction was never acknowledged, and dropping it is right;
//   - damage: an entry complete to its last byte that fails its checksum,
//     or anything written after the entry where the replay stops. Badger
//     would drop that entry and everything after it without a word,
//     committed transactions included (a used request's deletion, an
//     accumulator batch), and truncate the file; it is refused instead.
//
// A zero-length log, which a kill between creating the file and sizing it
// leaves, is removed in a read-write open (Badger's open fails on it once:
// "Create a new file"); it holds nothing.
//
// One damage looks exactly like a crash and is let through: a last byte of
// the last entry turned to zero, or a length made longer than the bytes
// written; only a checksum of the whole log, which Badger does not keep,
// could tell.
func checkMemLog(dir, name string, readOnly bool) error {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return damaged(dir, "%s: %v", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return damaged(dir, "%s: %v", name, err)
	}
	size := fi.Size()
	if size == 0 {
		if readOnly {
			return nil
		}
		f.Close()
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("storelock: removing the empty memtable log %s: %w", path, err)
		}
		return syncDir(dir)
	}
	if size < memHeaderSize {
		return damaged(dir, "memtable log %s is %d bytes, shorter than its header", name, size)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, memHeaderSize, size-memHeaderSize), 1<<20)
	off := int64(memHeaderSize)
	var lastCommit uint64
	// Replay as Badger does, to the end of the last committed transaction.
	for {
		e, err := readEntry(r)
		if err != nil || len(e.key) == 0 {
			break
		}
		if e.meta&bitTxn != 0 {
			ts := keyTs(e.key)
			if lastCommit == 0 {
				lastCommit = ts
			}
			if ts != lastCommit {
				return damaged(dir, "memtable log %s: an entry at offset %d interleaves two transactions", name, off)
			}
		} else if e.meta&bitFinTxn != 0 {
			ts, err := strconv.ParseUint(string(e.value), 10, 64)
			if err != nil || ts != lastCommit {
				return damaged(dir, "memtable log %s: the commit record at offset %d does not close its transaction", name, off)
			}
			lastCommit = 0
		} else if lastCommit != 0 {
			return damaged(dir, "memtable log %s: an entry at offset %d interrupts a transaction", name, off)
		}
		off += e.size
	}
	// off is where the replay stops, after the entries of an unfinished
	// transaction (whole entries, so valid). Read the entry there, if any.
	stop := off
	head := make([]byte, maxEntryHead)
	n, _ := f.ReadAt(head, stop)
	head = head[:n]
	end := stop + maxEntryHead // what a cut-short head can cover
	if h, hlen, ok := decodeHead(head); ok {
		if e := stop + int64(hlen) + int64(h.klen) + int64(h.vlen) + crc32.Size; e <= size {
			end = e
			last := make([]byte, 1)
			if _, err := f.ReadAt(last, e-1); err == nil && last[0] != 0 {
				return damaged(dir, "memtable log %s: the entry at offset %d is whole but fails its checksum (the replay would drop it and everything after it)", name, stop)
			}
		}
	}
	if q, ok := wholeCommitRecord(f, stop, size); ok {
		return damaged(dir, "memtable log %s: the transaction at offset %d has its commit record written whole (offset %d) but does not replay", name, stop, q)
	}
	if nz, err := firstNonZero(f, end, size); err != nil {
		return damaged(dir, "%s: %v", name, err)
	} else if nz >= 0 {
		return damaged(dir, "memtable log %s: data at offset %d follows the entry at offset %d where the replay stops (it would be dropped)", name, nz, stop)
	}
	return nil
}

// finKey is the key of Badger's commit record (txn.go, txnKey), followed
// in the log by the commit version.
var finKey = []byte("!badger!txn")

// wholeCommitRecord looks, in the bytes after the offset where the replay
// stops, for a commit record whose key, value and the last byte of its
// checksum are all written. A kill leaves at most a prefix of the record
// being copied (the rest of the file is still zero), so a record written
// to its last byte was copied whole: if the replay stops before it, a byte
// it depends on (a length, a checksum) was damaged. This catches what the
// last-byte check cannot: a damaged length that makes an entry claim the
// zeros after it.
func wholeCommitRecord(f *os.File, from, size int64) (int64, bool) {
	buf := make([]byte, min(size-from, 64<<10))
	n, _ := f.ReadAt(buf, from)
	buf = buf[:n]
	for i := 0; ; {
		j := bytes.Index(buf[i:], finKey)
		if j < 0 {
			return 0, false
		}
		q := i + j
		i = q + 1
		rest := buf[q+len(finKey):]
		if len(rest) < 8 {
			continue
		}
		value := strconv.FormatUint(^binary.BigEndian.Uint64(rest[:8]), 10)
		rest = rest[8:]
		if len(rest) < len(value)+crc32.Size || string(rest[:len(value)]) != value {
			continue
		}
		if rest[len(value)+crc32.Size-1] != 0 {
			return from + int64(q), true
		}
	}
}

type memEntry struct {
	meta       byte
	key, value []byte
	size       int64
}

type entryHead struct {
	meta       byte
	klen, vlen uint32
}

func decodeHead(b []byte) (entryHead, int, bool) {
	if len(b) < 2 {
		return entryHead{}, 0, false
	}
	h := entryHead{meta: b[0]}
	i := 2
	for k := range 3 {
		v, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return entryHead{}, 0, false
		}
		i += n
		switch k {
		case 0:
			h.klen = uint32(v)
		case 1:
			h.vlen = uint32(v)
		}
	}
	if h.klen > maxKeyLen {
		return entryHead{}, 0, false
	}
	return h, i, true
}

// readEntry reads one whole entry whose checksum holds.
func readEntry(r *bufio.Reader) (memEntry, error) {
	head, err := r.Peek(maxEntryHead)
	if len(head) < 2 {
		return memEntry{}, io.ErrUnexpectedEOF
	}
	h, hlen, ok := decodeHead(head)
	if !ok {
		if err == nil {
			err = errors.New("bad entry head")
		}
		return memEntry{}, err
	}
	total := hlen + int(h.klen) + int(h.vlen) + crc32.Size
	buf := make([]byte, total)
	if _, err := io.ReadFull(r, buf); err != nil {
		return memEntry{}, err
	}
	body := buf[:total-crc32.Size]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(buf[total-crc32.Size:]) {
		return memEntry{}, errors.New("checksum")
	}
	return memEntry{meta: h.meta, key: body[hlen : hlen+int(h.klen)], value: body[hlen+int(h.klen):], size: int64(total)}, nil
}

// keyTs is badger/y.ParseTs: the version in a key's last 8 bytes.
func keyTs(key []byte) uint64 {
	if len(key) <= 8 {
		return 0
	}
	return ^binary.BigEndian.Uint64(key[len(key)-8:])
}

// firstNonZero returns the offset of the first non-zero byte of f in
// [from, size), or -1. It skips the holes of a sparse file (Badger sizes a
// memtable log to twice the memtable at once) where the system says where
// they are.
func firstNonZero(f *os.File, from, size int64) (int64, error) {
	buf := make([]byte, 1<<20)
	for off := from; off < size; {
		data, ok := nextData(f, off)
		if !ok {
			return -1, nil
		}
		off = data
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		for i, b := range buf[:n] {
			if b != 0 {
				return off + int64(i), nil
			}
		}
		if n == 0 {
			if err == nil || err == io.EOF {
				return -1, nil
			}
			return 0, err
		}
		off += int64(n)
	}
	return -1, nil
}
