// Package storelock opens every Badger database of this module, so that
// all of them are durable in the same way (see [Open]: writes synced,
// checksums verified, damage refused with [ErrDamaged], panics on damaged
// files recovered into errors), and explains the one failure an operator
// meets most: a directory already opened by another process.
//
// Badger takes an exclusive flock(2) on its directory and writes the
// holder's process id into the directory's LOCK file. Its own error for a
// held lock ("Cannot acquire directory lock … Another process is using this
// Badger database.") names neither the process nor what to do, and does not
// wrap anything a caller can test. [Open] probes the lock after a failed
// open and, when it is held, returns an error that wraps [ErrLocked], names
// the holding process and says to stop it first.
package storelock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/y"
)

// ErrLocked reports a store directory that another process (or another
// open store in this process) holds.
var ErrLocked = errors.New("store is in use")

// lockFile is the name of the file in which Badger records the holder's pid
// (badger/v4 db.go, lockFile).
const lockFile = "LOCK"

// Open is badger.Open for every store of this module. It forces the
// options that keep a store durable (SyncWrites, block and value checksums
// on every read), refuses a directory held by another process with
// [ErrLocked], and a damaged one with [ErrDamaged] (see checkFiles) before
// Badger reads it; a panic inside badger.Open becomes an ErrDamaged error
// that names the directory. Reads and updates of the returned database go
// through [View], [Update] or [Guard].
func Open(opts badger.Options) (db *badger.DB, err error) {
	if !opts.InMemory {
		// Probe the lock first: the files of a store that another process
		// is writing are not ours to judge (a MANIFEST mid-append looks cut
		// short).
		if held, known := lockHeld(opts.Dir, opts.ReadOnly); known && held {
			return nil, lockedError(opts.Dir)
		}
		if err := checkFiles(opts); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, damaged(opts.Dir, "badger failed opening it (%v)", r)
		}
	}()
	db, err = badger.Open(durable(opts))
	if err == nil {
		return db, nil
	}
	if held, known := lockHeld(opts.Dir, opts.ReadOnly); known && held {
		return nil, lockedError(opts.Dir)
	}
	if errors.Is(err, y.ErrChecksumMismatch) {
		return nil, damaged(opts.Dir, "%v", err)
	}
	return nil, err
}

// lockedError names the directory, the holder when Badger recorded it, and
// what to do.
func lockedError(dir string) error {
	holder := "another process"
	if pid, ok := holderPID(dir); ok {
		if pid == os.Getpid() {
			holder = fmt.Sprintf("this process (pid %d) through another open store", pid)
		} else {
			holder = fmt.Sprintf("process %d", pid)
		}
	}
	return fmt.Errorf("%w: %s is locked by %s; stop the service or command using it first (or go through the running service's HTTP API)",
		ErrLocked, dir, holder)
}

// holderPID reads the pid Badger wrote into dir/LOCK. The file is advisory
// (Badger overwrites it on every open), so it only names the holder; the
// flock probe decides whether the directory is held.
func holderPID(dir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(dir, lockFile))
	if err != nil || len(data) > 32 {
		return 0, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}
