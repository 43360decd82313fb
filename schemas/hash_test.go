package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// TestExpandMessageXMDSHA256 runs RFC 9380 Appendix K.1 through the same
// expand_message_xmd that production runs over SM3.
func TestExpandMessageXMDSHA256(t *testing.T) {
	data, err := os.ReadFile("testdata/rfc9380-expand-message-xmd-sha256.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		DST   string `json:"DST"`
		Tests []struct {
			Msg          string `json:"msg"`
			LenInBytes   int    `json:"len_in_bytes"`
			UniformBytes string `json:"uniform_bytes"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors.Tests) != 10 {
		t.Fatalf("%d RFC 9380 vectors, want 10", len(vectors.Tests))
	}
	for _, v := range vectors.Tests {
		want, err := hex.DecodeString(v.UniformBytes)
		if err != nil {
			t.Fatal(err)
		}
		got := expandMessageXMD(sha256.New, []byte(v.Msg), []byte(vectors.DST), v.LenInBytes)
		if !bytes.Equal(got, want) {
			t.Errorf("msg %.10q len %d:\n got %x\nwant %x", v.Msg, v.LenInBytes, got, want)
		}
	}
}

func TestHashToFieldDST(t *testing.T) {
	if _, err := HashToField("", []byte("x")); err == nil {
		t.Error("empty DST accepted")
	}
	if _, err := HashToField(string(make([]byte, 256)), []byte("x")); err == nil {
		t.Error("256-byte DST accepted")
	}
	if _, err := HashToField(string(bytes.Repeat([]byte("d"), 255)), []byte("x")); err != nil {
		t.Errorf("255-byte DST refused: %v", err)
	}
	for _, dst := range []string{IdentityDST, ScopeDST, NonceDST} {
		if err := checkDST(dst); err != nil {
			t.Errorf("%s: %v", dst, err)
		}
	}
}

// TestDomainSeparation: the same bytes under two tags give two elements.
func TestDomainSeparation(t *testing.T) {
	msg := []byte("0123456789abcdef")
	s, err := ScopeElement(string(msg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NonceElement(msg)
	if err != nil {
		t.Fatal(err)
	}
	i, err := HashToField(IdentityDST, msg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Equal(&n) || s.Equal(&i) || n.Equal(&i) {
		t.Error("scope, nonce and identity tags collide")
	}
	s2, _ := ScopeElement("0123456789abcdeg")
	if s.Equal(&s2) {
		t.Error("two scopes give one element")
	}
}

func TestScopeElementErrors(t *testing.T) {
	for name, scope := range map[string]string{
		"empty":    "",
		"too long": string(bytes.Repeat([]byte("s"), MaxScopeBytes+1)),
		"not utf8": "\xff\xfe",
	} {
		if _, err := ScopeElement(scope); err == nil {
			t.Errorf("%s scope accepted", name)
		}
	}
	if _, err := ScopeElement(string(bytes.Repeat([]byte("s"), MaxScopeBytes))); err != nil {
		t.Errorf("longest scope refused: %v", err)
	}
}

func TestNonceElementErrors(t *testing.T) {
	for _, n := range []int{0, MinNonceBytes - 1, MaxNonceBytes + 1} {
		if _, err := NonceElement(make([]byte, n)); err == nil {
			t.Errorf("%d-byte nonce accepted", n)
		}
	}
	for _, n := range []int{MinNonceBytes, MaxNonceBytes} {
		if _, err := NonceElement(make([]byte, n)); err != nil {
			t.Errorf("%d-byte nonce refused: %v", n, err)
		}
	}
}

func BenchmarkHashToField(b *testing.B) {
	msg := make([]byte, 100)
	for b.Loop() {
		if _, err := HashToField(IdentityDST, msg); err != nil {
			b.Fatal(err)
		}
	}
}
