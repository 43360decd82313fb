// Package atomicfile replaces a file so that a reader or a crash sees the
// old content or the new, never a mix: the data goes to a temporary file
// beside the target (named after it, ".tmp" and a random suffix), is synced,
// and is renamed over the target.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data. On failure the temporary file is removed
// and path is left as it was.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
