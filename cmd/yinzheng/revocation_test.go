package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// revocationFixture builds a small accumulator with two published epochs.
func revocationFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acc")
	s, err := revocation.Open(dir, revocation.Options{Depth: 12, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	leaves := make([]fr.Element, 40)
	for i := range leaves {
		leaves[i].SetUint64(uint64(1000 + i))
	}
	key, err := jose.GenerateKey(jose.SuiteGM, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(leaves...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(key, "https://issuer.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(3, 17); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(key, "https://issuer.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runRevocationCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRevocationWitness(t *testing.T) {
	dir := revocationFixture(t)
	code, out, errOut := runRevocationCLI(t, "revocation", "witness", "--dir", dir, "--serial", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p revocation.Path
	if err := json.Unmarshal([]byte(out), &p); err != nil { // also checks the path folds to its root
		t.Fatalf("witness output: %v\n%s", err, out)
	}
	if p.Serial != 5 || len(p.Siblings) != 18 || p.LeafCount != 40 {
		t.Fatalf("witness: serial %d, %d siblings, leaf count %d", p.Serial, len(p.Siblings), p.LeafCount)
	}
}

func TestRevocationDelta(t *testing.T) {
	dir := revocationFixture(t)
	code, out, errOut := runRevocationCLI(t, "revocation", "delta", "--dir", dir, "--epoch", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d struct {
		Epoch  uint64 `json:"epoch"`
		Leaves []struct {
			Serial uint64 `json:"serial"`
			Value  string `json:"value"`
		} `json:"leaves"`
		Nodes []struct {
			Height int `json:"height"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Epoch != 2 || len(d.Leaves) != 2 || d.Leaves[0].Serial != 3 || d.Leaves[1].Serial != 17 {
		t.Fatalf("delta of epoch 2: %+v", d)
	}
	if d.Leaves[0].Value != "0x"+strings.Repeat("0", 64) {
		t.Fatalf("revoked leaf in the delta is %s, not the empty value", d.Leaves[0].Value)
	}
	if len(d.Nodes) == 0 {
		t.Fatal("delta without nodes")
	}
}

func TestRevocationBucket(t *testing.T) {
	dir := revocationFixture(t)
	code, out, errOut := runRevocationCLI(t, "revocation", "bucket", "--dir", dir, "--serial", "20", "--k", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var b struct {
		K           int      `json:"k"`
		FirstSerial uint64   `json:"first_serial"`
		Leaves      []string `json:"leaves"`
		Above       []string `json:"above"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	// Two levels of a 4-ary tree: 16 leaves; depth 12 leaves 4 levels of 3 siblings above.
	if b.K != 2 || b.FirstSerial != 16 || len(b.Leaves) != 16 || len(b.Above) != 12 {
		t.Fatalf("bucket: %+v", b)
	}
}

func TestRevocationCLIErrors(t *testing.T) {
	dir := revocationFixture(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"revocation"}, 2, "usage"},
		{[]string{"revocation", "grant", "--dir", dir}, 2, `unknown subcommand "grant"`},
		{[]string{"revocation", "witness", "--serial", "1"}, 2, "--dir is required"},
		{[]string{"revocation", "witness", "--dir", dir}, 2, "--serial is required"},
		{[]string{"revocation", "delta", "--dir", dir}, 2, "--epoch is required"},
		{[]string{"revocation", "bucket", "--dir", dir, "--serial", "1"}, 2, "--k is required"},
		{[]string{"revocation", "witness", "--dir", dir, "--serial", "40"}, 1, "serial 40"},
		{[]string{"revocation", "delta", "--dir", dir, "--epoch", "3"}, 1, "epoch 3"},
		{[]string{"revocation", "bucket", "--dir", dir, "--serial", "1", "--k", "40"}, 1, "bucket size"},
		{[]string{"revocation", "witness", "--dir", filepath.Join(dir, "missing"), "--serial", "1"}, 1, "does not exist"},
		{[]string{"revocation", "witness", "--dir", dir, "--serial", "1", "extra"}, 2, `"extra"`},
	} {
		code, _, errOut := runRevocationCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestBenchRevocationQuick(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runBenchRevocation([]string{"--depth", "20", "--leaves", "20000", "--json"}, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var res map[string]float64
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"append_per_s", "revoke_per_s", "path_us", "publish_ms", "delta_bytes_per_revocation", "delta_bytes_per_issuance", "bytes_per_leaf"} {
		if res[k] <= 0 {
			t.Errorf("%s = %v, want a positive measurement", k, res[k])
		}
	}
	if err := runBenchRevocation([]string{"--leaves", "5"}, strings.NewReader(""), &out, &errOut); err == nil {
		t.Error("--leaves 5 accepted")
	}
}
