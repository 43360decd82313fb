package bench

import (
	"runtime"
	"testing"
	"time"
)

// TestVerifierReport runs the verifier benchmark on a small tree for a few
// milliseconds a figure: every figure must be there and plausible, and the
// batches must have verified (Verifier fails otherwise).
func TestVerifierReport(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	r, err := Verifier(VerifierOptions{Depth: 4, Distinct: 2, MinTime: 20 * time.Millisecond, Procs: []int{1, 2}, Batches: []int{2, 5}, KeysDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) != before {
		t.Fatalf("GOMAXPROCS left at %d, was %d", runtime.GOMAXPROCS(0), before)
	}
	if r.Depth != 4 || r.DistinctProofs != 2 || r.PublicInputs <= 0 || len(r.Runs) != 6 {
		t.Fatalf("report does not describe the run: %+v", r)
	}
	for i, run := range r.Runs {
		wantProcs, wantBatch := []int{1, 2}[i/3], []int{1, 2, 5}[i%3]
		if run.GOMAXPROCS != wantProcs || run.Batch != wantBatch {
			t.Fatalf("run %d is GOMAXPROCS %d batch %d, want %d and %d", i, run.GOMAXPROCS, run.Batch, wantProcs, wantBatch)
		}
		if run.PerSecond <= 0 || run.PerSecondWithDecode <= 0 || run.Speedup <= 0 || run.SpeedupWithDecode <= 0 {
			t.Fatalf("implausible run %d: %+v", i, run)
		}
		if run.Batch == 1 && (run.Speedup != 1 || run.SpeedupWithDecode != 1) {
			t.Fatalf("one by one is its own baseline, got speed-ups %v and %v", run.Speedup, run.SpeedupWithDecode)
		}
	}
	for name, bad := range map[string]VerifierOptions{
		"distinct":   {Depth: 4, Distinct: -1},
		"batch of 1": {Depth: 4, Batches: []int{1}},
		"gomaxprocs": {Depth: 4, Procs: []int{0}},
	} {
		if _, err := Verifier(bad); err == nil {
			t.Errorf("%s: accepted %+v", name, bad)
		}
	}
}
