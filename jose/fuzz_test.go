package jose

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzParseCompact(f *testing.F) {
	for _, name := range []string{"sm2-kat.jws", "openssl-sm2.jws"} {
		f.Add(strings.TrimSpace(string(readTestdata(f, name))))
	}
	f.Add(rfc7515A3JWS)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("e30.e30.e30")
	f.Add("..")
	pub, err := ParsePublicJWK(readTestdata(f, "sm2-kat-key.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, compact string) {
		j, err := ParseCompact(compact)
		if err != nil {
			if _, _, verr := Verify(compact, pub); verr == nil {
				t.Fatalf("Verify accepted what ParseCompact refused: %v", err)
			}
			return
		}
		// Canonical base64url: the parts re-encode to exactly the input.
		if again := j.RawHeader + "." + j.RawPayload + "." + encodeB64(j.Signature); again != compact {
			t.Fatalf("re-encoding %q gives %q", compact, again)
		}
		if j.Header == nil {
			t.Fatal("nil header without error")
		}
		if _, _, err := Verify(compact, pub); err == nil && j.Header["alg"] != AlgSM2 {
			t.Fatalf("Verify accepted alg %v for an SM2 key", j.Header["alg"])
		}
	})
}

func FuzzParsePublicJWK(f *testing.F) {
	f.Add(readTestdata(f, "sm2-kat-key.json"))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`))
	f.Add([]byte(rfc7515A3Key))
	f.Add([]byte(`{"kty":"EC","crv":"SM2","x":"","y":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicJWK(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(k)
		if err != nil {
			t.Fatalf("MarshalJSON of a parsed key: %v", err)
		}
		k2, err := ParsePublicJWK(out)
		if err != nil || !k2.Equal(k) {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		if _, err := k.ThumbprintSM3(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k.KeyID(), "z") {
			t.Fatal("bad key id")
		}
	})
}
