package main

import (
	"strings"
	"testing"
)

// TestDemo runs the whole demo (the circuit keys come from the shared
// cache) and checks that every step ran and the key outcomes were printed.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo proves several times; skipped in -short runs")
	}
	code, out, errOut := runCLI(t, "", "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"pseudonyms differ across platforms",
		"same pseudonym as before",
		"the holder is not 18 or older",
		"age_under_14=true guardian_consent=true",
		`disclosed claims: {"age_over_18":true}`,
		"a request made before the revocation: the wallet refreshes to the latest root first and refuses",
		"the credential has been revoked",
		"demo complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCLI(t, "", "demo", "extra"); code != 2 {
		t.Errorf("demo with a stray argument: exit %d", code)
	}
}
