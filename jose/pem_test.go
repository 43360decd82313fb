package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestPEMRoundTrip(t *testing.T) {
	for _, s := range []Suite{SuiteGM, SuiteIntl} {
		t.Run(string(s), func(t *testing.T) {
			k := mustKey(t, s)
			priv, err := k.MarshalPKCS8PEM()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(priv, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("PKCS#8 PEM = %s", priv)
			}
			k2, err := ParsePKCS8PEM(priv)
			if err != nil {
				t.Fatal(err)
			}
			if k2.Suite() != s || !k2.Public().Equal(k.Public()) {
				t.Error("PKCS#8 round trip changed the key")
			}
			pub, err := k.Public().MarshalPKIXPEM()
			if err != nil {
				t.Fatal(err)
			}
			p2, err := ParsePKIXPEM(pub)
			if err != nil {
				t.Fatal(err)
			}
			if !p2.Equal(k.Public()) {
				t.Error("PKIX round trip changed the key")
			}
		})
	}
}

func TestPEMOpenSSL(t *testing.T) {
	// Keys made by OpenSSL import with the right suite.
	sm2Key, err := ParsePKCS8PEM(readTestdata(t, "openssl-sm2.pem"))
	if err != nil {
		t.Fatalf("OpenSSL SM2 PKCS#8: %v", err)
	}
	sm2Pub, err := ParsePKIXPEM(readTestdata(t, "openssl-sm2-pub.pem"))
	if err != nil {
		t.Fatalf("OpenSSL SM2 PKIX: %v", err)
	}
	if sm2Key.Suite() != SuiteGM || !sm2Pub.Equal(sm2Key.Public()) {
		t.Error("OpenSSL SM2 private and public keys disagree")
	}
	// A signature made by OpenSSL (SM3, distid 1234567812345678) verifies.
	hdr, payload, err := Verify(strings.TrimSpace(string(readTestdata(t, "openssl-sm2.jws"))), sm2Pub)
	if err != nil {
		t.Fatalf("OpenSSL SM2 signature: %v", err)
	}
	if hdr["alg"] != AlgSM2 || string(payload) != "signed by OpenSSL" {
		t.Errorf("header %v payload %q", hdr, payload)
	}
	// Our export is accepted back by our import, and matches OpenSSL's PKIX.
	ours, err := sm2Pub.MarshalPKIXPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, readTestdata(t, "openssl-sm2-pub.pem")) {
		t.Errorf("SM2 PKIX export differs from OpenSSL's:\n%s", ours)
	}
	p256, err := ParsePKCS8PEM(readTestdata(t, "openssl-p256.pem"))
	if err != nil || p256.Suite() != SuiteIntl {
		t.Errorf("OpenSSL P-256 PKCS#8: %v", err)
	}
}

func TestPEMRejects(t *testing.T) {
	k := mustKey(t, SuiteGM)
	priv, _ := k.MarshalPKCS8PEM()
	pub, _ := k.Public().MarshalPKIXPEM()
	der := func(p []byte) []byte { b, _ := pem.Decode(p); return b.Bytes }
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: der(priv)})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)

	privCases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not PEM", []byte("hello"), ErrMalformed},
		{"public key block", pub, ErrMalformed},
		{"SEC 1 EC PRIVATE KEY", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), ErrMalformed},
		{"text before", append([]byte("junk\n"), priv...), ErrMalformed},
		{"second block after", append(bytes.Clone(priv), priv...), ErrMalformed},
		{"PEM headers", withHeaders, ErrMalformed},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x01, 0x00}}), ErrKey},
		{"P-384", readTestdata(t, "openssl-p384.pem"), ErrKey},
		{"Ed25519", readTestdata(t, "openssl-ed25519.pem"), ErrKey},
		{"too large", bytes.Repeat([]byte("A"), maxJWKSize+1), ErrTooLarge},
	}
	for _, c := range privCases {
		t.Run("pkcs8/"+c.name, func(t *testing.T) {
			if _, err := ParsePKCS8PEM(c.in); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	pubCases := []struct {
		name string
		in   []byte
		want error
	}{
		{"private key block", priv, ErrMalformed},
		{"trailing text", append(bytes.Clone(pub), "x"...), ErrMalformed},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), ErrKey},
		{"P-384", readTestdata(t, "openssl-p384-pub.pem"), ErrKey},
		{"Ed25519", readTestdata(t, "openssl-ed25519-pub.pem"), ErrKey},
	}
	for _, c := range pubCases {
		t.Run("pkix/"+c.name, func(t *testing.T) {
			if _, err := ParsePKIXPEM(c.in); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// The valid inputs the cases were derived from are accepted.
	if _, err := ParsePKCS8PEM(priv); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePKIXPEM(append(bytes.Clone(pub), "\n\n"...)); err != nil {
		t.Fatalf("trailing whitespace: %v", err)
	}
}
