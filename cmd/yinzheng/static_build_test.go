package main

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerBuildLine returns the environment and the arguments of the `go
// build` in the Dockerfile's build stage, so the test builds exactly as the
// image does (docker itself is not available where the tests run).
func dockerBuildLine(t *testing.T) (env, args []string) {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		cmd, ok := strings.CutPrefix(line, "RUN ")
		if !ok || !strings.Contains(cmd, "go build") {
			continue
		}
		words := strings.Fields(cmd)
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
			env = append(env, words[i])
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			t.Fatalf("Dockerfile build line %q is not `[VAR=value…] go build …`", line)
		}
		if strings.ContainsAny(cmd, `"'\$&|;`) {
			t.Fatalf("Dockerfile build line %q uses shell syntax this test does not interpret", line)
		}
		return env, words[i+2:]
	}
	t.Fatal("the Dockerfile has no `RUN … go build` line")
	return nil, nil
}

// TestStaticBuildLikeDockerfile builds the binary with the Dockerfile's own
// command line and checks what the image relies on: a static executable
// (distroless/static has no C library), built with CGO disabled and trimmed
// paths, whose `version` runs and reports the pinned gnark. It also checks
// THIRD_PARTY_NOTICES.md against the modules recorded in that binary.
func TestStaticBuildLikeDockerfile(t *testing.T) {
	env, args := dockerBuildLine(t)
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goDirective := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goDirective == nil || !strings.Contains(string(dockerfile), "ARG GO_VERSION="+string(goDirective[1])+"\n") {
		t.Fatalf("the Dockerfile's GO_VERSION is not go.mod's go %s", goDirective[1])
	}
	if !contains(env, "CGO_ENABLED=0") || !contains(args, "-trimpath") {
		t.Fatalf("Dockerfile build is not CGO_ENABLED=0 with -trimpath: %v %v", env, args)
	}
	bin := filepath.Join(t.TempDir(), "yinzheng")
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = bin
		}
	}
	build := exec.Command("go", append([]string{"build"}, args...)...)
	build.Dir = "../.."
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF executable: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Fatalf("the binary needs shared libraries %v", libs)
	}

	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Fatalf("build settings CGO_ENABLED=%q -trimpath=%q", settings["CGO_ENABLED"], settings["-trimpath"])
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	for _, want := range []string{"yinzheng ", "gnark:        " + requiredVersion(t, "github.com/consensys/gnark"),
		"gnark-crypto: " + requiredVersion(t, "github.com/consensys/gnark-crypto"), "go:           " + bi.GoVersion} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}

	notices, err := os.ReadFile("../../THIRD_PARTY_NOTICES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range bi.Deps {
		row := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(d.Path) + ` \| ` + regexp.QuoteMeta(d.Version) + ` \| [^|]*[A-Za-z][^|]* \|`)
		if !row.Match(notices) || strings.Contains(string(row.Find(notices)), "unknown") {
			t.Errorf("THIRD_PARTY_NOTICES.md has no licensed row for %s %s (go run ./internal/tools/notices > THIRD_PARTY_NOTICES.md)", d.Path, d.Version)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDeployInvocationsParse feeds the command lines of the example systemd
// units to the command's own flag parser (`--help` after them stops before
// anything runs, but only once every flag before it has parsed), and checks
// the hardening the units promise.
func TestDeployInvocationsParse(t *testing.T) {
	units, _ := filepath.Glob("../../deploy/*.service")
	if len(units) < 2 {
		t.Fatalf("deploy/ holds %d units, want the issuer's and the verifier's", len(units))
	}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		var exec []string
		for line := range strings.Lines(text) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
				exec = strings.Fields(v)
			}
		}
		if len(exec) < 3 || filepath.Base(exec[0]) != "yinzheng" || exec[1] != "serve" {
			t.Errorf("%s: ExecStart %q is not `yinzheng serve …`", u, exec)
			continue
		}
		if code, _, errOut := cli(append(exec[1:], "--help")...); code != 0 {
			t.Errorf("%s: %q does not parse: %s", u, exec[1:], errOut)
		}
		for _, want := range []string{"DynamicUser=yes", "StateDirectory=yinzheng/", "NoNewPrivileges=yes",
			"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
			"SystemCallFilter=@system-service", "RestrictAddressFamilies="} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", u, strings.TrimSpace(want))
			}
		}
	}
	// A flag the command does not know fails the same check.
	if code, _, _ := cli("serve", "verifier", "--no-such-flag", "x", "--help"); code != 2 {
		t.Fatalf("an unknown flag before --help: exit %d, want 2", code)
	}
}
