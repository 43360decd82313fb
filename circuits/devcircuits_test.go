package circuits

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark/backend/groth16"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// recomputedDepths are the depths whose development circuit id the test
// recomputes. Recomputing all 32 depths took about 25 minutes on the
// (shared) two-core development machine: a setup costs 6 s at depth 2,
// 35 s at depth 32 and about 2 min at depth 64. So the test covers the
// depths the project uses (4 in the command tests, 6 in this package's,
// ProductionDepth 32) and 2 and 10 for a spread; the others come from the
// same generator running the same DevelopmentSetup.
var recomputedDepths = []int{zkhash.LevelBits, 4, testDepth, 10, ProductionDepth}

const regenerate = "the development setup now yields other keys (a gnark or circuit change): regenerate the table with `go run ./internal/tools/devcircuits` from the module root"

func TestDevelopmentCircuitTable(t *testing.T) {
	// The table covers exactly the valid depths, with distinct ids.
	seen := map[string]int{}
	for depth := 0; depth <= zkhash.MaxDepth+2; depth++ {
		id, ok := DevelopmentCircuitID(depth)
		if ok != validDepth(depth) {
			t.Fatalf("depth %d: in table %v, valid depth %v: %s", depth, ok, validDepth(depth), regenerate)
		}
		if !ok {
			continue
		}
		if !strings.HasPrefix(id, "z") || !IsDevelopmentCircuit(id) {
			t.Fatalf("depth %d: id %q", depth, id)
		}
		if other, dup := seen[id]; dup {
			t.Fatalf("depths %d and %d share the id %s", other, depth, id)
		}
		seen[id] = depth
	}
	for _, depth := range recomputedDepths {
		t.Run(fmt.Sprintf("depth%02d", depth), func(t *testing.T) {
			start := time.Now()
			var k *Keys
			if depth == testDepth {
				k = keysForTest(t)
			} else {
				c, err := Compile(depth)
				if err != nil {
					t.Fatal(err)
				}
				if k, err = DevelopmentSetup(c, nil); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := DevelopmentCircuitID(depth)
			if k.Manifest.CircuitID != want {
				t.Fatalf("depth %d: development setup gives %s, the table %s: %s", depth, k.Manifest.CircuitID, want, regenerate)
			}
			t.Logf("depth %d recomputed in %v", depth, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestIsDevelopmentCircuit(t *testing.T) {
	k := keysForTest(t)
	if !IsDevelopmentCircuit(k.Manifest.CircuitID) {
		t.Fatal("the development keys' id is not recognised")
	}
	for _, id := range []string{"", "z", k.Manifest.CircuitDigest, k.Manifest.CircuitID + "1", strings.ToUpper(k.Manifest.CircuitID)} {
		if IsDevelopmentCircuit(id) {
			t.Fatalf("%q recognised as a development id", id)
		}
	}
	if _, ok := DevelopmentCircuitID(5); ok {
		t.Fatal("odd depth 5 has a development id")
	}
}

// randomKeys are keys for the test circuit from gnark's one-party setup
// with fresh randomness: not development keys, whatever their label.
func randomKeys(t *testing.T, setup string) *Keys {
	t.Helper()
	c := keysForTest(t).Compiled
	pk, vk, err := groth16.Setup(c.CS)
	if err != nil {
		t.Fatal(err)
	}
	k, err := newKeys(c, pk, vk, setup, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckSetup(t *testing.T) {
	dev := keysForTest(t).Manifest
	other := randomKeys(t, SetupCeremony).Manifest
	relabel := func(m Manifest, setup string) Manifest { m.Setup = setup; return m }
	cases := []struct {
		name  string
		m     Manifest
		allow bool
		want  error
	}{
		{"development keys refused", dev, false, ErrDevelopmentKeys},
		{"development keys allowed", dev, true, nil},
		{"relabelled development keys refused", relabel(dev, SetupCeremony), false, ErrDevelopmentKeys},
		{"relabelled development keys allowed in development", relabel(dev, SetupCeremony), true, nil},
		{"other keys", other, false, nil},
		{"other keys labelled development", relabel(other, SetupDevelopment), true, ErrSetupMismatch},
		{"other keys labelled development, production", relabel(other, SetupDevelopment), false, ErrSetupMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSetup(tc.m, tc.allow)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadRecognisesDevelopmentKeys(t *testing.T) {
	cases := []struct {
		name  string
		keys  func(t *testing.T) *Keys
		edit  func(m *Manifest)
		allow bool
		want  error
	}{
		{"relabelled development keys", func(t *testing.T) *Keys { return keysForTest(t) },
			func(m *Manifest) { m.Setup = SetupCeremony; m.SetupNote = "" }, false, ErrDevelopmentKeys},
		// Editing the id as well escapes the table but breaks the binding
		// of the id to the verifying key.
		{"relabelled development keys with another id", func(t *testing.T) *Keys { return keysForTest(t) },
			func(m *Manifest) {
				m.Setup = SetupCeremony
				m.CircuitID = randomKeys(t, SetupCeremony).Manifest.CircuitID
			}, false, ErrKeysMismatch},
		{"relabelled development keys in development", func(t *testing.T) *Keys { return keysForTest(t) },
			func(m *Manifest) { m.Setup = SetupCeremony }, true, nil},
		{"other keys labelled development", func(t *testing.T) *Keys { return randomKeys(t, SetupDevelopment) },
			func(*Manifest) {}, true, ErrSetupMismatch},
		{"other keys", func(t *testing.T) *Keys { return randomKeys(t, SetupCeremony) },
			func(*Manifest) {}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.keys(t)
			dir := filepath.Join(t.TempDir(), "keys")
			if err := k.Save(dir); err != nil {
				t.Fatal(err)
			}
			editManifest(t, dir, tc.edit)
			for _, verifyingOnly := range []bool{false, true} {
				_, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: tc.allow, VerifyingOnly: verifyingOnly})
				if !errors.Is(err, tc.want) {
					t.Fatalf("verifying only %v: err = %v, want %v", verifyingOnly, err, tc.want)
				}
			}
		})
	}
}

// TestDisguisedDevelopmentKeys attacks recognition by content: the circuit
// id is a digest of the verifying key's bytes, so bytes that decode to the
// development key but are not its canonical encoding (a byte appended,
// which the decoder leaves unread, or the uncompressed encoding of the same
// points) would give an id outside the development table, with the
// manifest's id edited to match. The key is the development one all the
// same, so anyone can forge its proofs: Load must refuse it.
func TestDisguisedDevelopmentKeys(t *testing.T) {
	k := keysForTest(t)
	var raw bytes.Buffer
	if _, err := k.VK.WriteRawTo(&raw); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		disguise func(vk []byte) []byte
	}{
		{"trailing byte", func(vk []byte) []byte { return append(vk, 0) }},
		{"uncompressed encoding", func([]byte) []byte { return raw.Bytes() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := k.Save(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, verifyingKeyFile)
			vk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			disguised := tc.disguise(vk)
			if err := os.WriteFile(path, disguised, 0o600); err != nil {
				t.Fatal(err)
			}
			editManifest(t, dir, func(m *Manifest) {
				m.Setup = SetupCeremony
				m.SetupNote = ""
				m.CircuitID = multibaseID(sm3Sum(disguised))
			})
			if IsDevelopmentCircuit(multibaseID(sm3Sum(disguised))) {
				t.Fatal("the disguise did not change the id: the test attacks nothing")
			}
			for _, verifyingOnly := range []bool{false, true} {
				_, err := Load(dir, k.Compiled, LoadOptions{VerifyingOnly: verifyingOnly})
				if !errors.Is(err, ErrKeysMismatch) {
					t.Fatalf("verifying only %v: disguised development keys: err = %v, want ErrKeysMismatch", verifyingOnly, err)
				}
			}
		})
	}
}
