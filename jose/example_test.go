package jose

import (
	"crypto"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// TestProfileExample checks every value of the worked example in
// docs/jose-sm2-profile.md (kept in testdata/sm2-profile-example.json; the
// signature was also checked with OpenSSL) and that the document quotes them.
func TestProfileExample(t *testing.T) {
	var ex map[string]string
	if err := json.Unmarshal(readTestdata(t, "sm2-profile-example.json"), &ex); err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateJWK([]byte(ex["private_jwk"]))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicJWK([]byte(ex["public_jwk"]))
	if err != nil || !pub.Equal(k.Public()) {
		t.Fatalf("public JWK: %v", err)
	}
	if b, _ := json.Marshal(k); string(b) != ex["private_jwk"] {
		t.Errorf("private JWK re-marshals as %s", b)
	}
	if b, _ := json.Marshal(pub); string(b) != ex["public_jwk"] {
		t.Errorf("public JWK re-marshals as %s", b)
	}
	in, _ := pub.thumbprintInput()
	tsm3, _ := pub.Thumbprint(ThumbprintSM3)
	tsha, _ := pub.Thumbprint(crypto.SHA256)
	checks := map[string]string{
		"thumbprint_input":         string(in),
		"thumbprint_sm3_hex":       hex.EncodeToString(tsm3),
		"thumbprint_sm3_b64url":    encodeB64(tsm3),
		"thumbprint_sha256_b64url": encodeB64(tsha),
		"kid":                      pub.KeyID(),
	}
	hdr, payload, err := Verify(ex["jws"], pub)
	if err != nil {
		t.Fatalf("example JWS: %v", err)
	}
	j, _ := ParseCompact(ex["jws"])
	rawHdr, _ := decodeB64(j.RawHeader)
	za, _ := sm2.CalculateZA(pub.key, []byte("1234567812345678"))
	e := sm3.Sum(append(za, j.SigningInput()...))
	checks["header"] = string(rawHdr)
	checks["payload"] = string(payload)
	checks["signing_input"] = string(j.SigningInput())
	checks["za_hex"] = hex.EncodeToString(za)
	checks["e_hex"] = hex.EncodeToString(e[:])
	checks["r_hex"] = hex.EncodeToString(j.Signature[:32])
	checks["s_hex"] = hex.EncodeToString(j.Signature[32:])
	if hdr["kid"] != pub.KeyID() {
		t.Errorf("kid header %v", hdr["kid"])
	}
	pkcs8, err := ParsePKCS8PEM([]byte(ex["pkcs8_pem"]))
	if err != nil || !pkcs8.Public().Equal(pub) {
		t.Errorf("PKCS#8: %v", err)
	}
	pkix, err := ParsePKIXPEM([]byte(ex["pkix_pem"]))
	if err != nil || !pkix.Equal(pub) {
		t.Errorf("PKIX: %v", err)
	}
	for name, got := range checks {
		if got != ex[name] {
			t.Errorf("%s = %s, example says %s", name, got, ex[name])
		}
	}

	doc, err := os.ReadFile("../docs/jose-sm2-profile.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range ex {
		for _, line := range strings.Split(strings.TrimSpace(v), "\n") {
			if !strings.Contains(string(doc), line) {
				t.Errorf("docs/jose-sm2-profile.md does not quote %s (%q)", name, line)
				break
			}
		}
	}
}
