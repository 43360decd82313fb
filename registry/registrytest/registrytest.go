// Package registrytest gives the tests of other packages a registrar and
// registered platforms in a few lines: a temporary registrar directory with
// cheap key sealing, a clock the test moves, and the roots to pin.
package registrytest

import (
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
)

// Passphrase seals the test registrar's key and the platforms' keys.
var Passphrase = []byte("registrytest passphrase")

// FastKDF are sealing costs for tests only.
var FastKDF = &registry.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Registrar is a test registrar with a movable clock.
type Registrar struct {
	*registry.Registrar
	// Dir is the registrar directory (under t.TempDir()).
	Dir string

	mu  sync.Mutex
	now time.Time
}

// New returns a registrar of suite (jose.SuiteGM or jose.SuiteIntl) in a
// temporary directory, its clock at the current time.
func New(t testing.TB, suite jose.Suite) *Registrar {
	t.Helper()
	r := &Registrar{Dir: t.TempDir(), now: time.Now().UTC().Truncate(time.Second)}
	reg, err := registry.Init(r.Dir, suite, Passphrase, &registry.Options{KDF: FastKDF, Now: r.Now})
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	r.Registrar = reg
	return r
}

// Now is the registrar's clock.
func (r *Registrar) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// SetNow sets the registrar's clock (to sign an old status list, or a
// registration valid later).
func (r *Registrar) SetNow(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = t
}

// Advance moves the registrar's clock by d.
func (r *Registrar) Advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// Register registers domain with e for a day, failing the test on error.
func (r *Registrar) Register(t testing.TB, domain string, e registry.Entitlements) *registry.Platform {
	t.Helper()
	p, err := r.Registrar.Register(domain, e, 24*time.Hour)
	if err != nil {
		t.Fatalf("registrytest: registering %s: %v", domain, err)
	}
	return p
}

// AgeOnly are entitlements to ask for every predicate and no plaintext
// claim, with response URIs anywhere on the domain.
func AgeOnly() registry.Entitlements {
	return registry.Entitlements{Predicates: registry.Predicates()}
}

// Revoke revokes domain and returns the new status list token.
func (r *Registrar) Revoke(t testing.TB, domain string) string {
	t.Helper()
	if err := r.Registrar.Revoke(domain); err != nil {
		t.Fatalf("registrytest: revoking %s: %v", domain, err)
	}
	return r.Status(t)
}

// Status returns a status list token signed as of the registrar's clock.
func (r *Registrar) Status(t testing.TB) string {
	t.Helper()
	s, err := r.StatusList()
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return s
}

// Save writes p into a new temporary platform directory and returns it;
// registry.LoadPlatform(dir, Passphrase) reads it.
func Save(t testing.TB, p *registry.Platform) string {
	t.Helper()
	dir := t.TempDir()
	if err := p.Save(dir, Passphrase, FastKDF); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return dir
}
