// Package bench measures Yinzheng's hot paths and reports figures that
// researchers can reproduce: the presentation circuit under Groth16 and
// PLONK. Each measurement returns a report that marshals to JSON.
package bench

import (
	"bytes"
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
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/scs"
	"github.com/consensys/gnark/test/unsafekzg"

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

// Circuit benchmarks the presentation circuit: it sets up keys when
// missing (development setup), then times witness construction, proving and
// verification of one valid presentation.
func Circuit(opts CircuitOptions) (*CircuitReport, error) {
	if opts.Depth == 0 {
		opts.Depth = circuits.ProductionDepth
	}
	if opts.Runs == 0 {
		opts.Runs = 10
	}
	if opts.Runs < 1 || opts.Runs > 10000 {
		return nil, fmt.Errorf("bench: runs %d outside 1…10000", opts.Runs)
	}
	if opts.Backend == "" {
		opts.Backend = BackendGroth16
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	compiled, err := circuits.Compile(opts.Depth)
	if err != nil {
		return nil, err
	}
	st, cred, err := sampleCredential(opts.Depth)
	if err != nil {
		return nil, err
	}
	r := &CircuitReport{
		Backend:         opts.Backend,
		Curve:           circuits.Curve,
		Depth:           opts.Depth,
		R1CSConstraints: compiled.CS.GetNbConstraints(),
		PublicInputs:    compiled.Info().PublicInputs,
		Runs:            opts.Runs,
		GOMAXPROCS:      runtime.GOMAXPROCS(0),
		NumCPU:          runtime.NumCPU(),
		GoVersion:       runtime.Version(),
	}
	switch opts.Backend {
	case BackendGroth16:
		err = benchGroth16(r, compiled, st, cred, opts)
	case BackendPlonk:
		err = benchPlonk(r, st, cred, opts)
	default:
		return nil, fmt.Errorf("bench: unknown backend %q (want %s or %s)", opts.Backend, BackendGroth16, BackendPlonk)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func benchGroth16(r *CircuitReport, compiled *circuits.Compiled, st *circuits.Statement, cred *circuits.Credential, opts CircuitOptions) error {
	r.Constraints, r.ConstraintKind = r.R1CSConstraints, "r1cs"
	dir := opts.KeysDir
	if dir == "" {
		var err error
		if dir, err = DefaultKeysDir(opts.Depth); err != nil {
			return err
		}
	}
	opts.Progress("keys: loading or setting up development keys in " + dir)
	start := time.Now()
	keys, err := circuits.LoadOrSetupDevelopment(dir, compiled, opts.Progress)
	if err != nil {
		return err
	}
	r.SetupMs = ms(time.Since(start))
	r.CircuitID, r.Setup = keys.Manifest.CircuitID, keys.Manifest.Setup
	var buf bytes.Buffer
	if _, err := keys.PK.WriteTo(&buf); err != nil {
		return err
	}
	r.ProvingKeyBytes = buf.Len()
	buf.Reset()
	if _, err := keys.VK.WriteTo(&buf); err != nil {
		return err
	}
	r.VerifyingKeyBytes = buf.Len()

	r.WitnessMsMedian, err = timeWitness(opts.Depth, st, cred, opts.Runs)
	if err != nil {
		return err
	}
	resetPeakRSS(r)
	opts.Progress(fmt.Sprintf("proving %d times", opts.Runs))
	var proof *circuits.Proof
	var pseudonym fr.Element
	prove := make([]time.Duration, opts.Runs)
	for i := range prove {
		start := time.Now()
		proof, pseudonym, err = keys.Prove(st, cred)
		prove[i] = time.Since(start)
		if err != nil {
			return err
		}
	}
	r.PeakRSSBytes = peakRSS()
	r.ProveMsMedian, r.ProveMsMin, r.ProveMsMax = stats(prove)
	enc, err := proof.MarshalBinary()
	if err != nil {
		return err
	}
	r.ProofBytes = len(enc)
	opts.Progress("verifying")
	verify := make([]time.Duration, 5*opts.Runs)
	for i := range verify {
		start := time.Now()
		var p circuits.Proof
		if err := p.UnmarshalBinary(enc); err != nil {
			return err
		}
		if err := keys.Verify(st, pseudonym, &p); err != nil {
			return fmt.Errorf("bench: a valid proof did not verify: %w", err)
		}
		verify[i] = time.Since(start)
	}
	r.VerifyMsMedian, _, _ = stats(verify)
	return nil
}

func benchPlonk(r *CircuitReport, st *circuits.Statement, cred *circuits.Credential, opts CircuitOptions) error {
	def, err := circuits.NewCircuit(opts.Depth)
	if err != nil {
		return err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), scs.NewBuilder, def)
	if err != nil {
		return err
	}
	r.Constraints, r.ConstraintKind = ccs.GetNbConstraints(), "plonk"
	opts.Progress("keys: PLONK setup over an insecure test SRS (gnark unsafekzg)")
	start := time.Now()
	srs, lagrange, err := unsafekzg.NewSRS(ccs)
	if err != nil {
		return err
	}
	pk, vk, err := plonk.Setup(ccs, srs, lagrange)
	if err != nil {
		return err
	}
	r.SetupMs = ms(time.Since(start))
	r.Setup = "insecure test SRS"
	var buf bytes.Buffer
	if _, err := pk.WriteTo(&buf); err != nil {
		return err
	}
	r.ProvingKeyBytes = buf.Len()
	buf.Reset()
	if _, err := vk.WriteTo(&buf); err != nil {
		return err
	}
	r.VerifyingKeyBytes = buf.Len()

	r.WitnessMsMedian, err = timeWitness(opts.Depth, st, cred, opts.Runs)
	if err != nil {
		return err
	}
	full, public, err := witnesses(opts.Depth, st, cred)
	if err != nil {
		return err
	}
	resetPeakRSS(r)
	opts.Progress(fmt.Sprintf("proving %d times", opts.Runs))
	prove := make([]time.Duration, opts.Runs)
	var proof plonk.Proof
	for i := range prove {
		start := time.Now()
		proof, err = plonk.Prove(ccs, pk, full)
		prove[i] = time.Since(start)
		if err != nil {
			return err
		}
	}
	r.PeakRSSBytes = peakRSS()
	r.ProveMsMedian, r.ProveMsMin, r.ProveMsMax = stats(prove)
	buf.Reset()
	if _, err := proof.WriteTo(&buf); err != nil {
		return err
	}
	r.ProofBytes = buf.Len()
	opts.Progress("verifying")
	verify := make([]time.Duration, 5*opts.Runs)
	for i := range verify {
		start := time.Now()
		if err := plonk.Verify(proof, vk, public); err != nil {
			return fmt.Errorf("bench: a valid PLONK proof did not verify: %w", err)
		}
		verify[i] = time.Since(start)
	}
	r.VerifyMsMedian, _, _ = stats(verify)
	return nil
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
// to the setup that may have run before.
func resetPeakRSS(r *CircuitReport) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		r.PeakRSSScope = "process (setup included: the peak could not be reset)"
		return
	}
	r.PeakRSSScope = "proving (peak reset after setup)"
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
