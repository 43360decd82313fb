package issuer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// The status list of the SD-JWT copies. Each copy carries a status index of
// its own, drawn uniformly at random among the list's unused indices, so two
// copies of one credential (and a copy and its credential's serial) share
// nothing a colluding platform could match. The list has a fixed number of
// entries chosen at Init, sized for every copy the issuer will ever sign:
// an index then says nothing about when it was drawn, and an unused index
// reads like a valid one. Indices are never reused (reusing a revoked index
// would un-revoke it).
//
// The private database keeps two bitmaps of the list in chunks: the revoked
// bits (what the list publishes) and the allocated bits (which indices were
// drawn; nothing says for whom). The serial → indices mapping is in the
// sealed records (serialKey, personRecord), never in public.

// DefaultStatusListEntries is the size of the status list of a directory
// initialised without Options.StatusListEntries: 2^23 entries, room for
// 10^6 credentials of 8 copies; 1 MiB before compression.
const DefaultStatusListEntries = 1 << 23

// maxStatusListEntries is the largest list a token can carry (2^32 entries,
// 512 MiB before compression).
const maxStatusListEntries = 1 << 32

// statusChunkBytes is the size of one bitmap record: 32,768 indices.
const statusChunkBytes = 4096

// Keys of the status bitmaps.
var (
	prefixStatusRevoked = []byte("status/revoked/") // + 8-byte chunk
	prefixStatusAlloc   = []byte("status/alloc/")   // + 8-byte chunk
	keyStatusEntries    = []byte("meta/status-entries")
)

// ErrStatusListFull means the status list has fewer unused indices than a
// credential's copies: the issuer cannot sign more copies under this list.
var ErrStatusListFull = errors.New("issuer: the status list has no unused indices left for the copies")

// statusBitmaps is the in-memory copy of both bitmaps. Its caller holds
// Issuer.mu.
type statusBitmaps struct {
	entries uint64
	revoked []byte
	alloc   []byte
	used    uint64 // allocated indices
}

func chunkKey(prefix []byte, chunk uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), chunk)
}

// initStatusList records the list size at Init.
func initStatusList(db *badger.DB, entries uint64) error {
	return storelock.Update(db, func(txn *badger.Txn) error {
		return txn.Set(keyStatusEntries, binary.BigEndian.AppendUint64(nil, entries))
	})
}

// checkStatusEntries accepts a list size: a positive multiple of 8 of at
// most 2^32 entries.
func checkStatusEntries(n uint64) error {
	if n == 0 || n%8 != 0 || n > maxStatusListEntries {
		return fmt.Errorf("issuer: a status list of %d entries: want a positive multiple of 8, at most 2^32", n)
	}
	return nil
}

// loadStatusBitmaps reads both bitmaps from the private database.
func loadStatusBitmaps(db *badger.DB) (*statusBitmaps, error) {
	b := &statusBitmaps{}
	err := storelock.View(db, func(txn *badger.Txn) error {
		item, err := txn.Get(keyStatusEntries)
		if err != nil {
			return fmt.Errorf("the status list size: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: the status list size is %d bytes", storelock.ErrDamaged, len(v))
		}
		b.entries = binary.BigEndian.Uint64(v)
		if err := checkStatusEntries(b.entries); err != nil {
			return fmt.Errorf("%w: %v", storelock.ErrDamaged, err)
		}
		b.revoked = make([]byte, b.entries/8)
		b.alloc = make([]byte, b.entries/8)
		for _, m := range []struct {
			prefix []byte
			into   []byte
		}{{prefixStatusRevoked, b.revoked}, {prefixStatusAlloc, b.alloc}} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: m.prefix, PrefetchValues: true})
			for it.Rewind(); it.Valid(); it.Next() {
				k := it.Item().Key()
				if len(k) != len(m.prefix)+8 {
					it.Close()
					return fmt.Errorf("%w: a status chunk key", storelock.ErrDamaged)
				}
				off := binary.BigEndian.Uint64(k[len(m.prefix):]) * statusChunkBytes
				err := it.Item().Value(func(v []byte) error {
					if off >= uint64(len(m.into)) || uint64(len(v)) > uint64(len(m.into))-off || len(v) > statusChunkBytes {
						return fmt.Errorf("%w: a status chunk beyond the list", storelock.ErrDamaged)
					}
					copy(m.into[off:], v)
					return nil
				})
				if err != nil {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: reading the status list: %w", err)
	}
	for i := 0; i+8 <= len(b.alloc); i += 8 {
		b.used += uint64(bits.OnesCount64(binary.LittleEndian.Uint64(b.alloc[i:])))
	}
	for _, x := range b.alloc[len(b.alloc)/8*8:] {
		b.used += uint64(bits.OnesCount8(x))
	}
	return b, nil
}

func bitSet(m []byte, i uint64) bool { return m[i/8]>>(i%8)&1 == 1 }

// draw returns n distinct unused indices, each uniform among the unused
// ones (crypto/rand). It changes nothing: setBits records them.
func (b *statusBitmaps) draw(n int) ([]uint64, error) {
	if b.entries-b.used < uint64(n) {
		return nil, ErrStatusListFull
	}
	out := make([]uint64, 0, n)
	taken := func(i uint64) bool { return bitSet(b.alloc, i) || slices.Contains(out, i) }
	for len(out) < n {
		// Rejection sampling is uniform among the unused indices; on a
		// nearly full list it gives up and picks the r-th unused index,
		// also uniform.
		found := false
		for try := 0; try < 64 && !found; try++ {
			i, err := randBelow(b.entries)
			if err != nil {
				return nil, err
			}
			if !taken(i) {
				out, found = append(out, i), true
			}
		}
		if found {
			continue
		}
		free := b.entries - b.used - uint64(len(out))
		r, err := randBelow(free)
		if err != nil {
			return nil, err
		}
		for i := uint64(0); i < b.entries; i++ {
			if taken(i) {
				continue
			}
			if r == 0 {
				out = append(out, i)
				break
			}
			r--
		}
	}
	return out, nil
}

func randBelow(n uint64) (uint64, error) {
	x, err := rand.Int(rand.Reader, new(big.Int).SetUint64(n))
	if err != nil {
		return 0, fmt.Errorf("issuer: %w", err)
	}
	return x.Uint64(), nil
}

// setBits writes, in txn, the chunks of bitmap m (under prefix) with the
// bits of idx set, and returns the function that sets them in m once txn
// has committed.
func setBits(txn *badger.Txn, prefix, m []byte, idx []uint64) (func(), error) {
	chunks := map[uint64][]byte{}
	for _, i := range idx {
		if i/8 >= uint64(len(m)) {
			return nil, fmt.Errorf("issuer: status index %d beyond the list", i)
		}
		c := i / 8 / statusChunkBytes
		buf, ok := chunks[c]
		if !ok {
			lo := c * statusChunkBytes
			hi := min(lo+statusChunkBytes, uint64(len(m)))
			buf = bytes.Clone(m[lo:hi])
			chunks[c] = buf
		}
		off := i/8 - c*statusChunkBytes
		buf[off] |= 1 << (i % 8)
	}
	for c, buf := range chunks {
		if err := txn.Set(chunkKey(prefix, c), buf); err != nil {
			return nil, err
		}
	}
	return func() {
		for _, i := range idx {
			m[i/8] |= 1 << (i % 8)
		}
	}, nil
}
