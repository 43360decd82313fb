package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Figure is one named, comparable measurement of a suite: what results.csv
// holds a row for and what `bench compare` compares.
type Figure struct {
	Key            string `json:"key"` // unique in one results file, e.g. "circuit/groth16/d32/p2/prove_ms"
	Unit           string `json:"unit"`
	HigherIsBetter bool   `json:"higher_is_better,omitempty"`
	// Exact figures (sizes, constraint counts) have no noise: any change
	// in the worse direction is a regression.
	Exact bool  `json:"exact,omitempty"`
	Stats Stats `json:"stats"`
}

func exact(key, unit string, v float64) Figure {
	return Figure{Key: key, Unit: unit, Exact: true, Stats: NewStats([]float64{v})}
}

// Figures flattens the results into their figures, in a stable order.
func (r *Results) Figures() []Figure {
	var out []Figure
	for _, c := range r.Circuits {
		b := c.Report
		k := fmt.Sprintf("circuit/%s/%s/d%d/p%d/", c.Circuit, b.Backend, c.Depth, c.GOMAXPROCS)
		out = append(out,
			exact(k+"constraints", "count", float64(b.Constraints)),
			exact(k+"proof_bytes", "B", float64(b.ProofBytes)),
			exact(k+"proving_key_bytes", "B", float64(b.ProvingKeyBytes)),
			exact(k+"verifying_key_bytes", "B", float64(b.VerifyingKeyBytes)),
			Figure{Key: k + "witness_ms", Unit: "ms", Stats: b.WitnessMs},
			Figure{Key: k + "solve_ms", Unit: "ms", Stats: b.SolveMs},
			Figure{Key: k + "prove_ms", Unit: "ms", Stats: b.ProveMs},
			Figure{Key: k + "verify_ms", Unit: "ms", Stats: b.VerifyMs},
			Figure{Key: k + "peak_rss_bytes", Unit: "B", Stats: NewStats([]float64{float64(b.PeakRSSBytes)})},
		)
		for _, g := range b.Groups {
			out = append(out, exact(k+"group/"+g.Name, "constraints", float64(g.Constraints)))
		}
		for _, p := range b.ProveSplit {
			out = append(out, Figure{Key: k + "split/" + p.Name, Unit: "ms", Stats: p.Ms})
		}
	}
	for _, a := range r.Accumulator {
		k := fmt.Sprintf("accumulator/n%d/", a.Leaves)
		out = append(out,
			Figure{Key: k + "append_per_s", Unit: "1/s", HigherIsBetter: true, Stats: a.AppendPerS},
			Figure{Key: k + "revoke_per_s", Unit: "1/s", HigherIsBetter: true, Stats: a.RevokePerS},
			Figure{Key: k + "path_us", Unit: "µs", Stats: a.PathUs},
			Figure{Key: k + "publish_ms", Unit: "ms", Stats: a.PublishMs},
			Figure{Key: k + "store_bytes_per_leaf", Unit: "B", Stats: NewStats([]float64{float64(a.BytesPerLeaf)})},
		)
	}
	for _, s := range r.Signatures {
		out = append(out, Figure{Key: "signature/" + s.Suite + "/" + s.Operation + "_us", Unit: "µs", Stats: s.Us})
	}
	return append(out, r.Extra...)
}

// WriteCSV writes one row per figure: key, unit, the summary and the raw
// values separated by spaces.
func (r *Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"key", "unit", "higher_is_better", "exact", "n", "median", "min", "p25", "p75", "max", "raw"}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, x := range r.Figures() {
		raw := make([]string, len(x.Stats.Raw))
		for i, v := range x.Stats.Raw {
			raw[i] = f(v)
		}
		s := x.Stats
		if err := cw.Write([]string{x.Key, x.Unit, strconv.FormatBool(x.HigherIsBetter), strconv.FormatBool(x.Exact),
			strconv.Itoa(len(s.Raw)), f(s.Median), f(s.Min), f(s.P25), f(s.P75), f(s.Max), strings.Join(raw, " ")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadResults reads a results.json file.
func ReadResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	if r.Format != ResultsFormat {
		return nil, fmt.Errorf("%w: %s has format %q", ErrFormat, path, r.Format)
	}
	return &r, nil
}

// MinBand is the smallest noise band [Compare] allows a timed figure: runs
// with no spread (one run, say) still vary by this much between sessions.
const MinBand = 0.05

// Comparison is one figure present in both results.
type Comparison struct {
	Key   string  `json:"key"`
	Unit  string  `json:"unit"`
	A     float64 `json:"a_median"`
	B     float64 `json:"b_median"`
	Ratio float64 `json:"ratio"` // B/A
	// Band is the relative noise band: the runs' interquartile ranges
	// relative to their medians, summed over A and B (at least MinBand for
	// timed figures, 0 for exact ones).
	Band      float64 `json:"band"`
	Regressed bool    `json:"regressed"` // B is worse than A beyond the band
	Improved  bool    `json:"improved"`  // B is better than A beyond the band
}

// Compare matches the figures of a and b by key and judges each change
// against the noise band of its runs. Figures in only one of them are
// listed in onlyA and onlyB.
func Compare(a, b *Results) (cmp []Comparison, onlyA, onlyB []string) {
	fb := map[string]Figure{}
	for _, f := range b.Figures() {
		fb[f.Key] = f
	}
	seen := map[string]bool{}
	for _, fa := range a.Figures() {
		seen[fa.Key] = true
		g, ok := fb[fa.Key]
		if !ok {
			onlyA = append(onlyA, fa.Key)
			continue
		}
		c := Comparison{Key: fa.Key, Unit: fa.Unit, A: fa.Stats.Median, B: g.Stats.Median}
		switch {
		case c.A != 0:
			c.Ratio = c.B / c.A
		case c.B == 0:
			c.Ratio = 1
		default:
			c.Ratio = math.Inf(1)
		}
		if !fa.Exact {
			c.Band = max(MinBand, relIQR(fa.Stats)+relIQR(g.Stats))
		}
		worse, better := c.Ratio > 1+c.Band, c.Ratio < 1/(1+c.Band)
		if fa.HigherIsBetter {
			worse, better = better, worse
		}
		c.Regressed, c.Improved = worse, better
		cmp = append(cmp, c)
	}
	for k := range fb {
		if !seen[k] {
			onlyB = append(onlyB, k)
		}
	}
	slices.Sort(onlyB)
	return cmp, onlyA, onlyB
}

func relIQR(s Stats) float64 {
	if s.Median == 0 {
		return 0
	}
	return math.Abs(s.P75-s.P25) / math.Abs(s.Median)
}
