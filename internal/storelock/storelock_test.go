package storelock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func options(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(8 << 20).WithValueLogFileSize(8 << 20)
}

func TestOpenTwiceNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(options(dir))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: err = %v, want ErrLocked", err)
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid()), "stop the service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Read-only opens take a shared lock, which the writer's exclusive lock
	// also excludes.
	if _, err := Open(options(dir).WithReadOnly(true)); !errors.Is(err, ErrLocked) {
		t.Fatalf("read-only open of a held store: err = %v, want ErrLocked", err)
	}
}

func TestLockedErrorNamesAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, lockFile), []byte("4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := lockedError(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process 4242") {
		t.Fatalf("err = %v", err)
	}
	// An unreadable or garbled LOCK file still gives the sentinel, without a pid.
	if err := os.WriteFile(filepath.Join(dir, lockFile), []byte("not a pid"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := lockedError(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenAfterCloseAndOtherErrors(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(options(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Closed: the lock is free, and the probe must not have kept it.
	db, err = Open(options(dir))
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	db.Close()
	// A failure that is not a lock keeps Badger's error.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(options(file)); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("a file as directory: err = %v, want Badger's error, not ErrLocked", err)
	}
}
