package circuits

import (
	"strings"
	"testing"
)

// TestIsDigestName: only multibase base58btc-like text becomes a file name;
// each refused input breaks one rule.
func TestIsDigestName(t *testing.T) {
	for s, want := range map[string]bool{
		"z5YjQ9bXn":                    true,
		"z" + strings.Repeat("a", 127): true,
		"z" + strings.Repeat("a", 128): false, // too long
		"z":                            false, // too short
		"":                             false,
		"m5YjQ9":                       false, // not base58btc's prefix
		"z../etc":                      false, // path elements
		"z/abs":                        false,
		"z5Yj\x00":                     false,
		"z5Yj-Q":                       false,
	} {
		if got := IsDigestName(s); got != want {
			t.Errorf("IsDigestName(%q) = %v, want %v", s, got, want)
		}
	}
}
