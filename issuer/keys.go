package issuer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// checkNotDevelopment refuses development keys by their content: the
// development setup is deterministic (circuits.DevelopmentBeacon), so its
// circuit id at every depth is known (circuits.IsDevelopmentCircuit), and
// a manifest that says "ceremony" over such keys is refused. circuits.Load
// without AllowDevelopment already refuses them; the issuer says so itself
// because publishing forgeable keys as production ones is the one mistake
// init exists to prevent.
func checkNotDevelopment(keys *circuits.Keys) error {
	if err := circuits.CheckSetup(keys.Manifest, false); err != nil {
		return fmt.Errorf("%w: %v", ErrCircuitKeys, err)
	}
	return nil
}

// verifyTranscript verifies the ceremony transcript of keysDir.
func verifyTranscript(keysDir string, progress func(string)) error {
	return fmt.Errorf("%w: %s has a ceremony transcript and this build cannot verify transcripts yet", ErrCircuitKeys, keysDir)
}

// copyFileAtomic copies src (at most limit bytes) to dst through a
// temporary file and a rename.
func copyFileAtomic(src, dst string, limit int64) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	tmp := f.Name()
	n, err := io.Copy(f, io.LimitReader(in, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%s is larger than %d bytes", src, limit)
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("issuer: copying %s: %w", src, err)
	}
	return nil
}
