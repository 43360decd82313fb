package verifier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// The request store's damage handling is storelock's (tested there with a
// store of this shape); these check that New reports it.

func TestNewRefusesARequestStoreWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Source: publication.DirSource(t.TempDir())}
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, storeDir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	// Without the refusal Badger would start an empty store, forgetting
	// every used request.
	if _, err := New(opts); !errors.Is(err, revocation.ErrDamaged) {
		t.Fatalf("New: err = %v, want ErrDamaged", err)
	}
}

func TestNewOpensAfterAnEmptyNewestValueLog(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Source: publication.DirSource(t.TempDir())}
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	// What a kill between creating a value log and writing its header leaves.
	if err := os.WriteFile(filepath.Join(dir, storeDir, "000099.vlog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err = New(opts)
	if err != nil {
		t.Fatalf("New after a zero-length newest value log: %v", err)
	}
	v.Close()
}
