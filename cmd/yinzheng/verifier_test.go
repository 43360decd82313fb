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

	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

func verifierCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runVerifier(args, strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

func TestVerifierCLI(t *testing.T) {
	now := time.Now()
	iss := verifiertest.NewIssuer(t, 4, now)
	holder := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), now)
	epoch := iss.Publish(t, now).Epoch
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(iss.Dir, "public"))))
	defer srv.Close()
	vdir := t.TempDir()

	for _, source := range [][]string{{"--issuer-dir", iss.Dir}, {"--issuer-url", srv.URL}} {
		out, err := verifierCLI(t, append([]string{"request", "--dir", vdir, "--scope", "platform-a", "--age-over", "18",
			"--allow-development-keys"}, source...)...)
		if err != nil {
			t.Fatalf("request %v: %v", source, err)
		}
		req, err := verifier.ParseRequest([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		reqFile := filepath.Join(t.TempDir(), "request.json")
		presFile := filepath.Join(t.TempDir(), "presentation.json")
		os.WriteFile(reqFile, []byte(out), 0o600)
		os.WriteFile(presFile, verifiertest.JSON(t, holder.Prove(t, req, epoch)), 0o600)
		verify := append([]string{"verify", "--dir", vdir, "--request", reqFile, "--presentation", presFile,
			"--allow-development-keys"}, source...)
		out, err = verifierCLI(t, verify...)
		if err != nil {
			t.Fatalf("verify %v: %v", source, err)
		}
		var res verifier.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Valid || res.Pseudonym != holder.Pseudonym(t, "platform-a") {
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
	for name, c := range map[string]struct {
		args  []string
		usage bool
		want  string
	}{
		"no subcommand":   {nil, true, "subcommand"},
		"bad subcommand":  {[]string{"frobnicate"}, true, "frobnicate"},
		"no dir":          {[]string{"request", "--scope", "s", "--issuer-dir", iss.Dir}, true, "--dir"},
		"no scope":        {[]string{"request", "--dir", vdir, "--issuer-dir", iss.Dir}, true, "--scope"},
		"no issuer":       {[]string{"request", "--dir", vdir, "--scope", "s"}, true, "--issuer-dir"},
		"two issuers":     {[]string{"request", "--dir", vdir, "--scope", "s", "--issuer-dir", iss.Dir, "--issuer-url", "http://x"}, true, "not both"},
		"bad url":         {[]string{"request", "--dir", vdir, "--scope", "s", "--issuer-url", "ftp://x"}, true, "http"},
		"bad age":         {[]string{"request", "--dir", vdir, "--scope", "s", "--age-over", "x", "--issuer-dir", iss.Dir}, true, "integer"},
		"empty claim":     {[]string{"request", "--dir", vdir, "--scope", "s", "--sd-jwt", "a,,b", "--issuer-dir", iss.Dir}, true, "empty claim"},
		"dev keys":        {[]string{"request", "--dir", vdir, "--scope", "s", "--issuer-dir", iss.Dir}, false, "development keys"},
		"bad policy":      {[]string{"request", "--dir", vdir, "--scope", "s", "--min-level", "9", "--issuer-dir", iss.Dir, "--allow-development-keys"}, false, "min level"},
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
