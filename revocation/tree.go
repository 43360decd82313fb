package revocation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
)

// Batch is a set of changes applied atomically: Append adds leaves at the
// next serials, in order; Revoke empties the leaves of the given serials
// (which may include serials appended by the same batch).
type Batch struct {
	Append []fr.Element
	Revoke []uint64
}

// Append adds leaves at the next free serials and returns the first serial.
func (s *Store) Append(leaves ...fr.Element) (uint64, error) {
	return s.ApplyBatch(Batch{Append: leaves})
}

// Revoke revokes serials. Revoking a revoked serial changes nothing; a serial
// that was never issued is an error and nothing is revoked.
func (s *Store) Revoke(serials ...uint64) error {
	_, err := s.ApplyBatch(Batch{Revoke: serials})
	return err
}

// statusChunkBytes is the size of one status-list record: 2,048 credentials.
// Small records keep the writes of a batch of random revocations small.
const statusChunkBytes = 256

func statusKey(chunk uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixStatus
	binary.BigEndian.PutUint64(k[1:], chunk)
	return k
}

// change is a node whose value a batch sets.
type change struct {
	index uint64
	value fr.Element
}

// ApplyBatch applies b in one Badger transaction and returns the first
// serial appended (the leaf count before the batch). Either every change is
// stored or none is.
func (s *Store) ApplyBatch(b Batch) (first uint64, err error) {
	err = storelock.Guard(s.db, func() (err error) {
		first, err = s.applyBatch(b)
		return err
	})
	return first, err
}

func (s *Store) applyBatch(b Batch) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	st, err := readState(txn)
	if err != nil {
		return 0, err
	}
	first := st.leafCount
	capacity := uint64(1) << uint(s.depth)
	if uint64(len(b.Append)) > capacity-st.leafCount {
		return 0, fmt.Errorf("revocation: appending %d leaves to %d overflows a tree of depth %d", len(b.Append), st.leafCount, s.depth)
	}
	for i := range b.Append {
		if b.Append[i].IsZero() {
			return 0, fmt.Errorf("revocation: leaf %d of the batch is zero, the empty value", i)
		}
	}
	newCount := st.leafCount + uint64(len(b.Append))

	// Leaf changes, sorted by serial: revocations of older leaves, then the
	// appended range with revocations inside it applied.
	appended := slices.Clone(b.Append)
	chunks := map[uint64][]byte{}
	var revoked []uint64
	for _, serial := range b.Revoke {
		if serial >= newCount {
			return 0, fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, newCount)
		}
		chunk := serial / (statusChunkBytes * 8)
		bits, ok := chunks[chunk]
		if !ok {
			if bits, err = readChunk(txn, chunk); err != nil {
				return 0, err
			}
			chunks[chunk] = bits
		}
		bit := serial % (statusChunkBytes * 8)
		if bits[bit/8]>>(bit%8)&1 == 1 {
			continue // already revoked: idempotent
		}
		bits[bit/8] |= 1 << (bit % 8)
		if serial >= st.leafCount {
			appended[serial-st.leafCount] = fr.Element{}
		} else {
			revoked = append(revoked, serial)
		}
	}
	slices.Sort(revoked)
	level := make([]change, 0, len(revoked)+len(appended))
	for _, serial := range revoked {
		level = append(level, change{index: serial})
	}
	for i := range appended {
		level = append(level, change{index: st.leafCount + uint64(i), value: appended[i]})
	}

	// The batch's own delta, merged into its epoch's delta by Delta.
	d := &Delta{Depth: s.depth, Epoch: st.published + 1, LeafCount: newCount, Levels: make([][]fr.Element, s.levels)}
	d.Serials = make([]uint64, len(level))
	for i := range level {
		d.Serials[i] = level[i].index
	}
	w := writer{txn: txn, top: map[groupID]group{}}
	for l := 0; l < s.levels && len(level) > 0; l++ {
		d.Levels[l] = make([]fr.Element, len(level))
		for i := range level {
			d.Levels[l][i] = level[i].value
		}
		next, groups, err := s.parents(l, level, st.leafCount)
		if err != nil {
			return 0, err
		}
		if err := w.groups(s, l, next, groups); err != nil {
			return 0, err
		}
		level = next
	}
	if len(level) == 1 {
		st.root = level[0].value
		d.Root = st.root
		blob, err := d.MarshalBinary()
		if err != nil {
			return 0, err
		}
		st.batches++
		if err := w.set(deltaKey(d.Epoch, st.batches), blob); err != nil {
			return 0, err
		}
	}
	for chunk, bits := range chunks {
		if err := w.set(statusKey(chunk), bits); err != nil {
			return 0, err
		}
	}
	st.leafCount = newCount
	if err := w.set(keyState, st.encode()); err != nil {
		return 0, err
	}
	s.view.Lock()
	defer s.view.Unlock()
	if err := txn.Commit(); err != nil {
		return 0, fmt.Errorf("revocation: committing batch: %w", err)
	}
	for id, g := range w.top {
		s.setTop(id, g)
	}
	return first, nil
}

// readChunk returns a copy of a status-list record, zero if absent.
func readChunk(txn *badger.Txn, chunk uint64) ([]byte, error) {
	item, err := txn.Get(statusKey(chunk))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return make([]byte, statusChunkBytes), nil
	}
	if err != nil {
		return nil, err
	}
	bits, err := item.ValueCopy(nil)
	if err == nil && len(bits) != statusChunkBytes {
		err = fmt.Errorf("revocation: corrupt status record %d", chunk)
	}
	return bits, err
}

// writer stages a batch's writes in its transaction, and the changes to
// the in-memory groups until the transaction commits.
type writer struct {
	txn *badger.Txn
	top map[groupID]group
}

func (w *writer) set(key, value []byte) error {
	return w.checkSize(w.txn.Set(key, value))
}

func (w *writer) delete(key []byte) error {
	return w.checkSize(w.txn.Delete(key))
}

// checkSize explains Badger's transaction limit in the error.
func (w *writer) checkSize(err error) error {
	if err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("revocation: batch too large for one transaction (raise Options.MemTableSize or split it): %w", err)
		}
		return err
	}
	return nil
}

// groups stores the changed groups of level l (the children of the parents
// in next), deleting the groups that became wholly empty.
func (w *writer) groups(s *Store, l int, next []change, groups []group) error {
	empty := s.emptyGroup(l)
	slab := make([]byte, len(groups)*groupBytes)
	for i := range groups {
		if l >= s.cacheFrom {
			w.top[groupID{uint8(l), next[i].index}] = groups[i]
		}
		key := groupKey(l, next[i].index)
		if groups[i] == empty {
			if err := w.delete(key); err != nil {
				return err
			}
			continue
		}
		v := slab[i*groupBytes : (i+1)*groupBytes : (i+1)*groupBytes]
		for j := range groups[i] {
			b := groups[i][j].Bytes()
			copy(v[j*fr.Bytes:], b[:])
		}
		if err := w.set(key, v); err != nil {
			return err
		}
	}
	return nil
}

// parents computes the nodes at level l+1 above the changed nodes at level
// l (sorted by index), and the new children of each. The children of one
// parent are consecutive in level: index>>2 is the parent. A child that did
// not change is read, with its group, from a snapshot taken before the
// batch, unless every unchanged child lies wholly at or beyond oldCount,
// where every leaf was empty. Reads and hashes are spread over GOMAXPROCS
// goroutines.
func (s *Store) parents(l int, level []change, oldCount uint64) ([]change, []group, error) {
	// Group children by parent: starts[i] is where parent i's children
	// begin, starts[len] the end of the last.
	starts := make([]int, 0, len(level)+1)
	for i := range level {
		if i == 0 || level[i].index>>zkhash.LevelBits != level[i-1].index>>zkhash.LevelBits {
			starts = append(starts, i)
		}
	}
	n := len(starts)
	starts = append(starts, len(level))
	out := make([]change, n)
	groups := make([]group, n)
	workers := runtime.GOMAXPROCS(0)
	if n < 64 {
		workers = 1
	}
	per := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = s.hashParents(l, level, starts, lo, hi, oldCount, out, groups)
		}()
	}
	wg.Wait()
	return out, groups, errors.Join(errs...)
}

// hashParents computes the parents lo … hi-1 of parents: each one's
// group of four children and its node.
func (s *Store) hashParents(l int, level []change, starts []int, lo, hi int, oldCount uint64, out []change, groups []group) error {
	var snap *badger.Txn
	defer func() {
		if snap != nil {
			snap.Discard()
		}
	}()
	const full = 1<<zkhash.Arity - 1
	for p := lo; p < hi; p++ {
		parent := level[starts[p]].index >> zkhash.LevelBits
		var g group
		changed := 0 // bit j: child j is in level
		for _, c := range level[starts[p]:starts[p+1]] {
			j := c.index & (zkhash.Arity - 1)
			g[j], changed = c.value, changed|1<<j
		}
		if changed != full {
			// The unchanged children: stored, or empty if every one of
			// them starts at or beyond the old leaf count.
			stored := false
			for j := range uint64(zkhash.Arity) {
				first := (parent*zkhash.Arity + j) << uint(l*zkhash.LevelBits)
				if changed>>j&1 == 0 && first < oldCount {
					stored = true
					break
				}
			}
			old := s.emptyGroup(l)
			if stored {
				if snap == nil && l < s.cacheFrom {
					snap = s.db.NewTransaction(false)
				}
				var err error
				if old, err = s.getGroup(snap, l, parent); err != nil {
					return err
				}
			}
			for j := range g {
				if changed>>j&1 == 0 {
					g[j] = old[j]
				}
			}
		}
		out[p] = change{index: parent, value: zkhash.Node(l+1, g)}
		groups[p] = g
	}
	return nil
}

// Path is a serial's authentication path: three siblings a level, bottom
// up (Siblings[3l … 3l+2] are the siblings at level l, in the order
// zkhash.Siblings gives them), and Root the root it folds to.
type Path struct {
	Serial    uint64
	Leaf      fr.Element
	Siblings  []fr.Element
	Root      fr.Element
	LeafCount uint64 // serials issued when the path was read
}

// Verify checks that the path folds to its root (zkhash.RootFromPath).
func (p *Path) Verify() error {
	root, err := zkhash.RootFromPath(p.Leaf, p.Serial, p.Siblings)
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	if !root.Equal(&p.Root) {
		return errors.New("revocation: path does not fold to its root")
	}
	return nil
}

// Path returns the current path of serial, read from one snapshot, so the
// path and the root agree even while a batch is being written. Each level
// costs one group read: the serial's ancestor and its three siblings.
func (s *Store) Path(serial uint64) (*Path, error) {
	p := &Path{Serial: serial, Siblings: make([]fr.Element, 0, s.levels*zkhash.SiblingsPerLevel)}
	s.view.RLock()
	defer s.view.RUnlock()
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		st, err := readIssued(txn, serial)
		if err != nil {
			return err
		}
		p.Root, p.LeafCount = st.root, st.leafCount
		p.Leaf, p.Siblings, err = s.pathFrom(txn, serial, 0, p.Siblings)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// pathFrom reads the part of serial's path from level from up to the root,
// one group read a level, appending the siblings to dst. It also returns
// the node of serial's ancestor at level from (the leaf when from is 0),
// which the first group read holds anyway.
func (s *Store) pathFrom(txn *badger.Txn, serial uint64, from int, dst []fr.Element) (fr.Element, []fr.Element, error) {
	var own fr.Element
	for l := from; l < s.levels; l++ {
		x := ancestor(serial, l)
		g, err := s.getGroup(txn, l, x>>zkhash.LevelBits)
		if err != nil {
			return own, dst, err
		}
		if l == from {
			own = g[x&(zkhash.Arity-1)]
		}
		sib := zkhash.Siblings(g, x)
		dst = append(dst, sib[:]...)
	}
	return own, dst, nil
}

// readIssued reads the store's state and checks that serial was issued.
func readIssued(txn *badger.Txn, serial uint64) (state, error) {
	st, err := readState(txn)
	if err == nil && serial >= st.leafCount {
		err = fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, st.leafCount)
	}
	return st, err
}

// Status is the state of an issued serial.
type Status int

// Statuses of an issued serial.
const (
	Valid Status = iota
	Revoked
)

func (st Status) String() string {
	if st == Revoked {
		return "revoked"
	}
	return "valid"
}

// Status returns whether serial is valid or revoked.
func (s *Store) Status(serial uint64) (Status, error) {
	var out Status
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		if _, err := readIssued(txn, serial); err != nil {
			return err
		}
		bits, err := readChunk(txn, serial/(statusChunkBytes*8))
		if err != nil {
			return err
		}
		bit := serial % (statusChunkBytes * 8)
		out = Status(bits[bit/8] >> (bit % 8) & 1)
		return nil
	})
	return out, err
}
