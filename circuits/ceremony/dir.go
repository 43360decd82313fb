package ceremony

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/atomicfile"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
)

// Files of a ceremony directory. Every file is written under a temporary
// name and renamed into place, the state file last.
const (
	// StateFile records what the ceremony is for and how far it went.
	StateFile = "ceremony.json"
	// TranscriptFile is the transcript Finalize writes beside the keys.
	TranscriptFile = "transcript.bin"
	stateFormat    = "yinzheng-ceremony/v1"
	maxStateBytes  = 16 << 10
	base2Name      = "phase2-0000.bin"
)

// state is the ceremony directory's ceremony.json. It says where the
// ceremony stands; verification recomputes what it records.
type state struct {
	Format           string `json:"format"`
	Depth            int    `json:"depth"`
	CircuitDigest    string `json:"circuit_digest"`
	Domain           uint64 `json:"domain"`
	Phase1Beacon     string `json:"phase1_beacon,omitempty"` // hex, set by Next
	Phase2Beacon     string `json:"phase2_beacon,omitempty"` // hex, set by Finalize
	CircuitID        string `json:"circuit_id,omitempty"`
	TranscriptDigest string `json:"transcript_digest,omitempty"`
}

func (s *state) phase() int {
	switch {
	case s.Phase1Beacon == "":
		return 1
	case s.Phase2Beacon == "":
		return 2
	}
	return 3 // finalized
}

func contributionName(phase, index int) string {
	return fmt.Sprintf("phase%d-%04d.bin", phase, index)
}

var contributionFile = regexp.MustCompile(`^phase([12])-([0-9]{4})\.bin$`)

// Init starts a ceremony in dir (created if needed, refused if it holds a
// ceremony already) for the presentation circuit at depth. Phase 1 is
// sized for that circuit: the domain is the next power of two of its
// constraint count, as in circuits.DevelopmentSetup.
func Init(dir string, depth int, progress func(string)) error {
	if progress == nil {
		progress = noProgress
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		return fmt.Errorf("%w: %s holds a ceremony already", ErrPhase, dir)
	}
	progress(fmt.Sprintf("compiling the circuit (depth %d)", depth))
	c, err := circuits.Compile(depth)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	return writeState(dir, &state{
		Format:        stateFormat,
		Depth:         depth,
		CircuitDigest: c.Digest,
		Domain:        ecc.NextPowerOfTwo(uint64(c.CS.GetNbConstraints())),
	})
}

// Contribute adds one contribution to the current phase of the ceremony in
// dir, with fresh randomness that mpcsetup draws from crypto/rand, uses
// and drops: it is in no file, no return value and no log. Contribute
// does not verify the contributions before it (run Verify for that); a
// contribution on top of a bad one is refused with it.
func Contribute(dir string, progress func(string)) (Contribution, error) {
	if progress == nil {
		progress = noProgress
	}
	st, err := readState(dir)
	if err != nil {
		return Contribution{}, err
	}
	phase := st.phase()
	if phase > 2 {
		return Contribution{}, fmt.Errorf("%w: the ceremony in %s is finalized", ErrPhase, dir)
	}
	// Compiling takes a fraction of a second, and spares a contributor
	// the work (and the memory) of a ceremony for a circuit this binary
	// does not know, or one whose state file lies about its domain.
	if _, _, domain, err := compile(st.Depth, st.CircuitDigest, progress); err != nil {
		return Contribution{}, err
	} else if domain != st.Domain {
		return Contribution{}, fmt.Errorf("%w: %s: domain size %d, the circuit's is %d", ErrMalformed, StateFile, st.Domain, domain)
	}
	files, err := listContributions(dir, phase)
	if err != nil {
		return Contribution{}, err
	}
	index := len(files) + 1
	if index > maxContributions {
		return Contribution{}, phaseError(phase, index, ErrPhase, "more than %d contributions", maxContributions)
	}
	prevName := base2Name
	if index > 1 {
		prevName = contributionName(phase, index-1)
	}
	var next []byte
	switch phase {
	case 1:
		var prev *mpcsetup.Phase1
		if index == 1 {
			prev = mpcsetup.NewPhase1(st.Domain)
		} else {
			progress(fmt.Sprintf("phase 1: reading contribution %d", index-1))
			data, err := readFile(dir, prevName)
			if err != nil {
				return Contribution{}, err
			}
			if prev, err = decodePhase1(data, st.Domain, challengeSize); err != nil {
				return Contribution{}, phaseError(1, index-1, ErrInvalidContribution, "%v", err)
			}
		}
		progress(fmt.Sprintf("phase 1: contribution %d", index))
		prev.Contribute()
		next = encode(prev)
	case 2:
		progress(fmt.Sprintf("phase 2: reading %s", prevName))
		data, err := readFile(dir, prevName)
		if err != nil {
			return Contribution{}, err
		}
		challengeLen := challengeSize
		if index == 1 {
			challengeLen = 0
		}
		prev, err := decodePhase2(data, challengeLen)
		if err != nil {
			return Contribution{}, phaseError(2, index-1, ErrInvalidContribution, "%v", err)
		}
		progress(fmt.Sprintf("phase 2: contribution %d", index))
		prev.Contribute()
		next = encode(prev)
	}
	name := contributionName(phase, index)
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return Contribution{}, fmt.Errorf("%w: %s exists", ErrMalformed, name)
	}
	if err := atomicfile.Write(filepath.Join(dir, name), next); err != nil {
		return Contribution{}, fmt.Errorf("ceremony: %w", err)
	}
	return Contribution{Phase: phase, Index: index, Hash: hex.EncodeToString(digest(next))}, nil
}

// Next verifies phase 1, seals it with the public beacon (drawn after the
// last contribution, from a source nobody controls) and starts phase 2
// from the circuit compiled here. A phase 1 without contributions is
// refused with ErrNoContributions.
func Next(dir string, beacon []byte, progress func(string)) error {
	if progress == nil {
		progress = noProgress
	}
	st, rec, err := readDir(dir)
	if err != nil {
		return err
	}
	if st.phase() != 1 {
		return fmt.Errorf("%w: phase 1 of the ceremony in %s is sealed already", ErrPhase, dir)
	}
	if err := checkBeacon(1, beacon); err != nil {
		return err
	}
	rec.beacon1 = beacon
	ch, err := check(rec, progress)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, base2Name), ch.base2); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	st.Phase1Beacon = hex.EncodeToString(beacon)
	return writeState(dir, st)
}

// Finalize verifies the whole ceremony, seals phase 2 with the public
// beacon, and writes into outDir the keys (manifest setup "ceremony", with
// the transcript's digest) and the transcript, TranscriptFile, that anyone
// can check them against with VerifyKeys. The issuer publishes the
// transcript as publication.TranscriptName.
func Finalize(dir string, beacon []byte, outDir string, progress func(string)) (*circuits.Keys, error) {
	if progress == nil {
		progress = noProgress
	}
	st, rec, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	if st.phase() != 2 {
		return nil, fmt.Errorf("%w: the ceremony in %s is in phase %d, not 2", ErrPhase, dir, st.phase())
	}
	if err := checkBeacon(2, beacon); err != nil {
		return nil, err
	}
	rec.beacon2 = beacon
	ch, err := check(rec, progress)
	if err != nil {
		return nil, err
	}
	rec.circuitID = ch.keys.Manifest.CircuitID
	transcript := packTranscript(rec, digest(ch.base2))
	k := ch.keys
	k.Manifest.TranscriptDigest = transcriptDigest(transcript)
	progress("writing the keys and the transcript")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(outDir, TranscriptFile), transcript); err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	if err := k.Save(outDir); err != nil {
		return nil, err
	}
	st.Phase2Beacon = hex.EncodeToString(beacon)
	st.CircuitID, st.TranscriptDigest = k.Manifest.CircuitID, k.Manifest.TranscriptDigest
	if err := writeState(dir, st); err != nil {
		return nil, err
	}
	return k, nil
}

// Verify verifies the finalized ceremony in dir: it compiles the circuit,
// checks every contribution of both phases against the state before it,
// reproduces both seals from the recorded beacons, and the circuit id and
// transcript digest recorded at finalization. A ceremony that is correct
// so far but not finalized is refused with ErrIncomplete, which says how
// many contributions checked.
func Verify(dir string, progress func(string)) (*Report, error) {
	if progress == nil {
		progress = noProgress
	}
	st, rec, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	ch, err := check(rec, progress)
	if err != nil {
		return nil, err
	}
	if ch.keys == nil {
		return nil, fmt.Errorf("%w: phase %d is open; the %d contributions so far verify", ErrIncomplete, st.phase(), len(ch.contributions))
	}
	r := ch.report(rec, packTranscript(rec, digest(ch.base2)))
	if r.TranscriptDigest != st.TranscriptDigest {
		return nil, fmt.Errorf("%w: the ceremony's transcript has digest %s, %s records %s", ErrTranscriptMismatch, r.TranscriptDigest, StateFile, st.TranscriptDigest)
	}
	return r, nil
}

// readDir reads a ceremony directory into a record.
func readDir(dir string) (*state, *record, error) {
	st, err := readState(dir)
	if err != nil {
		return nil, nil, err
	}
	rec := &record{depth: st.Depth, circuitDigest: st.CircuitDigest, circuitID: st.CircuitID}
	if st.Phase1Beacon != "" {
		if rec.beacon1, err = decodeBeacon(1, st.Phase1Beacon); err != nil {
			return nil, nil, err
		}
	}
	if st.Phase2Beacon != "" {
		if rec.beacon2, err = decodeBeacon(2, st.Phase2Beacon); err != nil {
			return nil, nil, err
		}
	}
	if rec.phase1, err = readContributions(dir, 1); err != nil {
		return nil, nil, err
	}
	if rec.phase2, err = readContributions(dir, 2); err != nil {
		return nil, nil, err
	}
	if st.phase() == 1 {
		if len(rec.phase2) > 0 {
			return nil, nil, fmt.Errorf("%w: phase 2 contributions in %s before phase 1 was sealed", ErrMalformed, dir)
		}
		return st, rec, nil
	}
	if rec.base2, err = readFile(dir, base2Name); err != nil {
		return nil, nil, err
	}
	return st, rec, nil
}

func decodeBeacon(phase int, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, phaseError(phase, 0, ErrMalformed, "beacon is not hex")
	}
	return b, checkBeacon(phase, b)
}

func readState(dir string) (*state, error) {
	data, err := readLimited(filepath.Join(dir, StateFile), maxStateBytes)
	if err != nil {
		return nil, err
	}
	var st state
	if err := strictjson.Unmarshal(data, maxStateBytes, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, StateFile, err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("%w: %s has format %q, want %q", ErrMalformed, StateFile, st.Format, stateFormat)
	}
	if _, err := zkhash.Levels(st.Depth); err != nil {
		return nil, fmt.Errorf("%w: %s: depth %d", ErrMalformed, StateFile, st.Depth)
	}
	if st.Domain == 0 || ecc.NextPowerOfTwo(st.Domain) != st.Domain {
		return nil, fmt.Errorf("%w: %s: domain size %d", ErrMalformed, StateFile, st.Domain)
	}
	if st.Phase1Beacon == "" && st.Phase2Beacon != "" {
		return nil, fmt.Errorf("%w: %s: phase 2 sealed before phase 1", ErrMalformed, StateFile)
	}
	return &st, nil
}

func writeState(dir string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, StateFile), append(data, '\n')); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	return nil
}

// listContributions returns the contribution files of a phase, checking
// they are numbered 1…n without a gap.
func listContributions(dir string, phase int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	var indices []int
	for _, e := range entries {
		m := contributionFile.FindStringSubmatch(e.Name())
		if m == nil || m[1] != strconv.Itoa(phase) {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		if i == 0 {
			continue // the base of phase 2
		}
		indices = append(indices, i)
	}
	sort.Ints(indices)
	names := make([]string, len(indices))
	for k, i := range indices {
		if i != k+1 {
			return nil, phaseError(phase, k+1, ErrInvalidContribution, "missing (the next file is %s)", contributionName(phase, i))
		}
		names[k] = contributionName(phase, i)
	}
	return names, nil
}

func readContributions(dir string, phase int) ([][]byte, error) {
	names, err := listContributions(dir, phase)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(names))
	for i, n := range names {
		if out[i], err = readFile(dir, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxFileSize bounds one file of a ceremony directory: a contribution
// is about 1.5 MB at depth 32 and 3 MB at depth 64.
const maxFileSize = 64 << 20

func readFile(dir, name string) ([]byte, error) {
	return readLimited(filepath.Join(dir, name), maxFileSize)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing", ErrMalformed, path)
		}
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ceremony: read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformed, path, limit)
	}
	return data, nil
}
