package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

// runDemo is the interim demonstration (until the zero-knowledge flow lands):
// for each suite, in a temporary directory, it generates issuer and holder
// keys, issues an SD-JWT VC, presents a subset with a Key Binding JWT and
// verifies it, printing each step with its timing.
func runDemo(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "yinzheng-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stdout, "working directory %s\n", dir)
	for _, suite := range []jose.Suite{jose.SuiteGM, jose.SuiteIntl} {
		if err := demoSuite(filepath.Join(dir, string(suite)), suite, stdout); err != nil {
			return fmt.Errorf("%s suite: %w", suite, err)
		}
	}
	return nil
}

// demoClaims is a sample identity credential.
const demoClaims = `{"network_id":"wh3x9Qz1","name":"张三","birthdate":"1990-05-17",
"age_over_18":true,"document_type":"resident_id","verification_level":3,"region":"110000"}`

func demoSuite(dir string, suite jose.Suite, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	step := func(name string, f func() (string, error)) error {
		start := time.Now()
		detail, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(stdout, "[%-4s] %-32s %9s  %s\n", suite, name, time.Since(start).Round(time.Microsecond), detail)
		return nil
	}
	save := func(name string, data []byte) error { return os.WriteFile(filepath.Join(dir, name), data, 0o600) }

	var issuer, holder *jose.PrivateKey
	var issued, presentation *sdjwt.SDJWT
	var claims map[string]any
	const aud, nonce = "https://platform.example", "demo-nonce-7f3a"
	steps := []struct {
		name string
		f    func() (string, error)
	}{
		{"generate issuer and holder keys", func() (string, error) {
			var err error
			if issuer, err = jose.GenerateKey(suite, rand.Reader); err != nil {
				return "", err
			}
			if holder, err = jose.GenerateKey(suite, rand.Reader); err != nil {
				return "", err
			}
			jwk, err := issuer.Public().MarshalJSON()
			if err != nil {
				return "", err
			}
			return "issuer kid " + issuer.Public().KeyID(), save("issuer.pub.jwk", jwk)
		}},
		{"issue SD-JWT VC (7 claims)", func() (string, error) {
			v, err := sdjwt.DecodeJSON([]byte(demoClaims))
			if err != nil {
				return "", err
			}
			paths, err := sdjwt.ParseClaimPaths([]byte(`[["network_id"],["name"],["birthdate"],["age_over_18"],["document_type"],["verification_level"],["region"]]`))
			if err != nil {
				return "", err
			}
			issued, err = sdjwt.Issue(issuer, v.(map[string]any), sdjwt.IssueOptions{
				Disclosable: paths, Decoys: 2, HolderKey: holder.Public(),
				Issuer: "https://issuer.example", VCT: "urn:yinzheng:identity:1"})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d bytes, %d disclosures, alg %s", len(issued.Compact()), len(issued.Disclosures), issuer.Alg()),
				save("credential.sd-jwt", []byte(issued.Compact()))
		}},
		{"present age_over_18 with KB-JWT", func() (string, error) {
			var err error
			presentation, err = sdjwt.Present(issued, []sdjwt.ClaimPath{{"age_over_18"}},
				sdjwt.PresentOptions{HolderKey: holder, Audience: aud, Nonce: nonce})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d bytes, %d disclosure", len(presentation.Compact()), len(presentation.Disclosures)),
				save("presentation.sd-jwt", []byte(presentation.Compact()))
		}},
		{"verify presentation", func() (string, error) {
			v := &sdjwt.Verifier{IssuerKey: issuer.Public(), Audience: aud, Nonce: nonce, RequireKeyBinding: true}
			res, err := v.Verify([]byte(presentation.Compact()))
			if err != nil {
				return "", err
			}
			claims = res.Claims
			_, nameShown := claims["name"]
			return fmt.Sprintf("age_over_18=%v, name disclosed=%v, key bound=%v", claims["age_over_18"], nameShown, res.KeyBound), nil
		}},
	}
	for _, s := range steps {
		if err := step(s.name, s.f); err != nil {
			return err
		}
	}
	return nil
}
