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
// verifying key, hence its circuit id, is known for every circuit. A
// manifest that says "ceremony" over such keys is refused.
func checkNotDevelopment(keys *circuits.Keys, compiled *circuits.Compiled, opts Options) error {
	devID, err := developmentCircuitID(compiled, opts)
	if err != nil {
		return err
	}
	if keys.Manifest.CircuitID == devID {
		return fmt.Errorf("%w: these are the development keys of this circuit (their setup randomness is public), whatever their manifest says", ErrCircuitKeys)
	}
	return nil
}

// developmentCircuitID returns the circuit id of the development keys of
// compiled: from the development keys cache when it holds them, otherwise
// by running the deterministic development setup.
func developmentCircuitID(compiled *circuits.Compiled, opts Options) (string, error) {
	if opts.DevelopmentKeysDir != "" {
		if k, err := circuits.Load(opts.DevelopmentKeysDir, compiled, circuits.LoadOptions{AllowDevelopment: true, VerifyingOnly: true}); err == nil &&
			k.Manifest.Setup == circuits.SetupDevelopment {
			return k.Manifest.CircuitID, nil
		}
	}
	k, err := circuits.DevelopmentSetup(compiled, opts.Progress)
	if err != nil {
		return "", fmt.Errorf("issuer: recomputing the development keys to tell them apart: %w", err)
	}
	return k.Manifest.CircuitID, nil
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
