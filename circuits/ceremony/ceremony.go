// Package ceremony runs and verifies the multi-party setup of the
// presentation circuit's Groth16 keys on gnark's mpcsetup.
//
// The ceremony lives in a directory that travels between contributors:
// the coordinator runs Init, each contributor in turn Contribute (fresh
// randomness from crypto/rand, which mpcsetup draws and forgets), the
// coordinator Next (seals the powers of tau with a public beacon and starts
// the circuit-specific phase), more contributors Contribute, and the
// coordinator Finalize (seals with a second beacon and writes the keys and
// the transcript). The keys are sound as long as one contributor of each
// phase threw their randomness away.
//
// Verify, VerifyTranscript and VerifyKeys recompute everything from the
// contributions: the circuit (compiled here), each contribution's proofs
// against the previous state, both beacons' seals and the keys they give.
// Nothing recorded in the directory or the transcript is taken on trust.
// A phase with no contribution is refused: its randomness would be the
// public beacon's, as in the development setup.
package ceremony

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// Refusals. Those about one contribution or one phase come wrapped in an
// *Error that names it.
var (
	// ErrInvalidContribution: a contribution does not build on the
	// previous state with a proven update (a copied, skipped, reordered
	// or modified file).
	ErrInvalidContribution = errors.New("ceremony: invalid contribution")
	// ErrNoContributions: a phase was closed without any contribution, so
	// its randomness is the public beacon's and anyone can forge proofs.
	ErrNoContributions = errors.New("ceremony: a phase without contributions (its randomness is public)")
	// ErrBeacon: a recorded beacon does not reproduce the state the
	// ceremony went on from (the base of phase 2, or the final keys).
	ErrBeacon = errors.New("ceremony: the beacon does not reproduce the ceremony")
	// ErrTranscriptMismatch: keys and transcript do not belong together.
	ErrTranscriptMismatch = errors.New("ceremony: the transcript does not yield these keys")
	// ErrCircuit: the ceremony is for another circuit than the one
	// compiled here (another depth, version or gnark).
	ErrCircuit = errors.New("ceremony: the ceremony is for another circuit than the one compiled here")
	// ErrIncomplete: the ceremony has not been finalized.
	ErrIncomplete = errors.New("ceremony: not finalized")
	// ErrPhase: the operation does not fit the ceremony's current phase.
	ErrPhase = errors.New("ceremony: not possible in the ceremony's current phase")
	// ErrMalformed: a ceremony directory or transcript that cannot be read.
	ErrMalformed = errors.New("ceremony: malformed ceremony directory or transcript")
)

// Error names the contribution, or the phase, that a refusal is about.
type Error struct {
	Phase int // 1 (powers of tau) or 2 (circuit specific)
	// Index is the contribution, from 1; 0 stands for the phase as a
	// whole: its beacon, its number of contributions, its base state.
	Index int
	Err   error
}

func (e *Error) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("phase %d: %v", e.Phase, e.Err)
	}
	return fmt.Sprintf("phase %d, contribution %d: %v", e.Phase, e.Index, e.Err)
}

// Unwrap returns the cause, which wraps one of the sentinels above.
func (e *Error) Unwrap() error { return e.Err }

func phaseError(phase, index int, sentinel error, format string, a ...any) error {
	return &Error{Phase: phase, Index: index, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, a...)...)}
}

// Contribution is one contribution as its contributor publishes it.
type Contribution struct {
	Phase int `json:"phase"`
	Index int `json:"index"`
	// Hash is hex SHA-256 of the contribution file. It is also the
	// challenge that the next contribution's proofs are bound to, so a
	// contributor can see that the ceremony went on from their state.
	Hash string `json:"hash"`
}

// Report is the outcome of a successful verification: Valid is true,
// and the fields say what was verified.
type Report struct {
	Valid            bool           `json:"valid"`
	Depth            int            `json:"depth"`
	CircuitDigest    string         `json:"circuit_digest"`
	Contributions    []Contribution `json:"contributions"`
	CircuitID        string         `json:"circuit_id"`
	TranscriptDigest string         `json:"transcript_digest"`
	// Beacon1 and Beacon2 are the public beacons that sealed the phases,
	// in hex, so that anyone can compare them with the values announced
	// (a beacon is only worth something if it was drawn after the last
	// contribution of its phase, which no file can show).
	Beacon1 string `json:"beacon_phase1"`
	Beacon2 string `json:"beacon_phase2"`
}

// maxContributions bounds each phase (file names have four digits).
const maxContributions = 9999

// maxBeacon bounds a beacon: a public random value (a drand round, a block
// hash), not a document.
const maxBeacon = 1024

func checkBeacon(phase int, beacon []byte) error {
	if len(beacon) == 0 || len(beacon) > maxBeacon {
		return phaseError(phase, 0, ErrBeacon, "a beacon of %d bytes, want 1…%d", len(beacon), maxBeacon)
	}
	return nil
}

// record is everything a ceremony consists of, as read from a directory
// or a transcript. None of it is trusted: check recomputes all of it.
type record struct {
	depth         int
	circuitDigest string
	phase1        [][]byte
	beacon1       []byte // nil while phase 1 is open
	base2         []byte // the phase 2 base file (directories only)
	base2Hash     []byte // its SHA-256 (transcripts only carry this)
	phase2        [][]byte
	beacon2       []byte // nil while phase 2 is open
	circuitID     string // recorded at finalization
}

// checked is what check recomputed.
type checked struct {
	compiled      *circuits.Compiled
	contributions []Contribution
	base2         []byte         // the phase 2 base, once phase 1 is sealed
	keys          *circuits.Keys // once phase 2 is sealed
}

// compile compiles the circuit of a ceremony and checks it is the one the
// ceremony was started for.
func compile(depth int, digest string, progress func(string)) (*circuits.Compiled, *cs.R1CS, uint64, error) {
	progress(fmt.Sprintf("compiling the circuit (depth %d)", depth))
	c, err := circuits.Compile(depth)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if digest != c.Digest {
		return nil, nil, 0, fmt.Errorf("%w: the ceremony's circuit has digest %s, the one compiled here %s", ErrCircuit, digest, c.Digest)
	}
	r1cs, ok := c.CS.(*cs.R1CS)
	if !ok {
		return nil, nil, 0, fmt.Errorf("ceremony: constraint system is %T, want a BN254 R1CS", c.CS)
	}
	return c, r1cs, ecc.NextPowerOfTwo(uint64(c.CS.GetNbConstraints())), nil
}

// check verifies as much of a ceremony as rec holds: phase 1 always; the
// seal of phase 1 and phase 2 once beacon1 is set; the final seal once
// beacon2 is set.
func check(rec *record, progress func(string)) (*checked, error) {
	c, r1cs, domain, err := compile(rec.depth, rec.circuitDigest, progress)
	if err != nil {
		return nil, err
	}
	out := &checked{compiled: c}

	// Phase 1 starts from gnark's deterministic initial state.
	prev1 := mpcsetup.NewPhase1(domain)
	prevBytes := encode(prev1)
	wantLen := len(prevBytes) + challengeSize
	for i, data := range rec.phase1 {
		index := i + 1
		progress(fmt.Sprintf("phase 1: verifying contribution %d of %d", index, len(rec.phase1)))
		next, err := phase1Step(prev1, prevBytes, data, domain, wantLen)
		if err != nil {
			return nil, &Error{Phase: 1, Index: index, Err: fmt.Errorf("%w: %v", ErrInvalidContribution, err)}
		}
		out.contributions = append(out.contributions, Contribution{Phase: 1, Index: index, Hash: hex.EncodeToString(digest(data))})
		prev1, prevBytes = next, data
	}
	if rec.beacon1 == nil {
		return out, nil
	}
	if len(rec.phase1) == 0 {
		return nil, phaseError(1, 0, ErrNoContributions, "sealed without contributions")
	}
	if err := checkBeacon(1, rec.beacon1); err != nil {
		return nil, err
	}

	progress("phase 1: sealing with the beacon")
	commons := prev1.Seal(rec.beacon1)
	base, evals, err := phase2Base(c, r1cs, &commons, progress)
	if err != nil {
		return nil, err
	}
	out.base2 = encode(base)
	baseHash := digest(out.base2)
	switch {
	case rec.base2 != nil && !bytes.Equal(rec.base2, out.base2):
		return nil, phaseError(1, 0, ErrBeacon, "sealing phase 1 with beacon %x does not give the recorded base of phase 2", rec.beacon1)
	case rec.base2Hash != nil && !bytes.Equal(rec.base2Hash, baseHash):
		return nil, phaseError(1, 0, ErrBeacon, "sealing phase 1 with beacon %x does not give the base of phase 2 that the transcript records", rec.beacon1)
	}

	prev2, prevBytes := base, out.base2
	wantLen = len(out.base2) + challengeSize
	for i, data := range rec.phase2 {
		index := i + 1
		progress(fmt.Sprintf("phase 2: verifying contribution %d of %d", index, len(rec.phase2)))
		next, err := phase2Step(prev2, prevBytes, data, wantLen)
		if err != nil {
			return nil, &Error{Phase: 2, Index: index, Err: fmt.Errorf("%w: %v", ErrInvalidContribution, err)}
		}
		out.contributions = append(out.contributions, Contribution{Phase: 2, Index: index, Hash: hex.EncodeToString(digest(data))})
		prev2, prevBytes = next, data
	}
	if rec.beacon2 == nil {
		return out, nil
	}
	if len(rec.phase2) == 0 {
		return nil, phaseError(2, 0, ErrNoContributions, "sealed without contributions")
	}
	if err := checkBeacon(2, rec.beacon2); err != nil {
		return nil, err
	}
	progress("phase 2: sealing with the beacon")
	pk, vk := prev2.Seal(&commons, evals, rec.beacon2)
	k, err := circuits.NewCeremonyKeys(c, pk, vk)
	if err != nil {
		return nil, err
	}
	if rec.circuitID != "" && rec.circuitID != k.Manifest.CircuitID {
		return nil, phaseError(2, 0, ErrBeacon, "sealing phase 2 with beacon %x gives circuit %s, the ceremony records %s", rec.beacon2, k.Manifest.CircuitID, rec.circuitID)
	}
	out.keys = k
	return out, nil
}

// phase2Base computes the base of phase 2 and the circuit's evaluations
// from the sealed powers of tau. It is the costly step of every
// verification (35 s at depth 32 on two cores, against a few seconds for
// everything else), and a deterministic function of the circuit and the
// powers of tau: results are kept for the last few inputs, keyed by the
// circuit digest and the SHA-256 of the powers' encoding, so that Next,
// Finalize and Verify in one process compute it once. The base is handed
// out as a fresh decoded copy, since contributions and seals mutate it.
func phase2Base(c *circuits.Compiled, r1cs *cs.R1CS, commons *mpcsetup.SrsCommons, progress func(string)) (*mpcsetup.Phase2, *mpcsetup.Phase2Evaluations, error) {
	key := c.Digest + " " + hex.EncodeToString(digest(encode(commons)))
	e := baseCache.get(key)
	if e == nil {
		progress("phase 2: computing the base from the circuit")
		var base mpcsetup.Phase2
		evals := base.Initialize(r1cs, commons)
		e = &baseEntry{base: encode(&base), evals: &evals}
		baseCache.put(key, e)
	}
	base, err := decodePhase2(e.base, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("ceremony: the base of phase 2 does not decode: %w", err) // cannot happen: gnark encoded it
	}
	return base, cloneEvals(e.evals), nil
}

// cloneEvals copies evaluations deeply: Seal puts their slices into the
// keys it returns, which must not share memory with the cache.
func cloneEvals(e *mpcsetup.Phase2Evaluations) *mpcsetup.Phase2Evaluations {
	c := *e
	c.G1.A = slices.Clone(e.G1.A)
	c.G1.B = slices.Clone(e.G1.B)
	c.G1.VKK = slices.Clone(e.G1.VKK)
	c.G1.CKK = make([][]curve.G1Affine, len(e.G1.CKK))
	for i := range e.G1.CKK {
		c.G1.CKK[i] = slices.Clone(e.G1.CKK[i])
	}
	c.G2.B = slices.Clone(e.G2.B)
	c.PublicAndCommitmentCommitted = make([][]int, len(e.PublicAndCommitmentCommitted))
	for i := range e.PublicAndCommitmentCommitted {
		c.PublicAndCommitmentCommitted[i] = slices.Clone(e.PublicAndCommitmentCommitted[i])
	}
	return &c
}

const maxCachedBases = 4

type baseEntry struct {
	base  []byte
	evals *mpcsetup.Phase2Evaluations
}

// baseCache holds the last maxCachedBases bases used, most recent last.
var baseCache = &lru{}

type lru struct {
	sync.Mutex
	keys    []string
	entries []*baseEntry
}

func (c *lru) get(key string) *baseEntry {
	c.Lock()
	defer c.Unlock()
	i := slices.Index(c.keys, key)
	if i < 0 {
		return nil
	}
	e := c.entries[i]
	c.keys = append(slices.Delete(c.keys, i, i+1), key)
	c.entries = append(slices.Delete(c.entries, i, i+1), e)
	return e
}

func (c *lru) put(key string, e *baseEntry) {
	c.Lock()
	defer c.Unlock()
	if i := slices.Index(c.keys, key); i >= 0 {
		c.keys, c.entries = slices.Delete(c.keys, i, i+1), slices.Delete(c.entries, i, i+1)
	}
	if len(c.keys) == maxCachedBases {
		c.keys, c.entries = c.keys[1:], c.entries[1:]
	}
	c.keys, c.entries = append(c.keys, key), append(c.entries, e)
}

// phase1Step decodes data and verifies it as the contribution that
// follows prev (whose canonical encoding is prevBytes).
func phase1Step(prev *mpcsetup.Phase1, prevBytes, data []byte, domain uint64, wantLen int) (*mpcsetup.Phase1, error) {
	if len(data) != wantLen {
		return nil, fmt.Errorf("%d bytes, a contribution at this domain size has %d", len(data), wantLen)
	}
	next, err := decodePhase1(data, domain, challengeSize)
	if err != nil {
		return nil, err
	}
	// mpcsetup accepts an empty challenge; the layout check demands one,
	// and this one names a copied or skipped state before the proofs fail.
	if !bytes.Equal(challengeOf(data), digest(prevBytes)) {
		return nil, errors.New("it does not build on the previous state (its challenge is another state's hash)")
	}
	if err := prev.Verify(next); err != nil {
		return nil, err
	}
	return next, nil
}

// phase2Step is phase1Step for phase 2.
func phase2Step(prev *mpcsetup.Phase2, prevBytes, data []byte, wantLen int) (*mpcsetup.Phase2, error) {
	if len(data) != wantLen {
		return nil, fmt.Errorf("%d bytes, a contribution to this circuit has %d", len(data), wantLen)
	}
	next, err := decodePhase2(data, challengeSize)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(challengeOf(data), digest(prevBytes)) {
		return nil, errors.New("it does not build on the previous state (its challenge is another state's hash)")
	}
	if err := prev.Verify(next); err != nil {
		return nil, err
	}
	return next, nil
}

// report builds the report of a finalized, checked ceremony.
func (ch *checked) report(rec *record, transcript []byte) *Report {
	return &Report{
		Beacon1:          hex.EncodeToString(rec.beacon1),
		Beacon2:          hex.EncodeToString(rec.beacon2),
		Valid:            true,
		Depth:            ch.compiled.Depth,
		CircuitDigest:    ch.compiled.Digest,
		Contributions:    ch.contributions,
		CircuitID:        ch.keys.Manifest.CircuitID,
		TranscriptDigest: transcriptDigest(transcript),
	}
}

// transcriptDigest is multibase base58btc of SM3 over a transcript, the
// form of the manifest's digests.
func transcriptDigest(transcript []byte) string {
	d := sm3.Sum(transcript)
	id, err := multibase.Encode(multibase.Base58BTC, d[:])
	if err != nil {
		panic("ceremony: multibase base58btc encoding is unavailable: " + err.Error()) // cannot happen: the encoding is built in
	}
	return id
}

func noProgress(string) {}
