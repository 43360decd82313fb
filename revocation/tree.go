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
func (s *Store) ApplyBatch(b Batch) (uint64, error) {
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
	d := &Delta{Depth: s.depth, Epoch: st.published + 1, LeafCount: newCount, Levels: make([][]fr.Element, s.depth)}
	d.Serials = make([]uint64, len(level))
	for i := range level {
		d.Serials[i] = level[i].index
	}
	w := writer{txn: txn, top: map[pairID][2]fr.Element{}}
	for h := 0; h < s.depth && len(level) > 0; h++ {
		d.Levels[h] = make([]fr.Element, len(level))
		for i := range level {
			d.Levels[h][i] = level[i].value
		}
		next, pairs, err := s.parents(h, level, st.leafCount)
		if err != nil {
			return 0, err
		}
		if err := w.pairs(s, h, next, pairs); err != nil {
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
	for id, p := range w.top {
		s.setTop(id, p)
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
// the in-memory pairs until the transaction commits.
type writer struct {
	txn *badger.Txn
	top map[pairID][2]fr.Element
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

// pairs stores the changed sibling pairs of height h (the children of the
// parents in next), deleting the pairs that became wholly empty.
func (w *writer) pairs(s *Store, h int, next []change, pairs [][2]fr.Element) error {
	slab := make([]byte, len(pairs)*2*fr.Bytes)
	for i := range pairs {
		if h >= s.cacheFrom {
			w.top[pairID{uint8(h), next[i].index}] = pairs[i]
		}
		key := pairKey(h, next[i].index)
		if pairs[i][0].Equal(&s.empty[h]) && pairs[i][1].Equal(&s.empty[h]) {
			if err := w.delete(key); err != nil {
				return err
			}
			continue
		}
		v := slab[i*2*fr.Bytes : (i+1)*2*fr.Bytes : (i+1)*2*fr.Bytes]
		l, r := pairs[i][0].Bytes(), pairs[i][1].Bytes()
		copy(v, l[:])
		copy(v[fr.Bytes:], r[:])
		if err := w.set(key, v); err != nil {
			return err
		}
	}
	return nil
}

// parents computes the nodes at height h+1 above the changed nodes at height
// h, and the new children of each. A sibling that did not change is read
// from a snapshot taken before the batch, unless it lies wholly at or beyond
// oldCount, where every leaf was empty. Reads and hashes are spread over
// GOMAXPROCS goroutines.
func (s *Store) parents(h int, level []change, oldCount uint64) ([]change, [][2]fr.Element, error) {
	// Group children by parent: starts[i] is where parent i's children begin.
	starts := make([]int, 0, len(level))
	for i := range level {
		if i == 0 || level[i].index>>1 != level[i-1].index>>1 {
			starts = append(starts, i)
		}
	}
	out := make([]change, len(starts))
	pairs := make([][2]fr.Element, len(starts))
	workers := runtime.GOMAXPROCS(0)
	if len(starts) < 64 {
		workers = 1
	}
	per := (len(starts) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(starts))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = s.hashParents(h, level, starts, lo, hi, oldCount, out, pairs)
		}()
	}
	wg.Wait()
	return out, pairs, errors.Join(errs...)
}

func (s *Store) hashParents(h int, level []change, starts []int, lo, hi int, oldCount uint64, out []change, pairs [][2]fr.Element) error {
	var snap *badger.Txn
	defer func() {
		if snap != nil {
			snap.Discard()
		}
	}()
	for p := lo; p < hi; p++ {
		c := level[starts[p]]
		parent := c.index >> 1
		var left, right fr.Element
		if starts[p]+1 < len(level) && level[starts[p]+1].index>>1 == parent {
			left, right = c.value, level[starts[p]+1].value
		} else {
			sib := c.index ^ 1
			sv := s.empty[h]
			if sib<<uint(h) < oldCount {
				if snap == nil && h < s.cacheFrom {
					snap = s.db.NewTransaction(false)
				}
				var err error
				if sv, err = s.getNode(snap, h, sib); err != nil {
					return err
				}
			}
			if c.index&1 == 0 {
				left, right = c.value, sv
			} else {
				left, right = sv, c.value
			}
		}
		out[p] = change{index: parent, value: zkhash.Node(h+1, left, right)}
		pairs[p] = [2]fr.Element{left, right}
	}
	return nil
}

// Path is a serial's authentication path: Siblings[h] is the sibling at
// height h, bottom up, and Root the root it folds to.
type Path struct {
	Serial    uint64
	Leaf      fr.Element
	Siblings  []fr.Element
	Root      fr.Element
	LeafCount uint64 // serials issued when the path was read
}

// Verify checks that the path folds to its root.
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
// path and the root agree even while a batch is being written.
func (s *Store) Path(serial uint64) (*Path, error) {
	p := &Path{Serial: serial, Siblings: make([]fr.Element, s.depth)}
	s.view.RLock()
	defer s.view.RUnlock()
	err := s.db.View(func(txn *badger.Txn) error {
		st, err := readState(txn)
		if err != nil {
			return err
		}
		if serial >= st.leafCount {
			return fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, st.leafCount)
		}
		p.Root, p.LeafCount = st.root, st.leafCount
		for h := 0; h < s.depth; h++ {
			sib := (serial >> uint(h)) ^ 1
			if h > 0 && sib<<uint(h) >= st.leafCount {
				p.Siblings[h] = s.empty[h]
				continue
			}
			pair, err := s.getPair(txn, h, sib>>1)
			if err != nil {
				return err
			}
			p.Siblings[h] = pair[sib&1]
			if h == 0 {
				p.Leaf = pair[serial&1]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
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
	err := s.db.View(func(txn *badger.Txn) error {
		st, err := readState(txn)
		if err != nil {
			return err
		}
		if serial >= st.leafCount {
			return fmt.Errorf("%w: serial %d (leaf count %d)", ErrUnknownSerial, serial, st.leafCount)
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
