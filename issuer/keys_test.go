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

	"github.com/yinzheng-id/yinzheng/circuits"
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
)

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
	for _, dir := range []string{smallDevKeysDir, smallOwnKeysDir} {
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
	if err := Init(dir, testPass, Options{Depth: keysTestDepth, CircuitKeys: own, KDF: fastKDF,
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
