package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/bench"
)

// TestBenchVerifierRefusesBadFlags: out-of-range flags are usage errors
// (exit 2) before any key is loaded.
func TestBenchVerifierRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "verifier", "--min-time", "0s"},
		{"bench", "verifier", "--min-time", "2h"},
		{"bench", "verifier", "--distinct", "0"},
		{"bench", "verifier", "--distinct", "257"},
		{"bench", "verifier", "--batch", "8"},
		{"bench", "verifier", "--http-clients", "0"},
		{"bench", "verifier", "--http-clients", "257"},
		{"bench", "verifier", "--no-http", "--http-only"},
	} {
		if code, _, errOut := cli(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
	}
}

// TestBenchVerifierHTTP runs the HTTP figures of `bench verifier --json`
// for a moment: the replicas are child processes of this (test) binary,
// each started with bench.ReplicaEnv (TestMain serves it, as main does),
// at the GOMAXPROCS the figure names, and every answer was taken and its
// verdict read back valid.
func TestBenchVerifierHTTP(t *testing.T) {
	code, out, errOut := cli("bench", "verifier", "--http-only", "--json", "--quiet", "--http-time", "200ms", "--http-clients", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		HTTP *bench.VerifierHTTPReport `json:"http"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.HTTP == nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.HTTP.Runs) != 6 || !strings.Contains(r.HTTP.Setup, "separate process") {
		t.Fatalf("report: %s", out)
	}
	for _, run := range r.HTTP.Runs {
		if run.Verified == 0 || run.Errors != 0 || run.GOMAXPROCS < 1 || run.PerSecond <= 0 {
			t.Errorf("run %+v", run)
		}
	}
}
