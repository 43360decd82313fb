package revocation

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

func openTemp(t *testing.T, depth int) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acc")
	s, err := Open(dir, Options{Depth: depth, MemTableSize: 16 << 20, CacheFromLevel: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// mustPath, mustRoot and mustLeafCount read the store for a test's setup or
// reference, failing t if the read does: a discarded error would leave a
// zero value that could make a later check pass for the wrong reason.
func mustPath(t testing.TB, s *Store, serial uint64) *Path {
	t.Helper()
	p, err := s.Path(serial)
	if err != nil {
		t.Fatalf("path of serial %d: %v", serial, err)
	}
	return p
}

func mustRoot(t testing.TB, s *Store) fr.Element {
	t.Helper()
	r, err := s.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustLeafCount(t testing.TB, s *Store) uint64 {
	t.Helper()
	n, err := s.LeafCount()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmptyTree(t *testing.T) {
	s, _ := openTemp(t, 10)
	root, err := s.Root()
	if err != nil {
		t.Fatal(err)
	}
	if want := zkhash.EmptyRoots(5)[5]; !root.Equal(&want) {
		t.Fatal("empty tree root of depth 10 is not EmptyRoots(5)[5]")
	}
	if _, err := s.Path(0); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("path of serial 0 in an empty tree: %v", err)
	}
}

func TestRandomBatchesMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, _ := openTemp(t, 10)
	ref := newReference(10)
	for i := range 30 {
		b := randomBatch(rng, uint64(len(ref.leaves)), 25, 8)
		first, err := s.ApplyBatch(b)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if first != uint64(len(ref.leaves)) {
			t.Fatalf("batch %d: first serial %d, want %d", i, first, len(ref.leaves))
		}
		ref.apply(b)
		checkEqual(t, s, ref)
		for range 5 {
			if len(ref.leaves) == 0 {
				break
			}
			serial := rng.Uint64N(uint64(len(ref.leaves)))
			p, err := s.Path(serial)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.path(serial)
			if len(p.Siblings) != 15 {
				t.Fatalf("serial %d: %d siblings, want 3 a level for 5 levels", serial, len(p.Siblings))
			}
			for i := range want {
				if !p.Siblings[i].Equal(&want[i]) {
					t.Fatalf("serial %d: sibling %d (level %d, slot %d) differs", serial, i, i/3, i%3)
				}
			}
			if !p.Leaf.Equal(&ref.leaves[serial]) {
				t.Fatalf("serial %d: leaf differs", serial)
			}
			if err := p.Verify(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestFullTreeAndOverflow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s, _ := openTemp(t, 4)
	ref := newReference(4)
	b := Batch{Append: randomLeaves(rng, 16), Revoke: []uint64{15, 0, 7}}
	if _, err := s.ApplyBatch(b); err != nil {
		t.Fatal(err)
	}
	ref.apply(b)
	checkEqual(t, s, ref)
	if _, err := s.Append(randomLeaves(rng, 1)...); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Fatalf("append to a full tree: %v", err)
	}
}

func TestRevokeIdempotentAndUnknown(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s, _ := openTemp(t, 8)
	if _, err := s.Append(randomLeaves(rng, 10)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(3); err != nil {
		t.Fatal(err)
	}
	before := mustRoot(t, s)
	if err := s.Revoke(3, 3); err != nil {
		t.Fatal(err)
	}
	after := mustRoot(t, s)
	if !before.Equal(&after) {
		t.Fatal("revoking twice changed the root")
	}
	err := s.Revoke(4, 10)
	if !errors.Is(err, ErrUnknownSerial) || !strings.Contains(err.Error(), "serial 10") {
		t.Fatalf("revoking serial 10 of 10: %v", err)
	}
	if st, err := s.Status(4); err != nil {
		t.Fatal(err)
	} else if st != Valid {
		t.Fatal("a refused batch revoked serial 4 anyway")
	}
	if _, err := s.Status(10); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("status of serial 10: %v", err)
	}
	if _, err := s.Path(10); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("path of serial 10: %v", err)
	}
}

func TestAppendZeroLeafRefused(t *testing.T) {
	s, _ := openTemp(t, 8)
	if _, err := s.Append(fr.Element{}); err == nil || !strings.Contains(err.Error(), "zero") {
		t.Fatalf("appending the empty value: %v", err)
	}
}

func TestReopenKeepsState(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s, dir := openTemp(t, 8)
	ref := newReference(8)
	b := randomBatch(rng, 0, 40, 10)
	if _, err := s.ApplyBatch(b); err != nil {
		t.Fatal(err)
	}
	ref.apply(b)
	s.Close()
	s2, err := Open(dir, Options{MemTableSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Depth() != 8 {
		t.Fatalf("depth %d after reopening with Depth 0", s2.Depth())
	}
	checkEqual(t, s2, ref)
}

func TestOpenRefusesBadDirectories(t *testing.T) {
	base := t.TempDir()

	foreign := filepath.Join(base, "foreign")
	os.Mkdir(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Open(foreign, Options{Depth: 8, MemTableSize: 1 << 20}); !errors.Is(err, ErrNotAccumulator) {
		t.Errorf("directory of other files: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); string(b) != "mine" {
		t.Error("foreign file changed")
	}
	if ents, _ := os.ReadDir(foreign); len(ents) != 1 {
		t.Errorf("Open wrote into a foreign directory: %d entries", len(ents))
	}

	otherDB := filepath.Join(base, "otherdb")
	db, err := badger.Open(badger.DefaultOptions(otherDB).WithLogger(nil).WithMemTableSize(16 << 20))
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("user"), []byte("data")) })
	db.Close()
	if _, err := Open(otherDB, Options{Depth: 8, MemTableSize: 1 << 20}); !errors.Is(err, ErrNotAccumulator) {
		t.Errorf("foreign Badger database: %v", err)
	}
	db, err = badger.Open(badger.DefaultOptions(otherDB).WithLogger(nil).WithMemTableSize(16 << 20))
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(keyMeta); err == nil {
			t.Error("Open wrote an accumulator record into a foreign database")
		}
		return nil
	})
	db.Close()

	acc := filepath.Join(base, "acc")
	s, err := Open(acc, Options{Depth: 8, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(acc, Options{Depth: 10}); !errors.Is(err, ErrDepthMismatch) {
		t.Errorf("other depth: %v", err)
	}
	if _, err := Open(acc, Options{Depth: 99}); err == nil {
		t.Error("depth 99 accepted")
	}

	for name, meta := range map[string][]byte{
		"truncated":   []byte(metaMagic),
		"wrong magic": append([]byte("yinzheng-revocatioX"), formatVersion, 8),
		"version":     append([]byte(metaMagic), formatVersion+1, 8),
		"binary tree": append([]byte(metaMagic), 1, 8), // format 1: the binary tree
		"depth 0":     append([]byte(metaMagic), formatVersion, 0),
		"odd depth":   append([]byte(metaMagic), formatVersion, 9),
		"depth 50":    append([]byte(metaMagic), formatVersion, 50),
	} {
		dir := filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
		s, err := Open(dir, Options{Depth: 8, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyMeta, meta) })
		s.Close()
		if _, err := Open(dir, Options{Depth: 8, MemTableSize: 1 << 20}); err == nil || !strings.Contains(err.Error(), "format") {
			t.Errorf("%s format record: %v", name, err)
		}
	}

	if _, err := Open(filepath.Join(base, "missing"), Options{ReadOnly: true}); err == nil {
		t.Error("read-only open of a missing directory succeeded")
	}
}

// TestOpenRefusesOddDepth: the tree is 4-ary, so a depth (index bits) must
// be even; an odd one is refused before anything is created.
func TestOpenRefusesOddDepth(t *testing.T) {
	for _, depth := range []int{1, 9, 31, 47, -2, 50} {
		dir := filepath.Join(t.TempDir(), "acc")
		s, err := Open(dir, Options{Depth: depth, MemTableSize: 1 << 20})
		if err == nil {
			s.Close()
			t.Errorf("depth %d accepted", depth)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("depth %d is not an even number in 2…48", depth)) {
			t.Errorf("depth %d: %v", depth, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("depth %d: Open created %s anyway", depth, dir)
		}
	}
	if MaxDepth%2 != 0 || MaxBucketLevels*2 > 16 {
		t.Fatalf("MaxDepth %d must be even and a bucket at most 2^16 leaves (%d levels)", MaxDepth, MaxBucketLevels)
	}
}

// TestEmptyGroupsNotStored: a group whose four children are empty has no
// record, in Badger or in the cache, and the tree stays equal to the
// reference after reopening.
func TestEmptyGroupsNotStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	s, dir := openTemp(t, 8)
	ref := newReference(8)
	b := Batch{Append: randomLeaves(rng, 70)}
	if _, err := s.ApplyBatch(b); err != nil {
		t.Fatal(err)
	}
	ref.apply(b)
	has := func(level int, parent uint64) bool {
		t.Helper()
		var found bool
		s.db.View(func(txn *badger.Txn) error {
			_, err := txn.Get(groupKey(level, parent))
			found = err == nil
			return nil
		})
		return found
	}
	if !has(0, 1) || !has(2, 1) || has(0, 18) {
		t.Fatal("groups (0, 1) and (2, 1) should be stored, (0, 18) not")
	}
	// Serials 4…7 are group (0, 1); 64…69 are everything under node (3, 1).
	b = Batch{Revoke: []uint64{4, 5, 6, 7, 64, 65, 66, 67, 68, 69}}
	if _, err := s.ApplyBatch(b); err != nil {
		t.Fatal(err)
	}
	ref.apply(b)
	if has(0, 1) || has(0, 16) || has(0, 17) || has(1, 4) || has(2, 1) {
		t.Fatal("a group of four empty children is still stored")
	}
	if !has(0, 0) || !has(3, 0) {
		t.Fatal("groups with a non-empty child went missing")
	}
	checkEqual(t, s, ref)
	s.Close()
	s2, err := Open(dir, Options{MemTableSize: 16 << 20, CacheFromLevel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	checkEqual(t, s2, ref)
	for _, serial := range []uint64{3, 8, 63} {
		p, err := s2.Path(serial)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.path(serial)
		for i := range want {
			if !p.Siblings[i].Equal(&want[i]) {
				t.Fatalf("serial %d after reopening: sibling %d differs", serial, i)
			}
		}
	}
}

func TestReadOnlyOpen(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s, dir := openTemp(t, 8)
	if _, err := s.Append(randomLeaves(rng, 5)...); err != nil {
		t.Fatal(err)
	}
	want := mustRoot(t, s)
	s.Close()
	ro, err := Open(dir, Options{ReadOnly: true, MemTableSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.Root()
	if err != nil || !got.Equal(&want) {
		t.Fatalf("read-only root: %v", err)
	}
	if _, err := ro.Append(randomLeaves(rng, 1)...); err == nil {
		t.Fatal("append through a read-only store succeeded")
	}
}

// TestReadersSeeConsistentRoots reads paths while batches are written: every
// path must fold to its own root, and that root must be the root after a
// whole number of batches.
func TestReadersSeeConsistentRoots(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	s, _ := openTemp(t, 10)
	ref := newReference(10)
	first := Batch{Append: randomLeaves(rng, 64)}
	if _, err := s.ApplyBatch(first); err != nil {
		t.Fatal(err)
	}
	ref.apply(first)
	var batches []Batch
	roots := map[fr.Element]bool{ref.root(): true}
	for range 20 {
		b := randomBatch(rng, uint64(len(ref.leaves)), 20, 10)
		batches = append(batches, b)
		ref.apply(b)
		roots[ref.root()] = true
	}
	done := make(chan error, 1)
	go func() {
		for _, b := range batches {
			if _, err := s.ApplyBatch(b); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads, seen := 0, map[fr.Element]bool{}
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		p, err := s.Path(uint64(reads % 64))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(); err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if !roots[p.Root] {
			t.Fatalf("read %d: root after no whole number of batches", reads)
		}
		seen[p.Root] = true
		reads++
	}
	t.Logf("%d reads saw %d distinct roots", reads, len(seen))
}

// TestBatchTooBigChangesNothing gives Badger a tiny transaction limit: the
// batch must fail with a clear error and leave the store as it was.
func TestBatchTooBigChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	dir := filepath.Join(t.TempDir(), "acc")
	s, err := Open(dir, Options{Depth: 16, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(randomLeaves(rng, 10)...); err != nil {
		t.Fatal(err)
	}
	before := mustRoot(t, s)
	_, err = s.Append(randomLeaves(rng, 5000)...)
	if !errors.Is(err, badger.ErrTxnTooBig) || !strings.Contains(err.Error(), "split it") {
		t.Fatalf("oversized batch: %v", err)
	}
	after := mustRoot(t, s)
	n := mustLeafCount(t, s)
	if !after.Equal(&before) || n != 10 {
		t.Fatalf("a refused batch changed the store (leaf count %d)", n)
	}
	if _, err := s.Append(randomLeaves(rng, 10)...); err != nil {
		t.Fatalf("a small batch after a refused one: %v", err)
	}
}

func TestOpenRefusesCorruptManifest(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	s, dir := openTemp(t, 8)
	if _, err := s.Append(randomLeaves(rng, 5)...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("not a manifest at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{Depth: 8, MemTableSize: 16 << 20})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("corrupt MANIFEST: %v", err)
	}
}
