// Package storelock opens Badger databases and explains the one failure an
// operator meets most: a directory already opened by another process.
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
)

// ErrLocked reports a store directory that another process (or another
// open store in this process) holds.
var ErrLocked = errors.New("store is in use")

// lockFile is the name of the file in which Badger records the holder's pid
// (badger/v4 db.go, lockFile).
const lockFile = "LOCK"

// Open is badger.Open with a clear error for a held directory lock.
func Open(opts badger.Options) (*badger.DB, error) {
	db, err := badger.Open(opts)
	if err == nil {
		return db, nil
	}
	if held, known := lockHeld(opts.Dir, opts.ReadOnly); known && held {
		return nil, lockedError(opts.Dir)
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
