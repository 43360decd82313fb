package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/frontend/cs/scs"
	"github.com/consensys/gnark/test/unsafekzg"

	"github.com/yinzheng-id/yinzheng/bench/groups"
)

// ErrInvalidAssignment reports that the assignment given to [Circuit] does
// not satisfy the circuit, so nothing could be proved.
var ErrInvalidAssignment = errors.New("bench: the assignment does not satisfy the circuit")

// Options configure [Circuit].
type Options struct {
	// Runs is the number of timed repetitions of each stage (5 when 0);
	// verification runs 5× as often.
	Runs int
	// Backends to measure: BackendGroth16 and/or BackendPlonk (both when empty).
	Backends []string
	// Groth16Keys, when set, provides the Groth16 keys for the compiled
	// system (cached development keys, say) and names their setup. Without
	// it the keys come from groth16.Setup, whose trapdoor is random and
	// thrown away: fine for timing, never for use.
	Groth16Keys func(ccs constraint.ConstraintSystem) (groth16.ProvingKey, groth16.VerifyingKey, string, error)
	// Progress, when set, receives one line per stage.
	Progress func(stage string)
}

// Stats summarise one figure over the runs: milliseconds (or the figure's
// own unit), with the raw values in run order.
type Stats struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	P25    float64   `json:"p25"`
	P75    float64   `json:"p75"`
	Max    float64   `json:"max"`
	Raw    []float64 `json:"raw"`
}

// NewStats computes the summary of raw (which it does not modify). The
// quartiles interpolate linearly between order statistics.
func NewStats(raw []float64) Stats {
	if len(raw) == 0 {
		return Stats{}
	}
	s := slices.Clone(raw)
	slices.Sort(s)
	q := func(p float64) float64 {
		x := p * float64(len(s)-1)
		i := int(x)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (x-float64(i))*(s[i+1]-s[i])
	}
	return Stats{Median: q(0.5), Min: s[0], P25: q(0.25), P75: q(0.75), Max: s[len(s)-1], Raw: slices.Clone(raw)}
}

// Phase is one part of the prover with its timings.
type Phase struct {
	Name string `json:"name"`
	Ms   Stats  `json:"ms"`
}

// BackendReport holds the figures of one circuit under one backend.
type BackendReport struct {
	Backend        string         `json:"backend"`
	Curve          string         `json:"curve"`
	ConstraintKind string         `json:"constraint_kind"` // r1cs or plonk (SCS)
	Constraints    int            `json:"constraints"`
	Groups         []groups.Count `json:"groups"`
	PublicInputs   int            `json:"public_inputs"`
	SecretInputs   int            `json:"secret_inputs"`
	Internal       int            `json:"internal_variables"`
	Setup          string         `json:"setup"`
	// CompileMs is one recorded compilation (gnark's profiler on, which
	// makes it slower than a plain frontend.Compile).
	CompileMs         float64 `json:"compile_ms"`
	SetupMs           float64 `json:"setup_ms"`
	ProvingKeyBytes   int     `json:"proving_key_bytes"`
	VerifyingKeyBytes int     `json:"verifying_key_bytes"`
	ProofBytes        int     `json:"proof_bytes"`
	WitnessMs         Stats   `json:"witness_ms"` // frontend.NewWitness from the assignment
	SolveMs           Stats   `json:"solve_ms"`   // the constraint solver alone
	ProveMs           Stats   `json:"prove_ms"`   // the whole prover, solving included
	VerifyMs          Stats   `json:"verify_ms"`
	// ProveSplit times the prover's phases one after the other, on the
	// prover's own inputs and with its task counts; ProveSplitMethod says how.
	ProveSplit       []Phase `json:"prove_split,omitempty"`
	ProveSplitMethod string  `json:"prove_split_method"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	PeakRSSScope     string  `json:"peak_rss_scope"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
}

// Report holds the figures of one circuit under each backend measured.
type Report struct {
	Runs      int             `json:"runs"`
	NumCPU    int             `json:"num_cpu"`
	GoVersion string          `json:"go_version"`
	Backends  []BackendReport `json:"backends"`
}

// Backend returns the figures of one backend, or nil.
func (r *Report) Backend(name string) *BackendReport {
	for i := range r.Backends {
		if r.Backends[i].Backend == name {
			return &r.Backends[i]
		}
	}
	return nil
}

// Circuit measures any gnark circuit on BN254: circuit is the definition
// (slices sized), assignment a valid assignment of it. For each backend it
// compiles with constraint groups recorded (package groups), runs the
// setup, then times witness construction, solving, proving and verifying
// over opts.Runs runs, and splits the Groth16 prover into its phases.
func Circuit(circuit, assignment frontend.Circuit, opts Options) (*Report, error) {
	if opts.Runs == 0 {
		opts.Runs = 5
	}
	if opts.Runs < 1 || opts.Runs > 10000 {
		return nil, fmt.Errorf("bench: runs %d outside 1…10000", opts.Runs)
	}
	if len(opts.Backends) == 0 {
		opts.Backends = []string{BackendGroth16, BackendPlonk}
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	for _, b := range opts.Backends {
		if b != BackendGroth16 && b != BackendPlonk {
			return nil, fmt.Errorf("bench: unknown backend %q (want %s or %s)", b, BackendGroth16, BackendPlonk)
		}
	}
	field := ecc.BN254.ScalarField()
	full, err := frontend.NewWitness(assignment, field)
	if err != nil {
		return nil, fmt.Errorf("bench: witness: %w", err)
	}
	public, err := full.Public()
	if err != nil {
		return nil, fmt.Errorf("bench: public witness: %w", err)
	}
	rep := &Report{Runs: opts.Runs, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
	for _, b := range opts.Backends {
		r, err := measure(field, b, circuit, assignment, full, public, opts)
		if err != nil {
			return nil, err
		}
		rep.Backends = append(rep.Backends, *r)
	}
	return rep, nil
}

func measure(field *big.Int, backend string, circuit, assignment frontend.Circuit, full, public witness.Witness, opts Options) (*BackendReport, error) {
	r := &BackendReport{Backend: backend, Curve: "bn254", GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var newBuilder frontend.NewBuilder = r1cs.NewBuilder[constraint.U64]
	kind := "r1cs"
	if backend == BackendPlonk {
		newBuilder, kind = scs.NewBuilder[constraint.U64], "plonk"
	}
	opts.Progress(fmt.Sprintf("%s: compiling (%s) with constraint groups", backend, kind))
	start := time.Now()
	ccs, counts, err := groups.Record(field, newBuilder, circuit)
	if err != nil {
		return nil, fmt.Errorf("bench: compile: %w", err)
	}
	r.CompileMs = ms(time.Since(start))
	r.ConstraintKind, r.Constraints, r.Groups = kind, ccs.GetNbConstraints(), counts
	r.PublicInputs = ccs.GetNbPublicVariables()
	if kind == "r1cs" {
		r.PublicInputs-- // without the constant one
	}
	r.SecretInputs, r.Internal = ccs.GetNbSecretVariables(), ccs.GetNbInternalVariables()

	if _, err := ccs.Solve(full); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAssignment, err)
	}
	runs := opts.Runs
	times := func(n int, f func() error) (Stats, error) {
		raw := make([]float64, n)
		for i := range raw {
			t := time.Now()
			if err := f(); err != nil {
				return Stats{}, err
			}
			raw[i] = ms(time.Since(t))
		}
		return NewStats(raw), nil
	}
	if r.WitnessMs, err = times(runs, func() error {
		_, err := frontend.NewWitness(assignment, field)
		return err
	}); err != nil {
		return nil, err
	}
	if r.SolveMs, err = times(runs, func() error {
		_, err := ccs.Solve(full)
		return err
	}); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch backend {
	case BackendGroth16:
		opts.Progress("groth16: setup")
		start = time.Now()
		var pk groth16.ProvingKey
		var vk groth16.VerifyingKey
		if opts.Groth16Keys != nil {
			pk, vk, r.Setup, err = opts.Groth16Keys(ccs)
		} else {
			r.Setup = "groth16.Setup (random trapdoor, discarded)"
			pk, vk, err = groth16.Setup(ccs)
		}
		if err != nil {
			return nil, fmt.Errorf("bench: groth16 setup: %w", err)
		}
		r.SetupMs = ms(time.Since(start))
		if r.ProvingKeyBytes, r.VerifyingKeyBytes, err = keySizes(&buf, pk, vk); err != nil {
			return nil, err
		}
		opts.Progress(fmt.Sprintf("groth16: proving %d times", runs))
		r.PeakRSSScope = resetPeakRSS()
		var proof groth16.Proof
		if r.ProveMs, err = times(runs, func() (err error) {
			proof, err = groth16.Prove(ccs, pk, full)
			return err
		}); err != nil {
			return nil, err
		}
		r.PeakRSSBytes = peakRSS()
		buf.Reset()
		if _, err := proof.WriteTo(&buf); err != nil {
			return nil, err
		}
		r.ProofBytes = buf.Len()
		opts.Progress("groth16: verifying")
		if r.VerifyMs, err = times(5*runs, func() error { return groth16.Verify(proof, vk, public) }); err != nil {
			return nil, fmt.Errorf("bench: a valid Groth16 proof did not verify: %w", err)
		}
		opts.Progress("groth16: timing the prover's phases")
		if r.ProveSplit, r.ProveSplitMethod, err = groth16Split(ccs, pk, full, runs); err != nil {
			return nil, err
		}
	case BackendPlonk:
		opts.Progress("plonk: setup over an insecure test SRS (gnark unsafekzg)")
		start = time.Now()
		srs, lagrange, err := unsafekzg.NewSRS(ccs)
		if err != nil {
			return nil, err
		}
		pk, vk, err := plonk.Setup(ccs, srs, lagrange)
		if err != nil {
			return nil, err
		}
		r.SetupMs = ms(time.Since(start))
		r.Setup = "insecure test SRS (gnark unsafekzg)"
		if r.ProvingKeyBytes, r.VerifyingKeyBytes, err = keySizes(&buf, pk, vk); err != nil {
			return nil, err
		}
		opts.Progress(fmt.Sprintf("plonk: proving %d times", runs))
		r.PeakRSSScope = resetPeakRSS()
		var proof plonk.Proof
		if r.ProveMs, err = times(runs, func() (err error) {
			proof, err = plonk.Prove(ccs, pk, full)
			return err
		}); err != nil {
			return nil, err
		}
		r.PeakRSSBytes = peakRSS()
		buf.Reset()
		if _, err := proof.WriteTo(&buf); err != nil {
			return nil, err
		}
		r.ProofBytes = buf.Len()
		opts.Progress("plonk: verifying")
		if r.VerifyMs, err = times(5*runs, func() error { return plonk.Verify(proof, vk, public) }); err != nil {
			return nil, fmt.Errorf("bench: a valid PLONK proof did not verify: %w", err)
		}
		rest := make([]float64, runs)
		for i := range rest {
			rest[i] = max(0, r.ProveMs.Raw[i]-r.SolveMs.Median)
		}
		r.ProveSplit = []Phase{{Name: "solve", Ms: r.SolveMs}, {Name: "polynomial IOP and KZG (prove minus solve)", Ms: NewStats(rest)}}
		r.ProveSplitMethod = "PLONK: the solver timed alone; the rest is each prove run minus the median solve (gnark's PLONK prover interleaves its FFTs and KZG MSMs across rounds)"
	}
	return r, nil
}

func keySizes(buf *bytes.Buffer, pk, vk io.WriterTo) (int, int, error) {
	buf.Reset()
	if _, err := pk.WriteTo(buf); err != nil {
		return 0, 0, err
	}
	p := buf.Len()
	buf.Reset()
	if _, err := vk.WriteTo(buf); err != nil {
		return 0, 0, err
	}
	return p, buf.Len(), nil
}

// Groth16 prover phases, in gnark v0.16.3's order (backend/groth16/bn254/prove.go).
const (
	PhaseSolve = "solve"
	PhaseFFT   = "FFTs (quotient H: 3 inverse, 3 coset, 1 inverse coset)"
	PhaseMSMA  = "MSM A (G1)"
	PhaseMSMB1 = "MSM B (G1)"
	PhaseMSMB2 = "MSM B (G2)"
	PhaseMSMK  = "MSM K (G1, private wires)"
	PhaseMSMZ  = "MSM Z (G1, quotient H)"
)

// groth16Split times the BN254 Groth16 prover's phases one at a time, on
// the proving key and solution the prover uses, with the MultiExp task
// counts gnark's prover passes (it runs the MSMs concurrently; here they run
// one after the other, so each time is that phase using the whole machine).
func groth16Split(ccs constraint.ConstraintSystem, gpk groth16.ProvingKey, full witness.Witness, runs int) ([]Phase, string, error) {
	pk, ok := gpk.(*groth16bn254.ProvingKey)
	r1, ok2 := ccs.(*cs.R1CS)
	if !ok || !ok2 {
		return nil, "not split: not a BN254 Groth16 proving key and R1CS", nil
	}
	if len(pk.CommitmentKeys) != 0 {
		return nil, "not split: the circuit has BSB22 commitments, whose extra phases are not timed", nil
	}
	names := []string{PhaseSolve, PhaseFFT, PhaseMSMA, PhaseMSMB1, PhaseMSMB2, PhaseMSMK, PhaseMSMZ}
	raw := make([][]float64, len(names))
	n := runtime.NumCPU() // what gnark's prover uses for its task counts
	g2Tasks := n
	if g2Tasks <= 16 {
		g2Tasks *= 2
	}
	for range runs {
		t := time.Now()
		sol, err := r1.Solve(full)
		if err != nil {
			return nil, "", err
		}
		raw[0] = append(raw[0], ms(time.Since(t)))
		s := sol.(*cs.R1CSSolution)
		w := []fr.Element(s.W)

		t = time.Now()
		h := quotient(s.A, s.B, s.C, &pk.Domain)
		raw[1] = append(raw[1], ms(time.Since(t)))

		wa := filterInfinity(w, pk.InfinityA)
		wb := filterInfinity(w, pk.InfinityB)
		var g1 curve.G1Jac
		var g2 curve.G2Jac
		msm := []func() error{
			func() error { _, err := g1.MultiExp(pk.G1.A, wa, ecc.MultiExpConfig{NbTasks: n / 2}); return err },
			func() error { _, err := g1.MultiExp(pk.G1.B, wb, ecc.MultiExpConfig{NbTasks: n / 2}); return err },
			func() error { _, err := g2.MultiExp(pk.G2.B, wb, ecc.MultiExpConfig{NbTasks: g2Tasks}); return err },
			func() error {
				_, err := g1.MultiExp(pk.G1.K, w[r1.GetNbPublicVariables():], ecc.MultiExpConfig{NbTasks: n / 2})
				return err
			},
			func() error {
				_, err := g1.MultiExp(pk.G1.Z, h[:pk.Domain.Cardinality-1], ecc.MultiExpConfig{NbTasks: n / 2})
				return err
			},
		}
		for i, f := range msm {
			t = time.Now()
			if err := f(); err != nil {
				return nil, "", err
			}
			raw[2+i] = append(raw[2+i], ms(time.Since(t)))
		}
	}
	out := make([]Phase, len(names))
	for i := range names {
		out[i] = Phase{Name: names[i], Ms: NewStats(raw[i])}
	}
	return out, "Groth16: gnark v0.16.3's prover phases replayed one at a time with gnark-crypto (the solver, the 7 FFTs of computeH, each MultiExp with the prover's task count); the prover overlaps the MSMs, so the phases sum to more than one prove", nil
}

// quotient is gnark's computeH: H = (A·B − C)/Z over the coset, with the
// same gnark-crypto FFT calls (the pointwise product, which gnark spreads
// over the cores, runs on one here; it is a small part of the phase).
func quotient(a0, b0, c0 []fr.Element, domain *fft.Domain) []fr.Element {
	pad := func(v []fr.Element) []fr.Element {
		out := make([]fr.Element, domain.Cardinality)
		copy(out, v)
		return out
	}
	a, b, c := pad(a0), pad(b0), pad(c0)
	domain.FFTInverse(a, fft.DIF)
	domain.FFTInverse(b, fft.DIF)
	domain.FFTInverse(c, fft.DIF)
	domain.FFT(a, fft.DIT, fft.OnCoset())
	domain.FFT(b, fft.DIT, fft.OnCoset())
	domain.FFT(c, fft.DIT, fft.OnCoset())
	var den, one fr.Element
	one.SetOne()
	den.Exp(domain.FrMultiplicativeGen, new(big.Int).SetUint64(domain.Cardinality))
	den.Sub(&den, &one).Inverse(&den)
	for i := range a {
		a[i].Mul(&a[i], &b[i]).Sub(&a[i], &c[i]).Mul(&a[i], &den)
	}
	domain.FFTInverse(a, fft.DIF, fft.OnCoset())
	return a
}

func filterInfinity(w []fr.Element, inf []bool) []fr.Element {
	out := make([]fr.Element, 0, len(w))
	for i := range w {
		if !inf[i] {
			out = append(out, w[i])
		}
	}
	return out
}
