package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a failure instead of stopping the
// test, so that the failing paths of Check can be observed.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) { r.failed = "fatal"; panic(r) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

// run calls f with a recorder and reports what it failed with, "" if nothing.
func run(t *testing.T, f func(tb testing.TB)) (failed string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	f(r)
	return ""
}

func TestCheck(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "v.json")
	if err := os.WriteFile(path, []byte("known"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run(t, func(tb testing.TB) { Check(tb, path, []byte("known")) }); got != "" {
		t.Fatalf("equal contents refused: %s", got)
	}
	if got := run(t, func(tb testing.TB) { Check(tb, path, []byte("knows")) }); !strings.Contains(got, "regenerate") {
		t.Fatalf("different contents: failed with %q", got)
	}
	if got := run(t, func(tb testing.TB) { Check(tb, path+".missing", []byte("x")) }); !strings.Contains(got, "create it") {
		t.Fatalf("missing file: failed with %q", got)
	}
}

func TestUpdate(t *testing.T) {
	t.Setenv(UpdateEnv, "1")
	path := filepath.Join(t.TempDir(), "new", "v.bin")
	if got := run(t, func(tb testing.TB) { Check(tb, path, []byte("fresh")) }); got != "" {
		t.Fatalf("update refused: %s", got)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "fresh" {
		t.Fatalf("file after update: %q, %v", data, err)
	}
}
