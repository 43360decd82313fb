//go:build unix

package storelock

import (
	"errors"
	"os"
	"syscall"
)

// lockHeld probes the flock Badger takes on dir: exclusive for a
// read-write open, shared for a read-only one. known is false when the probe
// itself could not run (no such directory, say), so the caller keeps
// Badger's own error.
func lockHeld(dir string, readOnly bool) (held, known bool) {
	f, err := os.Open(dir)
	if err != nil {
		return false, false
	}
	defer f.Close()
	how := syscall.LOCK_EX | syscall.LOCK_NB
	if readOnly {
		how = syscall.LOCK_SH | syscall.LOCK_NB
	}
	err = syscall.Flock(int(f.Fd()), how)
	if err == nil {
		// Free after all: release at once (closing f would too).
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, true
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, true
	}
	return false, false
}
