package ceremony

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// testDepth keeps the package tests fast; the command tests run a ceremony
// at the production depth.
const testDepth = 4

var (
	beacon1 = []byte("test beacon for phase 1")
	beacon2 = []byte("test beacon for phase 2")
)

// ceremonyResult is a finalized ceremony: its directory and its keys.
type ceremonyResult struct {
	dir, keys string
	k         *circuits.Keys
	contribs  []Contribution
}

// runCeremony runs a whole ceremony with n1 and n2 contributions.
func runCeremony(t testing.TB, n1, n2 int) *ceremonyResult {
	t.Helper()
	root := t.TempDir()
	r := &ceremonyResult{dir: filepath.Join(root, "ceremony"), keys: filepath.Join(root, "keys")}
	if err := Init(r.dir, testDepth, nil); err != nil {
		t.Fatal(err)
	}
	contribute := func(phase, n int) {
		for i := 1; i <= n; i++ {
			c, err := Contribute(r.dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Phase != phase || c.Index != i || len(c.Hash) != 64 {
				t.Fatalf("contribution %+v, want phase %d index %d", c, phase, i)
			}
			r.contribs = append(r.contribs, c)
		}
	}
	contribute(1, n1)
	if err := Next(r.dir, beacon1, nil); err != nil {
		t.Fatal(err)
	}
	contribute(2, n2)
	k, err := Finalize(r.dir, beacon2, r.keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.k = k
	return r
}

// The ceremony the tamper tests copy, run once (its second copy is
// another ceremony, for swapped keys).
var (
	onceCeremony  sync.Once
	theCeremonies [2]*ceremonyResult
	ceremonyDir   string
)

func ceremonies(t *testing.T) [2]*ceremonyResult {
	t.Helper()
	onceCeremony.Do(func() {
		// The results outlive the first test's TempDir, so they live in
		// a directory of their own, removed by TestMain.
		var err error
		if ceremonyDir, err = os.MkdirTemp("", "ceremony-test"); err != nil {
			t.Fatal(err)
		}
		tb := &dirTB{TB: t, dir: ceremonyDir}
		theCeremonies[0] = runCeremony(tb, 2, 3)
		theCeremonies[1] = runCeremony(tb, 1, 1)
	})
	if theCeremonies[1] == nil {
		t.Fatal("the shared ceremonies failed")
	}
	return theCeremonies
}

// dirTB hands out subdirectories of a directory that outlives one test.
type dirTB struct {
	testing.TB
	dir string
	n   int
}

func (d *dirTB) TempDir() string {
	d.n++
	p := filepath.Join(d.dir, string(rune('a'+d.n)))
	if err := os.MkdirAll(p, 0o755); err != nil {
		d.Fatal(err)
	}
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ceremonyDir != "" {
		os.RemoveAll(ceremonyDir)
	}
	os.Exit(code)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestCeremony(t *testing.T) {
	r := ceremonies(t)[0]
	rep, err := Verify(r.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.Depth != testDepth || rep.CircuitID != r.k.Manifest.CircuitID || rep.TranscriptDigest != r.k.Manifest.TranscriptDigest {
		t.Fatalf("report %+v for keys %+v", rep, r.k.Manifest)
	}
	if len(rep.Contributions) != 5 {
		t.Fatalf("%d contributions reported, want 5", len(rep.Contributions))
	}
	for i, c := range rep.Contributions {
		if c != r.contribs[i] {
			t.Fatalf("contribution %d reported as %+v, the contributor published %+v", i, c, r.contribs[i])
		}
	}
	m := r.k.Manifest
	if m.Setup != circuits.SetupCeremony || circuits.IsDevelopmentCircuit(m.CircuitID) || m.TranscriptDigest == "" {
		t.Fatalf("manifest %+v", m)
	}

	// The transcript alone gives the same report.
	data, err := os.ReadFile(filepath.Join(r.keys, TranscriptFile))
	if err != nil {
		t.Fatal(err)
	}
	trep, err := VerifyTranscript(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if j1, j2 := mustJSON(t, rep), mustJSON(t, trep); j1 != j2 {
		t.Fatalf("the transcript reports\n%s\nthe directory\n%s", j2, j1)
	}
	if _, err := VerifyKeys(r.keys, nil); err != nil {
		t.Fatal(err)
	}

	// The keys load as production keys and prove a real presentation.
	c, err := circuits.Compile(testDepth)
	if err != nil {
		t.Fatal(err)
	}
	k, err := circuits.Load(r.keys, c, circuits.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, cred := presentation(t)
	proof, pseudonym, err := k.Prove(st, cred)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(st, pseudonym, proof); err != nil {
		t.Fatalf("a proof from the ceremony's keys does not verify: %v", err)
	}
	// ... and with the other ceremony's keys it does not.
	other, err := circuits.Load(ceremonies(t)[1].keys, c, circuits.LoadOptions{VerifyingOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(st, pseudonym, proof); !errors.Is(err, circuits.ErrVerification) {
		t.Fatalf("another ceremony's keys: err = %v, want ErrVerification", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// presentation is a credential alone in an accumulator of testDepth and a
// statement it satisfies.
func presentation(t *testing.T) (*circuits.Statement, *circuits.Credential) {
	t.Helper()
	random := func() fr.Element {
		var e fr.Element
		if _, err := e.SetRandom(); err != nil {
			t.Fatal(err)
		}
		return e
	}
	const today = schemas.DateOffset + 20415
	w, err := schemas.Pack(schemas.Predicates{Birth: schemas.DateOffset + 10957, Expiry: schemas.DateOffset + 21915, Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	var attrs fr.Element
	attrs.SetUint64(w)
	cred := &circuits.Credential{Attributes: attrs, Identity: random(), Secret: random(), Serial: 0}
	levels := testDepth / zkhash.LevelBits
	empty := zkhash.EmptyRoots(levels)
	for l := range levels {
		for range zkhash.SiblingsPerLevel {
			cred.Siblings = append(cred.Siblings, empty[l])
		}
	}
	root, err := zkhash.RootFromPath(cred.Leaf(), 0, cred.Siblings)
	if err != nil {
		t.Fatal(err)
	}
	var scope fr.Element
	scope.SetUint64(1234)
	return &circuits.Statement{
		Root: root, Today: today, BornBefore: today - 18*365 - 5, MinLevel: 2, Scope: scope, Nonce: random(),
	}, cred
}

// wantError checks err is sentinel about the given phase and contribution.
func wantError(t *testing.T, err, sentinel error, phase, index int) {
	t.Helper()
	var e *Error
	if !errors.Is(err, sentinel) || !errors.As(err, &e) || e.Phase != phase || e.Index != index {
		t.Fatalf("err = %v, want %v about phase %d, contribution %d", err, sentinel, phase, index)
	}
}

func flip(t *testing.T, path string, at func(n int) int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[at(len(data))] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// reuse writes as contribution `to` the state of contribution `from` with
// a fresh challenge: a contributor who applied no randomness.
func reuse(t *testing.T, dir string, phase, from, to int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, contributionName(phase, from)))
	if err != nil {
		t.Fatal(err)
	}
	copy(challengeOf(data), digest(data))
	if err := os.WriteFile(filepath.Join(dir, contributionName(phase, to)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editState(t *testing.T, dir string, edit func(st *state)) {
	t.Helper()
	st, err := readState(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(st)
	if err := writeState(dir, st); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	r := ceremonies(t)[0] // 2 contributions to phase 1, 3 to phase 2
	name := func(dir string, phase, index int) string { return filepath.Join(dir, contributionName(phase, index)) }
	cases := []struct {
		name         string
		tamper       func(t *testing.T, dir string)
		sentinel     error
		phase, index int
	}{
		{"phase 1 contribution copies the previous file", func(t *testing.T, dir string) {
			copyFile(t, name(dir, 1, 1), name(dir, 1, 2))
		}, ErrInvalidContribution, 1, 2},
		{"phase 2 contribution copies the previous file", func(t *testing.T, dir string) {
			copyFile(t, name(dir, 2, 2), name(dir, 2, 3))
		}, ErrInvalidContribution, 2, 3},
		{"phase 1 contribution applies no randomness", func(t *testing.T, dir string) {
			reuse(t, dir, 1, 1, 2)
		}, ErrInvalidContribution, 1, 2},
		{"phase 2 contribution applies no randomness", func(t *testing.T, dir string) {
			reuse(t, dir, 2, 1, 2)
		}, ErrInvalidContribution, 2, 2},
		{"phase 1 skips a state", func(t *testing.T, dir string) {
			os.Rename(name(dir, 1, 2), name(dir, 1, 1))
		}, ErrInvalidContribution, 1, 1},
		{"phase 2 skips a state", func(t *testing.T, dir string) {
			os.Rename(name(dir, 2, 3), name(dir, 2, 2))
		}, ErrInvalidContribution, 2, 2},
		{"phase 2 contributions reordered", func(t *testing.T, dir string) {
			os.Rename(name(dir, 2, 2), filepath.Join(dir, "x"))
			os.Rename(name(dir, 2, 3), name(dir, 2, 2))
			os.Rename(filepath.Join(dir, "x"), name(dir, 2, 3))
		}, ErrInvalidContribution, 2, 2},
		{"phase 1 contribution missing", func(t *testing.T, dir string) {
			os.Remove(name(dir, 1, 1))
		}, ErrInvalidContribution, 1, 1},
		{"flipped byte in a phase 1 contribution", func(t *testing.T, dir string) {
			flip(t, name(dir, 1, 1), func(n int) int { return n / 2 })
		}, ErrInvalidContribution, 1, 1},
		{"flipped byte in a phase 2 contribution", func(t *testing.T, dir string) {
			flip(t, name(dir, 2, 2), func(n int) int { return n / 2 })
		}, ErrInvalidContribution, 2, 2},
		{"flipped challenge of the first phase 2 contribution", func(t *testing.T, dir string) {
			flip(t, name(dir, 2, 1), func(n int) int { return n - 1 })
		}, ErrInvalidContribution, 2, 1},
		{"truncated phase 2 contribution", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(name(dir, 2, 3))
			os.WriteFile(name(dir, 2, 3), data[:len(data)-40], 0o644)
		}, ErrInvalidContribution, 2, 3},
		{"another phase 1 beacon than Next's", func(t *testing.T, dir string) {
			editState(t, dir, func(st *state) { st.Phase1Beacon = hex.EncodeToString([]byte("another beacon")) })
		}, ErrBeacon, 1, 0},
		{"another phase 2 beacon than Finalize's", func(t *testing.T, dir string) {
			editState(t, dir, func(st *state) { st.Phase2Beacon = hex.EncodeToString([]byte("another beacon")) })
		}, ErrBeacon, 2, 0},
		{"modified phase 2 base", func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, base2Name), func(n int) int { return n / 2 })
		}, ErrBeacon, 1, 0},
		{"no phase 2 contributions", func(t *testing.T, dir string) {
			for i := 1; i <= 3; i++ {
				os.Remove(name(dir, 2, i))
			}
		}, ErrNoContributions, 2, 0},
		{"no phase 1 contributions", func(t *testing.T, dir string) {
			for i := 1; i <= 2; i++ {
				os.Remove(name(dir, 1, i))
			}
		}, ErrNoContributions, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, r.dir)
			tc.tamper(t, dir)
			_, err := Verify(dir, nil)
			wantError(t, err, tc.sentinel, tc.phase, tc.index)
		})
	}
}

func TestVerifyRefusesState(t *testing.T) {
	r := ceremonies(t)[0]
	cases := []struct {
		name     string
		edit     func(st *state)
		sentinel error
	}{
		{"another circuit", func(st *state) { st.CircuitDigest = "zother" }, ErrCircuit},
		{"another depth", func(st *state) { st.Depth = 6 }, ErrCircuit},
		{"another circuit id", func(st *state) { st.CircuitID = ceremonies(t)[1].k.Manifest.CircuitID }, ErrBeacon},
		{"another transcript digest", func(st *state) { st.TranscriptDigest = "zother" }, ErrTranscriptMismatch},
		{"not finalized", func(st *state) { st.Phase2Beacon, st.CircuitID, st.TranscriptDigest = "", "", "" }, ErrIncomplete},
		{"bad format", func(st *state) { st.Format = "v0" }, ErrMalformed},
		{"domain not a power of two", func(st *state) { st.Domain = 1000 }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, r.dir)
			editState(t, dir, tc.edit)
			if _, err := Verify(dir, nil); !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
		})
	}
}

// reopen turns a copy of the finalized ceremony back into one whose phase
// 2 is open with no contributions.
func reopen(t *testing.T, src string) string {
	t.Helper()
	dir := copyDir(t, src)
	for i := 1; ; i++ {
		if err := os.Remove(filepath.Join(dir, contributionName(2, i))); err != nil {
			break
		}
	}
	editState(t, dir, func(st *state) { st.Phase2Beacon, st.CircuitID, st.TranscriptDigest = "", "", "" })
	return dir
}

func TestNoContributions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := Init(dir, testDepth, nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, Next(dir, beacon1, nil), ErrNoContributions, 1, 0)
	_, err := Finalize(reopen(t, ceremonies(t)[0].dir), beacon2, filepath.Join(t.TempDir(), "keys"), nil)
	wantError(t, err, ErrNoContributions, 2, 0)

	// The development setup is a ceremony without contributions: as a
	// transcript it is refused, whatever it claims its keys are.
	dev, ok := circuits.DevelopmentCircuitID(testDepth)
	if !ok {
		t.Fatal("no development id")
	}
	c, err := circuits.Compile(testDepth)
	if err != nil {
		t.Fatal(err)
	}
	rec := &record{depth: testDepth, circuitDigest: c.Digest, circuitID: dev,
		beacon1: []byte(circuits.DevelopmentBeacon + " / phase 1"), beacon2: []byte(circuits.DevelopmentBeacon + " / phase 2")}
	_, err = VerifyTranscript(packTranscript(rec, make([]byte, challengeSize)), nil)
	wantError(t, err, ErrNoContributions, 1, 0)
}

func TestPhaseOrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := Init(dir, testDepth, nil); err != nil {
		t.Fatal(err)
	}
	if err := Init(dir, testDepth, nil); !errors.Is(err, ErrPhase) {
		t.Fatalf("second Init: err = %v, want ErrPhase", err)
	}
	if _, err := Finalize(dir, beacon2, t.TempDir(), nil); !errors.Is(err, ErrPhase) {
		t.Fatalf("Finalize in phase 1: err = %v, want ErrPhase", err)
	}
	if _, err := Contribute(dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := Next(dir, nil, nil); !errors.Is(err, ErrBeacon) {
		t.Fatalf("empty beacon: err = %v, want ErrBeacon", err)
	}
	if _, err := Verify(dir, nil); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("open ceremony: err = %v, want ErrIncomplete", err)
	}
	r := ceremonies(t)[0]
	if err := Next(reopen(t, r.dir), beacon1, nil); !errors.Is(err, ErrPhase) {
		t.Fatalf("second Next: err = %v, want ErrPhase", err)
	}
	if _, err := Contribute(copyDir(t, r.dir), nil); !errors.Is(err, ErrPhase) {
		t.Fatalf("Contribute after Finalize: err = %v, want ErrPhase", err)
	}
}

func TestVerifyTranscriptRefuses(t *testing.T) {
	r := ceremonies(t)[0]
	data, err := os.ReadFile(filepath.Join(r.keys, TranscriptFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := parseTranscript(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(packTranscript(rec, rec.base2Hash), data) {
		t.Fatal("the transcript does not round-trip")
	}
	repack := func(edit func(rec *record)) []byte {
		rec, err := parseTranscript(data)
		if err != nil {
			t.Fatal(err)
		}
		edit(rec)
		return packTranscript(rec, rec.base2Hash)
	}
	cases := []struct {
		name         string
		data         []byte
		sentinel     error
		phase, index int // 0, 0: not about a contribution
	}{
		{"wrong phase 1 beacon", repack(func(rec *record) { rec.beacon1 = []byte("x") }), ErrBeacon, 1, 0},
		{"wrong phase 2 beacon", repack(func(rec *record) { rec.beacon2 = []byte("x") }), ErrBeacon, 2, 0},
		{"wrong base hash", repack(func(rec *record) { rec.base2Hash = make([]byte, challengeSize) }), ErrBeacon, 1, 0},
		{"a phase 2 contribution dropped", repack(func(rec *record) { rec.phase2 = rec.phase2[1:] }), ErrInvalidContribution, 2, 1},
		{"a phase 1 contribution doubled", repack(func(rec *record) { rec.phase1 = append(rec.phase1[:1], rec.phase1...) }), ErrInvalidContribution, 1, 2},
		{"no phase 2 contributions", repack(func(rec *record) { rec.phase2 = nil }), ErrNoContributions, 2, 0},
		{"another depth", repack(func(rec *record) { rec.depth = 6 }), ErrCircuit, 0, 0},
		{"trailing byte", append(bytes.Clone(data), 0), ErrMalformed, 0, 0},
		{"truncated", data[:len(data)-1], ErrMalformed, 0, 0},
		{"bad magic", append([]byte("x"), data[1:]...), ErrMalformed, 0, 0},
		{"empty beacon", repack(func(rec *record) { rec.beacon2 = []byte{} }), ErrMalformed, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyTranscript(tc.data, nil)
			if tc.phase == 0 {
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("err = %v, want %v", err, tc.sentinel)
				}
				return
			}
			wantError(t, err, tc.sentinel, tc.phase, tc.index)
		})
	}
	// Each byte matters: a flipped byte in the middle of each
	// contribution is refused naming it.
	for i := range rec.phase1 {
		d := repack(func(rec *record) {
			rec.phase1[i] = bytes.Clone(rec.phase1[i])
			rec.phase1[i][len(rec.phase1[i])/3] ^= 1
		})
		_, err := VerifyTranscript(d, nil)
		wantError(t, err, ErrInvalidContribution, 1, i+1)
	}
}

func TestVerifyKeysRefuses(t *testing.T) {
	cs := ceremonies(t)
	r, other := cs[0], cs[1]
	dev, err := circuits.DevelopmentSetup(r.k.Compiled, nil)
	if err != nil {
		t.Fatal(err)
	}
	devDir := filepath.Join(t.TempDir(), "dev")
	if err := dev.Save(devDir); err != nil {
		t.Fatal(err)
	}
	vk := circuits.VerifyingKeyFile
	editManifest := func(t *testing.T, dir string, edit func(m *circuits.Manifest)) {
		m, err := circuits.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		edit(&m)
		data, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		sentinel error
	}{
		{"verifying key swapped for the development one", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(devDir, vk), filepath.Join(dir, vk))
		}, circuits.ErrKeysMismatch},
		{"verifying key and circuit id swapped for the development ones", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(devDir, vk), filepath.Join(dir, vk))
			editManifest(t, dir, func(m *circuits.Manifest) { m.CircuitID = dev.Manifest.CircuitID })
		}, circuits.ErrDevelopmentKeys},
		{"development keys with this transcript", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(devDir, vk), filepath.Join(dir, vk))
			editManifest(t, dir, func(m *circuits.Manifest) {
				td := m.TranscriptDigest
				*m = dev.Manifest
				m.TranscriptDigest = td
			})
		}, circuits.ErrDevelopmentKeys},
		{"verifying key and circuit id of another ceremony", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(other.keys, vk), filepath.Join(dir, vk))
			editManifest(t, dir, func(m *circuits.Manifest) { m.CircuitID = other.k.Manifest.CircuitID })
		}, ErrTranscriptMismatch},
		{"another ceremony's keys with this transcript", func(t *testing.T, dir string) {
			for _, f := range []string{vk, "proving.key", "manifest.json"} {
				copyFile(t, filepath.Join(other.keys, f), filepath.Join(dir, f))
			}
			editManifest(t, dir, func(m *circuits.Manifest) { m.TranscriptDigest = r.k.Manifest.TranscriptDigest })
		}, ErrTranscriptMismatch},
		{"another ceremony's transcript", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(other.keys, TranscriptFile), filepath.Join(dir, TranscriptFile))
		}, ErrTranscriptMismatch},
		{"another ceremony's transcript, digest edited", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(other.keys, TranscriptFile), filepath.Join(dir, TranscriptFile))
			editManifest(t, dir, func(m *circuits.Manifest) { m.TranscriptDigest = other.k.Manifest.TranscriptDigest })
		}, ErrTranscriptMismatch},
		{"another proving key digest", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *circuits.Manifest) { m.ProvingKeyDigest = other.k.Manifest.ProvingKeyDigest })
		}, ErrTranscriptMismatch},
		{"tampered transcript", func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, TranscriptFile), func(n int) int { return n / 2 })
		}, ErrTranscriptMismatch},
		{"no transcript", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, TranscriptFile))
		}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, r.keys)
			tc.tamper(t, dir)
			if _, err := VerifyKeys(dir, nil); !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
		})
	}
	if _, err := VerifyKeys(devDir, nil); !errors.Is(err, circuits.ErrDevelopmentKeys) {
		t.Fatalf("development keys: err = %v, want ErrDevelopmentKeys", err)
	}
}

func TestContributeRefuses(t *testing.T) {
	r := ceremonies(t)[0]
	cases := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		sentinel error
		phase    int
		index    int // 0: not about a contribution
	}{
		{"another circuit", func(t *testing.T, dir string) {
			editState(t, dir, func(st *state) { st.CircuitDigest = "zother" })
		}, ErrCircuit, 0, 0},
		{"a domain that lies", func(t *testing.T, dir string) {
			editState(t, dir, func(st *state) { st.Domain *= 2 })
		}, ErrMalformed, 0, 0},
		{"a malformed base of phase 2", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, base2Name))
			os.WriteFile(filepath.Join(dir, base2Name), data[:len(data)/2], 0o644)
		}, ErrInvalidContribution, 2, 0},
		{"a forged length in the base of phase 2", func(t *testing.T, dir string) {
			// After the commitment count (2 bytes) and [δ]₁ comes the
			// length of PKK: claim four billion points.
			data, _ := os.ReadFile(filepath.Join(dir, base2Name))
			copy(data[2+g1Size:], []byte{0xff, 0xff, 0xff, 0xff})
			os.WriteFile(filepath.Join(dir, base2Name), data, 0o644)
		}, ErrInvalidContribution, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := reopen(t, r.dir)
			tc.tamper(t, dir)
			_, err := Contribute(dir, nil)
			if tc.phase == 0 {
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("err = %v, want %v", err, tc.sentinel)
				}
				return
			}
			wantError(t, err, tc.sentinel, tc.phase, tc.index)
		})
	}
	// A forged domain size inside a phase 1 file is refused before gnark
	// allocates for it.
	data, err := os.ReadFile(filepath.Join(r.dir, contributionName(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	copy(data[3*proofSize:], []byte{0, 0, 0, 1, 0, 0, 0, 0})
	if _, err := decodePhase1(data, 2048, challengeSize); !errors.Is(err, errLayout) {
		t.Fatalf("forged domain size: err = %v, want errLayout", err)
	}
}
