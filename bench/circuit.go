// Package bench measures gnark circuits and Yinzheng's hot paths and
// reports figures that researchers can reproduce. [Circuit] measures any
// circuit with a valid assignment under Groth16 and PLONK on BN254: the
// constraints by group (package bench/groups), key and proof sizes, peak
// memory, and witness, solve, prove (split into its phases) and verify
// times over several runs. [PresentationReport] applies it to this
// project's presentation circuit; the suite (suite.go) sweeps it. Each
// measurement returns a report that marshals to JSON.
package bench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// Backends the circuit benchmark knows.
const (
	BackendGroth16 = "groth16"
	BackendPlonk   = "plonk"
)

// CircuitOptions configure a circuit benchmark.
type CircuitOptions struct {
	Depth    int    // tree depth (circuits.ProductionDepth when 0)
	Runs     int    // proofs to time (10 when 0); verifications are timed 5× as often
	Backend  string // BackendGroth16 (default) or BackendPlonk
	KeysDir  string // where Groth16 development keys are cached (a user cache directory when empty)
	Progress func(stage string)
}

// CircuitReport holds the figures of one circuit benchmark. Times are in
// milliseconds; medians over the runs.
type CircuitReport struct {
	Backend           string  `json:"backend"`
	Curve             string  `json:"curve"`
	Depth             int     `json:"depth"`
	Constraints       int     `json:"constraints"`
	ConstraintKind    string  `json:"constraint_kind"`
	R1CSConstraints   int     `json:"r1cs_constraints"`
	PublicInputs      int     `json:"public_inputs"`
	CircuitID         string  `json:"circuit_id,omitempty"`
	Setup             string  `json:"setup"`
	SetupMs           float64 `json:"setup_ms"`
	Runs              int     `json:"runs"`
	WitnessMsMedian   float64 `json:"witness_ms_median"`
	ProveMsMedian     float64 `json:"prove_ms_median"`
	ProveMsMin        float64 `json:"prove_ms_min"`
	ProveMsMax        float64 `json:"prove_ms_max"`
	VerifyMsMedian    float64 `json:"verify_ms_median"`
	ProofBytes        int     `json:"proof_bytes"`
	ProvingKeyBytes   int     `json:"proving_key_bytes"`
	VerifyingKeyBytes int     `json:"verifying_key_bytes"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	PeakRSSScope      string  `json:"peak_rss_scope"`
	GOMAXPROCS        int     `json:"gomaxprocs"`
	NumCPU            int     `json:"num_cpu"`
	GoVersion         string  `json:"go_version"`
}

// DefaultKeysDir is where benchmarks and the demo cache development keys
// ([circuits.DevelopmentKeysDir]).
func DefaultKeysDir(depth int) (string, error) {
	return circuits.DevelopmentKeysDir(depth)
}

// PresentationReport measures the presentation circuit at depth with
// [Circuit], on a sample credential with a full-depth path. Its Groth16 keys
// are the cached development keys in keysDir (a user cache directory when
// empty), set up when missing.
func PresentationReport(depth int, keysDir string, opts Options) (*Report, error) {
	if depth == 0 {
		depth = circuits.ProductionDepth
	}
	compiled, err := circuits.Compile(depth)
	if err != nil {
		return nil, err
	}
	st, cred, err := sampleCredential(depth)
	if err != nil {
		return nil, err
	}
	def, err := circuits.NewCircuit(depth)
	if err != nil {
		return nil, err
	}
	assignment, _, err := circuits.Assign(depth, st, cred)
	if err != nil {
		return nil, err
	}
	if keysDir == "" {
		if keysDir, err = DefaultKeysDir(depth); err != nil {
			return nil, err
		}
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	opts.Groth16Keys = func(ccs constraint.ConstraintSystem) (groth16.ProvingKey, groth16.VerifyingKey, string, error) {
		// The recorded compilation is the plain one (bench/groups tests
		// pin the digest); a different size would mean it is not.
		if ccs.GetNbConstraints() != compiled.CS.GetNbConstraints() {
			return nil, nil, "", fmt.Errorf("bench: recorded circuit has %d constraints, the compiled one %d", ccs.GetNbConstraints(), compiled.CS.GetNbConstraints())
		}
		progress("keys: loading or setting up development keys in " + keysDir)
		keys, err := circuits.LoadOrSetupDevelopment(keysDir, compiled, progress)
		if err != nil {
			return nil, nil, "", err
		}
		return keys.PK, keys.VK, keys.Manifest.Setup + " (cached in " + keysDir + ", loading timed)", nil
	}
	r, err := Circuit(def, assignment, opts)
	if err != nil {
		return nil, err
	}
	if g := r.Backend(BackendGroth16); g != nil {
		// The project's proof encoding (circuits.Proof), not gnark's.
		g.ProofBytes = circuits.ProofSize
	}
	return r, nil
}

// Presentation benchmarks the presentation circuit under one backend and
// returns the medians (`yinzheng bench circuit --json`). [PresentationReport]
// has every figure.
func Presentation(opts CircuitOptions) (*CircuitReport, error) {
	if opts.Depth == 0 {
		opts.Depth = circuits.ProductionDepth
	}
	if opts.Runs == 0 {
		opts.Runs = 10
	}
	if opts.Backend == "" {
		opts.Backend = BackendGroth16
	}
	if opts.Backend != BackendGroth16 && opts.Backend != BackendPlonk {
		return nil, fmt.Errorf("bench: unknown backend %q (want %s or %s)", opts.Backend, BackendGroth16, BackendPlonk)
	}
	if opts.Runs < 1 || opts.Runs > 10000 {
		return nil, fmt.Errorf("bench: runs %d outside 1…10000", opts.Runs)
	}
	compiled, err := circuits.Compile(opts.Depth)
	if err != nil {
		return nil, err
	}
	st, cred, err := sampleCredential(opts.Depth)
	if err != nil {
		return nil, err
	}
	full, err := PresentationReport(opts.Depth, opts.KeysDir, Options{Runs: opts.Runs, Backends: []string{opts.Backend}, Progress: opts.Progress})
	if err != nil {
		return nil, err
	}
	b := full.Backends[0]
	r := &CircuitReport{
		Backend:           b.Backend,
		Curve:             circuits.Curve,
		Depth:             opts.Depth,
		Constraints:       b.Constraints,
		ConstraintKind:    b.ConstraintKind,
		R1CSConstraints:   compiled.CS.GetNbConstraints(),
		PublicInputs:      compiled.Info().PublicInputs,
		Setup:             b.Setup,
		SetupMs:           b.SetupMs,
		Runs:              opts.Runs,
		ProveMsMedian:     b.ProveMs.Median,
		ProveMsMin:        b.ProveMs.Min,
		ProveMsMax:        b.ProveMs.Max,
		VerifyMsMedian:    b.VerifyMs.Median,
		ProofBytes:        b.ProofBytes,
		ProvingKeyBytes:   b.ProvingKeyBytes,
		VerifyingKeyBytes: b.VerifyingKeyBytes,
		PeakRSSBytes:      b.PeakRSSBytes,
		PeakRSSScope:      b.PeakRSSScope,
		GOMAXPROCS:        b.GOMAXPROCS,
		NumCPU:            full.NumCPU,
		GoVersion:         full.GoVersion,
	}
	if b.Backend == BackendGroth16 {
		dir := opts.KeysDir
		if dir == "" {
			if dir, err = DefaultKeysDir(opts.Depth); err != nil {
				return nil, err
			}
		}
		m, err := circuits.ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		r.CircuitID, r.Setup = m.CircuitID, m.Setup
	}
	if r.WitnessMsMedian, err = timeWitness(opts.Depth, st, cred, opts.Runs); err != nil {
		return nil, err
	}
	return r, nil
}

// timeWitness times what the holder does before proving: the native checks
// (leaf, root, pseudonym) and the witness vector.
func timeWitness(depth int, st *circuits.Statement, cred *circuits.Credential, runs int) (float64, error) {
	d := make([]time.Duration, runs)
	for i := range d {
		start := time.Now()
		if _, _, err := witnesses(depth, st, cred); err != nil {
			return 0, err
		}
		d[i] = time.Since(start)
	}
	m, _, _ := stats(d)
	return m, nil
}

func witnesses(depth int, st *circuits.Statement, cred *circuits.Credential) (full, public witness.Witness, err error) {
	a, _, err := circuits.Assign(depth, st, cred)
	if err != nil {
		return nil, nil, err
	}
	full, err = frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, nil, err
	}
	public, err = full.Public()
	return full, public, err
}

// sampleCredential builds a credential with a full-depth path (random
// siblings, as in a busy tree) and a statement it satisfies: an adult
// proving age over 18 with guardian consent flags unused.
func sampleCredential(depth int) (*circuits.Statement, *circuits.Credential, error) {
	const (
		birth  = schemas.DateOffset + 10957 // 2000-01-01
		expiry = schemas.DateOffset + 21915 // 2030-01-01
		today  = schemas.DateOffset + 20415 // 2025-11-23
	)
	random := func() fr.Element {
		var e fr.Element
		if _, err := e.SetRandom(); err != nil {
			panic(err) // crypto/rand failing is not recoverable
		}
		return e
	}
	word, err := schemas.Pack(schemas.Predicates{Birth: birth, Expiry: expiry, Level: 3})
	if err != nil {
		return nil, nil, err
	}
	var attrs fr.Element
	attrs.SetUint64(word)
	cred := &circuits.Credential{
		Attributes: attrs,
		Identity:   random(),
		Secret:     random(),
		Serial:     (1 << min(depth, 62)) / 3,
		Siblings:   make([]fr.Element, zkhash.PathLength(depth)),
	}
	for i := range cred.Siblings {
		cred.Siblings[i] = random()
	}
	root, err := zkhash.RootFromPath(cred.Leaf(), cred.Serial, cred.Siblings)
	if err != nil {
		return nil, nil, err
	}
	var scope fr.Element
	scope.SetUint64(7)
	st := &circuits.Statement{
		Root:       root,
		Today:      today,
		BornBefore: today - 18*366,
		MinLevel:   2,
		Scope:      scope,
		Nonce:      random(),
	}
	return st, cred, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func stats(d []time.Duration) (median, lo, hi float64) {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return ms(m), ms(s[0]), ms(s[n-1])
}

// resetPeakRSS returns freed memory to the OS and resets the kernel's
// high-water mark, so the peak measured next belongs to proving alone, not
// to the setup that may have run before. It returns the peak's scope.
func resetPeakRSS() string {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return "process (setup included: the peak could not be reset)"
	}
	return "proving (peak reset after setup)"
}

// peakRSS reads the resident set high-water mark (VmHWM) in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// SampleCredential returns a credential with a full-depth path and a
// statement it satisfies, the inputs every prove benchmark here uses (the
// WebAssembly one, bench/wasmprove, too).
func SampleCredential(depth int) (*circuits.Statement, *circuits.Credential, error) {
	return sampleCredential(depth)
}
