package revocation

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
)

// RootStatementType is the JWS "typ" of a signed root statement.
const RootStatementType = "yinzheng-root+jwt"

// RootStatement is the payload of a signed root: at IssuedAt, issuer's
// accumulator had LeafCount serials and root Root, published as Epoch.
type RootStatement struct {
	Issuer    string
	Epoch     uint64
	Root      fr.Element
	LeafCount uint64
	IssuedAt  time.Time
}

// rootPayload is RootStatement's JSON form.
type rootPayload struct {
	Iss       string `json:"iss"`
	Epoch     uint64 `json:"epoch"`
	Root      string `json:"root"`
	LeafCount uint64 `json:"leaf_count"`
	Iat       int64  `json:"iat"`
}

// Epoch is one published epoch: its root, leaf count and signed statement.
type Epoch struct {
	Epoch     uint64
	Root      fr.Element
	LeafCount uint64
	Statement string // compact JWS, see VerifyRootStatement
}

// Publish freezes the current root as the next epoch, signs its statement
// with key (kid is the key's KeyID) and returns it. Later batches go to the
// epoch after it.
func (s *Store) Publish(key *jose.PrivateKey, issuer string, now time.Time) (e *Epoch, err error) {
	if issuer == "" {
		return nil, errors.New("revocation: publishing needs an issuer identifier")
	}
	err = storelock.Guard(s.db, func() (err error) {
		e, err = s.publish(key, issuer, now)
		return err
	})
	return e, err
}

func (s *Store) publish(key *jose.PrivateKey, issuer string, now time.Time) (*Epoch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	st, err := readState(txn)
	if err != nil {
		return nil, err
	}
	e := &Epoch{Epoch: st.published + 1, Root: st.root, LeafCount: st.leafCount}
	payload, err := json.Marshal(rootPayload{
		Iss: issuer, Epoch: e.Epoch, Root: zkhash.FormatElement(e.Root), LeafCount: e.LeafCount, Iat: now.Unix(),
	})
	if err != nil {
		return nil, err
	}
	header := map[string]any{"typ": RootStatementType, "kid": key.Public().KeyID()}
	if e.Statement, err = jose.Sign(key, header, payload); err != nil {
		return nil, fmt.Errorf("revocation: signing the root of epoch %d: %w", e.Epoch, err)
	}
	if err := txn.Set(epochKey(e.Epoch), e.encode()); err != nil {
		return nil, err
	}
	st.published = e.Epoch
	if err := txn.Set(keyState, st.encode()); err != nil {
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		return nil, fmt.Errorf("revocation: committing epoch %d: %w", e.Epoch, err)
	}
	return e, nil
}

// encode writes root (32) | leaf count (8) | statement.
func (e *Epoch) encode() []byte {
	b := appendElement(nil, e.Root)
	b = binary.BigEndian.AppendUint64(b, e.LeafCount)
	return append(b, e.Statement...)
}

func decodeEpoch(epoch uint64, v []byte) (*Epoch, error) {
	e := &Epoch{Epoch: epoch}
	if len(v) < fr.Bytes+8 || e.Root.SetBytesCanonical(v[:fr.Bytes]) != nil {
		return nil, fmt.Errorf("revocation: corrupt record of epoch %d", epoch)
	}
	e.LeafCount = binary.BigEndian.Uint64(v[fr.Bytes:])
	e.Statement = string(v[fr.Bytes+8:])
	return e, nil
}

func (s *Store) readEpoch(txn *badger.Txn, epoch uint64) (*Epoch, error) {
	item, err := txn.Get(epochKey(epoch))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: epoch %d", ErrUnknownEpoch, epoch)
	}
	if err != nil {
		return nil, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	return decodeEpoch(epoch, v)
}

// Statement returns the published epoch.
func (s *Store) Statement(epoch uint64) (*Epoch, error) {
	var e *Epoch
	err := storelock.View(s.db, func(txn *badger.Txn) (err error) {
		e, err = s.readEpoch(txn, epoch)
		return err
	})
	return e, err
}

// RootHistory returns every published epoch, oldest first.
func (s *Store) RootHistory() ([]*Epoch, error) {
	var out []*Epoch
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixEpoch}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return errors.New("revocation: corrupt epoch key")
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			e, err := decodeEpoch(binary.BigEndian.Uint64(k[1:]), v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// VerifyRootStatement verifies a root statement's signature with key and
// returns its payload. It refuses another typ, missing or malformed fields
// and unknown ones.
func VerifyRootStatement(compact string, key *jose.PublicKey) (*RootStatement, error) {
	header, payload, err := jose.Verify(compact, key)
	if err != nil {
		return nil, fmt.Errorf("revocation: root statement: %w", err)
	}
	if typ, _ := header["typ"].(string); typ != RootStatementType {
		return nil, fmt.Errorf("revocation: root statement: typ %q, want %q", header["typ"], RootStatementType)
	}
	var p rootPayload
	if err := strictjson.Unmarshal(payload, 0, &p); err != nil {
		return nil, fmt.Errorf("revocation: root statement payload: %w", err)
	}
	switch {
	case p.Iss == "":
		return nil, errors.New("revocation: root statement has no iss")
	case p.Epoch == 0:
		return nil, errors.New("revocation: root statement has no epoch (epochs start at 1)")
	case p.Iat <= 0:
		return nil, errors.New("revocation: root statement has no iat")
	}
	root, err := zkhash.ParseElement(p.Root)
	if err != nil {
		return nil, fmt.Errorf("revocation: root statement root: %w", err)
	}
	return &RootStatement{Issuer: p.Iss, Epoch: p.Epoch, Root: root, LeafCount: p.LeafCount, IssuedAt: time.Unix(p.Iat, 0).UTC()}, nil
}

// Delta returns what changed between the end of epoch-1 and the end of
// epoch: the batches of that epoch merged, each node at its last value.
func (s *Store) Delta(epoch uint64) (*Delta, error) {
	var out *Delta
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		e, err := s.readEpoch(txn, epoch)
		if err != nil {
			return err
		}
		pruned, err := readPruned(txn)
		if err != nil {
			return err
		}
		if epoch <= pruned {
			return fmt.Errorf("%w: epoch %d (deltas pruned through epoch %d; fetch a bucket)", ErrDeltaPruned, epoch, pruned)
		}
		var batches []*Delta
		prefix := deltaKey(epoch, 0)[:9]
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			d := new(Delta)
			err := it.Item().Value(func(v []byte) error { return d.UnmarshalBinary(v) })
			if err != nil {
				return fmt.Errorf("revocation: stored delta of epoch %d: %w", epoch, err)
			}
			if d.Depth != s.depth {
				return fmt.Errorf("revocation: stored delta of epoch %d has depth %d, the store %d", epoch, d.Depth, s.depth)
			}
			batches = append(batches, d)
		}
		out = mergeDeltas(s.depth, s.levels, batches)
		out.Epoch, out.Root, out.LeafCount = epoch, e.Root, e.LeafCount
		return nil
	})
	return out, err
}

// mergeDeltas merges the deltas of consecutive batches: the union of their
// serials, every node at its value in the last batch that touched it. A
// node shared by several batches appears once.
func mergeDeltas(depth, levels int, batches []*Delta) *Delta {
	if len(batches) == 1 {
		return batches[0]
	}
	out := &Delta{Depth: depth, Levels: make([][]fr.Element, levels)}
	type nodeID struct {
		level int
		index uint64
	}
	latest := map[nodeID]fr.Element{}
	for _, b := range batches {
		out.Serials = append(out.Serials, b.Serials...)
		for l := range b.Levels {
			for i, idx := range b.Indices(l) {
				latest[nodeID{l, idx}] = b.Levels[l][i]
			}
		}
	}
	slices.Sort(out.Serials)
	out.Serials = slices.Compact(out.Serials)
	for l := range out.Levels {
		idx := out.Indices(l)
		out.Levels[l] = make([]fr.Element, len(idx))
		for i, x := range idx {
			out.Levels[l][i] = latest[nodeID{l, x}]
		}
	}
	return out
}

// keyPruned records the last epoch whose delta was pruned.
var keyPruned = []byte{prefixPruned}

// ErrDeltaPruned means an epoch's delta was pruned: a holder that still
// needs it fetches a bucket instead.
var ErrDeltaPruned = errors.New("revocation: delta pruned")

// PruneDeltas deletes the stored deltas of epochs 1 … through (at most the
// last published epoch), for holders are expected to have moved on. The
// mark is committed first, so a crash part-way leaves the remaining records
// unreachable, never a delta missing some of its batches.
func (s *Store) PruneDeltas(through uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var from uint64
	err := storelock.Update(s.db, func(txn *badger.Txn) error {
		st, err := readState(txn)
		if err != nil {
			return err
		}
		if through > st.published {
			return fmt.Errorf("%w: cannot prune through epoch %d, last published is %d", ErrUnknownEpoch, through, st.published)
		}
		if from, err = readPruned(txn); err != nil {
			return err
		}
		return txn.Set(keyPruned, binary.BigEndian.AppendUint64(nil, max(from, through)))
	})
	if err != nil || through <= from {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = storelock.View(s.db, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDelta}})
		defer it.Close()
		for it.Seek(deltaKey(from+1, 0)); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if binary.BigEndian.Uint64(k[1:9]) > through {
				break
			}
			if err := wb.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

func readPruned(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(keyPruned)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var out uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return errors.New("revocation: corrupt pruning record")
		}
		out = binary.BigEndian.Uint64(v)
		return nil
	})
	return out, err
}
