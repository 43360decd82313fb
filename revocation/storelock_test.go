package revocation

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenTwiceIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Depth: 16, MemTableSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, ro := range []bool{false, true} {
		_, err := Open(dir, Options{ReadOnly: ro, MemTableSize: 16 << 20})
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("read-only %v: err = %v, want ErrLocked naming %s", ro, err, dir)
		}
	}
}
