package storelock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	bopts "github.com/dgraph-io/badger/v4/options"
)

// The subject of these tests is a store shaped like the verifier's request
// store: single-use entries with a TTL, taken (read and deleted) once. The
// spent key is the one whose return would accept a presentation twice.
const (
	spentKey = "request/spent"
	liveKey  = "request/live"
	nEntries = 300
)

// bigValue is stored in the value log (above the threshold set below);
// small values stay in the tables.
func bigValue(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 2000) }

func subjectOptions(dir string) badger.Options {
	return options(dir).WithValueThreshold(1 << 10).WithDetectConflicts(true)
}

// makeStore writes entries, spends one and closes, so that everything is in
// a table (Badger flushes the memtable on close) and the big values in the
// value log.
func makeStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(subjectOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	// A few transactions, so that the value log holds several entries
	// each and a synced store is quick to build.
	for start := 0; start < nEntries; start += 100 {
		err := Update(db, func(txn *badger.Txn) error {
			for i := start; i < start+100; i++ {
				v := []byte(fmt.Sprintf("small %d", i))
				if i%10 == 0 {
					v = bigValue(i)
				}
				if err := txn.SetEntry(badger.NewEntry([]byte(fmt.Sprintf("request/%04d", i)), v).WithTTL(time.Hour)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{spentKey, liveKey} {
		if err := Update(db, func(txn *badger.Txn) error { return txn.Set([]byte(k), []byte("doc")) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := Update(db, func(txn *badger.Txn) error { return txn.Delete([]byte(spentKey)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(ssts) == 0 {
		t.Fatal("no table written on close")
	}
	return dir
}

// readAll opens dir and reads every entry and value, as a store would. It
// returns what it read, or the first error from the open or the reads.
func readAll(dir string) (map[string][]byte, error) {
	db, err := Open(subjectOptions(dir))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	got := map[string][]byte{}
	err = View(db, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			got[string(it.Item().KeyCopy(nil))] = v
		}
		return nil
	})
	return got, err
}

// checkIntact fails unless got is exactly what makeStore wrote and kept.
func checkIntact(t *testing.T, got map[string][]byte) {
	t.Helper()
	if _, ok := got[spentKey]; ok {
		t.Fatal("the spent key came back")
	}
	if len(got) != nEntries+1 || string(got[liveKey]) != "doc" {
		t.Fatalf("read %d entries, want %d", len(got), nEntries+1)
	}
	for i := 0; i < nEntries; i += 10 {
		if !bytes.Equal(got[fmt.Sprintf("request/%04d", i)], bigValue(i)) {
			t.Fatalf("value %d differs", i)
		}
	}
}

// wantDamaged fails unless err wraps ErrDamaged and names dir without a
// stack trace.
func wantDamaged(t *testing.T, dir string, err error) {
	t.Helper()
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("err = %v, want ErrDamaged", err)
	}
	if !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("error %q does not name %s or carries a stack", err, dir)
	}
}

func onlyFile(t *testing.T, dir, glob string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, glob))
	if len(m) == 0 {
		t.Fatalf("no %s in %s", glob, dir)
	}
	return m[len(m)-1]
}

func TestIntactStoreReads(t *testing.T) {
	dir := makeStore(t)
	got, err := readAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkIntact(t, got)
}

func TestFlippedTableBitIsDamage(t *testing.T) {
	// Without verification, a flipped bit in a block cuts iteration short
	// silently and one in the footer panics in a goroutine of Badger's.
	// Positions: early in the data blocks, the middle, and the footer.
	for _, where := range []string{"start", "middle", "footer"} {
		t.Run(where, func(t *testing.T) {
			dir := makeStore(t)
			sst := onlyFile(t, dir, "*.sst")
			b, err := os.ReadFile(sst)
			if err != nil {
				t.Fatal(err)
			}
			pos := map[string]int{"start": 40, "middle": len(b) / 2, "footer": len(b) - 6}[where]
			b[pos] ^= 0x10
			if err := os.WriteFile(sst, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for range 2 { // refused every time, not once
				_, err := readAll(dir)
				wantDamaged(t, dir, err)
			}
		})
	}
}

func TestManifestLossIsDamage(t *testing.T) {
	// Every length the MANIFEST can be cut back to.
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(makeStore(t), manifestFile))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}()
	for n := int64(0); n < size; n++ {
		dir := makeStore(t)
		if err := os.Truncate(filepath.Join(dir, manifestFile), n); err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(dir); !errors.Is(err, ErrDamaged) {
			t.Fatalf("MANIFEST cut to %d of %d bytes: err = %v, want ErrDamaged", n, size, err)
		}
	}
	for _, how := range []string{"deleted", "truncated", "garbled", "emptied"} {
		t.Run(how, func(t *testing.T) {
			dir := makeStore(t)
			path := filepath.Join(dir, manifestFile)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			switch how {
			case "deleted":
				err = os.Remove(path)
			case "truncated":
				err = os.Truncate(path, fi.Size()-3)
			case "garbled":
				var b []byte
				if b, err = os.ReadFile(path); err == nil {
					b[len(b)-3] ^= 0xff
					err = os.WriteFile(path, b, 0o600)
				}
			case "emptied":
				err = os.Truncate(path, 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(dir)
			wantDamaged(t, dir, err)
			// Badger must not have run: the tables are still there for a
			// restore or an expert.
			if ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(ssts) == 0 {
				t.Fatal("the tables were deleted")
			}
		})
	}
}

func TestMissingTableIsDamage(t *testing.T) {
	dir := makeStore(t)
	if err := os.Remove(onlyFile(t, dir, "*.sst")); err != nil {
		t.Fatal(err)
	}
	_, err := readAll(dir)
	wantDamaged(t, dir, err)
}

func TestGarbageAfterValueLogIsIgnored(t *testing.T) {
	// What a crash mid-append leaves: the tail past the last whole entry is
	// dropped, and everything acknowledged is still there.
	dir := makeStore(t)
	f, err := os.OpenFile(onlyFile(t, dir, "*.vlog"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("garbage!"), 100))
	f.Close()
	got, err := readAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkIntact(t, got)
}

func TestValueLogDamage(t *testing.T) {
	for _, how := range []string{"truncated", "flipped"} {
		t.Run(how, func(t *testing.T) {
			dir := makeStore(t)
			vlog := onlyFile(t, dir, "*.vlog")
			b, err := os.ReadFile(vlog)
			if err != nil {
				t.Fatal(err)
			}
			if how == "truncated" {
				b = b[:len(b)-700]
			} else {
				b[len(b)/2] ^= 0x01
			}
			if err := os.WriteFile(vlog, b, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(dir)
			if err == nil {
				checkIntact(t, got) // a silent different answer fails here
				t.Fatal("damaged value log read without an error")
			}
			wantDamaged(t, dir, err)
		})
	}
}

func TestEmptyNewestValueLog(t *testing.T) {
	dir := makeStore(t)
	empty := filepath.Join(dir, "000099.vlog")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(dir)
	if err != nil {
		t.Fatalf("open with an empty newest value log: %v", err)
	}
	checkIntact(t, got)
}

// TestEmptyOlderValueLog: Badger deletes a value log by truncating it to
// zero and then removing it, and does so at every open for the log the
// previous open left empty; a kill in between leaves a zero-length log
// older than the newest. It was refused as damage (the crash suite met
// it): the store must open intact.
func TestEmptyOlderValueLog(t *testing.T) {
	dir := makeStore(t)
	if err := os.WriteFile(filepath.Join(dir, "000000.vlog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(dir)
	if err != nil {
		t.Fatalf("open with an empty older value log: %v", err)
	}
	checkIntact(t, got)
	if _, err := os.Stat(filepath.Join(dir, "000000.vlog")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the empty log was not removed: %v", err)
	}
}

func TestGuardRecoversPanics(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = View(db, func(txn *badger.Txn) error {
		panic("table index out of range") // any panic at the store boundary
	})
	wantDamaged(t, dir, err)
	plain := errors.New("plain")
	if err := Guard(db, func() error { return plain }); err != plain {
		t.Fatalf("Guard changed a plain error: %v", err)
	}
	if err := Update(db, func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
}

func TestOpenForcesDurableOptions(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(options(dir).WithSyncWrites(false).WithChecksumVerificationMode(bopts.NoVerification))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := db.Opts()
	if !o.SyncWrites || o.ChecksumVerificationMode != bopts.OnBlockRead || !o.VerifyValueChecksum {
		t.Fatalf("options not forced: sync %v, checksums %v, values %v", o.SyncWrites, o.ChecksumVerificationMode, o.VerifyValueChecksum)
	}
	prev := SetSyncWrites(false)
	defer SetSyncWrites(prev)
	db2, err := Open(options(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if db2.Opts().SyncWrites {
		t.Fatal("SetSyncWrites(false) not honoured")
	}
}

func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".tmp-123", ".tmp-abc", "keep.json", "x.tmp-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".tmp-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CleanTemp(dir, ".tmp-*"); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != ".tmp-dir,keep.json,x.tmp-1" {
		t.Fatalf("left %v", left)
	}
	if err := CleanTemp(filepath.Join(dir, "missing"), ".tmp-*"); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
	if err := CleanTemp(dir, "[bad"); err == nil {
		t.Fatal("bad pattern accepted")
	}
}
