package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUnknownCommandIsUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"no-such-command"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), `unknown command "no-such-command"`) {
		t.Fatalf("stderr does not name the command: %q", errOut.String())
	}
}

func TestRunWithoutArgumentsPrintsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
	for name := range commands() {
		if !strings.Contains(errOut.String(), name) {
			t.Errorf("usage does not list %q", name)
		}
	}
}

func TestParseFlagsRefusesStrayArguments(t *testing.T) {
	fs := newFlagSet("x", &bytes.Buffer{})
	fs.String("name", "", "")
	err := parseFlags(fs, []string{"--name", "a", "stray"})
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `"stray"`) {
		t.Fatalf("err = %v, want a usage error naming the stray argument", err)
	}
	if err := parseFlags(newFlagSet("y", &bytes.Buffer{}), []string{"--unknown"}); !errors.Is(err, errUsage) {
		t.Fatalf("unknown flag: err = %v, want a usage error", err)
	}
}

func TestReadInput(t *testing.T) {
	got, err := readInput("-", strings.NewReader("from stdin"))
	if err != nil || string(got) != "from stdin" {
		t.Fatalf("stdin: got %q, %v", got, err)
	}
	path := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(path, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readInput(path, nil); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("file: got %q, %v", got, err)
	}
	if _, err := readInput(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("missing file: no error")
	}
	if err := usageError("bad %s", "x"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "bad x") {
		t.Fatalf("usageError = %v", err)
	}
}

func TestReadInputRefusesOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, make([]byte, maxInputBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readInput(path, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}
