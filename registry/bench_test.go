package registry_test

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
)

// BenchmarkVerifyPlatform measures the wallet's check of one request's
// platform: chain, registration and stapled status list.
func BenchmarkVerifyPlatform(b *testing.B) {
	for _, suite := range suites {
		b.Run(string(suite), func(b *testing.B) {
			r := registrytest.New(b, suite)
			p := r.Register(b, domain, entitled())
			status, now := r.Status(b), r.Now()
			for b.Loop() {
				if _, err := registry.VerifyPlatform(p.Chain, p.Registration, status, r.Roots(), now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRegister measures one registration (key, certificate,
// registration, status list re-signed and written).
func BenchmarkRegister(b *testing.B) {
	for _, suite := range suites {
		b.Run(string(suite), func(b *testing.B) {
			r := registrytest.New(b, suite)
			for b.Loop() {
				if _, err := r.Registrar.Register(domain, entitled(), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
