package registry_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
)

func TestInitOpen(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		if r.Suite() != suite || !r.Root().IsCA {
			t.Fatalf("suite %s, CA %v", r.Suite(), r.Root().IsCA)
		}
		wantAlg := map[jose.Suite]smx509.SignatureAlgorithm{jose.SuiteGM: smx509.SM2WithSM3, jose.SuiteIntl: smx509.ECDSAWithSHA256}[suite]
		if r.Root().SignatureAlgorithm != wantAlg {
			t.Fatalf("root signed with %v, want %v", r.Root().SignatureAlgorithm, wantAlg)
		}
		opened, err := registry.Open(r.Dir, registrytest.Passphrase)
		if err != nil {
			t.Fatal(err)
		}
		if !opened.Root().Equal(r.Root()) || opened.ID() != r.ID() {
			t.Fatal("reopened registrar differs")
		}
		if _, err := registry.Open(r.Dir, []byte("wrong")); !errors.Is(err, registry.ErrWrongPassphrase) {
			t.Fatalf("wrong passphrase: %v", err)
		}
		if _, err := registry.Open(t.TempDir(), registrytest.Passphrase); !errors.Is(err, registry.ErrNotRegistryDir) {
			t.Fatalf("empty dir: %v", err)
		}
		// A registration made after reopening continues the index and the
		// status list: the earlier registration is still covered.
		p1 := r.Register(t, domain, entitled())
		p2, err := opened.Register("platform-b.example", registrytest.AgeOnly(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Registered.StatusIndex != p1.Registered.StatusIndex+1 {
			t.Fatalf("indexes %d, %d", p1.Registered.StatusIndex, p2.Registered.StatusIndex)
		}
		// The key file is sealed, not a JWK.
		sealed, err := os.ReadFile(filepath.Join(r.Dir, "private", "registrar-key.sealed"))
		if err != nil || strings.Contains(string(sealed), `"d"`) {
			t.Fatalf("sealed key readable: %v", err)
		}
		if _, err := registry.Init(r.Dir, suite, registrytest.Passphrase, nil); err == nil {
			t.Fatal("Init over an existing directory")
		}
	})
	if _, err := registry.Init(t.TempDir(), "rsa", registrytest.Passphrase, nil); err == nil {
		t.Fatal("unknown suite accepted")
	}
	if _, err := registry.Init(t.TempDir(), "", registrytest.Passphrase, &registry.Options{ID: "http://registry.example", KDF: registrytest.FastKDF}); err == nil {
		t.Fatal("http identifier accepted")
	}
}

func TestRegisterRefuses(t *testing.T) {
	r := registrytest.New(t, jose.SuiteGM)
	cases := []struct {
		name   string
		domain string
		e      registry.Entitlements
		want   error
	}{
		{"unknown predicate", domain, registry.Entitlements{Predicates: []string{"age_exact"}}, registry.ErrEntitlements},
		{"predicate twice", domain, registry.Entitlements{Predicates: []string{"age_over", "age_over"}}, registry.ErrEntitlements},
		{"claim that is not selective", domain, registry.Entitlements{Claims: []string{"iss"}, LegalBasis: "x"}, registry.ErrEntitlements},
		{"claim not in the schema", domain, registry.Entitlements{Claims: []string{"phone"}, LegalBasis: "x"}, registry.ErrEntitlements},
		{"claims without legal basis", domain, registry.Entitlements{Claims: []string{"wanghao"}}, registry.ErrEntitlements},
		{"legal basis of spaces", domain, registry.Entitlements{Claims: []string{"wanghao"}, LegalBasis: "  "}, registry.ErrEntitlements},
		{"response URI on another host", domain, registry.Entitlements{ResponseURIs: []string{"https://evil.example/cb"}}, registry.ErrEntitlements},
		{"response URI on a subdomain", domain, registry.Entitlements{ResponseURIs: []string{"https://x." + domain + "/cb"}}, registry.ErrEntitlements},
		{"http response URI", domain, registry.Entitlements{ResponseURIs: []string{"http://" + domain + "/cb"}}, registry.ErrEntitlements},
		{"response URI with a fragment", domain, registry.Entitlements{ResponseURIs: []string{"https://" + domain + "/cb#x"}}, registry.ErrEntitlements},
		{"response URI with user", domain, registry.Entitlements{ResponseURIs: []string{"https://u@" + domain + "/cb"}}, registry.ErrEntitlements},
		{"upper-case domain", "Platform.example", registry.Entitlements{}, registry.ErrDomain},
		{"wildcard domain", "*.platform.example", registry.Entitlements{}, registry.ErrDomain},
		{"IP address", "127.0.0.1", registry.Entitlements{}, registry.ErrDomain},
		{"numeric last label", "10.0.0.999", registry.Entitlements{}, registry.ErrDomain},
		{"trailing dot", "platform.example.", registry.Entitlements{}, registry.ErrDomain},
		{"hyphen-edged label", "-platform.example", registry.Entitlements{}, registry.ErrDomain},
		{"empty domain", "", registry.Entitlements{}, registry.ErrDomain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := r.Registrar.Register(c.domain, c.e, time.Hour); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := r.Registrar.Register(domain, registry.Entitlements{}, 20*365*24*time.Hour); err == nil {
		t.Fatal("a registration outliving the root")
	}
	if _, err := r.Registrar.Register(domain, registry.Entitlements{}, -time.Hour); err == nil {
		t.Fatal("a negative validity")
	}
	// localhost may use http response URIs (loopback development).
	if _, err := r.Registrar.Register(registry.LoopbackDomain, registry.Entitlements{ResponseURIs: []string{"http://localhost:8080/cb"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Empty response URIs allow https on the domain, any port, and nothing else.
	e := registry.Entitlements{}
	for uri, want := range map[string]bool{
		"https://" + domain + "/cb":      true,
		"https://" + domain + ":8443/cb": true,
		"http://" + domain + "/cb":       false,
		"https://evil.example/cb":        false,
		"https://" + domain + ".evil/cb": false,
	} {
		if e.AllowsResponseURI(domain, uri) != want {
			t.Errorf("%s: want %v", uri, want)
		}
	}
}

func TestPlatformFiles(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		p := r.Register(t, domain, entitled())
		dir := registrytest.Save(t, p)
		got, err := registry.LoadPlatform(dir, registrytest.Passphrase)
		if err != nil {
			t.Fatal(err)
		}
		if got.Domain != domain || !got.Key.Public().Equal(p.Key.Public()) || got.Registration != p.Registration ||
			got.Status != p.Status || !got.Chain[0].Equal(p.Chain[0]) || !got.Root.Equal(r.Root()) {
			t.Fatal("loaded platform differs")
		}
		if _, err := registry.LoadPlatform(dir, []byte("wrong")); !errors.Is(err, registry.ErrWrongPassphrase) {
			t.Fatalf("wrong passphrase: %v", err)
		}
		if err := p.Save(dir, registrytest.Passphrase, registrytest.FastKDF); err == nil {
			t.Fatal("Save over an existing platform key")
		}
		if info, err := os.Stat(filepath.Join(dir, registry.PlatformKeyName)); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode: %v %v", info.Mode(), err)
		}
		// Another platform's chain beside this key is refused.
		b := r.Register(t, "platform-b.example", registrytest.AgeOnly())
		if err := os.WriteFile(filepath.Join(dir, registry.ChainName), registry.EncodeCertificates(b.Chain...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := registry.LoadPlatform(dir, registrytest.Passphrase); !errors.Is(err, registry.ErrKeyMismatch) {
			t.Fatalf("swapped chain: %v", err)
		}
	})
}

// TestTLS serves HTTPS on loopback with a certificate from the registrar.
// An intl registrar's certificates verify in any TLS client; a gm one's
// (SM2-signed) in SM-aware clients only, here through smx509.
func TestTLS(t *testing.T) {
	forSuites(t, func(t *testing.T, suite jose.Suite) {
		r := registrytest.New(t, suite)
		certPEM, keyPEM, err := r.IssueTLS(registry.LoopbackDomain, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := registry.SaveTLS(dir, certPEM, keyPEM); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(filepath.Join(dir, registry.TLSKeyName)); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("TLS key mode: %v", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		defer srv.Close()
		url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

		client := func(cfg *tls.Config) error {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			resp, err := c.Get(url)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "ok" {
				t.Fatalf("body %q", body)
			}
			return nil
		}
		// smx509 verification works for both suites.
		smxVerify := func(roots *smx509.CertPool) *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
				leaf, err := smx509.ParseCertificate(cs.PeerCertificates[0].Raw)
				if err != nil {
					return err
				}
				_, err = leaf.Verify(smx509.VerifyOptions{Roots: roots, DNSName: "localhost"})
				return err
			}}
		}
		pool := smx509.NewCertPool()
		pool.AddCert(r.Root())
		if err := client(smxVerify(pool)); err != nil {
			t.Fatal(err)
		}
		other := registrytest.New(t, suite)
		otherPool := smx509.NewCertPool()
		otherPool.AddCert(other.Root())
		if err := client(smxVerify(otherPool)); err == nil {
			t.Fatal("a certificate from another registrar accepted")
		}
		if suite == jose.SuiteIntl {
			std := x509.NewCertPool()
			std.AppendCertsFromPEM(registry.EncodeCertificates(r.Root()))
			if err := client(&tls.Config{RootCAs: std}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
