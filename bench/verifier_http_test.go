package bench

import (
	"testing"
	"time"
)

// TestVerifierHTTPReport runs the HTTP benchmark briefly with two clients:
// every figure is there, every verification succeeded (a presentation
// refused fails the run), and each costs the Redis round trips it must
// (record the request, read it, consume it). It uses the cached development
// keys of depth HTTPDepth (set up on first use).
func TestVerifierHTTPReport(t *testing.T) {
	r, err := VerifierHTTP(VerifierHTTPOptions{Duration: 150 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ replicas, conc, batch int }{{1, 1, 64}, {1, 2, 1}, {1, 2, 64}, {3, 2, 64}}
	if r.Depth != HTTPDepth || len(r.Runs) != len(want) {
		t.Fatalf("report: %+v", r)
	}
	for i, run := range r.Runs {
		w := want[i]
		if run.Replicas != w.replicas || run.Concurrency != w.conc || run.MaxBatch != w.batch {
			t.Fatalf("run %d: %+v, want %+v", i, run, w)
		}
		if run.Verified == 0 || run.Errors != 0 || run.PerSecond <= 0 || run.P50ms <= 0 || run.P99ms < run.P50ms || run.MeanBatch < 1 {
			t.Fatalf("implausible run %d: %+v", i, run)
		}
		if run.RedisTripsPerVerification < 2.5 || run.RedisMsPerTrip <= 0 {
			t.Fatalf("run %d: %.2f Redis round trips per verification, want about 3 (SET, GET, script)", i, run.RedisTripsPerVerification)
		}
	}
	if _, err := VerifierHTTP(VerifierHTTPOptions{Concurrency: -1}); err == nil {
		t.Fatal("accepted a negative concurrency")
	}
}
