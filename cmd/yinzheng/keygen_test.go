package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

func runKeygenCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"keygen"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestKeygenRoundTrip(t *testing.T) {
	for _, c := range []struct {
		args []string
		crv  string
		alg  string
	}{
		{nil, "SM2", jose.AlgSM2},
		{[]string{"--suite", "gm"}, "SM2", jose.AlgSM2},
		{[]string{"--suite", "intl"}, "P-256", jose.AlgES256},
	} {
		code, priv, errOut := runKeygenCmd(t, "", c.args...)
		if code != 0 || errOut != "" {
			t.Fatalf("keygen %v: exit %d, stderr %q", c.args, code, errOut)
		}
		if strings.Count(priv, "\n") != 1 || !strings.HasSuffix(priv, "}\n") {
			t.Errorf("keygen %v output is not one JSON object and a newline: %q", c.args, priv)
		}
		key, err := jose.ParsePrivateJWK([]byte(priv))
		if err != nil {
			t.Fatalf("keygen %v printed an unparsable private JWK: %v", c.args, err)
		}
		if key.Alg() != c.alg {
			t.Errorf("keygen %v: alg %s, want %s", c.args, key.Alg(), c.alg)
		}
		code, pub, errOut := runKeygenCmd(t, priv, "--public")
		if code != 0 || errOut != "" {
			t.Fatalf("keygen --public: exit %d, stderr %q", code, errOut)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(pub), &m); err != nil || m["crv"] != c.crv || m["d"] != "" || len(m) != 4 {
			t.Errorf("public JWK = %q (%v)", pub, err)
		}
		pk, err := jose.ParsePublicJWK([]byte(pub))
		if err != nil || !pk.Equal(key.Public()) {
			t.Errorf("keygen --public printed another key: %v", err)
		}
	}
	// Two runs give two different keys.
	_, a, _ := runKeygenCmd(t, "")
	_, b, _ := runKeygenCmd(t, "")
	if a == b {
		t.Error("two keygen runs printed the same key")
	}
}

func TestKeygenErrors(t *testing.T) {
	_, priv, _ := runKeygenCmd(t, "", "--suite", "intl")
	_, pub, _ := runKeygenCmd(t, priv, "--public")
	d := func() string {
		var m map[string]string
		_ = json.Unmarshal([]byte(priv), &m)
		return m["d"]
	}()
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"unknown suite", "", []string{"--suite", "rsa"}, 2, `--suite "rsa"`},
		{"stray argument", "", []string{"gm"}, 2, `unexpected argument "gm"`},
		{"unknown flag", "", []string{"--curve", "SM2"}, 2, "curve"},
		{"suite with public", priv, []string{"--public", "--suite", "gm"}, 2, "cannot be combined"},
		{"public from public JWK", pub, []string{"--public"}, 1, `no "d"`},
		{"public from empty stdin", "", []string{"--public"}, 1, "stdin"},
		{"public from tampered d", strings.Replace(priv, d, strings.Repeat("A", len(d)), 1), []string{"--public"}, 1, "invalid key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runKeygenCmd(t, c.stdin, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not contain %q", errOut, c.want)
			}
			if strings.Contains(errOut, d) {
				t.Error("stderr contains the private scalar")
			}
		})
	}
}
