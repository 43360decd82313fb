package revocation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// DefaultDepth is the depth of a new tree when Options.Depth is zero: 2^32
// serials, enough for 1.4 billion holders with room for reissuance.
const DefaultDepth = 32

// MaxDepth is the deepest tree this package stores. Serials are uint64 and a
// few index computations shift by the depth, so it stays well below 64.
const MaxDepth = 48

// DefaultMemTableSize sizes Badger's memtable. Badger refuses a transaction
// larger than 15% of it (ErrTxnTooBig), and a batch is one transaction.
// 256 MiB allows about 38 MiB: a batch of 10,000 random revocations at depth
// 32 writes about 90,000 records (9 MiB) at 10^6 leaves and about 250,000
// (24 MiB) at 1.4×10^9, where paths share nothing below height 17.
const DefaultMemTableSize = 256 << 20

// Options configures Open.
type Options struct {
	// Depth is the tree depth (1 … MaxDepth). Zero opens an existing store
	// at its recorded depth, or creates one of DefaultDepth.
	Depth int
	// ReadOnly opens an existing store without writing to it (for the CLI
	// and for readers beside the issuer's writer).
	ReadOnly bool
	// MemTableSize overrides DefaultMemTableSize; it bounds the largest batch.
	MemTableSize int64
	// CacheFromHeight keeps the sibling pairs at this height and above in
	// memory (DefaultCacheFromHeight if zero), so a path needs only that
	// many Badger reads. The cache costs 64 bytes a pair, about
	// leaves×64/2^h bytes from height h: at 1.4×10^9 leaves, 1.4 GB from
	// height 6, 0.7 GB from 7, 0.35 GB from 8.
	CacheFromHeight int
}

// DefaultCacheFromHeight is the lowest height whose pairs stay in memory.
const DefaultCacheFromHeight = 6

// Store is an accumulator kept in a Badger directory. Its methods are safe
// for concurrent use: writes are serialised, reads run on snapshots.
type Store struct {
	db    *badger.DB
	depth int
	empty []fr.Element // empty[h] is the root of an empty subtree of height h
	mu    sync.Mutex   // serialises writers

	// top holds every stored pair at height cacheFrom and above. The writer
	// (holding mu) reads it freely and changes it only while holding view
	// exclusively, together with committing its transaction; readers that
	// combine it with a Badger snapshot hold view shared, so both agree.
	cacheFrom int
	top       [][][2]fr.Element // top[h-cacheFrom][pair]; beyond the slice: empty
	view      sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// Key prefixes. Every key starts with one of these bytes.
const (
	prefixMeta   = 'M' // format record
	prefixState  = 'S' // leaf count, last published epoch, root
	prefixNode   = 'N' // height (1) || pair index (8) → two sibling nodes, unless both empty
	prefixDelta  = 'D' // epoch (8) || batch sequence (8) → the batch's delta
	prefixEpoch  = 'E' // epoch (8) → published root record
	prefixStatus = 'B' // chunk (8) → statusChunkBytes of status bits
	prefixPruned = 'P' // last epoch whose deltas were pruned (8)
)

var (
	keyMeta  = []byte{prefixMeta}
	keyState = []byte{prefixState}
)

// metaMagic opens the format record; formatVersion is the layout version.
const (
	metaMagic     = "yinzheng-revocation"
	formatVersion = 1
)

// Errors that callers may want to tell apart.
var (
	// ErrNotAccumulator means the directory holds something else.
	ErrNotAccumulator = errors.New("revocation: directory is not a revocation accumulator")
	// ErrDepthMismatch means the store was created with another depth.
	ErrDepthMismatch = errors.New("revocation: store has a different depth")
	// ErrUnknownSerial means a serial was never issued.
	ErrUnknownSerial = errors.New("revocation: serial not issued")
	// ErrUnknownEpoch means an epoch was not published.
	ErrUnknownEpoch = errors.New("revocation: epoch not published")
)

// Open opens the accumulator in dir, creating it if dir is missing or empty.
// A directory that holds other files, another Badger database, a corrupt
// format record or a tree of another depth is an error, and is left as is.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Depth < 0 || opts.Depth > MaxDepth {
		return nil, fmt.Errorf("revocation: depth %d outside 1…%d", opts.Depth, MaxDepth)
	}
	fresh, err := checkDir(dir, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	memtable := opts.MemTableSize
	if memtable == 0 {
		memtable = DefaultMemTableSize
	}
	bopts := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithReadOnly(opts.ReadOnly).
		WithDetectConflicts(false). // one writer at a time, under Store.mu
		WithMetricsEnabled(false).
		WithMemTableSize(memtable).
		// Tree records (64 bytes) stay in the LSM tree; batch deltas (over
		// 1 KiB) go to the value log, so they barely count against Badger's
		// transaction limit and the tree's size can be measured apart.
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(256 << 20).
		WithNumMemtables(2).
		WithCompression(0). // field elements are random: nothing to compress
		WithBlockCacheSize(64 << 20).
		WithNumCompactors(2)
	db, err := badger.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("revocation: opening %s: %w", dir, err)
	}
	s := &Store{db: db}
	depth, err := s.readMeta()
	switch {
	case errors.Is(err, badger.ErrKeyNotFound) && fresh && !opts.ReadOnly:
		depth = opts.Depth
		if depth == 0 {
			depth = DefaultDepth
		}
		err = s.create(depth)
	case errors.Is(err, badger.ErrKeyNotFound):
		err = fmt.Errorf("%w: %s is a Badger database without an accumulator record", ErrNotAccumulator, dir)
	case err == nil && opts.Depth != 0 && depth != opts.Depth:
		err = fmt.Errorf("%w: %s has depth %d, asked for %d", ErrDepthMismatch, dir, depth, opts.Depth)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s.depth = depth
	s.empty = zkhash.EmptyRoots(depth)
	s.cacheFrom = opts.CacheFromHeight
	if s.cacheFrom <= 0 {
		s.cacheFrom = DefaultCacheFromHeight
	}
	if err := s.loadTop(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// pairID names a sibling pair in the in-memory cache.
type pairID struct {
	h    uint8
	pair uint64
}

// setTop sets a cached pair, growing its height's slice with empty pairs.
func (s *Store) setTop(id pairID, p [2]fr.Element) {
	lv := &s.top[int(id.h)-s.cacheFrom]
	if id.pair >= uint64(len(*lv)) {
		e := s.empty[id.h]
		if p[0].Equal(&e) && p[1].Equal(&e) {
			return
		}
		for uint64(len(*lv)) <= id.pair {
			*lv = append(*lv, [2]fr.Element{e, e})
		}
	}
	(*lv)[id.pair] = p
}

// loadTop reads the pairs at cacheFrom and above into memory.
func (s *Store) loadTop() error {
	if s.cacheFrom >= s.depth {
		return nil
	}
	s.top = make([][][2]fr.Element, s.depth-s.cacheFrom)
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixNode}, PrefetchValues: true})
		defer it.Close()
		for it.Seek(pairKey(s.cacheFrom, 0)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 10 || int(k[1]) >= s.depth {
				return fmt.Errorf("%w: corrupt node key", ErrNotAccumulator)
			}
			id := pairID{h: k[1], pair: binary.BigEndian.Uint64(k[2:])}
			var p [2]fr.Element
			if err := it.Item().Value(func(v []byte) error { return decodePair(&p, v, int(id.h), id.pair) }); err != nil {
				return err
			}
			s.setTop(id, p)
		}
		return nil
	})
}

// checkDir reports whether dir is missing or empty (a new store). A directory
// with files but no Badger MANIFEST is refused before Badger writes into it.
func checkDir(dir string, readOnly bool) (fresh bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if readOnly {
			return false, fmt.Errorf("revocation: %s does not exist", dir)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("revocation: %w", err)
	case len(entries) == 0:
		if readOnly {
			return false, fmt.Errorf("%w: %s is empty", ErrNotAccumulator, dir)
		}
		return true, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		return false, fmt.Errorf("%w: %s holds other files and no Badger MANIFEST", ErrNotAccumulator, dir)
	}
	// A Badger directory: fresh only if it holds no accumulator record and
	// no keys at all (a crash while creating the store); decided after Open.
	return true, nil
}

// create writes the format record and the empty state in one transaction,
// only if the database holds no keys at all.
func (s *Store) create(depth int) error {
	return s.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		if it.Valid() {
			return fmt.Errorf("%w: a Badger database with other keys", ErrNotAccumulator)
		}
		meta := append([]byte(metaMagic), formatVersion, byte(depth))
		if err := txn.Set(keyMeta, meta); err != nil {
			return err
		}
		empty := zkhash.EmptyRoots(depth)
		return txn.Set(keyState, state{root: empty[depth]}.encode())
	})
}

// readMeta reads and checks the format record and returns the depth.
func (s *Store) readMeta() (int, error) {
	var depth int
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyMeta)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != len(metaMagic)+2 || !bytes.HasPrefix(v, []byte(metaMagic)) {
			return fmt.Errorf("%w: corrupt format record", ErrNotAccumulator)
		}
		if v[len(metaMagic)] != formatVersion {
			return fmt.Errorf("revocation: format version %d, this build reads %d", v[len(metaMagic)], formatVersion)
		}
		depth = int(v[len(metaMagic)+1])
		if depth < 1 || depth > MaxDepth {
			return fmt.Errorf("%w: corrupt format record (depth %d)", ErrNotAccumulator, depth)
		}
		return nil
	})
	return depth, err
}

// Close closes the store. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Depth returns the tree depth.
func (s *Store) Depth() int { return s.depth }

// state is the single record that changes with every batch.
type state struct {
	leafCount uint64
	published uint64 // last published epoch (0: none yet)
	batches   uint64 // batches applied, numbering their delta records
	root      fr.Element
}

const stateLen = 8 + 8 + 8 + fr.Bytes

func (st state) encode() []byte {
	b := make([]byte, stateLen)
	binary.BigEndian.PutUint64(b, st.leafCount)
	binary.BigEndian.PutUint64(b[8:], st.published)
	binary.BigEndian.PutUint64(b[16:], st.batches)
	r := st.root.Bytes()
	copy(b[24:], r[:])
	return b
}

func readState(txn *badger.Txn) (state, error) {
	var st state
	item, err := txn.Get(keyState)
	if err != nil {
		return st, fmt.Errorf("revocation: reading state: %w", err)
	}
	err = item.Value(func(v []byte) error {
		if len(v) != stateLen {
			return fmt.Errorf("revocation: corrupt state record (%d bytes)", len(v))
		}
		st.leafCount = binary.BigEndian.Uint64(v)
		st.published = binary.BigEndian.Uint64(v[8:])
		st.batches = binary.BigEndian.Uint64(v[16:])
		if err := st.root.SetBytesCanonical(v[24:]); err != nil {
			return errors.New("revocation: corrupt state record (root)")
		}
		return nil
	})
	return st, err
}

// pairKey is the key of the two sibling nodes at height and indices
// 2·pair and 2·pair+1. Storing siblings together halves the records a batch
// writes, and the path of a serial reads its sibling and its own node in one
// lookup.
func pairKey(height int, pair uint64) []byte {
	k := make([]byte, 10)
	k[0] = prefixNode
	k[1] = byte(height)
	binary.BigEndian.PutUint64(k[2:], pair)
	return k
}

// deltaKey is the key of the delta of one batch applied in epoch.
func deltaKey(epoch, batch uint64) []byte {
	k := make([]byte, 17)
	k[0] = prefixDelta
	binary.BigEndian.PutUint64(k[1:], epoch)
	binary.BigEndian.PutUint64(k[9:], batch)
	return k
}

func epochKey(epoch uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixEpoch
	binary.BigEndian.PutUint64(k[1:], epoch)
	return k
}

// getPair reads the sibling nodes at (height, 2·pair) and (height,
// 2·pair+1); an absent record is two empty subtrees. Pairs at cacheFrom and
// above come from memory: the caller holds mu or view.
func (s *Store) getPair(txn *badger.Txn, height int, pair uint64) ([2]fr.Element, error) {
	out := [2]fr.Element{s.empty[height], s.empty[height]}
	if height >= s.cacheFrom {
		if lv := s.top[height-s.cacheFrom]; pair < uint64(len(lv)) {
			out = lv[pair]
		}
		return out, nil
	}
	item, err := txn.Get(pairKey(height, pair))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	err = item.Value(func(v []byte) error { return decodePair(&out, v, height, pair) })
	return out, err
}

func decodePair(out *[2]fr.Element, v []byte, height int, pair uint64) error {
	if len(v) != 2*fr.Bytes || out[0].SetBytesCanonical(v[:fr.Bytes]) != nil || out[1].SetBytesCanonical(v[fr.Bytes:]) != nil {
		return fmt.Errorf("revocation: corrupt nodes at height %d index %d", height, 2*pair)
	}
	return nil
}

// getNode reads the node at (height, index).
func (s *Store) getNode(txn *badger.Txn, height int, index uint64) (fr.Element, error) {
	p, err := s.getPair(txn, height, index>>1)
	return p[index&1], err
}

// Root returns the current root.
func (s *Store) Root() (fr.Element, error) {
	var st state
	err := s.db.View(func(txn *badger.Txn) (err error) {
		st, err = readState(txn)
		return err
	})
	return st.root, err
}

// LeafCount returns the number of serials issued so far.
func (s *Store) LeafCount() (uint64, error) {
	var st state
	err := s.db.View(func(txn *badger.Txn) (err error) {
		st, err = readState(txn)
		return err
	})
	return st.leafCount, err
}
