package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/registry"
)

func runRegistryCmd(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := runRegistry(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestRegistryCLI drives init → register → revoke → status and checks the
// files the way a wallet and a platform read them.
func TestRegistryCLI(t *testing.T) {
	t.Setenv("YINZHENG_PASSPHRASE", "registrar passphrase")
	t.Setenv(platformPassphraseEnv, "platform passphrase")
	rdir := filepath.Join(t.TempDir(), "registrar")
	out, _, err := runRegistryCmd("init", "--dir", rdir, "--suite", "gm")
	if err != nil {
		t.Fatal(err)
	}
	rootPath := strings.TrimSpace(out)
	if rootPath != filepath.Join(rdir, "public", registry.RootName) {
		t.Fatalf("init printed %q", out)
	}
	roots, err := registry.LoadRoots(readTestFile(t, rootPath))
	if err != nil {
		t.Fatal(err)
	}

	// Refusals before anything is recorded.
	pdir := filepath.Join(t.TempDir(), "platform")
	for _, c := range []struct {
		args []string
		want error
	}{
		{[]string{"register", "--dir", rdir, "--platform", "a.example", "--out", pdir, "--claims", "name"}, registry.ErrEntitlements},
		{[]string{"register", "--dir", rdir, "--platform", "a.example", "--out", pdir, "--predicates", "age_over,age_exact"}, registry.ErrEntitlements},
		{[]string{"register", "--dir", rdir, "--platform", "A.example", "--out", pdir}, registry.ErrDomain},
		{[]string{"register", "--dir", rdir, "--platform", "a.example"}, errUsage},
		{[]string{"register", "--dir", rdir, "--platform", "a.example", "--out", pdir, "--days", "0"}, errUsage},
		{[]string{"revoke", "--dir", rdir, "--platform", "a.example"}, registry.ErrUnknownPlatform},
		{[]string{"launch"}, errUsage},
	} {
		if _, _, err := runRegistryCmd(c.args...); !errors.Is(err, c.want) {
			t.Errorf("%v: got %v, want %v", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(pdir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused registration wrote the platform directory")
	}

	out, stderr, err := runRegistryCmd("register", "--dir", rdir, "--platform", "a.example", "--out", pdir,
		"--predicates", "age_over,guardian_consent", "--claims", "name,birth_date", "--legal-basis", "Art. 8",
		"--days", "30", "--response-uri", "https://a.example/cb", "--response-uri", "https://a.example:8443/cb", "--tls")
	if err != nil {
		t.Fatal(err)
	}
	var res registerResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.ClientID != "x509_san_dns:a.example" || len(res.Entitlements.ResponseURIs) != 2 || !res.TLS ||
		res.NotAfter.Sub(res.NotBefore) != 30*24*time.Hour || !strings.Contains(stderr, "not encrypted") {
		t.Fatalf("register printed %s (%s)", out, stderr)
	}
	if _, err := registry.LoadPlatform(pdir, []byte("registrar passphrase")); !errors.Is(err, registry.ErrWrongPassphrase) {
		t.Fatalf("the platform key opened with the registrar's passphrase: %v", err)
	}
	p, err := registry.LoadPlatform(pdir, []byte("platform passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.VerifyPlatform(p.Chain, p.Registration, p.Status, roots, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if reg.Domain != "a.example" || !reg.Entitlements.AllowsClaim("birth_date") || reg.Entitlements.AllowsPredicate("min_level") {
		t.Fatalf("registration %+v", reg.Entitlements)
	}
	for _, f := range []string{registry.TLSCertName, registry.TLSKeyName} {
		if _, err := os.Stat(filepath.Join(pdir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runRegistryCmd("register", "--dir", rdir, "--platform", "a.example", "--out", pdir); err == nil {
		t.Fatal("register over an existing platform directory")
	}

	if _, _, err := runRegistryCmd("revoke", "--dir", rdir, "--platform", "a.example"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runRegistryCmd("status", "--dir", rdir)
	if err != nil {
		t.Fatal(err)
	}
	status := strings.TrimSpace(out)
	if string(readTestFile(t, filepath.Join(rdir, "public", registry.StatusListName))) != status+"\n" {
		t.Fatal("status printed another list than it wrote")
	}
	if _, err := registry.VerifyPlatform(p.Chain, p.Registration, status, roots, time.Now()); !errors.Is(err, registry.ErrRevoked) {
		t.Fatalf("after revoke: %v", err)
	}
	t.Setenv("YINZHENG_PASSPHRASE", "wrong")
	if _, _, err := runRegistryCmd("status", "--dir", rdir); !errors.Is(err, registry.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}
