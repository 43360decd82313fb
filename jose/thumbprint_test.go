package jose

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/multiformats/go-multibase"
)

func TestRFC7638Example(t *testing.T) {
	// RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1 and its SHA-256
	// thumbprint. The canonicaliser is generic over string members, so the
	// RFC's own example checks it byte for byte.
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	got, err := canonicalMembers(map[string]string{"n": n, "kty": "RSA", "e": "AQAB"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"e":"AQAB","kty":"RSA","n":"` + n + `"}`; string(got) != want {
		t.Fatalf("canonical form = %s", got)
	}
	sum := sha256.Sum256(got)
	if tp := encodeB64(sum[:]); tp != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("RFC 7638 thumbprint = %s", tp)
	}
}

func TestThumbprintEC(t *testing.T) {
	// The RFC 7515 A.3 P-256 key, with an optional member that must not
	// change the thumbprint. Digests checked by hand with sha256sum and
	// `openssl dgst -sm3` over the canonical form below; the key id with an
	// independent base58 encoder.
	const canonical = `{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`
	pub, err := ParsePublicJWK([]byte(`{"kid":"ignored","kty":"EC","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"}`))
	if err != nil {
		t.Fatal(err)
	}
	in, err := pub.thumbprintInput()
	if err != nil || string(in) != canonical {
		t.Fatalf("canonical form = %s, %v", in, err)
	}
	sha, err := pub.Thumbprint(crypto.SHA256)
	if err != nil || hex.EncodeToString(sha) != "a0a232c2f194a53553cb1310ddbc0821e414b9d7ebfc290b323084d7d1020fe5" {
		t.Errorf("SHA-256 thumbprint = %x, %v", sha, err)
	}
	sm3, err := pub.Thumbprint(ThumbprintSM3)
	if err != nil || hex.EncodeToString(sm3) != "b5a76041767316e0fbf2a033b587910a77033769355f26af1577229b9213b916" {
		t.Errorf("SM3 thumbprint = %x, %v", sm3, err)
	}
	if m, _ := pub.ThumbprintSM3(); hex.EncodeToString(m) != hex.EncodeToString(sm3) {
		t.Error("ThumbprintSM3 method differs from Thumbprint(ThumbprintSM3)")
	}
	if kid := pub.KeyID(); kid != "zDE6peSxfhrdWmhThsc4nc8W2CEVUUZmyB6MVbezTbULm" {
		t.Errorf("KeyID = %s", kid)
	}
	if _, err := pub.Thumbprint(crypto.Hash(0)); err == nil {
		t.Error("Thumbprint with an unavailable hash succeeded")
	}
	if _, err := (*PublicKey)(nil).Thumbprint(crypto.SHA256); !errors.Is(err, ErrKey) {
		t.Errorf("nil key: %v", err)
	}
}

func TestKeyIDSM2(t *testing.T) {
	k := mustKey(t, SuiteGM)
	kid := k.Public().KeyID()
	if !strings.HasPrefix(kid, "z") {
		t.Fatalf("KeyID = %q, want base58btc multibase", kid)
	}
	enc, data, err := multibase.Decode(kid)
	if err != nil || enc != multibase.Base58BTC {
		t.Fatalf("multibase.Decode(%q): %v", kid, err)
	}
	tp, _ := k.Public().ThumbprintSM3()
	if hex.EncodeToString(data) != hex.EncodeToString(tp) {
		t.Error("KeyID is not the SM3 thumbprint")
	}
	in, _ := k.Public().thumbprintInput()
	if !strings.HasPrefix(string(in), `{"crv":"SM2","kty":"EC","x":"`) {
		t.Errorf("SM2 canonical form = %s", in)
	}
	if mustKey(t, SuiteGM).Public().KeyID() == kid {
		t.Error("two keys share a key id")
	}
}
