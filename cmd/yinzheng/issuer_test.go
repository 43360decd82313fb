package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
)

// cliResidentID returns a valid resident ID number (GB 11643 check
// character) for a region, a birth date YYYYMMDD and a sequence number.
func cliResidentID(region, birth string, seq int) string {
	base := fmt.Sprintf("%s%s%03d", region, birth, seq)
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(base[i]-'0') * ((1 << (17 - i)) % 11)
	}
	return base + string("10X98765432"[sum%11])
}

func holderRequestJSON(t *testing.T) []byte {
	t.Helper()
	var secret fr.Element
	secret.SetRandom()
	req := map[string]any{"version": 1, "holder_commitment": zkhash.FormatElement(zkhash.HolderCommitment(secret))}
	var keys []json.RawMessage
	for i := 0; i < 8; i++ {
		k, err := jose.GenerateKey(jose.SuiteGM, nil)
		if err != nil {
			t.Fatal(err)
		}
		jwk, _ := k.Public().MarshalJSON()
		keys = append(keys, jwk)
	}
	req["sd_jwt_keys"] = keys
	data, _ := json.Marshal(req)
	return data
}

func runIssuerCmd(stdin string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := runIssuer(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestIssuerCLI drives every issuer subcommand once on a real directory
// (with the depth-32 circuit keys from the shared cache).
func TestIssuerCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("sets up or copies the depth-32 circuit keys")
	}
	const pass = "cli test passphrase"
	t.Setenv("YINZHENG_PASSPHRASE", pass)
	dir := filepath.Join(t.TempDir(), "issuer")

	out, errOut, err := runIssuerCmd("", "init", "--dir", dir, "--development-keys")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(out), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["suite"] != "gm" || meta["depth"] != float64(32) || !strings.HasPrefix(meta["circuit_id"].(string), "z") {
		t.Fatalf("metadata %v", meta)
	}
	if !strings.Contains(errOut, "circuit keys:") {
		t.Fatalf("no progress on stderr: %q", errOut)
	}
	m, err := circuits.ReadManifest(filepath.Join(dir, "public", "circuit"))
	if err != nil || m.CircuitID != meta["circuit_id"] {
		t.Fatalf("published manifest %v, %v", m.CircuitID, err)
	}
	if !strings.Contains(errOut, "WARNING: development circuit keys") {
		t.Fatalf("no development keys warning: %q", errOut)
	}
	if _, _, err := runIssuerCmd("", "init", "--dir", dir, "--development-keys"); err == nil || !strings.Contains(err.Error(), "already an issuer directory") {
		t.Fatalf("second init: %v", err)
	}

	subject := fmt.Sprintf(`{"doc_type":"resident_id","doc_number":%q,"name":"王五","birth_date":"1985-02-03","region":"440305","level":2}`,
		cliResidentID("440305", "19850203", 17))
	subjectFile := filepath.Join(t.TempDir(), "subject.json")
	os.WriteFile(subjectFile, []byte(subject), 0o600)

	// Passphrase prompted on stderr and read from stdin's first line; the
	// holder request follows on stdin.
	t.Setenv("YINZHENG_PASSPHRASE", "")
	os.Unsetenv("YINZHENG_PASSPHRASE")
	out, errOut, err = runIssuerCmd(pass+"\n"+string(holderRequestJSON(t)), "issue", "--dir", dir, "--subject", subjectFile, "--holder", "-")
	if err != nil {
		t.Fatalf("issue: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "Issuer passphrase") {
		t.Fatalf("no prompt: %q", errOut)
	}
	var bundle struct {
		Serial  uint64   `json:"serial"`
		Wanghao string   `json:"wanghao"`
		SDJWT   []string `json:"sd_jwt"`
		Pending bool     `json:"pending"`
	}
	if err := json.Unmarshal([]byte(out), &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.Serial != 0 || len(bundle.Wanghao) != 32 || len(bundle.SDJWT) != 8 || !bundle.Pending {
		t.Fatalf("bundle %+v", bundle)
	}
	if !strings.Contains(errOut, "pending until epoch 2") {
		t.Fatalf("issue does not say the bundle is pending: %q", errOut)
	}
	t.Setenv("YINZHENG_PASSPHRASE", pass)

	// A list naming a serial never issued revokes nothing.
	if _, _, err := runIssuerCmd("", "revoke", "--dir", dir, "--serial", "0,7"); err == nil || !strings.Contains(err.Error(), "never issued") {
		t.Fatalf("revoke of a list with an unknown serial: %v", err)
	}
	if _, _, err := runIssuerCmd("", "revoke", "--dir", dir, "--serial", "0"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	out, _, err = runIssuerCmd("", "publish", "--dir", dir)
	// One epoch for the issuance and the revocation: init published epoch 1.
	if err != nil || !strings.Contains(out, `"epoch": 2`) || !strings.Contains(out, `"leaf_count": 1`) {
		t.Fatalf("publish: %v %s", err, out)
	}
	out, errOut, err = runIssuerCmd("", "delete", "--dir", dir, "--wanghao", bundle.Wanghao)
	if err != nil || !strings.Contains(out, `"revoked": [`) || !strings.Contains(out, `"next_epoch": 3`) {
		t.Fatalf("delete: %v %s", err, out)
	}
	if !strings.Contains(errOut, "at the next `issuer publish`") || strings.Contains(errOut, bundle.Wanghao) {
		t.Fatalf("delete stderr: %q", errOut)
	}

	t.Setenv("YINZHENG_PASSPHRASE", "wrong")
	if _, _, err := runIssuerCmd("", "publish", "--dir", dir); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestIssuerCLIUsage(t *testing.T) {
	t.Setenv("YINZHENG_PASSPHRASE", "x")
	tests := []struct {
		args []string
		want string
	}{
		{nil, "missing subcommand"},
		{[]string{"frobnicate"}, "unknown subcommand"},
		{[]string{"init"}, "--dir is required"},
		{[]string{"init", "--dir", "d", "--suite", "rsa", "--development-keys"}, "gm or intl"},
		{[]string{"init", "--dir", "d"}, "--circuit-keys KEYDIR"},
		{[]string{"init", "--dir", "d"}, "--development-keys"},
		{[]string{"init", "--dir", "d", "--circuit-keys", "k", "--development-keys"}, "exclude each other"},
		{[]string{"init", "--dir", "d", "--development-keys", "--without-transcript"}, "goes with --circuit-keys"},
		{[]string{"issue", "--dir", "d", "--holder", "h"}, "--subject is required"},
		{[]string{"issue", "--dir", "d", "--subject", "s"}, "--holder is required"},
		{[]string{"issue", "--dir", "d", "--subject", "-", "--holder", "-"}, "both be stdin"},
		{[]string{"revoke", "--dir", "d"}, "--serial N is required"},
		{[]string{"revoke", "--dir", "d", "--serial", "1,x"}, `"x" is not a serial`},
		{[]string{"delete", "--dir", "d"}, "--wanghao is required"},
		{[]string{"publish"}, "--dir is required"},
		{[]string{"publish", "--dir", "d", "extra"}, "unexpected argument"},
	}
	for _, tc := range tests {
		_, _, err := runIssuerCmd("", tc.args...)
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want usage error %q", tc.args, err, tc.want)
		}
	}
	// Not an issuer directory: a clear error, not a usage error.
	_, _, err := runIssuerCmd("", "publish", "--dir", t.TempDir())
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "not an issuer directory") {
		t.Errorf("publish on an empty directory: %v", err)
	}
}

// TestIssuerInitRefusesRelabelledDevelopmentKeys: development keys whose
// manifest says "ceremony" are refused by --circuit-keys, by their content.
func TestIssuerInitRefusesRelabelledDevelopmentKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the depth-32 development keys")
	}
	t.Setenv("YINZHENG_PASSPHRASE", "cli test passphrase")
	cache, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuits.Compile(circuits.ProductionDepth)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := circuits.LoadOrSetupDevelopment(cache, c, nil); err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	for _, name := range []string{"manifest.json", "verifying.key", "proving.key"} {
		data, err := os.ReadFile(filepath.Join(cache, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "manifest.json" {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			m["setup"] = circuits.SetupCeremony
			data, _ = json.Marshal(m)
		}
		if err := os.WriteFile(filepath.Join(keys, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "issuer")
	_, _, err = runIssuerCmd("", "init", "--dir", dir, "--circuit-keys", keys)
	if !errors.Is(err, issuer.ErrCircuitKeys) || errors.Is(err, errUsage) {
		t.Fatalf("init with relabelled development keys: %v, want issuer.ErrCircuitKeys", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused init left %d entries", len(entries))
	}
}
