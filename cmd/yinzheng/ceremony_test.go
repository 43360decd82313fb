package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// TestCeremonyProcesses runs a ceremony at the production depth as the
// contributors would: each step is a separate process of the built
// command, sharing nothing but the ceremony directory.
func TestCeremonyProcesses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "yinzheng")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := t.TempDir()
	cdir, keys := filepath.Join(root, "ceremony"), filepath.Join(root, "keys")
	yz := func(t *testing.T, want int, args ...string) []byte {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("yinzheng %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout.Bytes(), stderr.Bytes())
		}
		if want == 1 && strings.Count(strings.TrimSpace(lastLines(stderr.String())), "\n") != 0 {
			t.Fatalf("failure not on one line: %q", stderr.String())
		}
		t.Logf("yinzheng %s: %v", args[1], time.Since(start).Round(time.Millisecond))
		return stdout.Bytes()
	}
	type contribution struct {
		Phase int    `json:"phase"`
		Index int    `json:"index"`
		Hash  string `json:"hash"`
	}
	var published []contribution
	contribute := func(phase int) {
		for i := 1; i <= 3; i++ {
			var c contribution
			if err := json.Unmarshal(yz(t, 0, "ceremony", "contribute", "--dir", cdir), &c); err != nil {
				t.Fatal(err)
			}
			if c.Phase != phase || c.Index != i || len(c.Hash) != 64 {
				t.Fatalf("contribution %+v, want phase %d, index %d", c, phase, i)
			}
			published = append(published, c)
		}
	}
	yz(t, 0, "ceremony", "init", "--dir", cdir)
	contribute(1)
	yz(t, 0, "ceremony", "next", "--dir", cdir, "--beacon", "00112233445566778899aabbccddeeff")
	contribute(2)
	yz(t, 0, "ceremony", "finalize", "--dir", cdir, "--beacon", "ffeeddccbbaa99887766554433221100", "--out", keys)

	var rep struct {
		Valid            bool           `json:"valid"`
		Depth            int            `json:"depth"`
		Contributions    []contribution `json:"contributions"`
		CircuitID        string         `json:"circuit_id"`
		TranscriptDigest string         `json:"transcript_digest"`
		Beacon1          string         `json:"beacon_phase1"`
		Beacon2          string         `json:"beacon_phase2"`
	}
	if err := json.Unmarshal(yz(t, 0, "ceremony", "verify", "--dir", cdir), &rep); err != nil {
		t.Fatal(err)
	}
	m, err := circuits.ReadManifest(keys)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.Depth != circuits.ProductionDepth || len(rep.Contributions) != 6 ||
		rep.CircuitID != m.CircuitID || rep.TranscriptDigest != m.TranscriptDigest || m.Setup != circuits.SetupCeremony ||
		rep.Beacon1 != "00112233445566778899aabbccddeeff" || rep.Beacon2 != "ffeeddccbbaa99887766554433221100" {
		t.Fatalf("report %+v, manifest %+v", rep, m)
	}
	for i, c := range rep.Contributions {
		if c != published[i] {
			t.Fatalf("verify reports %+v, the contributor published %+v", c, published[i])
		}
	}
	if circuits.IsDevelopmentCircuit(m.CircuitID) {
		t.Fatal("the ceremony gave development keys")
	}
	// The figures of the closing note: file sizes.
	for _, d := range []string{cdir, keys} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s/%s: %d bytes", filepath.Base(d), e.Name(), info.Size())
		}
	}
	if _, err := os.Stat(filepath.Join(keys, "transcript.bin")); err != nil {
		t.Fatal(err)
	}

	// The ceremony's keys through the whole flow, each role a process of
	// its own: the issuer installs them (checking the transcript), a
	// verifier pins the circuit on the published transcript alone (no
	// development keys allowed), and a wallet's proof is accepted.
	var hashes []string
	for _, c := range published {
		hashes = append(hashes, c.Hash)
	}
	ceremonyFlow(t, yz, keys, append(hashes, rep.Beacon1, rep.Beacon2))

	// A tampered copy of the ceremony is refused. (A phase 1 file: the
	// refusal then comes before the 30 s of recomputing phase 2's base.)
	bad := filepath.Join(t.TempDir(), "ceremony")
	if err := os.CopyFS(bad, os.DirFS(cdir)); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(bad, "phase1-0002.bin")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	yz(t, 1, "ceremony", "verify", "--dir", bad)

	// Usage errors exit 2.
	yz(t, 2, "ceremony", "next", "--dir", cdir, "--beacon", "not hex")
	yz(t, 2, "ceremony", "contribute")
	yz(t, 2, "ceremony", "frobnicate", "--dir", cdir)
}

// lastLines drops the progress lines (indented, or opening with the
// elapsed time in brackets) from stderr.
func lastLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "[") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// ceremonyFlow runs issuance, pinning, proving and verifying with the
// ceremony keys in keys, and checks that issuer init refuses them once their
// transcript is tampered with.
func ceremonyFlow(t *testing.T, yz func(t *testing.T, want int, args ...string) []byte, keys string, hashes []string) {
	t.Setenv("YINZHENG_PASSPHRASE", "ceremony flow passphrase")
	root := t.TempDir()
	idir, wdir, vdir := filepath.Join(root, "issuer"), filepath.Join(root, "wallet"), filepath.Join(root, "verifier")
	file := func(name string, data []byte) string {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Tampered transcript: refused by issuer init, which leaves nothing.
	bad := filepath.Join(root, "bad-keys")
	if err := os.CopyFS(bad, os.DirFS(keys)); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(bad, "transcript.bin")
	data, err := os.ReadFile(tf)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/4] ^= 1 // inside phase 1: refused before phase 2 is recomputed
	if err := os.WriteFile(tf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	badIssuer := filepath.Join(root, "bad-issuer")
	yz(t, 1, "issuer", "init", "--dir", badIssuer, "--circuit-keys", bad)
	if entries, _ := os.ReadDir(badIssuer); len(entries) != 0 {
		t.Fatalf("a refused init left %d entries in %s", len(entries), badIssuer)
	}

	yz(t, 0, "issuer", "init", "--dir", idir, "--circuit-keys", keys)
	yz(t, 0, "holder", "init", "--dir", wdir)
	hreq := file("holder-request.json", yz(t, 0, "holder", "request", "--dir", wdir))
	subject := file("subject.json", []byte(`{"doc_type":"resident_id","doc_number":"110101199005170016","name":"张三",`+
		`"birth_date":"1990-05-17","region":"110101","level":3}`))
	bundle := file("bundle.json", yz(t, 0, "issuer", "issue", "--dir", idir, "--subject", subject, "--holder", hreq))
	yz(t, 0, "issuer", "publish", "--dir", idir)
	yz(t, 0, "holder", "import", "--dir", wdir, "--bundle", bundle, "--issuer-dir", idir)
	yz(t, 0, "holder", "refresh", "--dir", wdir, "--issuer-dir", idir)

	// Without development keys allowed, the verifier pins the circuit
	// because the published transcript verifies.
	// It shows every contribution's hash, so that the operator can find
	// one it trusts, and both beacons, to compare with the announced ones.
	pinned := string(yz(t, 0, "verifier", "trust", "--dir", vdir, "--issuer-dir", idir, "--yes"))
	for _, h := range hashes {
		if !strings.Contains(pinned, h) {
			t.Fatalf("verifier trust does not show contribution or beacon %s:\n%s", h, pinned)
		}
	}
	// The platform registers with a registrar the wallet pins.
	rdir, pdir := filepath.Join(root, "registrar"), filepath.Join(root, "platform")
	rootCert := strings.TrimSpace(string(yz(t, 0, "registry", "init", "--dir", rdir)))
	yz(t, 0, "registry", "register", "--dir", rdir, "--platform", "platform-a.example", "--out", pdir, "--predicates", "age_over")
	yz(t, 0, "holder", "trust", "--dir", wdir, "--registry", rootCert)
	var tx struct {
		RequestObject string `json:"request_object"`
	}
	if err := json.Unmarshal(yz(t, 0, "verifier", "request", "--dir", vdir, "--issuer-dir", idir,
		"--platform", pdir, "--age-over", "18"), &tx); err != nil {
		t.Fatal(err)
	}
	req := file("request.jwt", []byte(tx.RequestObject))
	pres := file("vp_token.json", yz(t, 0, "holder", "prove", "--dir", wdir, "--request", req, "--issuer-dir", idir, "--yes"))
	var res struct {
		Valid           bool   `json:"valid"`
		DevelopmentKeys bool   `json:"development_keys"`
		Pseudonym       string `json:"pseudonym"`
	}
	if err := json.Unmarshal(yz(t, 0, "verifier", "verify", "--dir", vdir, "--issuer-dir", idir,
		"--request", req, "--presentation", pres), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Valid || res.DevelopmentKeys || res.Pseudonym == "" {
		t.Fatalf("result %+v, want a valid proof under ceremony keys", res)
	}
}
