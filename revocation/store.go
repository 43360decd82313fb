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
	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// DefaultDepth is the depth of a new tree when Options.Depth is zero: 2^32
// serials (16 levels of the 4-ary tree), enough for 1.4 billion holders
// with room for reissuance.
const DefaultDepth = 32

// MaxDepth is the deepest tree this package stores. Serials are uint64 and a
// few index computations shift by the depth, so it stays well below 64. The
// tree is 4-ary, so every depth is even: MaxDepth too.
const MaxDepth = 48

// DefaultMemTableSize sizes Badger's memtable. Badger refuses a transaction
// larger than 15% of it (ErrTxnTooBig), and a batch is one transaction.
// 256 MiB allows about 38 MiB: a batch of 10,000 random revocations at depth
// 32 writes about 31,000 group records (5 MiB) at 10^6 leaves and about
// 84,000 (13 MiB) at 1.4×10^9, where paths share almost nothing below
// level 8.
const DefaultMemTableSize = 256 << 20

// Options configures Open.
type Options struct {
	// Depth is the tree depth in index bits: an even number, 2 … MaxDepth
	// (the tree has Depth/2 levels of four children). Zero opens an
	// existing store at its recorded depth, or creates one of DefaultDepth.
	Depth int
	// ReadOnly opens an existing store without writing to it (for the CLI
	// and for readers beside the issuer's writer).
	ReadOnly bool
	// MemTableSize overrides DefaultMemTableSize; it bounds the largest batch.
	MemTableSize int64
	// CacheFromLevel keeps the groups of children at this level and above
	// in memory (DefaultCacheFromLevel if zero), so a path needs only that
	// many Badger reads. The cache costs 128 bytes a group, about
	// leaves×128/(3·4^l) bytes from level l: at 1.4×10^9 leaves, 3.7 GB
	// from level 2, 0.93 GB from 3, 0.23 GB from 4.
	CacheFromLevel int
}

// DefaultCacheFromLevel is the lowest level whose groups stay in memory:
// a path costs two Badger reads. Level 3 would save 2.8 GB of RAM at
// national scale but cost a path a third more time when Badger's block
// cache is cold (50 µs instead of 35 in `yinzheng bench revocation`).
const DefaultCacheFromLevel = 2

// Store is an accumulator kept in a Badger directory. Its methods are safe
// for concurrent use: writes are serialised, reads run on snapshots.
type Store struct {
	db     *badger.DB
	depth  int          // index bits
	levels int          // depth/2: level 0 holds the leaves, level levels the root
	empty  []fr.Element // empty[l] is the root of an empty subtree of level l
	mu     sync.Mutex   // serialises writers

	// top holds every stored group at level cacheFrom and above. The writer
	// (holding mu) reads it freely and changes it only while holding view
	// exclusively, together with committing its transaction; readers that
	// combine it with a Badger snapshot hold view shared, so both agree.
	cacheFrom int
	top       [][]group // top[l-cacheFrom][parent]; beyond the slice: empty
	view      sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// group is the four children of one inner node, left to right.
type group = [zkhash.Arity]fr.Element

// groupBytes is the size of a stored group.
const groupBytes = zkhash.Arity * fr.Bytes

// Key prefixes. Every key starts with one of these bytes.
const (
	prefixMeta   = 'M' // format record
	prefixState  = 'S' // leaf count, last published epoch, root
	prefixNode   = 'N' // level (1) || parent index (8) → the four children, unless all empty
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
// Version 2 is the 4-ary tree (version 1 was binary, with other roots).
const (
	metaMagic     = "yinzheng-revocation"
	formatVersion = 2
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
	// ErrLocked means the store's directory is held by another process (a
	// running service, say) or another open Store. The issuer's and the
	// verifier's stores report it too: it is the same value everywhere.
	ErrLocked = storelock.ErrLocked
	// ErrDamaged means the store's files are damaged (a table or value that
	// fails its checksum, a lost or cut-short MANIFEST): the store is
	// refused rather than read as an older or empty accumulator, which
	// would re-issue serials and re-sign epochs. Restore it from a backup.
	// It is the same value as the other stores'.
	ErrDamaged = storelock.ErrDamaged
)

// tempPattern matches the temporary files of an interrupted atomic write
// (issuer's and circuits' writeFileAtomic write ".tmp-*" beside the target).
const tempPattern = ".tmp-*"

// levelsOf returns the number of levels of a tree of depth (index bits),
// which must be even and within 2 … MaxDepth; what names the depth's owner
// in the error.
func levelsOf(what string, depth int) (int, error) {
	if depth < zkhash.LevelBits || depth > MaxDepth || depth%zkhash.LevelBits != 0 {
		return 0, fmt.Errorf("revocation: %s depth %d is not an even number in %d…%d (the tree is 4-ary)",
			what, depth, zkhash.LevelBits, MaxDepth)
	}
	return depth / zkhash.LevelBits, nil
}

// CheckDepth reports whether a tree of the given depth can be stored: an
// even number (the tree is 4-ary) from 2 to MaxDepth.
func CheckDepth(depth int) error {
	_, err := levelsOf("tree", depth)
	return err
}

// Open opens the accumulator in dir, creating it if dir is missing or empty.
// A directory that holds other files, another Badger database, a corrupt
// format record or a tree of another depth is an error, and is left as is.
// So is an odd or out-of-range Options.Depth, before anything is created.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Depth != 0 {
		if _, err := levelsOf("tree", opts.Depth); err != nil {
			return nil, err
		}
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
		// Tree records (128 bytes) stay in the LSM tree; batch deltas (over
		// 1 KiB) go to the value log, so they barely count against Badger's
		// transaction limit and the tree's size can be measured apart.
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(256 << 20).
		WithNumMemtables(2).
		WithCompression(0). // field elements are random: nothing to compress
		WithBlockCacheSize(64 << 20).
		WithNumCompactors(2)
	db, err := storelock.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("revocation: opening %s: %w", dir, err)
	}
	if !opts.ReadOnly {
		// Under the store's lock, so no writer of ours is mid-write.
		if err := storelock.CleanTemp(dir, tempPattern); err != nil {
			db.Close()
			return nil, fmt.Errorf("revocation: %w", err)
		}
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
	s.depth, s.levels = depth, depth/zkhash.LevelBits
	s.empty = zkhash.EmptyRoots(s.levels)
	s.cacheFrom = opts.CacheFromLevel
	if s.cacheFrom <= 0 {
		s.cacheFrom = DefaultCacheFromLevel
	}
	if err := s.loadTop(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// groupID names a group in the in-memory cache: the children of node
// (level+1, parent).
type groupID struct {
	level  uint8
	parent uint64
}

// emptyGroup returns the four children of an empty node at level+1.
func (s *Store) emptyGroup(level int) group {
	e := s.empty[level]
	return group{e, e, e, e}
}

// setTop sets a cached group, growing its level's slice with empty groups.
func (s *Store) setTop(id groupID, g group) {
	lv := &s.top[int(id.level)-s.cacheFrom]
	if id.parent >= uint64(len(*lv)) {
		empty := s.emptyGroup(int(id.level))
		if g == empty {
			return
		}
		for uint64(len(*lv)) <= id.parent {
			*lv = append(*lv, empty)
		}
	}
	(*lv)[id.parent] = g
}

// loadTop reads the groups at cacheFrom and above into memory.
func (s *Store) loadTop() error {
	if s.cacheFrom >= s.levels {
		return nil
	}
	s.top = make([][]group, s.levels-s.cacheFrom)
	return storelock.View(s.db, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixNode}, PrefetchValues: true})
		defer it.Close()
		for it.Seek(groupKey(s.cacheFrom, 0)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 10 || int(k[1]) >= s.levels {
				return fmt.Errorf("%w: corrupt node key", ErrNotAccumulator)
			}
			id := groupID{level: k[1], parent: binary.BigEndian.Uint64(k[2:])}
			var g group
			if err := it.Item().Value(func(v []byte) error { return decodeGroup(&g, v, int(id.level), id.parent) }); err != nil {
				return err
			}
			s.setTop(id, g)
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
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); ext == ".sst" || ext == ".vlog" || ext == ".mem" {
				// Badger's data files without their MANIFEST: a damaged
				// store, which storelock.Open refuses with ErrDamaged.
				return false, nil
			}
		}
		return false, fmt.Errorf("%w: %s holds other files and no Badger MANIFEST", ErrNotAccumulator, dir)
	}
	// A Badger directory: fresh only if it holds no accumulator record and
	// no keys at all (a crash while creating the store); decided after Open.
	return true, nil
}

// create writes the format record and the empty state in one transaction,
// only if the database holds no keys at all.
func (s *Store) create(depth int) error {
	return storelock.Update(s.db, func(txn *badger.Txn) error {
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
		levels := depth / zkhash.LevelBits
		return txn.Set(keyState, state{root: zkhash.EmptyRoots(levels)[levels]}.encode())
	})
}

// readMeta reads and checks the format record and returns the depth.
func (s *Store) readMeta() (int, error) {
	var depth int
	err := storelock.View(s.db, func(txn *badger.Txn) error {
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
		if _, err := levelsOf("recorded", depth); err != nil {
			return fmt.Errorf("%w: corrupt format record (%v)", ErrNotAccumulator, err)
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

// Depth returns the tree depth in index bits (twice the number of levels).
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

// groupKey is the key of the four children of node (level+1, parent): the
// nodes at level and indices 4·parent … 4·parent+3. Storing siblings
// together writes one record per changed inner node, and the path of a
// serial reads its three siblings and its own node in one lookup.
func groupKey(level int, parent uint64) []byte {
	k := make([]byte, 10)
	k[0] = prefixNode
	k[1] = byte(level)
	binary.BigEndian.PutUint64(k[2:], parent)
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

// getGroup reads the nodes at level and indices 4·parent … 4·parent+3; an
// absent record is four empty subtrees. Groups at cacheFrom and above come
// from memory: the caller holds mu or view.
func (s *Store) getGroup(txn *badger.Txn, level int, parent uint64) (group, error) {
	out := s.emptyGroup(level)
	if level >= s.cacheFrom {
		if lv := s.top[level-s.cacheFrom]; parent < uint64(len(lv)) {
			out = lv[parent]
		}
		return out, nil
	}
	item, err := txn.Get(groupKey(level, parent))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	err = item.Value(func(v []byte) error { return decodeGroup(&out, v, level, parent) })
	return out, err
}

func decodeGroup(out *group, v []byte, level int, parent uint64) error {
	if len(v) != groupBytes {
		return fmt.Errorf("revocation: corrupt nodes at level %d index %d (%d bytes)", level, zkhash.Arity*parent, len(v))
	}
	for i := range out {
		if out[i].SetBytesCanonical(v[i*fr.Bytes:(i+1)*fr.Bytes]) != nil {
			return fmt.Errorf("revocation: corrupt nodes at level %d index %d", level, zkhash.Arity*parent)
		}
	}
	return nil
}

// Root returns the current root.
func (s *Store) Root() (fr.Element, error) {
	var st state
	err := storelock.View(s.db, func(txn *badger.Txn) (err error) {
		st, err = readState(txn)
		return err
	})
	return st.root, err
}

// LeafCount returns the number of serials issued so far.
func (s *Store) LeafCount() (uint64, error) {
	var st state
	err := storelock.View(s.db, func(txn *badger.Txn) (err error) {
		st, err = readState(txn)
		return err
	})
	return st.leafCount, err
}
