package main

import (
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	code, out, errOut := runCLI(t, "", "demo")
	if code != 0 {
		t.Fatalf("demo: %d %s", code, errOut)
	}
	for _, suite := range []string{"[gm  ]", "[intl]"} {
		if n := strings.Count(out, suite); n != 4 {
			t.Errorf("%s: %d steps printed, want 4\n%s", suite, n, out)
		}
	}
	if !strings.Contains(out, "age_over_18=true, name disclosed=false, key bound=true") {
		t.Errorf("demo output lacks the verified result:\n%s", out)
	}
	if code, _, _ := runCLI(t, "", "demo", "extra"); code != 2 {
		t.Errorf("demo with a stray argument: exit %d", code)
	}
}
