package registry_test

import (
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
)

// FuzzVerifyPlatform feeds arbitrary registrations, status lists and x5c
// values to the wallet's check: it must refuse with an error, never panic,
// and accept only the genuine pair.
func FuzzVerifyPlatform(f *testing.F) {
	r := registrytest.New(f, jose.SuiteGM)
	p := r.Register(f, domain, entitled())
	status := r.Status(f)
	x5c := strings.Join(p.X5C(), ",")
	f.Add(p.Registration, status, x5c)
	f.Add(p.Registration[:len(p.Registration)-2], status, x5c)
	f.Add(p.Registration, status[:len(status)/2], x5c)
	f.Add(p.Registration, "", x5c[:len(x5c)/2])
	f.Add("a.b.c", "x", "")
	now := r.Now()
	f.Fuzz(func(t *testing.T, reg, st, x5cJoined string) {
		chain, err := registry.ParseX5C(strings.Split(x5cJoined, ","))
		if err != nil {
			return
		}
		got, err := registry.VerifyPlatform(chain, reg, st, r.Roots(), now)
		if err == nil && (reg != p.Registration || got.Domain != domain) {
			t.Fatalf("accepted a registration that is not the one issued: %q", reg)
		}
	})
}
