package main

import "testing"

// TestBenchVerifierRefusesBadFlags: out-of-range flags are usage errors
// (exit 2) before any key is loaded.
func TestBenchVerifierRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "verifier", "--min-time", "0s"},
		{"bench", "verifier", "--min-time", "2h"},
		{"bench", "verifier", "--distinct", "0"},
		{"bench", "verifier", "--distinct", "257"},
		{"bench", "verifier", "--batch", "8"},
	} {
		if code, _, errOut := cli(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
	}
}
