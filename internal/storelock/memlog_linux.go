package storelock

import (
	"errors"
	"os"
	"syscall"
)

// seekData is SEEK_DATA (linux/fs.h).
const seekData = 3

// nextData returns the first offset at or after off that is not in a hole,
// and false when only holes follow.
func nextData(f *os.File, off int64) (int64, bool) {
	n, err := syscall.Seek(int(f.Fd()), off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return 0, false
	}
	if err != nil {
		return off, true // no hole information: read everything
	}
	return n, true
}
