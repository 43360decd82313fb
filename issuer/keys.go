package issuer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/ceremony"
	"github.com/yinzheng-id/yinzheng/publication"
)

// installCircuitKeys installs the ceremony keys of opts.CircuitKeys, or the
// development keys, into DIR/public/circuit and returns the circuit id.
func installCircuitKeys(dir string, depth int, opts Options) (string, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if opts.DevelopmentKeys && opts.DevelopmentKeysDir == "" {
		return "", errors.New("issuer: no development keys directory (Options.DevelopmentKeysDir)")
	}
	progress(fmt.Sprintf("compiling the presentation circuit (depth %d)", depth))
	compiled, err := circuits.Compile(depth)
	if err != nil {
		return "", fmt.Errorf("issuer: compiling the circuit: %w", err)
	}
	out := filepath.Join(dir, publicDir, circuitDir)
	if opts.CircuitKeys != "" {
		return installCeremonyKeys(opts.CircuitKeys, out, compiled, opts.WithoutTranscript, progress)
	}
	progress("loading development keys from " + opts.DevelopmentKeysDir + " (set up once if missing)")
	keys, err := circuits.LoadOrSetupDevelopment(opts.DevelopmentKeysDir, compiled, progress)
	if err != nil {
		return "", fmt.Errorf("issuer: circuit keys: %w", err)
	}
	progress("publishing the circuit keys")
	if err := keys.Save(out); err != nil {
		return "", fmt.Errorf("issuer: saving the circuit keys: %w", err)
	}
	return keys.Manifest.CircuitID, nil
}

// The files of a keys directory: the published names without "circuit/".
var (
	manifestFile     = path.Base(publication.ManifestName)
	verifyingKeyFile = path.Base(publication.VerifyingKeyName)
	provingKeyFile   = path.Base(publication.ProvingKeyName)
	transcriptFile   = path.Base(publication.TranscriptName)
)

// installCeremonyKeys copies the ceremony keys of keysDir into out
// (DIR/public/circuit) and checks the copies, so that what is checked is
// what is published, whatever happens to keysDir meanwhile: the depth; the
// keys against the circuit compiled here and their manifest (circuits.Load);
// not development keys, by content; and the transcript, when there is one,
// verified and yielding exactly these keys. A manifest that names a
// transcript needs it. The caller (Init) removes out on failure.
func installCeremonyKeys(keysDir, out string, compiled *circuits.Compiled, withoutTranscript bool, progress func(string)) (string, error) {
	progress("copying the ceremony keys from " + keysDir)
	files := []struct {
		name  string
		limit int64
	}{
		{manifestFile, publication.MaxMetadataSize},
		{verifyingKeyFile, publication.MaxVerifyingKeySize},
		{provingKeyFile, publication.MaxProvingKeySize},
		{transcriptFile, publication.MaxTranscriptSize},
	}
	hasTranscript := true
	for _, f := range files {
		err := copyFileAtomic(filepath.Join(keysDir, f.name), filepath.Join(out, f.name), f.limit)
		switch {
		case f.name == transcriptFile && errors.Is(err, fs.ErrNotExist):
			hasTranscript = false
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("%w: %s has no %s", ErrCircuitKeys, keysDir, f.name)
		case err != nil:
			return "", err
		}
	}

	progress("checking the ceremony keys")
	m, err := circuits.ReadManifest(out)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCircuitKeys, err)
	}
	if m.Depth != compiled.Depth {
		return "", fmt.Errorf("%w: the keys are for depth %d, this issuer's tree has depth %d", ErrCircuitKeys, m.Depth, compiled.Depth)
	}
	// Load checks the circuit digest against the circuit compiled here and
	// the keys against the manifest; it refuses development keys.
	keys, err := circuits.Load(out, compiled, circuits.LoadOptions{})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCircuitKeys, err)
	}
	if err := checkNotDevelopment(keys); err != nil {
		return "", err
	}
	switch {
	case hasTranscript:
		if err := verifyTranscript(out, compiled, m, progress); err != nil {
			return "", err
		}
	case m.TranscriptDigest != "":
		return "", fmt.Errorf("%w: the manifest names a ceremony transcript (%s) and %s has no %s", ErrCircuitKeys, m.TranscriptDigest, keysDir, transcriptFile)
	case !withoutTranscript:
		return "", fmt.Errorf("%w: %s has no %s, so nothing shows that the keys' randomness is unknown; install the ceremony's transcript beside them, or accept keys without one explicitly (Options.WithoutTranscript, --without-transcript)", ErrCircuitKeys, keysDir, transcriptFile)
	default:
		progress("no " + transcriptFile + " beside the keys (accepted explicitly): verifiers cannot check the ceremony themselves")
	}
	return m.CircuitID, nil
}

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

// verifyTranscript verifies the ceremony transcript beside the keys in dir
// (ceremony.VerifyKeys: the transcript's digest is the manifest's, every
// contribution checks against the state before it, both beacons' seals
// recompute, and the result is exactly these keys) and that it is the
// ceremony of the circuit compiled here. The refusal wraps both
// ErrCircuitKeys and the ceremony's sentinel.
func verifyTranscript(dir string, compiled *circuits.Compiled, m circuits.Manifest, progress func(string)) error {
	progress("verifying the ceremony transcript (every contribution, both beacons, the keys it yields)")
	r, err := ceremony.VerifyKeys(dir, progress)
	if err != nil {
		return fmt.Errorf("%w: the ceremony transcript: %w", ErrCircuitKeys, err)
	}
	if !r.Valid || r.Depth != compiled.Depth || r.CircuitDigest != compiled.Digest || r.CircuitID != m.CircuitID {
		return fmt.Errorf("%w: the transcript is of circuit %s (depth %d, digest %s), the keys are %s for depth %d, digest %s",
			ErrCircuitKeys, r.CircuitID, r.Depth, r.CircuitDigest, m.CircuitID, compiled.Depth, compiled.Digest)
	}
	progress(fmt.Sprintf("the ceremony transcript verifies: %d contributions", len(r.Contributions)))
	return nil
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
