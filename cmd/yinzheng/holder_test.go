package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// holderCLI runs `yinzheng holder args…` and returns stdout and stderr.
func holderCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runHolder(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustHolder(t *testing.T, stdin string, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := holderCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("holder %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var phraseRE = regexp.MustCompile(`[0-9A-Z]{4}(-[0-9A-Z]{4}){13}`)

// TestHolderCLIEndToEnd drives the holder CLI against the issuer and
// verifier libraries: the formats of the three roles must agree.
func TestHolderCLIEndToEnd(t *testing.T) {
	t.Setenv(passphrase.EnvVar, "holder test passphrase")
	keysDir, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	idir := filepath.Join(t.TempDir(), "issuer")
	if err := issuer.Init(idir, []byte("issuer pass"), issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keysDir}); err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.Open(idir, []byte("issuer pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	wdir := filepath.Join(t.TempDir(), "wallet")

	// init prints the recovery phrase on stderr, once.
	out, errOut := mustHolder(t, "", "init", "--dir", wdir)
	phrase := phraseRE.FindString(errOut)
	if phrase == "" || !strings.Contains(errOut, "shown once") {
		t.Fatalf("no recovery phrase and warning on stderr: %q", errOut)
	}
	if strings.Contains(out, phrase) {
		t.Fatal("the recovery phrase went to stdout")
	}
	var initOut struct {
		HolderCommitment string `json:"holder_commitment"`
	}
	if err := json.Unmarshal([]byte(out), &initOut); err != nil {
		t.Fatal(err)
	}

	// request → issue → import.
	out, _ = mustHolder(t, "", "request", "--dir", wdir)
	hreq, err := issuer.ParseHolderRequest([]byte(out))
	if err != nil {
		t.Fatalf("the issuer cannot read the holder request: %v", err)
	}
	subject := &issuer.Subject{DocType: "resident_id", DocNumber: "110101199005170016", Name: "张三",
		BirthDate: "1990-05-17", Region: "110101", Level: 3}
	bundle, err := iss.Issue(subject, hreq)
	if err != nil {
		t.Fatal(err)
	}
	bundleJSON, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := writeTemp(t, "bundle.json", bundleJSON)
	_, errOut = mustHolder(t, "", "import", "--dir", wdir, "--bundle", bundlePath, "--issuer-dir", idir)
	if !strings.Contains(errOut, "imported serial") || !strings.Contains(errOut, "pending") {
		t.Fatalf("stderr %q", errOut)
	}
	// The issuer's next epoch completes the pending credential.
	_, errOut = mustHolder(t, "", "refresh", "--dir", wdir, "--issuer-dir", idir)
	if !strings.Contains(errOut, "waiting for the issuer to publish") {
		t.Fatalf("refresh before the epoch: stderr %q", errOut)
	}
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	out, _ = mustHolder(t, "", "refresh", "--dir", wdir, "--issuer-dir", idir)
	var reps []holder.RefreshReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) != 1 || reps[0].Pending || reps[0].Deltas != 1 {
		t.Fatalf("refresh after the epoch: %s (%v)", out, err)
	}
	// Without a source, the bundle's issuer URL is tried and the error says
	// what to do.
	_, _, err = holderCLI(t, "", "import", "--dir", wdir, "--bundle", bundlePath)
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("import without a source: %v", err)
	}

	vdir := t.TempDir()
	if _, _, err := verifierTrustCLI(t, "--dir", vdir, "--issuer-dir", idir, "--allow-development-keys", "--yes"); err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Options{Dir: vdir, Source: publication.DirSource(idir), AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	eighteen := 18
	reg, plA := testPlatform(t, "platform-a.example", registry.Entitlements{Predicates: registry.Predicates()})
	plB := platformOf(reg.Register(t, "platform-b.example", registry.Entitlements{Claims: []string{"age_over_18"}, LegalBasis: "test basis"}))
	// Without a pinned registrar the wallet answers nobody.
	zt, err := v.NewPlatformRequest(ctx, verifier.Policy{AgeOver: &eighteen}, plA)
	if err != nil {
		t.Fatal(err)
	}
	zreqPath := writeTemp(t, "req.jwt", []byte(zt.RequestObject))
	if _, _, err := holderCLI(t, "", "prove", "--dir", wdir, "--request", zreqPath, "--issuer-dir", idir, "--yes"); !errors.Is(err, holder.ErrNoRegistrar) {
		t.Fatalf("prove with no registrar pinned: %v", err)
	}
	_, errOut = mustHolder(t, "", "trust", "--dir", wdir, "--registry", reg.RootPath())
	if !strings.Contains(errOut, "trusting registrar") {
		t.Fatalf("trust: %q", errOut)
	}

	// A zero-knowledge request, answered by prove and accepted by the verifier.
	out, errOut = mustHolder(t, "", "prove", "--dir", wdir, "--request", zreqPath, "--issuer-dir", idir, "--yes")
	if !strings.Contains(errOut, "age 18 or over") || !strings.Contains(errOut, "pseudonym") || !strings.Contains(errOut, "platform-a.example") {
		t.Fatalf("prove did not show who asks and what will be revealed: %q", errOut)
	}
	res, err := v.VerifyResponse(ctx, zt.ID, []byte(out), zt.Object)
	if err != nil || !res.Valid {
		t.Fatalf("the verifier refuses the proof: %+v, %v", res, err)
	}

	// An SD-JWT request, answered by present with only the requested claim.
	st, err := v.NewPlatformRequest(ctx, verifier.Policy{AgeOver: &eighteen, SDJWTClaims: []string{"age_over_18"}}, plB)
	if err != nil {
		t.Fatal(err)
	}
	sreqPath := writeTemp(t, "sreq.jwt", []byte(st.RequestObject))
	// prove refuses an SD-JWT request.
	if _, _, err := holderCLI(t, "", "prove", "--dir", wdir, "--request", sreqPath, "--issuer-dir", idir); err == nil {
		t.Fatal("prove answered an SD-JWT request")
	}
	out, errOut = mustHolder(t, "", "present", "--dir", wdir, "--request", sreqPath)
	if !strings.Contains(errOut, "age_over_18") || !strings.Contains(errOut, "test basis") {
		t.Fatalf("present did not show what will be revealed and why: %q", errOut)
	}
	res, err = v.VerifyResponse(ctx, st.ID, []byte(out), st.Object)
	if err != nil || !res.Valid {
		t.Fatalf("the verifier refuses the SD-JWT presentation: %+v, %v", res, err)
	}
	if len(res.Claims) != 1 || res.Claims["age_over_18"] != true {
		t.Fatalf("disclosed claims %v", res.Claims)
	}
	// platform-a may not see claims in clear: the wallet refuses.
	over, err := v.NewPlatformRequest(ctx, verifier.Policy{SDJWTClaims: []string{"name"}}, plA)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := holderCLI(t, "", "present", "--dir", wdir, "--request", writeTemp(t, "over.jwt", []byte(over.RequestObject))); !errors.Is(err, holder.ErrNotEntitled) {
		t.Fatalf("over-ask: %v", err)
	}

	// Revocation: refresh says so.
	if err := iss.Revoke(bundle.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	out, errOut = mustHolder(t, "", "refresh", "--dir", wdir, "--issuer-dir", idir)
	if !strings.Contains(errOut, "REVOKED") || !strings.Contains(out, `"revoked": true`) {
		t.Fatalf("refresh did not report the revocation:\nstdout %s\nstderr %s", out, errOut)
	}
	out, _ = mustHolder(t, "", "list", "--dir", wdir)
	if !strings.Contains(out, `"revoked": true`) {
		t.Fatalf("list: %s", out)
	}

	// Recovery: the phrase restores the same holder commitment.
	out, _ = mustHolder(t, phrase+"\n", "init", "--dir", filepath.Join(t.TempDir(), "restored"), "--recover")
	if !strings.Contains(out, initOut.HolderCommitment) {
		t.Fatalf("restored wallet: %s, want commitment %s", out, initOut.HolderCommitment)
	}
}

func TestHolderCLIErrors(t *testing.T) {
	t.Setenv(passphrase.EnvVar, "holder test passphrase")
	wdir := filepath.Join(t.TempDir(), "wallet")
	mustHolder(t, "", "init", "--dir", wdir)
	for name, tc := range map[string]struct {
		args  []string
		stdin string
		want  string
	}{
		"no subcommand":      {nil, "", "usage"},
		"unknown":            {[]string{"frobnicate"}, "", "unknown subcommand"},
		"no dir":             {[]string{"request"}, "", "--dir is required"},
		"two sources":        {[]string{"refresh", "--dir", wdir, "--issuer-dir", "x", "--issuer-url", "https://x"}, "", "not both"},
		"refresh no source":  {[]string{"refresh", "--dir", wdir}, "", "--issuer-dir or --issuer-url"},
		"bad url":            {[]string{"refresh", "--dir", wdir, "--issuer-url", "ftp://x"}, "", "--issuer-url"},
		"no bundle":          {[]string{"import", "--dir", wdir}, "", "--bundle is required"},
		"bad bundle":         {[]string{"import", "--dir", wdir, "--bundle", "-"}, `{"version":1,"x":1}`, "unknown field"},
		"no request":         {[]string{"prove", "--dir", wdir}, "", "--request is required"},
		"plain JSON request": {[]string{"present", "--dir", wdir, "--request", "-"}, `{"version":1}`, "no registrar"},
		"answer a file":      {[]string{"answer", "--dir", wdir, "--request", "-"}, `x.y.z`, "invocation URL"},
		"no registry":        {[]string{"trust", "--dir", wdir}, "", "--registry is required"},
		"stray argument":     {[]string{"list", "--dir", wdir, "extra"}, "", "unexpected argument"},
		"init twice":         {[]string{"init", "--dir", wdir}, "", "not empty"},
		"bad phrase":         {[]string{"init", "--dir", filepath.Join(t.TempDir(), "r"), "--recover"}, "0000-1111\n", "recovery phrase"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := holderCLI(t, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Setenv(passphrase.EnvVar, "wrong")
	_, _, err := holderCLI(t, "", "list", "--dir", wdir)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

// testPlatform registers domain with a test registrar and returns the
// registrar and the platform as a verifier uses it.
func testPlatform(t *testing.T, domain string, e registry.Entitlements) (*registrytest.Registrar, *verifier.Platform) {
	t.Helper()
	r := registrytest.New(t, jose.SuiteGM)
	return r, platformOf(r.Register(t, domain, e))
}

func platformOf(p *registry.Platform) *verifier.Platform {
	return &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration,
		Status: p.Status, ResponseURI: "https://" + p.Domain + "/openid4vp/response"}
}
