package registry_test

import (
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
)

var suites = []jose.Suite{jose.SuiteGM, jose.SuiteIntl}

// forSuites runs f for both suites.
func forSuites(t *testing.T, f func(t *testing.T, suite jose.Suite)) {
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) { f(t, s) })
	}
}

const domain = "platform-a.example"

func entitled() registry.Entitlements {
	return registry.Entitlements{
		Predicates:   []string{registry.PredicateAgeOver, registry.PredicateMinLevel},
		Claims:       []string{"name"},
		LegalBasis:   "Art. 8, real-name registration of a licensed service",
		ResponseURIs: []string{"https://" + domain + "/oid4vp/response"},
	}
}

// The valid flow: every refusal below breaks one check of this.
func TestVerifyPlatformValid(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		p := r.Register(t, domain, entitled())
		reg, err := registry.VerifyPlatform(p.Chain, p.Registration, r.Status(t), r.Roots(), r.Now())
		if err != nil {
			t.Fatal(err)
		}
		if reg.Domain != domain || !reg.StatusChecked || reg.Registrar != registry.DefaultID {
			t.Fatalf("registration %+v", reg)
		}
		e := reg.Entitlements
		if !e.AllowsPredicate(registry.PredicateAgeOver) || e.AllowsPredicate(registry.PredicateAgeUnder) ||
			!e.AllowsClaim("name") || e.AllowsClaim("wanghao") || e.LegalBasis == "" {
			t.Fatalf("entitlements %+v", e)
		}
		if !e.AllowsResponseURI(domain, "https://"+domain+"/oid4vp/response") || e.AllowsResponseURI(domain, "https://"+domain+"/other") {
			t.Fatal("response URIs not as registered")
		}
		if !reg.Key.Equal(p.Key.Public()) || reg.Key.Suite() != suite || !reg.Root.Equal(r.Root()) {
			t.Fatal("the verified key or root is not the platform's")
		}
		if !reg.NotAfter.Equal(r.Now().Add(24*time.Hour)) || !reg.NotBefore.Equal(r.Now()) {
			t.Fatalf("validity %s to %s", reg.NotBefore, reg.NotAfter)
		}
		// The root in the chain (as some x5c carry it) changes nothing.
		if _, err := registry.VerifyPlatform(append(p.Chain, r.Root()), p.Registration, p.Status, r.Roots(), r.Now()); err != nil {
			t.Fatal(err)
		}
		// x5c round trip.
		chain, err := registry.ParseX5C(p.X5C())
		if err != nil || !chain[0].Equal(p.Chain[0]) {
			t.Fatalf("x5c: %v", err)
		}
		if p.ClientID() != "x509_san_dns:"+domain {
			t.Fatal(p.ClientID())
		}
	})
}

func TestVerifyPlatformRefusals(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		other := registrytest.New(t, suite)
		p := r.Register(t, domain, entitled())
		b := r.Register(t, "platform-b.example", registrytest.AgeOnly())
		a2 := r.Register(t, domain, entitled()) // a second registration of the same domain
		foreign := other.Register(t, domain, entitled())
		status := r.Status(t)
		now := r.Now()
		day := 24 * time.Hour
		claims := registry.ClaimsOf(p.Registration)
		with := func(kv ...any) string {
			c := registry.ClaimsOf(p.Registration)
			for i := 0; i < len(kv); i += 2 {
				c[kv[i].(string)] = kv[i+1]
			}
			return r.SignRegistration(c, "")
		}
		selfSigned, selfKey := registry.Issue(registry.Cert{DNSNames: []string{domain}, KeyUsage: smx509.KeyUsageDigitalSignature, NotBefore: now, NotAfter: now.Add(day)}, suite, nil, nil)
		selfClaims := registry.ClaimsOf(p.Registration)
		selfClaims["cnf"] = map[string]any{"jwk": selfKey.Public()}
		interCA, interCAKey := registry.Issue(registry.Cert{IsCA: true, KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageDigitalSignature, NotBefore: now, NotAfter: now.Add(day)}, suite, r.Root(), r.Key())
		interNotCA, interNotCAKey := registry.Issue(registry.Cert{IsCA: false, KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageDigitalSignature, NotBefore: now, NotAfter: now.Add(day)}, suite, r.Root(), r.Key())
		leafUnder := func(ca *smx509.Certificate, caKey *jose.PrivateKey, c registry.Cert) ([]*smx509.Certificate, string) {
			leaf, key := registry.Issue(c, suite, ca, caKey)
			cl := registry.ClaimsOf(p.Registration)
			cl["cnf"] = map[string]any{"jwk": key.Public()}
			chain := []*smx509.Certificate{leaf}
			if ca != r.Root() {
				chain = append(chain, ca)
			}
			return chain, r.SignRegistration(cl, "")
		}
		good := registry.Cert{DNSNames: []string{domain}, KeyUsage: smx509.KeyUsageDigitalSignature, NotBefore: now, NotAfter: now.Add(day)}
		underCA, underCAReg := leafUnder(interCA, interCAKey, good)
		underNotCA, underNotCAReg := leafUnder(interNotCA, interNotCAKey, good)
		twoNames := good
		twoNames.DNSNames = []string{domain, "platform-b.example"}
		twoNamesChain, twoNamesReg := leafUnder(r.Root(), r.Key(), twoNames)
		noSign := good
		noSign.KeyUsage = smx509.KeyUsageKeyEncipherment
		noSignChain, noSignReg := leafUnder(r.Root(), r.Key(), noSign)
		caLeaf := good
		caLeaf.IsCA, caLeaf.KeyUsage = true, smx509.KeyUsageCertSign|smx509.KeyUsageDigitalSignature
		caLeafChain, caLeafReg := leafUnder(r.Root(), r.Key(), caLeaf)
		byPlatform, err := jose.Sign(p.Key, map[string]any{"typ": registry.RegistrationType}, []byte(mustJSON(claims)))
		if err != nil {
			t.Fatal(err)
		}
		idx := uint64(claims["status"].(map[string]any)["status_list"].(map[string]any)["idx"].(float64))
		revokedBits := make([]byte, 1)
		revokedBits[idx/8] |= 1 << (idx % 8)

		// The positive control: a proper intermediate CA is accepted, so
		// the not-a-CA case below fails on the CA flag alone.
		if _, err := registry.VerifyPlatform(underCA, underCAReg, status, r.Roots(), now); err != nil {
			t.Fatalf("a chain through an intermediate CA: %v", err)
		}

		cases := []struct {
			name   string
			chain  []*smx509.Certificate
			reg    string
			status string
			now    time.Time
			want   error
		}{
			{"chain from another registrar", foreign.Chain, foreign.Registration, status, now, registry.ErrUntrustedChain},
			{"self-signed leaf", []*smx509.Certificate{selfSigned}, r.SignRegistration(selfClaims, ""), status, now, registry.ErrUntrustedChain},
			{"intermediate not marked CA", underNotCA, underNotCAReg, status, now, registry.ErrUntrustedChain},
			{"leaf that is a CA", caLeafChain, caLeafReg, status, now, registry.ErrUntrustedChain},
			{"leaf without digitalSignature", noSignChain, noSignReg, status, now, registry.ErrUntrustedChain},
			{"certificate expired", p.Chain, p.Registration, status, now.Add(day), registry.ErrExpired},
			{"certificate not yet valid", p.Chain, p.Registration, status, now.Add(-time.Hour), registry.ErrUntrustedChain},
			{"leaf with two DNS names", twoNamesChain, twoNamesReg, status, now, registry.ErrFormat},
			{"empty chain", nil, p.Registration, status, now, registry.ErrFormat},
			{"leaf for another domain, registration for this one", b.Chain, p.Registration, status, now, registry.ErrDomainMismatch},
			{"registration bound to another key of the same domain", a2.Chain, p.Registration, status, now, registry.ErrKeyMismatch},
			{"registration signed by the platform's own key", p.Chain, byPlatform, status, now, registry.ErrRegistrationSignature},
			{"registration signed by another registrar", p.Chain, foreign.Registration, status, now, registry.ErrRegistrationSignature},
			{"registration with another typ", p.Chain, r.SignRegistration(claims, "JWT"), status, now, registry.ErrFormat},
			{"registration not a JWS", p.Chain, "not.a.jws", status, now, registry.ErrFormat},
			{"registration expired", p.Chain, with("nbf", float64(now.Add(-time.Hour).Unix()), "exp", float64(now.Add(-time.Second).Unix())), status, now, registry.ErrExpired},
			{"registration not yet valid", p.Chain, with("nbf", float64(now.Add(time.Hour).Unix())), status, now, registry.ErrNotYetValid},
			{"registration over-entitled (claims without legal basis)", p.Chain, with("legal_basis", ""), status, now, registry.ErrFormat},
			{"registration with an unknown member", p.Chain, with("scope", "anything"), status, now, registry.ErrFormat},
			{"no status list", p.Chain, p.Registration, "", now, registry.ErrStatusMissing},
			{"status list signed by another registrar", p.Chain, p.Registration, other.Status(t), now, registry.ErrStatusSignature},
			{"status list for another URI", p.Chain, p.Registration, r.SignStatus("https://elsewhere.example/list.jwt", []byte{0}, now), now, registry.ErrStatusList},
			{"status list too short for the index", p.Chain, p.Registration, r.SignStatus(r.StatusURI(), nil, now), now, registry.ErrStatusList},
			{"status list from the future", p.Chain, p.Registration, r.SignStatus(r.StatusURI(), []byte{0}, now.Add(time.Hour)), now, registry.ErrStatusList},
			{"stale status list", p.Chain, p.Registration, r.SignStatus(r.StatusURI(), []byte{0}, now.Add(-25*time.Hour)), now, registry.ErrStatusStale},
			{"revoked", p.Chain, p.Registration, r.SignStatus(r.StatusURI(), revokedBits, now), now, registry.ErrRevoked},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := registry.VerifyPlatform(c.chain, c.reg, c.status, r.Roots(), c.now)
				if !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
			})
		}
	})
}

func TestRevokeThroughRegistrar(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		p, err := r.Registrar.Register(domain, entitled(), 72*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b := r.Register(t, "platform-b.example", registrytest.AgeOnly())
		before := r.Status(t)
		after := r.Revoke(t, domain)
		if _, err := registry.VerifyPlatform(p.Chain, p.Registration, after, r.Roots(), r.Now()); !errors.Is(err, registry.ErrRevoked) {
			t.Fatalf("revoked platform: %v", err)
		}
		if _, err := registry.VerifyPlatform(b.Chain, b.Registration, after, r.Roots(), r.Now()); err != nil {
			t.Fatalf("the other platform: %v", err)
		}
		// A list signed before the revocation still passes until its exp:
		// the documented delay of stapling. After exp it is stale.
		if _, err := registry.VerifyPlatform(p.Chain, p.Registration, before, r.Roots(), r.Now()); err != nil {
			t.Fatalf("the older list: %v", err)
		}
		late := r.Now().Add(24*time.Hour + time.Second)
		if _, err := registry.VerifyPlatform(p.Chain, p.Registration, before, r.Roots(), late); !errors.Is(err, registry.ErrStatusStale) {
			t.Fatalf("the older list a day later: %v", err)
		}
		if err := r.Registrar.Revoke("never-registered.example"); !errors.Is(err, registry.ErrUnknownPlatform) {
			t.Fatalf("unknown domain: %v", err)
		}
		// The registrar's public file is the latest list.
		if data := readFile(t, r.StatusListPath()); data != after+"\n" {
			t.Fatal("public status list is not the latest")
		}
	})
}

func TestAllowMissingStatus(t *testing.T) {
	r := registrytest.New(t, jose.SuiteGM)
	p := r.Register(t, domain, entitled())
	reg, err := registry.VerifyPlatformWithOptions(p.Chain, p.Registration, "", r.Roots(), r.Now(), registry.VerifyOptions{AllowMissingStatus: true})
	if err != nil || reg.StatusChecked {
		t.Fatalf("%v, checked %v", err, reg != nil && reg.StatusChecked)
	}
	// The option does not excuse a bad status that is given.
	if _, err := registry.VerifyPlatformWithOptions(p.Chain, p.Registration, r.Revoke(t, domain), r.Roots(), r.Now(), registry.VerifyOptions{AllowMissingStatus: true}); !errors.Is(err, registry.ErrRevoked) {
		t.Fatal(err)
	}
}

func TestRootsPinning(t *testing.T) {
	r := registrytest.New(t, jose.SuiteGM)
	other := registrytest.New(t, jose.SuiteIntl)
	p := other.Register(t, domain, entitled())
	// Both roots pinned: a platform of either verifies, each against its own.
	roots, err := registry.LoadRoots(append(r.Roots().PEM(), other.Roots().PEM()...))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.VerifyPlatform(p.Chain, p.Registration, other.Status(t), roots, other.Now())
	if err != nil || !reg.Root.Equal(other.Root()) {
		t.Fatalf("%v", err)
	}
	// A gm registrar's status list does not pass for the intl one's.
	if _, err := registry.VerifyPlatform(p.Chain, p.Registration, r.Status(t), roots, other.Now()); !errors.Is(err, registry.ErrStatusSignature) {
		t.Fatal(err)
	}
	now := time.Now()
	leaf, _ := registry.Issue(registry.Cert{DNSNames: []string{domain}, KeyUsage: smx509.KeyUsageDigitalSignature, NotBefore: now, NotAfter: now.Add(time.Hour)}, jose.SuiteGM, r.Root(), r.Key())
	selfNotCA, _ := registry.Issue(registry.Cert{KeyUsage: smx509.KeyUsageCertSign, NotBefore: now, NotAfter: now.Add(time.Hour)}, jose.SuiteGM, nil, nil)
	for name, pemBytes := range map[string][]byte{
		"a leaf":                  registry.EncodeCertificates(leaf),
		"a self-signed non-CA":    registry.EncodeCertificates(selfNotCA),
		"no certificate":          []byte("nothing here"),
		"a key instead":           []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
		"trailing text after one": append(r.Roots().PEM(), "junk"...),
	} {
		if _, err := registry.LoadRoots(pemBytes); !errors.Is(err, registry.ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := registry.VerifyPlatform(p.Chain, p.Registration, other.Status(t), nil, now); !errors.Is(err, registry.ErrUntrustedChain) {
		t.Fatal(err)
	}
}
