package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
)

// FuzzParseCertificates feeds arbitrary PEM and x5c text to the parsers a
// wallet runs on what a platform sends: they refuse with ErrFormat, never
// panic, and what they accept re-encodes to the same certificates.
// (Signature checks are left out of the fuzz loop: at a millisecond each,
// the short CI pass could not afford them; TestVerifyPlatformFlippedBytes
// covers that path.)
func FuzzParseCertificates(f *testing.F) {
	r := registrytest.New(f, jose.SuiteGM)
	p := r.Register(f, domain, entitled())
	f.Add(string(registry.EncodeCertificates(append(p.Chain, r.Root())...)))
	f.Add(strings.Join(p.X5C(), ","))
	f.Add("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		if certs, err := registry.ParseCertificates([]byte(s)); err == nil {
			again, err := registry.ParseCertificates(registry.EncodeCertificates(certs...))
			if err != nil || len(again) != len(certs) {
				t.Fatalf("re-encoding %d certificates: %v", len(certs), err)
			}
		} else if !errors.Is(err, registry.ErrFormat) {
			t.Fatalf("PEM refused without ErrFormat: %v", err)
		}
		if _, err := registry.ParseX5C(strings.Split(s, ",")); err != nil && !errors.Is(err, registry.ErrFormat) {
			t.Fatalf("x5c refused without ErrFormat: %v", err)
		}
		if _, err := registry.LoadRoots([]byte(s)); err != nil && !errors.Is(err, registry.ErrFormat) {
			t.Fatalf("roots refused without ErrFormat: %v", err)
		}
	})
}

// TestVerifyPlatformFlippedBytes changes one character of the registration
// or of the status list at a time: every change is refused (with an error,
// not a panic), whatever part of the JWS it hits.
func TestVerifyPlatformFlippedBytes(t *testing.T) {
	r := registrytest.New(t, jose.SuiteGM)
	p := r.Register(t, domain, entitled())
	status := r.Status(t)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for i := 0; i < len(p.Registration); i += 5 {
		if _, err := registry.VerifyPlatform(p.Chain, flip(p.Registration, i), status, r.Roots(), r.Now()); err == nil {
			t.Fatalf("registration changed at %d accepted", i)
		}
	}
	for i := 0; i < len(status); i += 5 {
		if _, err := registry.VerifyPlatform(p.Chain, p.Registration, flip(status, i), r.Roots(), r.Now()); err == nil {
			t.Fatalf("status list changed at %d accepted", i)
		}
	}
}
