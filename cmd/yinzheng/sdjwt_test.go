package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

// writeKeys writes an issuer and a holder key pair as JWK files.
func writeKeys(t *testing.T, dir string, suite jose.Suite) (issuerPriv, issuerPub, holderPriv, holderPub string) {
	t.Helper()
	write := func(name string, v json.Marshaler) string {
		data, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	iss, _ := jose.GenerateKey(suite, rand.Reader)
	hol, _ := jose.GenerateKey(suite, rand.Reader)
	return write("issuer.jwk", iss), write("issuer.pub.jwk", iss.Public()), write("holder.jwk", hol), write("holder.pub.jwk", hol.Public())
}

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSDJWTCommandRoundTrip(t *testing.T) {
	for _, suite := range []jose.Suite{jose.SuiteIntl, jose.SuiteGM} {
		t.Run(string(suite), func(t *testing.T) {
			dir := t.TempDir()
			issPriv, issPub, holPriv, holPub := writeKeys(t, dir, suite)
			claims := filepath.Join(dir, "claims.json")
			os.WriteFile(claims, []byte(`{"name":"张三","address":{"street":"长安街","city":"北京"},"nationalities":["CN","HK"]}`), 0o600)

			code, sd, errOut := runCLI(t, "", "sdjwt", "issue", "--key", issPriv, "--claims", claims,
				"--sd", `[["name"],["address"],["address","street"],["nationalities",1]]`,
				"--holder-key", holPub, "--decoys", "2", "--iss", "https://issuer.example", "--vct", "urn:yinzheng:id")
			if code != 0 {
				t.Fatalf("issue: %d %s", code, errOut)
			}
			if strings.Count(sd, "~") != 5 {
				t.Fatalf("issued SD-JWT has %d '~', want 4 disclosures + 1", strings.Count(sd, "~"))
			}
			code, pres, errOut := runCLI(t, sd, "sdjwt", "present", "--sd-jwt", "-", "--disclose", `[["address","street"]]`,
				"--holder-key", holPriv, "--aud", "https://rp.example", "--nonce", "abc123")
			if code != 0 {
				t.Fatalf("present: %d %s", code, errOut)
			}
			presFile := filepath.Join(dir, "pres.txt")
			os.WriteFile(presFile, []byte(pres), 0o600)

			code, out, errOut := runCLI(t, "", "sdjwt", "verify", "--issuer-key", issPub, "--presentation", presFile,
				"--aud", "https://rp.example", "--nonce", "abc123", "--require-kb")
			if code != 0 {
				t.Fatalf("verify: %d %s", code, errOut)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("verify output %q: %v", out, err)
			}
			addr, _ := got["address"].(map[string]any)
			if addr["street"] != "长安街" || addr["city"] != "北京" || got["name"] != nil || got["vct"] != "urn:yinzheng:id" {
				t.Errorf("verified claims %s", out)
			}
			if _, ok := got["_sd"]; ok {
				t.Errorf("_sd left in %s", out)
			}

			code, _, errOut = runCLI(t, "", "sdjwt", "verify", "--issuer-key", issPub, "--presentation", presFile,
				"--aud", "https://rp.example", "--nonce", "other")
			if code != 1 || !strings.Contains(errOut, "nonce") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("wrong nonce: %d %q", code, errOut)
			}
			code, _, errOut = runCLI(t, "", "sdjwt", "verify", "--issuer-key", holPub, "--presentation", presFile,
				"--aud", "https://rp.example", "--nonce", "abc123")
			if code != 1 || !strings.Contains(errOut, "issuer signature") {
				t.Errorf("wrong issuer key: %d %q", code, errOut)
			}

			code, plain, _ := runCLI(t, sd, "sdjwt", "present", "--sd-jwt", "-", "--disclose", `[["name"]]`)
			if code != 0 {
				t.Fatal("present without key binding failed")
			}
			code, _, errOut = runCLI(t, plain, "sdjwt", "verify", "--issuer-key", issPub, "--presentation", "-",
				"--aud", "a", "--nonce", "n", "--require-kb")
			if code != 1 || !strings.Contains(errOut, "key binding JWT required") {
				t.Errorf("missing KB-JWT: %d %q", code, errOut)
			}
			code, out, _ = runCLI(t, plain, "sdjwt", "verify", "--issuer-key", issPub, "--presentation", "-")
			if code != 0 || !strings.Contains(out, "张三") {
				t.Errorf("plain presentation: %d %q", code, out)
			}

			code, _, errOut = runCLI(t, "", "sdjwt", "issue", "--key", issPriv, "--claims", claims, "--sd", `[["iss"]]`, "--iss", "x")
			if code != 1 || !strings.Contains(errOut, "must not be selectively disclosable") {
				t.Errorf("iss disclosable: %d %q", code, errOut)
			}
			code, _, errOut = runCLI(t, "", "sdjwt", "issue", "--key", issPriv, "--claims", claims, "--sd", `[["nope"]]`)
			if code != 1 || !strings.Contains(errOut, "not found") {
				t.Errorf("missing path: %d %q", code, errOut)
			}
		})
	}
}

func TestSDJWTCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sdjwt"},
		{"sdjwt", "sign"},
		{"sdjwt", "issue", "--claims", "{}", "--sd", "[]"},
		{"sdjwt", "present", "--sd-jwt", "-", "--disclose", "[]", "--holder-key", "k.jwk"},
		{"sdjwt", "present", "--disclose", "[]"},
		{"sdjwt", "verify", "--issuer-key", "{}", "--require-kb"},
		{"sdjwt", "verify", "--issuer-key", "{}", "stray"},
	} {
		if code, _, errOut := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(t, "", "sdjwt", "issue", "--key", `{"kty":"EC"}`, "--claims", "{}", "--sd", "[]")
	if code != 1 || !strings.Contains(errOut, "--key") {
		t.Errorf("bad key: %d %q", code, errOut)
	}
}

// TestSDJWTVerifyGenericWithoutTyp: `sdjwt verify` takes an RFC 9901
// SD-JWT built as another library would (no typ header); --typ dc+sd-jwt
// requires the VC profile and refuses it with a message in words.
func TestSDJWTVerifyGenericWithoutTyp(t *testing.T) {
	dir := t.TempDir()
	iss, _ := jose.GenerateKey(jose.SuiteIntl, rand.Reader)
	pub, _ := iss.Public().MarshalJSON()
	disclosure := base64.RawURLEncoding.EncodeToString([]byte(`["lklxF5jMYlGTPUovMNIvCA","given_name","Erika"]`))
	sum := sha256.Sum256([]byte(disclosure))
	payload, _ := json.Marshal(map[string]any{"iss": "https://other.example", "_sd_alg": "sha-256",
		"_sd": []string{base64.RawURLEncoding.EncodeToString(sum[:])}, "family_name": "Mustermann"})
	jwt, err := jose.Sign(iss, nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	presFile := filepath.Join(dir, "generic.sdjwt")
	os.WriteFile(presFile, []byte(jwt+"~"+disclosure+"~\n"), 0o600)

	code, out, errOut := runCLI(t, "", "sdjwt", "verify", "--issuer-key", string(pub), "--presentation", presFile)
	if code != 0 || !strings.Contains(out, `"given_name": "Erika"`) {
		t.Fatalf("generic SD-JWT: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "sdjwt", "verify", "--issuer-key", string(pub), "--presentation", presFile, "--typ", "dc+sd-jwt")
	if code != 1 || !strings.Contains(errOut, "no typ header") || strings.Contains(errOut, "%!") {
		t.Fatalf("--typ dc+sd-jwt on a typ-less SD-JWT: %d %q", code, errOut)
	}
}
