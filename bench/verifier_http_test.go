package bench

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestVerifierHTTPReport runs the HTTP benchmark briefly with two clients:
// every figure is there, with its replica processes at the GOMAXPROCS it
// names (a replica reports its own, and a mismatch fails the run), every
// answer was taken and its verdict read back valid (a refused answer or
// verdict counts as an error; a transaction the service could not make,
// 503 on a loaded machine, is asked again and counted apart), and each transaction costs the Redis round
// trips it must (record it, read it twice for the answer, consume it,
// read the verdict); one by one, every verification is a call of its
// own. It uses the cached development keys of depth HTTPDepth (set up on
// first use) and a redis-server it starts.
func TestVerifierHTTPReport(t *testing.T) {
	r, err := VerifierHTTP(VerifierHTTPOptions{Duration: 200 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ replicas, procs, conc, batch int }{{1, 1, 1, 64}, {1, 1, 2, 1}, {3, 1, 2, 1}, {1, 1, 2, 64}, {3, 1, 2, 64}, {1, 2, 2, 64}}
	if r.Depth != HTTPDepth || len(r.Runs) != len(want) || r.NumCPU < 1 || !strings.Contains(r.Setup, "separate process") {
		t.Fatalf("report: %+v", r)
	}
	for i, run := range r.Runs {
		if run.CreateRetries > 0 {
			t.Logf("run %d: %d transactions asked again, the first: %s", i, run.CreateRetries, run.FirstRetry)
		}
		w := want[i]
		if run.Replicas != w.replicas || run.GOMAXPROCS != w.procs || run.Concurrency != w.conc || run.MaxBatch != w.batch {
			t.Fatalf("run %d: %+v, want %+v", i, run, w)
		}
		if run.Verified == 0 || run.Errors != 0 || run.PerSecond <= 0 || run.P50ms <= 0 || run.P99ms < run.P50ms || run.MeanBatch < 1 {
			t.Fatalf("implausible run %d: %+v", i, run)
		}
		if run.MaxBatch == 1 && run.MeanBatch != 1 {
			t.Fatalf("run %d: mean batch %v one by one", i, run.MeanBatch)
		}
		if run.RedisTripsPerVerification < 4.8 || run.RedisTripsPerVerification > 5.5 || run.RedisMsPerTrip <= 0 {
			t.Fatalf("run %d: %.2f Redis round trips per verification, want about 5 (SET, 2 GET, script, GET)", i, run.RedisTripsPerVerification)
		}
		if run.ReplicaCPUms <= 0 || run.ReplicaBusy <= 0 || run.ReplicaBusy > float64(run.GOMAXPROCS)+0.5 {
			t.Fatalf("run %d: no replica CPU time measured", i)
		}
	}
	t.Logf("%+v", r.Runs)
	if r.ThreeOverOneUnbatched != r.Runs[2].PerSecond/r.Runs[1].PerSecond || r.ThreeOverOne != r.Runs[4].PerSecond/r.Runs[3].PerSecond {
		t.Fatalf("three over one %v and %v unbatched, runs %+v", r.ThreeOverOne, r.ThreeOverOneUnbatched, r.Runs)
	}
	for name, bad := range map[string]VerifierHTTPOptions{
		"concurrency": {Concurrency: -1},
		"duration":    {Duration: -time.Second},
	} {
		if _, err := VerifierHTTP(bad); err == nil {
			t.Errorf("%s: accepted %+v", name, bad)
		}
	}
}

// TestReplicaRefusesBadConfig: a replica given a configuration it cannot
// serve says why on its first line and stops, instead of listening.
func TestReplicaRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]string{
		"not JSON":      "{",
		"no nonces":     `{"redis_url":"redis://127.0.0.1:1"}`,
		"ragged nonces": `{"nonces":"AAAA"}`,
		"no trust":      `{"nonces":"` + strings.Repeat("A", 64) + `","verifier_dir":"` + t.TempDir() + `"}`,
	} {
		var out bytes.Buffer
		err := ServeReplica(strings.NewReader(cfg+"\n"), &out)
		var hello replicaHello
		if err == nil || json.Unmarshal(out.Bytes(), &hello) != nil || hello.Error == "" || hello.Addr != "" {
			t.Errorf("%s: error %v, said %q", name, err, out.String())
		}
	}
}

// TestStartReplicaRefusesNonReplica: a child that does not answer as a
// replica is an error, not a replica: cat echoes the configuration back
// (no address, no GOMAXPROCS), false exits without a word.
func TestStartReplicaRefusesNonReplica(t *testing.T) {
	for _, name := range []string{"cat", "false"} {
		exe, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := startReplica(exe, 1, &replicaConfig{}); err == nil {
			t.Errorf("%s was taken for a replica", name)
		}
	}
}
