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
	}
	if err := json.Unmarshal(yz(t, 0, "ceremony", "verify", "--dir", cdir), &rep); err != nil {
		t.Fatal(err)
	}
	m, err := circuits.ReadManifest(keys)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.Depth != circuits.ProductionDepth || len(rep.Contributions) != 6 ||
		rep.CircuitID != m.CircuitID || rep.TranscriptDigest != m.TranscriptDigest || m.Setup != circuits.SetupCeremony {
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

// lastLines drops the progress lines (indented) from stderr.
func lastLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "    ") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
