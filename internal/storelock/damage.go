package storelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	bopts "github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
)

// ErrDamaged reports a store whose files are damaged: a table or value
// that fails its checksum, a missing or unreadable MANIFEST beside data
// files, a MANIFEST cut short, or a panic inside Badger on its files. The
// store is refused rather than read as a different (often empty) database;
// the remedy is to restore the directory from a backup.
var ErrDamaged = errors.New("store is damaged")

// syncWrites is on except while the cost of syncing is being measured.
var syncWrites atomic.Bool

func init() { syncWrites.Store(true) }

// SetSyncWrites turns Badger's SyncWrites on or off for the stores opened
// afterwards, and returns the previous setting. It exists only so that the
// cost of syncing can be measured in one run (the SyncCost benchmarks);
// nothing else calls it: a store that does not sync can report success for
// a write that a power cut undoes.
func SetSyncWrites(on bool) (previous bool) { return syncWrites.Swap(on) }

// Badger file names (badger/v4: manifest.go, value.go, memtable.go).
const (
	manifestFile = "MANIFEST"
	tableExt     = ".sst"
	vlogExt      = ".vlog"
	memExt       = ".mem"
)

// durable sets the options every store opens with, whatever its caller
// asked: writes synced before a commit returns, block checksums verified on
// every table read and value checksums on every value-log read.
//
// OnTableRead is deliberately not used: with it Badger's open logs a table
// whose checksum fails and carries on without it (levels.go, "Ignoring
// table"), which silently brings back whatever that table's tombstones had
// deleted. [Open] verifies every table itself before Badger sees them.
//
// The logger is replaced too: Badger logs, and does not return, a value it
// cannot read from the value log (iterator.go, yieldItemValue: "Don't
// return error if we cannot read the value"), handing the caller an empty
// value. [Guard] turns that log line into an error.
func durable(opts badger.Options) badger.Options {
	return opts.
		WithLogger(&readLog{}).
		WithSyncWrites(syncWrites.Load()).
		WithChecksumVerificationMode(bopts.OnBlockRead).
		WithVerifyValueChecksum(true)
}

// readLog is the logger of every store: silent (the stores log nothing of
// Badger's), except that it counts the value reads Badger failed.
type readLog struct {
	failed atomic.Uint64
}

// unreadable starts Badger's log line for a value it could not read.
const unreadable = "Unable to read: "

func (l *readLog) Errorf(format string, _ ...any) {
	if strings.HasPrefix(format, unreadable) {
		l.failed.Add(1)
	}
}
func (*readLog) Warningf(string, ...any) {}
func (*readLog) Infof(string, ...any)    {}
func (*readLog) Debugf(string, ...any)   {}

// damaged builds the ErrDamaged error for dir; what says what is wrong.
func damaged(dir, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s; restore the directory from a backup", ErrDamaged, dir, fmt.Sprintf(format, args...))
}

// Guard runs fn, a read or an update of db, and turns what Badger does on a
// damaged file into an error wrapping ErrDamaged that names the directory:
// a panic (recovered here, without its stack) or a checksum mismatch.
// Other errors pass through unchanged. A value that Badger could not read
// while fn ran (it logs those and returns an empty value) fails the call
// too, even if another goroutine's read met it: damage is not ignored.
func Guard(db *badger.DB, fn func() error) (err error) {
	opts := db.Opts()
	dir := opts.Dir
	log, _ := opts.Logger.(*readLog)
	var before uint64
	if log != nil {
		before = log.failed.Load()
	}
	defer func() {
		if r := recover(); r != nil {
			err = damaged(dir, "badger failed reading it (%v)", r)
		}
	}()
	err = fn()
	if log != nil && log.failed.Load() != before {
		return damaged(dir, "a value in the value log failed its checksum or lies past the log's end")
	}
	if err != nil && errors.Is(err, y.ErrChecksumMismatch) && !errors.Is(err, ErrDamaged) {
		err = damaged(dir, "%v", err)
	}
	return err
}

// View is db.View under [Guard].
func View(db *badger.DB, fn func(txn *badger.Txn) error) error {
	return Guard(db, func() error { return db.View(fn) })
}

// Update is db.Update under [Guard].
func Update(db *badger.DB, fn func(txn *badger.Txn) error) error {
	return Guard(db, func() error { return db.Update(fn) })
}

// checkFiles looks at a Badger directory before Badger opens it, and
// refuses what Badger would otherwise open as a different database, or
// panic on in a goroutine of its own where no caller can recover:
//
//   - data files (tables, value logs, memtable logs) without a MANIFEST:
//     Badger would create an empty MANIFEST and delete every table;
//   - a MANIFEST that does not replay, or lists a table that is missing;
//   - a MANIFEST whose last record is cut short while tables it does not
//     list remain: it lost records, and Badger would delete those tables
//     (one torn record alone is what a crash during an append leaves, and
//     the tables it described are rebuilt from the memtable log), or that
//     lists no table at all while tables remain and no memtable log does;
//   - a table that fails its checksums (every block and the index);
//   - a memtable log (.mem) whose replay would stop at damage rather than
//     at what a crash leaves (see checkMemLog).
//
// It also removes the zero-length value logs and memtable logs a kill
// leaves (see checkVlogs): they hold nothing, and Badger's open fails on
// some of them.
func checkFiles(opts badger.Options) error {
	dir := opts.Dir
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var (
		hasManifest bool
		data        []string
		tables      = map[uint64]string{}
		vlogs       []uint64
		mems        []string
	)
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == manifestFile:
			hasManifest = true
		case strings.HasSuffix(name, tableExt):
			data = append(data, name)
			if id, ok := table.ParseFileID(name); ok {
				tables[id] = name
			}
		case strings.HasSuffix(name, vlogExt):
			data = append(data, name)
			if id, err := strconv.ParseUint(strings.TrimSuffix(name, vlogExt), 10, 32); err == nil {
				vlogs = append(vlogs, id)
			}
		case strings.HasSuffix(name, memExt):
			data = append(data, name)
			mems = append(mems, name)
		}
	}
	if !hasManifest {
		if len(data) > 0 {
			return damaged(dir, "no MANIFEST beside %d data files (%s…)", len(data), data[0])
		}
		return nil
	}
	if err := checkVlogs(dir, vlogs, opts.ReadOnly); err != nil {
		return err
	}
	for _, name := range mems {
		if err := checkMemLog(dir, name, opts.ReadOnly); err != nil {
			return err
		}
	}
	f, err := os.Open(filepath.Join(dir, manifestFile))
	if err != nil {
		return damaged(dir, "MANIFEST: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return damaged(dir, "MANIFEST: %v", err)
	}
	m, end, err := replayManifest(f, opts)
	if err != nil {
		return damaged(dir, "MANIFEST does not replay (%v)", err)
	}
	var unlisted []uint64
	for id := range tables {
		if _, ok := m.Tables[id]; !ok {
			unlisted = append(unlisted, id)
		}
	}
	if end < fi.Size() && len(unlisted) > 0 {
		sort.Slice(unlisted, func(i, j int) bool { return unlisted[i] < unlisted[j] })
		return damaged(dir, "MANIFEST is cut short (%d of %d bytes replay) and does not list %d tables (%s…)",
			end, fi.Size(), len(unlisted), tables[unlisted[0]])
	}
	if len(m.Tables) == 0 && len(tables) > 0 && len(mems) == 0 {
		// Nothing but a MANIFEST cut back to a record boundary (or to its
		// header) lists no table while tables remain and no memtable log
		// could rebuild them: Badger would open an empty database.
		return damaged(dir, "MANIFEST lists no table, yet %d remain (%s…) and no memtable log: it lost records",
			len(tables), tables[unlisted[0]])
	}
	ids := make([]uint64, 0, len(m.Tables))
	for id := range m.Tables {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		name, ok := tables[id]
		if !ok {
			return damaged(dir, "MANIFEST lists table %s, which is missing", table.IDToFilename(id))
		}
		if err := verifyTable(filepath.Join(dir, name), id, m.Tables[id]); err != nil {
			return damaged(dir, "%s: %v", name, err)
		}
	}
	return nil
}

// replayManifest is badger.ReplayManifestFile with its panics recovered.
func replayManifest(f *os.File, opts badger.Options) (m badger.Manifest, end int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return badger.ReplayManifestFile(f, opts.ExternalMagicVersion, opts)
}

// checkVlogs removes, in a read-write open, every zero-length value log. A
// kill leaves one in two ways: between creating the newest log and sizing
// it, and while Badger deletes a log (badger's logFile.Delete, ristretto's
// MmapFile.Delete: it truncates the file to zero, then removes it), which
// it does at every open for the log the last open created and left empty.
// Badger's open fails on the first; a zero-length file holds no value in
// either case (a value pointer into a removed log fails its read, which
// [Guard] reports).
func checkVlogs(dir string, fids []uint64, readOnly bool) error {
	sort.Slice(fids, func(i, j int) bool { return fids[i] < fids[j] })
	removed := false
	for _, fid := range fids {
		path := filepath.Join(dir, fmt.Sprintf("%06d%s", fid, vlogExt))
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			continue
		}
		if readOnly {
			// Badger's read-only open fails on it with its own error; only a
			// writer may tidy the directory.
			continue
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("storelock: removing the empty value log %s: %w", path, err)
		}
		removed = true
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

// verifyTable reads a whole table and checks the checksums of its index and
// of every block. Badger's own verification panics on a block that fails
// (table.go, VerifyChecksum dereferences the nil block), so it runs here,
// where the panic can be recovered.
func verifyTable(path string, id uint64, tm badger.TableManifest) (err error) {
	if tm.KeyID != 0 {
		// Encrypted tables need the key registry; no store here encrypts.
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("checksum or structure check failed (%v)", r)
		}
	}()
	t, err := table.OpenInMemoryTable(data, id, &table.Options{
		ChkMode:     bopts.OnTableRead,
		Compression: tm.Compression,
	})
	if err != nil {
		return err
	}
	// In-memory tables hold no file; dropping t is enough (DecrRef would
	// try to delete a file).
	return t.VerifyChecksum()
}

// syncDir makes a removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CleanTemp removes the regular files in dir (not below it) whose names
// match pattern (filepath.Match syntax, ".tmp-*" say): the temporary files
// an interrupted atomic write leaves behind. The caller must hold whatever
// excludes other writers of dir (the store's lock), or it could remove a
// file another process is about to rename. A missing dir is not an error.
func CleanTemp(dir, pattern string) error {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return fmt.Errorf("storelock: temp pattern %q: %w", pattern, err)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storelock: cleaning %s: %w", dir, err)
	}
	removed := false
	for _, e := range entries {
		if ok, _ := filepath.Match(pattern, e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("storelock: removing temp file: %w", err)
		}
		removed = true
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}
