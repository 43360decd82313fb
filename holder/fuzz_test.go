package holder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readSeed(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSeedsParse keeps the fuzz seeds valid documents.
func TestSeedsParse(t *testing.T) {
	if _, err := ParseBundle(readSeed(t, "bundle.json")); err != nil {
		t.Errorf("bundle.json: %v", err)
	}
	r, err := ParseRequest(readSeed(t, "request-zk.json"))
	if err != nil {
		t.Fatalf("request-zk.json: %v", err)
	}
	if _, err := checkZK(r, testNow); err != nil {
		t.Errorf("request-zk.json does not check: %v", err)
	}
	if _, err := ParseRequest(readSeed(t, "request-sd-jwt.json")); err != nil {
		t.Errorf("request-sd-jwt.json: %v", err)
	}
	if _, err := decodeRecoveryPhrase(string(readSeed(t, "recovery-phrase.txt"))); err != nil {
		t.Errorf("recovery-phrase.txt: %v", err)
	}
}

// FuzzParseBundle: any input is parsed or refused, never a panic, and a
// parsed bundle's attributes are checked or refused likewise.
func FuzzParseBundle(f *testing.F) {
	f.Add(readSeed(f, "bundle.json"))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if b.Version != FormatVersion {
			t.Fatalf("accepted version %d", b.Version)
		}
		_, _ = bundleAttributes(b)
	})
}

// FuzzRequest: any request is parsed and checked or refused, never a panic;
// a request that checks has a statement whose inputs are in range.
func FuzzRequest(f *testing.F) {
	f.Add(readSeed(f, "request-zk.json"))
	f.Add(readSeed(f, "request-sd-jwt.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequest(data)
		if err != nil {
			return
		}
		_ = reveal(r, "platform.example")
		if r.SDJWT != nil {
			_, _ = claimPaths(r.SDJWT.Claims)
		}
		z, err := checkZK(r, testNow)
		if err != nil {
			return
		}
		if err := z.statement.Check(); err != nil {
			t.Fatalf("a checked request gives an out-of-range statement: %v", err)
		}
	})
}

// FuzzRecoveryPhrase: decoding never panics, and whatever decodes encodes
// back to a phrase that decodes to the same secret.
func FuzzRecoveryPhrase(f *testing.F) {
	f.Add(strings.TrimSpace(string(readSeed(f, "recovery-phrase.txt"))))
	f.Add("0000-0000")
	f.Fuzz(func(t *testing.T, phrase string) {
		s, err := decodeRecoveryPhrase(phrase)
		if err != nil {
			return
		}
		again, err := decodeRecoveryPhrase(encodeRecoveryPhrase(s))
		if err != nil || !again.Equal(&s) {
			t.Fatalf("round trip of %q failed: %v", phrase, err)
		}
	})
}
