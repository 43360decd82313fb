package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/ceremony"
	"github.com/yinzheng-id/yinzheng/publication"
)

// keysTestDepth keeps the circuit small (its setup still costs seconds:
// the attribute and pseudonym hashes do not shrink with the depth).
const keysTestDepth = 4

// smallDevKeys sets up the development keys of the depth-4 circuit once,
// in smallDevKeysDir; smallOwnKeys, keys of the same circuit from a fresh
// random setup (ceremony-labelled keys no one can recompute), in
// smallOwnKeysDir.
var (
	smallDevKeysDir string
	smallDevKeys    = sync.OnceValues(setupSmallDevKeys)
	smallOwnKeysDir string
	smallOwnKeys    = sync.OnceValues(setupSmallOwnKeys)
	ceremonyWorkDir string
	ceremonyKeys    = sync.OnceValues(runTinyCeremony)
)

// runTinyCeremony runs a ceremony of the depth-4 circuit with one
// contribution a phase and returns the directory of its keys and
// transcript.
func runTinyCeremony() (string, error) {
	dir, err := os.MkdirTemp("", "yinzheng-issuer-ceremony-")
	if err != nil {
		return "", err
	}
	ceremonyWorkDir = dir
	work, out := filepath.Join(dir, "ceremony"), filepath.Join(dir, "keys")
	if err := ceremony.Init(work, keysTestDepth, nil); err != nil {
		return "", err
	}
	if _, err := ceremony.Contribute(work, nil); err != nil {
		return "", err
	}
	if err := ceremony.Next(work, []byte("issuer test beacon 1"), nil); err != nil {
		return "", err
	}
	if _, err := ceremony.Contribute(work, nil); err != nil {
		return "", err
	}
	if _, err := ceremony.Finalize(work, []byte("issuer test beacon 2"), out, nil); err != nil {
		return "", err
	}
	return out, nil
}

func mustCeremonyKeys(t *testing.T) string {
	t.Helper()
	dir, err := ceremonyKeys()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func setupSmallOwnKeys() (string, error) {
	dir, err := os.MkdirTemp("", "yinzheng-issuer-ownkeys-")
	if err != nil {
		return "", err
	}
	smallOwnKeysDir = dir
	c, err := circuits.Compile(keysTestDepth)
	if err != nil {
		return "", err
	}
	pk, vk, err := groth16.Setup(c.CS)
	if err != nil {
		return "", err
	}
	k, err := circuits.NewCeremonyKeys(c, pk, vk)
	if err != nil {
		return "", err
	}
	return dir, k.Save(dir)
}

func mustSmallOwnKeys(t *testing.T) string {
	t.Helper()
	dir, err := smallOwnKeys()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func setupSmallDevKeys() (string, error) {
	dir, err := os.MkdirTemp("", "yinzheng-issuer-devkeys-")
	if err != nil {
		return "", err
	}
	smallDevKeysDir = dir
	c, err := circuits.Compile(keysTestDepth)
	if err != nil {
		return "", err
	}
	if _, err := circuits.LoadOrSetupDevelopment(dir, c, nil); err != nil {
		return "", err
	}
	return dir, nil
}

// TestMain removes the keys smallDevKeys set up.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{smallDevKeysDir, smallOwnKeysDir, ceremonyWorkDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

func mustSmallDevKeys(t *testing.T) string {
	t.Helper()
	dir, err := smallDevKeys()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyKeys copies a keys directory and rewrites its manifest with edit.
func copyKeys(t *testing.T, from string, edit func(m map[string]any)) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "manifest.json" && edit != nil {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if data, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func asCeremony(m map[string]any) { m["setup"] = circuits.SetupCeremony }

func wantEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Fatalf("a refused init left %d entries in %s", len(entries), dir)
	}
}

func TestInitNeedsOneSourceOfKeys(t *testing.T) {
	for name, o := range map[string]Options{
		"none":                 {},
		"ceremony and dev":     {CircuitKeys: "k", DevelopmentKeys: true},
		"ceremony and skip":    {CircuitKeys: "k", SkipCircuitKeys: true},
		"development and skip": {DevelopmentKeys: true, SkipCircuitKeys: true},
		"dev cache, no choice": {DevelopmentKeysDir: "k"},
	} {
		o.KDF = fastKDF
		dir := filepath.Join(t.TempDir(), "issuer")
		if err := Init(dir, testPass, o); !errors.Is(err, ErrKeysChoice) {
			t.Errorf("%s: %v, want ErrKeysChoice", name, err)
		}
		wantEmptyDir(t, dir)
	}
}

// TestInitRefusesCeremonyKeys: each check on ceremony keys, broken alone.
func TestInitRefusesCeremonyKeys(t *testing.T) {
	dev, own := mustSmallDevKeys(t), mustSmallOwnKeys(t)
	for name, tc := range map[string]struct {
		keys  string
		depth int
	}{
		// The manifest says ceremony, the content is the development
		// setup's.
		"development keys relabelled":                  {copyKeys(t, dev, asCeremony), keysTestDepth},
		"development keys labelled as such":            {dev, keysTestDepth},
		"keys of another depth":                        {own, keysTestDepth + 2},
		"keys of another circuit, manifest says depth": {copyKeys(t, own, func(m map[string]any) { m["depth"] = keysTestDepth + 2 }), keysTestDepth + 2},
		"a proving key that is not the manifest's":     {tamperedKeys(t, own, "proving.key"), keysTestDepth},
		"a verifying key that is not the manifest's":   {tamperedKeys(t, own, "verifying.key"), keysTestDepth},
		"no keys at all":                               {t.TempDir(), keysTestDepth},
		"a transcript named and missing":               {copyKeys(t, own, func(m map[string]any) { m["transcript_digest"] = "zNotHere" }), keysTestDepth},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "issuer")
			err := Init(dir, testPass, Options{Depth: tc.depth, CircuitKeys: tc.keys, KDF: fastKDF})
			if !errors.Is(err, ErrCircuitKeys) {
				t.Fatalf("init: %v, want ErrCircuitKeys", err)
			}
			t.Log(err)
			wantEmptyDir(t, dir)
		})
	}
}

// tamperedKeys copies a keys directory with one byte of file changed.
func tamperedKeys(t *testing.T, from, file string) string {
	t.Helper()
	dir := copyKeys(t, from, nil)
	p := filepath.Join(dir, file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInitCeremonyKeys: keys from a setup of their own, for this circuit
// and depth, are installed and named in issuer.json; without a transcript
// there is none to publish.
func TestInitCeremonyKeys(t *testing.T) {
	own := mustSmallOwnKeys(t)
	dir := filepath.Join(t.TempDir(), "issuer")
	var stages []string
	// Without a transcript the keys need an explicit opt-in.
	if err := Init(dir, testPass, Options{Depth: keysTestDepth, CircuitKeys: own, KDF: fastKDF}); !errors.Is(err, ErrCircuitKeys) {
		t.Fatalf("keys without a transcript, not accepted explicitly: %v, want ErrCircuitKeys", err)
	}
	if err := Init(dir, testPass, Options{Depth: keysTestDepth, CircuitKeys: own, WithoutTranscript: true, KDF: fastKDF,
		Progress: func(s string) { stages = append(stages, s) }}); err != nil {
		t.Fatal(err)
	}
	want, err := circuits.ReadManifest(own)
	if err != nil {
		t.Fatal(err)
	}
	got, err := circuits.ReadManifest(filepath.Join(dir, publicDir, circuitDir))
	if err != nil || got.CircuitID != want.CircuitID || got.Setup != circuits.SetupCeremony {
		t.Fatalf("published manifest %+v, %v; want circuit %s", got, err, want.CircuitID)
	}
	iss, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if iss.Metadata().CircuitID != want.CircuitID {
		t.Fatalf("issuer.json names circuit %s, want %s", iss.Metadata().CircuitID, want.CircuitID)
	}
	for _, name := range []string{publication.ManifestName, publication.VerifyingKeyName, publication.ProvingKeyName} {
		published, err := iss.PublicFile(name)
		if err != nil {
			t.Fatal(err)
		}
		given, err := os.ReadFile(filepath.Join(own, filepath.Base(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(published, given) {
			t.Fatalf("%s is published with other bytes than the ceremony's", name)
		}
	}
	if _, err := iss.PublicFile(publication.TranscriptName); !errors.Is(err, publication.ErrNotFound) {
		t.Fatalf("a transcript was published for keys without one: %v", err)
	}
	if !strings.Contains(strings.Join(stages, "\n"), "no transcript.bin") {
		t.Fatalf("init did not say that the keys come without a transcript: %q", stages)
	}
}

// TestInitVerifiesTheTranscript: the keys of a ceremony are installed after
// their transcript verifies, and the transcript is published beside them.
func TestInitVerifiesTheTranscript(t *testing.T) {
	if publication.TranscriptName != circuitDir+"/"+ceremony.TranscriptFile {
		t.Fatalf("the published transcript %s is not the ceremony's %s", publication.TranscriptName, ceremony.TranscriptFile)
	}
	keys := mustCeremonyKeys(t)
	dir := filepath.Join(t.TempDir(), "issuer")
	var stages []string
	if err := Init(dir, testPass, Options{Depth: keysTestDepth, CircuitKeys: keys, KDF: fastKDF,
		Progress: func(s string) { stages = append(stages, s) }}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(stages, "\n"), "transcript verifies: 2 contributions") {
		t.Fatalf("init did not verify the transcript: %q", stages)
	}
	iss, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	published, err := iss.PublicFile(publication.TranscriptName)
	if err != nil {
		t.Fatal(err)
	}
	given, err := os.ReadFile(filepath.Join(keys, ceremony.TranscriptFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(published, given) {
		t.Fatal("the published transcript is not the ceremony's")
	}
	// A verifier can check the published keys against the published
	// transcript.
	if _, err := ceremony.VerifyKeys(filepath.Join(dir, publicDir, circuitDir), nil); err != nil {
		t.Fatalf("the publication does not verify: %v", err)
	}
}

// TestInitRefusesATamperedTranscript: one byte of the transcript changed,
// with or without the manifest's transcript digest following it, and init
// refuses.
func TestInitRefusesATamperedTranscript(t *testing.T) {
	keys := mustCeremonyKeys(t)
	for name, digest := range map[string]bool{"manifest digest unchanged": false, "manifest digest updated": true} {
		t.Run(name, func(t *testing.T) {
			bad := copyKeys(t, keys, nil)
			p := filepath.Join(bad, ceremony.TranscriptFile)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if digest {
				// The transcript is then judged by its content: its
				// contributions no longer check.
				d := sm3.Sum(data)
				id, err := multibase.Encode(multibase.Base58BTC, d[:])
				if err != nil {
					t.Fatal(err)
				}
				bad = copyKeys(t, bad, func(m map[string]any) { m["transcript_digest"] = id })
			}
			dir := filepath.Join(t.TempDir(), "issuer")
			err = Init(dir, testPass, Options{Depth: keysTestDepth, CircuitKeys: bad, KDF: fastKDF})
			if !errors.Is(err, ErrCircuitKeys) {
				t.Fatalf("init with a tampered transcript: %v, want ErrCircuitKeys", err)
			}
			if !digest && !errors.Is(err, ceremony.ErrTranscriptMismatch) {
				t.Fatalf("refused for another reason than the transcript's digest: %v", err)
			}
			content := errors.Is(err, ceremony.ErrInvalidContribution) || errors.Is(err, ceremony.ErrMalformed) || errors.Is(err, ceremony.ErrBeacon)
			if digest && !content {
				t.Fatalf("not refused on the transcript's content: %v", err)
			}
			t.Log(err)
			wantEmptyDir(t, dir)
		})
	}
}

// TestInitDevelopmentKeys: --development-keys installs the cached keys.
func TestInitDevelopmentKeys(t *testing.T) {
	dev := mustSmallDevKeys(t)
	dir := filepath.Join(t.TempDir(), "issuer")
	if err := Init(dir, testPass, Options{Depth: keysTestDepth, DevelopmentKeys: true, DevelopmentKeysDir: dev, KDF: fastKDF}); err != nil {
		t.Fatal(err)
	}
	m, err := circuits.ReadManifest(filepath.Join(dir, publicDir, circuitDir))
	if err != nil || m.Setup != circuits.SetupDevelopment || m.Depth != keysTestDepth {
		t.Fatalf("published manifest %+v, %v", m, err)
	}
	iss, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if iss.Metadata().CircuitID != m.CircuitID {
		t.Fatalf("issuer.json names circuit %s, the keys are %s", iss.Metadata().CircuitID, m.CircuitID)
	}
}
