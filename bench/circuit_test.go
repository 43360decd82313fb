package bench

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// TestCircuitReport runs the benchmark on a small tree with one run: the
// report must hold plausible figures and the proof must have verified.
func TestCircuitReport(t *testing.T) {
	for _, backend := range []string{BackendGroth16, BackendPlonk} {
		t.Run(backend, func(t *testing.T) {
			r, err := Presentation(CircuitOptions{Depth: 4, Runs: 1, Backend: backend}) // the shared development keys cache
			if err != nil {
				t.Fatal(err)
			}
			if r.Constraints <= 0 || r.ProveMsMedian <= 0 || r.VerifyMsMedian <= 0 || r.ProofBytes <= 0 || r.ProvingKeyBytes <= 0 {
				t.Fatalf("implausible report: %+v", r)
			}
			if backend == BackendGroth16 && (r.ProofBytes != circuits.ProofSize || r.CircuitID == "" || r.Constraints != 1341) {
				t.Fatalf("Groth16 report is not the presentation circuit's: %+v", r)
			}
			if r.GOMAXPROCS < 1 || r.Depth != 4 || r.Backend != backend {
				t.Fatalf("report does not describe the run: %+v", r)
			}
		})
	}
	if _, err := Presentation(CircuitOptions{Depth: 4, Backend: "stark"}); err == nil {
		t.Fatal("unknown backend accepted")
	}
	if _, err := Presentation(CircuitOptions{Depth: 4, Runs: -1}); err == nil {
		t.Fatal("negative runs accepted")
	}
}
