package jose

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// RFC 7515 Appendix A.3: the ES256 key and the complete JWS.
const (
	rfc7515A3Key = `{"kty":"EC","crv":"P-256",
	 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
	 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
	 "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}`
	rfc7515A3JWS = "eyJhbGciOiJFUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	rfc7515A3Payload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
)

func mustKey(t testing.TB, s Suite) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(s, nil)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", s, err)
	}
	return k
}

// signRawHeader signs an arbitrary header text with key, so a test can break
// exactly one header rule while the signature itself stays valid.
func signRawHeader(t testing.TB, key *PrivateKey, header string, payload []byte) string {
	t.Helper()
	input := encodeB64([]byte(header)) + "." + encodeB64(payload)
	sig, err := key.SignRaw([]byte(input))
	if err != nil {
		t.Fatalf("SignRaw: %v", err)
	}
	return input + "." + encodeB64(sig)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, s := range []Suite{SuiteGM, SuiteIntl} {
		t.Run(string(s), func(t *testing.T) {
			k := mustKey(t, s)
			hdr := map[string]any{"typ": "dc+sd-jwt", "kid": k.Public().KeyID()}
			payload := []byte(`{"sub":"x"}`)
			tok, err := Sign(k, hdr, payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := hdr["alg"]; ok {
				t.Error("Sign modified the caller's header map")
			}
			gotHdr, gotPayload, err := Verify(tok, k.Public())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if gotHdr["alg"] != k.Alg() || gotHdr["typ"] != "dc+sd-jwt" || gotHdr["kid"] != k.Public().KeyID() {
				t.Errorf("header = %v", gotHdr)
			}
			if !bytes.Equal(gotPayload, payload) {
				t.Errorf("payload = %q", gotPayload)
			}
			// An explicit matching alg is allowed.
			if _, err := Sign(k, map[string]any{"alg": k.Alg()}, payload); err != nil {
				t.Errorf("Sign with matching alg: %v", err)
			}
			// Another key of the same suite must not verify it.
			if _, _, err := Verify(tok, mustKey(t, s).Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify with another key: err = %v, want ErrSignature", err)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	k := mustKey(t, SuiteGM)
	if _, err := Sign(k, map[string]any{"alg": AlgES256}, nil); !errors.Is(err, ErrAlgMismatch) {
		t.Errorf("alg ES256 with SM2 key: err = %v", err)
	}
	if _, err := Sign(k, map[string]any{"alg": "none"}, nil); !errors.Is(err, ErrAlgMismatch) {
		t.Errorf("alg none: err = %v", err)
	}
	if _, err := Sign(k, map[string]any{"crit": []string{"b64"}}, nil); !errors.Is(err, ErrCrit) {
		t.Errorf("crit: err = %v", err)
	}
	if _, err := Sign(k, map[string]any{"bad": func() {}}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("unserialisable header: err = %v", err)
	}
	if _, err := Sign(nil, nil, nil); !errors.Is(err, ErrKey) {
		t.Errorf("nil key: err = %v", err)
	}
}

func TestRFC7515A3(t *testing.T) {
	k, err := ParsePrivateJWK([]byte(rfc7515A3Key))
	if err != nil {
		t.Fatalf("ParsePrivateJWK: %v", err)
	}
	hdr, payload, err := Verify(rfc7515A3JWS, k.Public())
	if err != nil {
		t.Fatalf("Verify RFC 7515 A.3: %v", err)
	}
	if hdr["alg"] != AlgES256 || len(hdr) != 1 {
		t.Errorf("header = %v", hdr)
	}
	if string(payload) != rfc7515A3Payload {
		t.Errorf("payload = %q", payload)
	}
	// Change the first character of the signature (r's top bits): must fail.
	i := strings.LastIndexByte(rfc7515A3JWS, '.') + 1
	tampered := rfc7515A3JWS[:i] + "E" + rfc7515A3JWS[i+1:]
	if _, _, err := Verify(tampered, k.Public()); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered A.3 signature: err = %v, want ErrSignature", err)
	}
	// The RFC's key signs tokens that verify.
	tok, err := Sign(k, nil, []byte(rfc7515A3Payload))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Verify(tok, k.Public()); err != nil {
		t.Errorf("round trip with A.3 key: %v", err)
	}
}

func TestSM2KnownAnswer(t *testing.T) {
	// A signature made once by this package (SM2 signing is randomised) and
	// stored, so that a change in Z_A, the signer ID or r||s order shows up.
	key := readTestdata(t, "sm2-kat-key.json")
	tok := strings.TrimSpace(string(readTestdata(t, "sm2-kat.jws")))
	pub, err := ParsePublicJWK(key)
	if err != nil {
		t.Fatal(err)
	}
	hdr, payload, err := Verify(tok, pub)
	if err != nil {
		t.Fatalf("Verify SM2 known answer: %v", err)
	}
	if hdr["alg"] != AlgSM2 || string(payload) != "Yinzheng SM2 known-answer test" {
		t.Errorf("header %v payload %q", hdr, payload)
	}
	// The same r||s must not verify as ES256 over the same point bytes on
	// P-256 (the point is not even on P-256), nor with a changed input.
	j, err := ParseCompact(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.VerifyRaw(append(j.SigningInput(), 'x'), j.Signature); !errors.Is(err, ErrSignature) {
		t.Errorf("changed input: err = %v", err)
	}
	// Swapping r and s must fail: the order is r||s.
	swapped := append(bytes.Clone(j.Signature[32:]), j.Signature[:32]...)
	if err := pub.VerifyRaw(j.SigningInput(), swapped); !errors.Is(err, ErrSignature) {
		t.Errorf("swapped r and s: err = %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	gm := mustKey(t, SuiteGM)
	intl := mustKey(t, SuiteIntl)
	payload := []byte(`{"a":1}`)
	valid, err := Sign(gm, nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	sig, _ := decodeB64(parts[2])
	n := gm.Public()
	order, _ := paramsOf(SuiteGM)

	withSig := func(s []byte) string { return parts[0] + "." + parts[1] + "." + encodeB64(s) }
	withRS := func(r, s *big.Int) string {
		b := make([]byte, 64)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return withSig(b)
	}
	one := big.NewInt(1)
	rOK := new(big.Int).SetBytes(sig[:32])
	sOK := new(big.Int).SetBytes(sig[32:])
	big256 := new(big.Int).Sub(new(big.Int).Lsh(one, 256), one)

	cases := []struct {
		name string
		tok  string
		key  *PublicKey
		want error
	}{
		{"alg none", signRawHeader(t, gm, `{"alg":"none"}`, payload), n, ErrAlgNone},
		{"alg None", signRawHeader(t, gm, `{"alg":"None"}`, payload), n, ErrAlgNone},
		{"unsigned alg none", encodeB64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", n, ErrAlgNone},
		{"ES256 header, SM2 key", signRawHeader(t, gm, `{"alg":"ES256"}`, payload), n, ErrAlgMismatch},
		{"SM2 header, ES256 key", signRawHeader(t, intl, `{"alg":"SM2"}`, payload), intl.Public(), ErrAlgMismatch},
		{"ES256 token, SM2 key", mustSign(t, intl, payload), n, ErrAlgMismatch},
		{"SM2 token, ES256 key", valid, intl.Public(), ErrAlgMismatch},
		{"HS256", signRawHeader(t, gm, `{"alg":"HS256"}`, payload), n, ErrAlgMismatch},
		{"missing alg", signRawHeader(t, gm, `{"typ":"JWT"}`, payload), n, ErrMalformed},
		{"alg not a string", signRawHeader(t, gm, `{"alg":1}`, payload), n, ErrMalformed},
		{"unknown crit", signRawHeader(t, gm, `{"alg":"SM2","crit":["exp"],"exp":1}`, payload), n, ErrCrit},
		{"b64 crit", signRawHeader(t, gm, `{"alg":"SM2","crit":["b64"],"b64":false}`, payload), n, ErrCrit},
		{"empty crit", signRawHeader(t, gm, `{"alg":"SM2","crit":[]}`, payload), n, ErrMalformed},
		{"crit not array", signRawHeader(t, gm, `{"alg":"SM2","crit":"exp"}`, payload), n, ErrMalformed},
		{"crit non-string", signRawHeader(t, gm, `{"alg":"SM2","crit":[1]}`, payload), n, ErrMalformed},
		{"duplicate alg", signRawHeader(t, gm, `{"alg":"SM2","alg":"SM2"}`, payload), n, ErrMalformed},
		{"duplicate escaped", signRawHeader(t, gm, `{"alg":"SM2","\u0061lg":"SM2"}`, payload), n, ErrMalformed},
		{"duplicate nested", signRawHeader(t, gm, `{"alg":"SM2","cnf":{"k":1,"k":2}}`, payload), n, ErrMalformed},
		{"header array", signRawHeader(t, gm, `["alg","SM2"]`, payload), n, ErrMalformed},
		{"header string", signRawHeader(t, gm, `"SM2"`, payload), n, ErrMalformed},
		{"header trailing data", signRawHeader(t, gm, `{"alg":"SM2"}{}`, payload), n, ErrMalformed},
		{"header invalid JSON", signRawHeader(t, gm, `{"alg":"SM2",}`, payload), n, ErrMalformed},
		{"header invalid UTF-8", signRawHeader(t, gm, "{\"alg\":\"SM2\",\"x\":\"\xff\"}", payload), n, ErrMalformed},
		{"header too deep", signRawHeader(t, gm, `{"alg":"SM2","x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, payload), n, ErrMalformed},
		{"empty header", "." + parts[1] + "." + parts[2], n, ErrMalformed},
		{"padded header", parts[0] + "=." + parts[1] + "." + parts[2], n, ErrMalformed},
		{"padded signature", valid + "==", n, ErrMalformed},
		{"newline in payload", parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2], n, ErrMalformed},
		{"standard base64 alphabet", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+", n, ErrMalformed},
		{"non-canonical trailing bits", parts[0] + "." + parts[1] + "." + nonCanonical(parts[2]), n, ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], n, ErrMalformed},
		{"four parts", valid + ".", n, ErrMalformed},
		{"one part", parts[0], n, ErrMalformed},
		{"too large", parts[0] + "." + strings.Repeat("A", MaxCompactSize) + "." + parts[2], n, ErrTooLarge},
		{"signature 63 bytes", withSig(sig[:63]), n, ErrSignature},
		{"signature 65 bytes", withSig(append(bytes.Clone(sig), 0)), n, ErrSignature},
		{"signature DER", withSig(mustDER(t, sig)), n, ErrSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", n, ErrSignature},
		{"r zero", withRS(new(big.Int), sOK), n, ErrSignature},
		{"s zero", withRS(rOK, new(big.Int)), n, ErrSignature},
		{"r = n", withRS(order.order, sOK), n, ErrSignature},
		{"s = n", withRS(rOK, order.order), n, ErrSignature},
		{"r = 2^256-1", withRS(big256, sOK), n, ErrSignature},
		{"s = 2^256-1", withRS(rOK, big256), n, ErrSignature},
		{"tampered payload", parts[0] + "." + encodeB64([]byte(`{"a":2}`)) + "." + parts[2], n, ErrSignature},
		{"nil key", valid, nil, ErrKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Verify(c.tok, c.key)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// The unmodified token still verifies, so the cases above fail for the
	// reason they name and not because the fixture is broken.
	if _, _, err := Verify(valid, n); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if _, _, err := Verify(withRS(rOK, sOK), n); err != nil {
		t.Fatalf("valid token rebuilt from r, s: %v", err)
	}
}

func mustSign(t testing.TB, k *PrivateKey, payload []byte) string {
	t.Helper()
	tok, err := Sign(k, nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mustDER returns the ASN.1 form of an r||s signature (70-72 bytes).
func mustDER(t testing.TB, raw []byte) []byte {
	t.Helper()
	der, err := asn1Signature(raw)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// nonCanonical changes the last character of a base64url string so that it
// decodes to the same bytes with non-zero unused bits (64-byte signatures
// leave 2 unused bits in the last character).
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^1])
}

func TestParseCompact(t *testing.T) {
	k := mustKey(t, SuiteIntl)
	tok, err := Sign(k, map[string]any{"kid": "k1", "cnf": map[string]any{"jwk": k.Public()}}, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseCompact(tok)
	if err != nil {
		t.Fatal(err)
	}
	if j.Header["kid"] != "k1" || string(j.Payload) != "hi" || len(j.Signature) != 64 {
		t.Errorf("parsed %+v", j)
	}
	if string(j.SigningInput()) != tok[:strings.LastIndexByte(tok, '.')] {
		t.Errorf("SigningInput = %q", j.SigningInput())
	}
	// cnf.jwk round-trips into a PublicKey.
	raw, _ := json.Marshal(j.Header["cnf"].(map[string]any)["jwk"])
	var pk PublicKey
	if err := json.Unmarshal(raw, &pk); err != nil || !pk.Equal(k.Public()) {
		t.Errorf("cnf.jwk round trip: %v", err)
	}
	// ParseCompact does not judge alg.
	if _, err := ParseCompact(signRawHeader(t, k, `{"alg":"none"}`, nil)); err != nil {
		t.Errorf("ParseCompact(alg none) = %v, want no error", err)
	}
}

func TestSM2DefaultSignerID(t *testing.T) {
	// Check the stored known answer against gmsm directly with the signer ID
	// spelled out, so "default signer ID" means 1234567812345678 and not
	// whatever default gmsm might pick.
	pub, err := ParsePublicJWK(readTestdata(t, "sm2-kat-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseCompact(strings.TrimSpace(string(readTestdata(t, "sm2-kat.jws"))))
	if err != nil {
		t.Fatal(err)
	}
	der := mustDER(t, j.Signature)
	if !sm2.VerifyASN1WithSM2(pub.key, []byte("1234567812345678"), j.SigningInput(), der) {
		t.Error("known answer does not verify with signer ID 1234567812345678")
	}
	if sm2.VerifyASN1WithSM2(pub.key, []byte("1234567812345679"), j.SigningInput(), der) {
		t.Error("known answer verifies with another signer ID")
	}
}
