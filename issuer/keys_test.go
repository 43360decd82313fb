package issuer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// keysTestDepth keeps the circuit small (its setup still costs seconds:
// the attribute and pseudonym hashes do not shrink with the depth).
const keysTestDepth = 4

// smallDevKeys sets up the development keys of the depth-4 circuit once,
// in smallDevKeysDir.
var (
	smallDevKeysDir string
	smallDevKeys    = sync.OnceValues(setupSmallDevKeys)
)

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
	if smallDevKeysDir != "" {
		os.RemoveAll(smallDevKeysDir)
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
	dev := mustSmallDevKeys(t)
	for name, tc := range map[string]struct {
		keys  string
		depth int
		cache string // Options.DevelopmentKeysDir
	}{
		// The manifest says ceremony, the content is the development
		// setup's: told apart from the cache, or by recomputing it.
		"development keys relabelled, from the cache":  {copyKeys(t, dev, asCeremony), keysTestDepth, dev},
		"development keys relabelled, recomputed":      {copyKeys(t, dev, asCeremony), keysTestDepth, ""},
		"development keys labelled as such":            {dev, keysTestDepth, ""},
		"keys of another depth":                        {copyKeys(t, dev, asCeremony), keysTestDepth + 2, ""},
		"keys of another circuit, manifest says depth": {copyKeys(t, dev, func(m map[string]any) { asCeremony(m); m["depth"] = keysTestDepth + 2 }), keysTestDepth + 2, ""},
		"no keys at all":                               {t.TempDir(), keysTestDepth, ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "issuer")
			err := Init(dir, testPass, Options{Depth: tc.depth, CircuitKeys: tc.keys, DevelopmentKeysDir: tc.cache, KDF: fastKDF})
			if !errors.Is(err, ErrCircuitKeys) {
				t.Fatalf("init: %v, want ErrCircuitKeys", err)
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
