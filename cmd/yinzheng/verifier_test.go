package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

func verifierCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runVerifier(args, strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

// verifierTrustCLI runs `verifier trust` with stdin not a terminal.
func verifierTrustCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runVerifier(append([]string{"trust"}, args...), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVerifierCLI(t *testing.T) {
	now := time.Now()
	iss := verifiertest.NewIssuer(t, 4, now)
	holder := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), now)
	epoch := iss.Publish(t, now).Epoch
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(iss.Dir, "public"))))
	defer srv.Close()
	vdir := t.TempDir()

	out, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-url", srv.URL, "--allow-development-keys", "--yes")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{iss.Meta.KeyID, iss.Keys.Manifest.CircuitID, verifiertest.IssuerID, "development keys     YES", "pinned"} {
		if !strings.Contains(out, want) {
			t.Errorf("trust output lacks %q:\n%s", want, out)
		}
	}
	reg := registrytest.New(t, jose.SuiteGM)
	pdir := registrytest.Save(t, reg.Register(t, "platform-a.example", registrytest.AgeOnly()))
	t.Setenv(platformPassphraseEnv, string(registrytest.Passphrase))
	for _, source := range [][]string{{"--issuer-dir", iss.Dir}, {"--issuer-url", srv.URL}} {
		out, err := verifierCLI(t, append([]string{"request", "--dir", vdir, "--platform", pdir, "--age-over", "18",
			"--allow-development-keys"}, source...)...)
		if err != nil {
			t.Fatalf("request %v: %v", source, err)
		}
		var doc transactionDocument
		if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.TransactionID == "" || doc.RequestObject == "" ||
			!strings.HasPrefix(doc.Invocation, "openid4vp://?") {
			t.Fatalf("request output %s (%v)", out, err)
		}
		sro, err := wire.VerifyRequestObject(doc.RequestObject, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req, err := sro.Object.YinzhengRequest()
		if err != nil {
			t.Fatal(err)
		}
		if req.Scope != "x509_san_dns:platform-a.example" {
			t.Fatalf("scope %q", req.Scope)
		}
		tok, err := wire.NewVPToken(holder.Prove(t, req, epoch))
		if err != nil {
			t.Fatal(err)
		}
		reqFile := filepath.Join(t.TempDir(), "request.jwt")
		presFile := filepath.Join(t.TempDir(), "vp_token.json")
		os.WriteFile(reqFile, []byte(doc.RequestObject), 0o600)
		os.WriteFile(presFile, tok, 0o600)
		verify := append([]string{"verify", "--dir", vdir, "--request", reqFile, "--presentation", presFile,
			"--allow-development-keys"}, source...)
		out, err = verifierCLI(t, verify...)
		if err != nil {
			t.Fatalf("verify %v: %v", source, err)
		}
		var res verifier.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Valid || res.Pseudonym != holder.Pseudonym(t, req.Scope) ||
			res.RequestID != doc.TransactionID {
			t.Fatalf("result %s (%v)", out, err)
		}
		// The same presentation again: refused, the reason on stderr and in the JSON.
		out, err = verifierCLI(t, verify...)
		if err == nil || !strings.Contains(err.Error(), verifier.ReasonUnknownNonce) || !strings.Contains(out, verifier.ReasonUnknownNonce) {
			t.Fatalf("replay: %v, %s", err, out)
		}
	}
}

func TestVerifierCLIErrors(t *testing.T) {
	now := time.Now()
	iss := verifiertest.NewIssuer(t, 4, now)
	vdir := t.TempDir()
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys", "--yes"); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t, jose.SuiteGM)
	pdir := registrytest.Save(t, reg.Register(t, "platform-a.example", registrytest.AgeOnly()))
	t.Setenv(platformPassphraseEnv, string(registrytest.Passphrase))
	for name, c := range map[string]struct {
		args  []string
		usage bool
		want  string
	}{
		"no subcommand":   {nil, true, "subcommand"},
		"bad subcommand":  {[]string{"frobnicate"}, true, "frobnicate"},
		"no dir":          {[]string{"request", "--platform", pdir, "--issuer-dir", iss.Dir}, true, "--dir"},
		"no platform":     {[]string{"request", "--dir", vdir, "--issuer-dir", iss.Dir}, true, "--platform"},
		"not a platform":  {[]string{"request", "--dir", vdir, "--platform", t.TempDir(), "--issuer-dir", iss.Dir, "--allow-development-keys"}, false, "registry"},
		"no issuer":       {[]string{"request", "--dir", vdir, "--platform", pdir}, true, "--issuer-dir"},
		"two issuers":     {[]string{"request", "--dir", vdir, "--platform", pdir, "--issuer-dir", iss.Dir, "--issuer-url", "http://x"}, true, "not both"},
		"bad url":         {[]string{"request", "--dir", vdir, "--platform", pdir, "--issuer-url", "ftp://x"}, true, "http"},
		"bad age":         {[]string{"request", "--dir", vdir, "--platform", pdir, "--age-over", "x", "--issuer-dir", iss.Dir}, true, "integer"},
		"empty claim":     {[]string{"request", "--dir", vdir, "--platform", pdir, "--sd-jwt", "a,,b", "--issuer-dir", iss.Dir}, true, "empty claim"},
		"not pinned":      {[]string{"request", "--dir", t.TempDir(), "--platform", pdir, "--issuer-dir", iss.Dir}, false, "yinzheng verifier trust"},
		"dev keys":        {[]string{"request", "--dir", vdir, "--platform", pdir, "--issuer-dir", iss.Dir}, false, "development keys"},
		"bad policy":      {[]string{"request", "--dir", vdir, "--platform", pdir, "--min-level", "9", "--issuer-dir", iss.Dir, "--allow-development-keys"}, false, "min level"},
		"http url":        {[]string{"request", "--dir", vdir, "--platform", pdir, "--issuer-url", "http://issuer.example"}, true, "https"},
		"trust no source": {[]string{"trust", "--dir", vdir}, true, "--issuer-dir"},
		"trust http url":  {[]string{"trust", "--dir", vdir, "--issuer-url", "http://issuer.example"}, true, "https"},
		"verify no files": {[]string{"verify", "--dir", vdir, "--issuer-dir", iss.Dir}, true, "--request"},
		"verify stdin x2": {[]string{"verify", "--dir", vdir, "--issuer-dir", iss.Dir, "--request", "-", "--presentation", "-"}, true, "stdin"},
		"verify missing":  {[]string{"verify", "--dir", vdir, "--issuer-dir", iss.Dir, "--request", filepath.Join(vdir, "nope"), "--presentation", "x"}, false, "nope"},
	} {
		_, err := verifierCLI(t, c.args...)
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (usage %v), want %q", name, err, c.usage, c.want)
		}
	}
}

// TestVerifierTrustCLI: pinning needs a basis for the circuit and the
// operator's consent; a changed publication is shown and pinned again only
// with consent.
func TestVerifierTrustCLI(t *testing.T) {
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	vdir := t.TempDir()
	trustFile := filepath.Join(vdir, verifier.TrustFileName)
	// Development keys without --allow-development-keys, even with their
	// circuit id given: refused.
	for _, extra := range [][]string{nil, {"--circuit-id", iss.Keys.Manifest.CircuitID}} {
		_, _, err := verifierTrustCLI(t, append([]string{"--dir", vdir, "--issuer-dir", iss.Dir, "--yes"}, extra...)...)
		if !errors.Is(err, verifier.ErrUntrustedKeys) {
			t.Fatalf("development keys %v: %v", extra, err)
		}
	}
	// Without a terminal and without --yes nothing is pinned.
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys"); err == nil ||
		!strings.Contains(err.Error(), "--yes") {
		t.Fatalf("no confirmation: %v", err)
	}
	if _, err := os.Stat(trustFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused pin wrote the trust file: %v", err)
	}
	// A wrong expected circuit id: refused.
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys", "--yes",
		"--circuit-id", "zWrong"); !errors.Is(err, verifier.ErrUntrustedKeys) {
		t.Fatalf("wrong circuit id: %v", err)
	}
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys", "--yes"); err != nil {
		t.Fatal(err)
	}
	pinned, err := os.ReadFile(trustFile)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys")
	if err != nil || !strings.Contains(out, "nothing changed") {
		t.Fatalf("same publication again: %v\n%s", err, out)
	}
	// The issuer key changes: shown, and pinned again only with --yes.
	oldKid := iss.Meta.KeyID
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss.Key, iss.Meta.JWK, iss.Meta.KeyID = key, key.Public(), key.Public().KeyID()
	iss.WriteMetadata(t)
	out, _, err = verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys")
	if err == nil || !strings.Contains(out, "CHANGED") || !strings.Contains(out, oldKid) || !strings.Contains(out, iss.Meta.KeyID) {
		t.Fatalf("changed key without --yes: %v\n%s", err, out)
	}
	if now, _ := os.ReadFile(trustFile); !bytes.Equal(now, pinned) {
		t.Fatal("the trust file changed without consent")
	}
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", iss.Dir, "--allow-development-keys", "--yes"); err != nil {
		t.Fatal(err)
	}
	trust, err := verifier.ReadTrust(vdir)
	if err != nil {
		t.Fatal(err)
	}
	if ti := trust.Lookup(verifiertest.IssuerID); ti == nil || len(ti.Keys) != 1 || ti.Keys[0].KeyID() != iss.Meta.KeyID {
		t.Fatalf("pinned again: %+v", trust)
	}
}
