package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/bench"
)

// smallResults builds a results file by hand: one circuit run and one
// accumulator size, with a few runs' spread.
func smallResults(prove []float64, constraints int, appendPerS []float64) *bench.Results {
	return &bench.Results{
		Format: bench.ResultsFormat,
		Circuits: []bench.CircuitRun{{Circuit: "presentation", Depth: 4, GOMAXPROCS: 2, Report: bench.BackendReport{
			Backend: bench.BackendGroth16, Constraints: constraints, ProofBytes: 129,
			ProveMs: bench.NewStats(prove), VerifyMs: bench.NewStats([]float64{1, 1.02, 0.98}),
		}}},
		Accumulator: []bench.AccumulatorRun{{Leaves: 10000, AppendPerS: bench.NewStats(appendPerS)}},
	}
}

func writeResults(t *testing.T, r *bench.Results) string {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func compare(t *testing.T, a, b *bench.Results) (int, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run([]string{"bench", "compare", "--all", writeResults(t, a), writeResults(t, b)}, strings.NewReader(""), &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestBenchCompare(t *testing.T) {
	base := smallResults([]float64{100, 102, 98, 101, 99}, 1341, []float64{2e5, 2.1e5, 1.9e5})
	if code, out := compare(t, base, base); code != 0 || strings.Contains(out, "REGRESSED") {
		t.Fatalf("identical results: exit %d\n%s", code, out)
	}
	// Within the noise band: 2% slower with a ±4% spread is not a regression.
	if code, out := compare(t, base, smallResults([]float64{102, 104, 100, 103, 101}, 1341, []float64{2e5, 2.1e5, 1.9e5})); code != 0 {
		t.Fatalf("change inside the band flagged: exit %d\n%s", code, out)
	}
	cases := map[string]*bench.Results{
		"prove 30% slower":         smallResults([]float64{130, 132, 128, 131, 129}, 1341, []float64{2e5, 2.1e5, 1.9e5}),
		"one more constraint":      smallResults([]float64{100, 102, 98, 101, 99}, 1342, []float64{2e5, 2.1e5, 1.9e5}),
		"append throughput halved": smallResults([]float64{100, 102, 98, 101, 99}, 1341, []float64{1e5, 1.05e5, 0.95e5}),
	}
	for name, b := range cases {
		code, out := compare(t, base, b)
		if code != 1 || !strings.Contains(out, "REGRESSED") {
			t.Errorf("%s: exit %d, want 1\n%s", name, code, out)
		}
	}
	// Faster is an improvement, not a failure.
	if code, out := compare(t, base, smallResults([]float64{60, 61, 59, 60, 60}, 1300, []float64{4e5, 4.1e5, 3.9e5})); code != 0 || !strings.Contains(out, "improved") {
		t.Fatalf("improvement: exit %d\n%s", code, out)
	}
	// Another file format is refused.
	other := *base
	other.Format = "something-else/v1"
	if code, _ := compare(t, base, &other); code == 0 {
		t.Fatal("a file of another format was compared")
	}
}
