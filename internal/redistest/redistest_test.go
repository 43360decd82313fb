package redistest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStartKillRestart(t *testing.T) {
	s := New(t)
	if err := Ping(s.Addr); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := Ping(s.Addr); err == nil {
		t.Fatal("a killed server still answers")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := Ping(s.Addr); err != nil {
		t.Fatal(err)
	}
	// The append-only file is on: its directory exists under Dir.
	if _, err := os.Stat(filepath.Join(s.Dir(), "appendonlydir")); err != nil {
		t.Fatalf("no append-only file: %v", err)
	}
}
