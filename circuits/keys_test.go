package circuits

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func saveTestKeys(t *testing.T) (string, *Keys) {
	t.Helper()
	k := keysForTest(t)
	dir := t.TempDir()
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir, k
}

func editManifest(t *testing.T, dir string, edit func(m *Manifest)) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(&m)
	data, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, manifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	dir, k := saveTestKeys(t)
	loaded, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: true})
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Manifest != k.Manifest {
		t.Fatalf("manifest changed on the way:\n%+v\n%+v", loaded.Manifest, k.Manifest)
	}
	if !strings.HasPrefix(k.Manifest.CircuitID, "z") || k.Manifest.Setup != SetupDevelopment {
		t.Fatalf("circuit id %q, setup %q", k.Manifest.CircuitID, k.Manifest.Setup)
	}
	f := newFixture(t, testDepth, 0)
	proof, pseudonym := proveFixture(t, loaded, f)
	if err := k.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatalf("proof from loaded keys rejected by the original ones: %v", err)
	}
	vOnly, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: true, VerifyingOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := vOnly.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vOnly.Prove(&f.st, &f.cred); err == nil {
		t.Fatal("verifying-only keys proved")
	}
}

func TestDevelopmentSetupIsDeterministic(t *testing.T) {
	k := keysForTest(t)
	again, err := DevelopmentSetup(k.Compiled, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Manifest.CircuitID != k.Manifest.CircuitID || again.Manifest.ProvingKeyDigest != k.Manifest.ProvingKeyDigest {
		t.Fatal("the development setup gave other keys on a second run")
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := []struct {
		name   string
		opts   LoadOptions
		breakk func(t *testing.T, dir string)
		want   string
	}{
		{"development keys in production", LoadOptions{}, func(*testing.T, string) {}, "development keys"},
		{"tampered verifying key", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			corrupt(t, filepath.Join(dir, verifyingKeyFile))
		}, "verifying key"},
		{"tampered proving key", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			corrupt(t, filepath.Join(dir, provingKeyFile))
		}, "proving key"},
		{"another circuit", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.CircuitDigest = "zother" })
		}, "another circuit"},
		{"another depth", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Depth = 32 })
		}, "another circuit"},
		{"unknown format", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Format = "something/v9" })
		}, "format"},
		{"unknown setup", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Setup = "trusted-me" })
		}, "unknown setup"},
		{"missing manifest", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, manifestFile))
		}, "missing"},
		{"manifest not JSON", LoadOptions{AllowDevelopment: true}, func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, manifestFile), []byte("{"), 0o644)
		}, "manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, k := saveTestKeys(t)
			tc.breakk(t, dir)
			_, err := Load(dir, k.Compiled, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	dir, k := saveTestKeys(t)
	if _, err := Load(dir, k.Compiled, LoadOptions{}); !errors.Is(err, ErrDevelopmentKeys) {
		t.Fatalf("err = %v, want ErrDevelopmentKeys", err)
	}
}

func corrupt(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrSetupDevelopment(t *testing.T) {
	dir, k := saveTestKeys(t)
	// A changed circuit (another digest in the manifest) gets fresh keys.
	editManifest(t, dir, func(m *Manifest) { m.CircuitDigest = "zstale" })
	var stages []string
	got, err := LoadOrSetupDevelopment(dir, k.Compiled, func(s string) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) == 0 || got.Manifest.CircuitDigest != k.Compiled.Digest {
		t.Fatalf("stale keys were not regenerated (stages %v)", stages)
	}
	// Fresh keys load without a setup.
	stages = nil
	if _, err := LoadOrSetupDevelopment(dir, k.Compiled, func(s string) { stages = append(stages, s) }); err != nil || len(stages) != 0 {
		t.Fatalf("err %v, stages %v: cached keys were not used", err, stages)
	}
	// Ceremony keys that do not fit are never overwritten.
	editManifest(t, dir, func(m *Manifest) { m.Setup = SetupCeremony; m.CircuitDigest = "zstale" })
	before, _ := os.ReadFile(filepath.Join(dir, provingKeyFile))
	if _, err := LoadOrSetupDevelopment(dir, k.Compiled, nil); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("err = %v, want a refusal to overwrite ceremony keys", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, provingKeyFile))
	if string(before) != string(after) {
		t.Fatal("ceremony proving key was overwritten")
	}
}
