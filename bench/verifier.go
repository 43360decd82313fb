package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// VerifierOptions configure the in-process verifier benchmark.
type VerifierOptions struct {
	Depth    int           // tree depth (circuits.ProductionDepth when 0)
	KeysDir  string        // where development keys are cached (a user cache directory when empty)
	Distinct int           // distinct proofs to make (8 when 0); batches repeat them
	MinTime  time.Duration // minimum time measured per figure (1 s when 0)
	Procs    []int         // GOMAXPROCS values (1 and 2 when empty)
	Batches  []int         // batch sizes (8, 64 and 256 when empty); one by one is always measured
	Progress func(stage string)
}

// VerifierReport holds the figures of the in-process verifier benchmark.
type VerifierReport struct {
	Depth          int    `json:"depth"`
	PublicInputs   int    `json:"public_inputs"`
	CircuitID      string `json:"circuit_id"`
	Setup          string `json:"setup"`
	DistinctProofs int    `json:"distinct_proofs"`
	// What is timed: building the public witness from the statement and
	// verifying (Keys.Verify or Keys.VerifyBatch); with_decode adds
	// decoding every proof from its ProofSize bytes (point decompression
	// and the G2 subgroup check), as a verifier service does.
	Timed      string        `json:"timed"`
	NumCPU     int           `json:"num_cpu"`
	GoVersion  string        `json:"go_version"`
	WeightBits int           `json:"batch_weight_bits"`
	Runs       []VerifierRun `json:"runs"`
	// HTTP holds the figures over HTTP (VerifierHTTP), when measured.
	HTTP *VerifierHTTPReport `json:"http,omitempty"`
}

// VerifierRun is one figure: verifications per second at one GOMAXPROCS
// and batch size (1: one by one with Keys.Verify).
type VerifierRun struct {
	GOMAXPROCS int `json:"gomaxprocs"`
	Batch      int `json:"batch"`
	// Verifications per second, without and with decoding.
	PerSecond           float64 `json:"verifications_per_s"`
	PerSecondWithDecode float64 `json:"verifications_per_s_with_decode"`
	// Speed-up over one by one at the same GOMAXPROCS, same columns.
	Speedup           float64 `json:"speedup"`
	SpeedupWithDecode float64 `json:"speedup_with_decode"`
}

// Verifier measures in-process Groth16 verification of the production
// circuit, one by one and in batches. It proves Distinct presentations
// (distinct credentials, roots and nonces) and fills each batch by
// repeating them: a batch costs the same whatever its proofs are, and
// proving 256 proofs at depth 32 would take minutes.
func Verifier(opts VerifierOptions) (*VerifierReport, error) {
	if opts.Depth == 0 {
		opts.Depth = circuits.ProductionDepth
	}
	if opts.Distinct == 0 {
		opts.Distinct = 8
	}
	if opts.Distinct < 1 || opts.Distinct > 256 {
		return nil, fmt.Errorf("bench: distinct proofs %d outside 1…256", opts.Distinct)
	}
	if opts.MinTime == 0 {
		opts.MinTime = time.Second
	}
	if len(opts.Procs) == 0 {
		opts.Procs = []int{1, 2}
	}
	if len(opts.Batches) == 0 {
		opts.Batches = []int{8, 64, 256}
	}
	for _, p := range opts.Procs {
		if p < 1 || p > 1024 {
			return nil, fmt.Errorf("bench: GOMAXPROCS %d outside 1…1024", p)
		}
	}
	for _, n := range opts.Batches {
		if n < 2 || n > 4096 {
			return nil, fmt.Errorf("bench: batch size %d outside 2…4096", n)
		}
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	depth := opts.Depth
	dir := opts.KeysDir
	if dir == "" {
		var err error
		if dir, err = DefaultKeysDir(depth); err != nil {
			return nil, err
		}
	}
	opts.Progress("compiling the circuit")
	compiled, err := circuits.Compile(depth)
	if err != nil {
		return nil, err
	}
	opts.Progress("keys: loading or setting up development keys in " + dir)
	keys, err := circuits.LoadOrSetupDevelopment(dir, compiled, opts.Progress)
	if err != nil {
		return nil, err
	}
	opts.Progress(fmt.Sprintf("proving %d presentations", opts.Distinct))
	items := make([]circuits.BatchItem, opts.Distinct)
	encoded := make([][]byte, opts.Distinct)
	for i := range items {
		st, cred, err := sampleCredential(depth)
		if err != nil {
			return nil, err
		}
		proof, pseudonym, err := keys.Prove(st, cred)
		if err != nil {
			return nil, err
		}
		if encoded[i], err = proof.MarshalBinary(); err != nil {
			return nil, err
		}
		items[i] = circuits.BatchItem{Statement: st, Pseudonym: pseudonym, Proof: proof}
	}
	r := &VerifierReport{
		Depth:          depth,
		PublicInputs:   keys.Manifest.PublicInputs,
		CircuitID:      keys.Manifest.CircuitID,
		Setup:          keys.Manifest.Setup,
		DistinctProofs: opts.Distinct,
		Timed:          "public witness + verification; with_decode: + proof decoding",
		NumCPU:         runtime.NumCPU(),
		GoVersion:      runtime.Version(),
		WeightBits:     circuits.BatchWeightBits,
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range opts.Procs {
		runtime.GOMAXPROCS(procs)
		opts.Progress(fmt.Sprintf("GOMAXPROCS %d: batches 1, %v, with and without decoding", procs, opts.Batches))
		sizes := append([]int{1}, opts.Batches...)
		var modes []*mode
		for _, n := range sizes {
			for _, decode := range []bool{false, true} {
				m, err := newMode(keys, items, encoded, n, decode)
				if err != nil {
					return nil, err
				}
				modes = append(modes, m)
			}
		}
		if err := measureModes(modes, opts.MinTime); err != nil {
			return nil, err
		}
		for i, n := range sizes {
			plain, dec := modes[2*i], modes[2*i+1]
			r.Runs = append(r.Runs, VerifierRun{
				GOMAXPROCS:          procs,
				Batch:               n,
				PerSecond:           plain.rate(),
				PerSecondWithDecode: dec.rate(),
				Speedup:             plain.rate() / modes[0].rate(),
				SpeedupWithDecode:   dec.rate() / modes[1].rate(),
			})
		}
	}
	return r, nil
}

// mode is one way of verifying: batches of n (n = 1: one by one with
// Keys.Verify), with or without decoding, and the time it has used.
type mode struct {
	n       int
	round   func() error
	elapsed time.Duration
	done    int
}

func (m *mode) rate() float64 { return float64(m.done) / m.elapsed.Seconds() }

func newMode(keys *circuits.Keys, items []circuits.BatchItem, encoded [][]byte, n int, decode bool) (*mode, error) {
	batch := make([]circuits.BatchItem, n)
	for i := range batch {
		batch[i] = items[i%len(items)]
	}
	proofs := make([]circuits.Proof, n)
	m := &mode{n: n}
	m.round = func() error {
		if decode {
			for i := range batch {
				if err := proofs[i].UnmarshalBinary(encoded[i%len(encoded)]); err != nil {
					return err
				}
				batch[i].Proof = &proofs[i]
			}
		}
		if n == 1 {
			return keys.Verify(batch[0].Statement, batch[0].Pseudonym, batch[0].Proof)
		}
		return keys.VerifyBatch(batch)
	}
	// One untimed round warms caches and checks that the batch verifies.
	if err := m.round(); err != nil {
		return nil, fmt.Errorf("bench: a valid batch did not verify: %w", err)
	}
	return m, nil
}

// measureModes runs the modes in turn, a slice of minTime/10 each, until every
// mode has run for minTime: the machine's load changes over time, and
// interleaving spreads the change over all modes instead of skewing their
// ratios.
func measureModes(modes []*mode, minTime time.Duration) error {
	slice := minTime / 10
	for {
		left := false
		for _, m := range modes {
			if m.elapsed >= minTime {
				continue
			}
			left = true
			start := time.Now()
			for time.Since(start) < slice {
				if err := m.round(); err != nil {
					return fmt.Errorf("bench: a valid batch did not verify: %w", err)
				}
				m.done += m.n
			}
			m.elapsed += time.Since(start)
		}
		if !left {
			return nil
		}
	}
}
