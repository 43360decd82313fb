package wire

import (
	"errors"
	"testing"
)

// TestCheckIdentifier: each refused identifier breaks one rule.
func TestCheckIdentifier(t *testing.T) {
	for _, ok := range []string{"https://issuer.example", "https://issuer.example/cn/2026", "https://localhost:8443"} {
		if err := CheckIdentifier(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"http://issuer.example",      // not https
		"https://",                   // no host
		"https://u@issuer.example",   // user information
		"https://issuer.example?x=1", // query
		"https://issuer.example#f",   // fragment
		"https://issuer.example/",    // trailing slash
		"https:issuer.example",       // opaque
		"https://issuer.example/%zz", // not a URL
		"issuer.example",             // no scheme
	} {
		if err := CheckIdentifier(bad); !errors.Is(err, ErrIdentifier) {
			t.Errorf("%s: %v, want ErrIdentifier", bad, err)
		}
	}
}
