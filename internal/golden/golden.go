// Package golden keeps test outputs in files under testdata: known-answer
// vectors that other implementations check themselves against, and that a
// change of encoding must not alter unnoticed. Tests compare what the code
// produces with the file; YINZHENG_UPDATE_TESTDATA=1 rewrites the files
// instead, after a deliberate, versioned change:
//
//	YINZHENG_UPDATE_TESTDATA=1 go test ./...
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// UpdateEnv is the environment variable that, set to 1, makes Load and
// Check rewrite their files with what the test produced.
const UpdateEnv = "YINZHENG_UPDATE_TESTDATA"

// Load returns the contents of the file at path, first rewriting it with
// got when UpdateEnv is 1. It fails tb if the file cannot be read or written.
// Tests that compare the file piece by piece, for clearer failures, load it
// with Load and end with Check.
func Load(tb testing.TB, path string, got []byte) []byte {
	tb.Helper()
	if os.Getenv(UpdateEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (create it with %s=1)", err, UpdateEnv)
	}
	return data
}

// Check fails tb unless the file at path holds exactly got, and returns the
// file's contents. With UpdateEnv set to 1 it rewrites the file first.
func Check(tb testing.TB, path string, got []byte) []byte {
	tb.Helper()
	data := Load(tb, path, got)
	if !bytes.Equal(data, got) {
		n := 0
		for n < len(data) && n < len(got) && data[n] == got[n] {
			n++
		}
		tb.Fatalf("%s differs from what this code produces (%d bytes against %d, first difference at byte %d); "+
			"if the change is deliberate and versioned, regenerate it with %s=1", path, len(data), len(got), n, UpdateEnv)
	}
	return data
}
