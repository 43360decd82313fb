package verifier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// storeTestOptions opens a verifier on dir with a pinned (unused) issuer:
// these tests are about the request store, which New opens before it reads
// any publication.
func storeTestOptions(t *testing.T, dir string) Options {
	t.Helper()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	trust := NewTrust(TrustedIssuer{Issuer: "https://issuer.example", Keys: []*jose.PublicKey{key.Public()}, CircuitIDs: []string{"zUnused"}})
	return Options{Dir: dir, Source: publication.DirSource(t.TempDir()), Trust: trust}
}

// The request store's damage handling is storelock's (tested there with a
// store of this shape); these check that New reports it.

func TestNewRefusesARequestStoreWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	opts := storeTestOptions(t, dir)
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
	opts := storeTestOptions(t, dir)
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
