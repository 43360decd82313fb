package revocation

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

// damageSpent is the serial revoked in every damaged store: it must never
// read as valid again.
const damageSpent = 3

// makeDamageStore applies batches (some deltas large enough for the value
// log), revokes damageSpent, publishes and closes, so that the tables,
// the MANIFEST and the value log all hold something.
func makeDamageStore(t *testing.T) (dir string, leaves uint64, epoch uint64) {
	t.Helper()
	dir = t.TempDir()
	s, err := Open(dir, Options{Depth: 12, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	key := testKey(t, jose.SuiteGM)
	for range 3 {
		if _, err := s.ApplyBatch(Batch{Append: randomLeaves(rng, 60)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Publish(key, "https://issuer.example", testNow); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Revoke(damageSpent); err != nil {
		t.Fatal(err)
	}
	e, err := s.Publish(key, "https://issuer.example", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if leaves, err = s.LeafCount(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(m) == 0 {
		t.Fatal("no table written")
	}
	return dir, leaves, e.Epoch
}

// readDamageStore opens dir and reads what the issuer relies on: the
// leaf count, the last epoch's statement and delta, and damageSpent.
func readDamageStore(dir string, leaves, epoch uint64) error {
	s, err := Open(dir, Options{MemTableSize: 8 << 20})
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.LeafCount()
	if err != nil {
		return err
	}
	if n != leaves {
		return errors.New("leaf count rolled back")
	}
	for e := uint64(1); e <= epoch; e++ {
		if _, err := s.Statement(e); err != nil {
			return err
		}
		if _, err := s.Delta(e); err != nil {
			return err
		}
	}
	st, err := s.Status(damageSpent)
	if err != nil {
		return err
	}
	if st != Revoked {
		return errors.New("the revoked serial is valid again")
	}
	return nil
}

func wantStoreDamaged(t *testing.T, dir string, err error) {
	t.Helper()
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("err = %v, want ErrDamaged", err)
	}
	if !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "goroutine ") {
		t.Fatalf("error %q does not name %s, or carries a stack", err, dir)
	}
}

func TestDamagedStoreIsRefused(t *testing.T) {
	cases := map[string]func(t *testing.T, dir string){
		"flipped table byte": func(t *testing.T, dir string) {
			for _, sst := range glob(t, dir, "*.sst") {
				b, err := os.ReadFile(sst)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/3] ^= 0x04
				if err := os.WriteFile(sst, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		},
		"MANIFEST deleted": func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
				t.Fatal(err)
			}
		},
		"MANIFEST truncated": func(t *testing.T, dir string) {
			path := filepath.Join(dir, "MANIFEST")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-2); err != nil {
				t.Fatal(err)
			}
		},
		"value log truncated": func(t *testing.T, dir string) {
			for _, vlog := range glob(t, dir, "*.vlog") {
				fi, err := os.Stat(vlog)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() > 1<<10 {
					if err := os.Truncate(vlog, fi.Size()-600); err != nil {
						t.Fatal(err)
					}
				}
			}
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir, leaves, epoch := makeDamageStore(t)
			if err := readDamageStore(dir, leaves, epoch); err != nil {
				t.Fatalf("before the damage: %v", err)
			}
			damage(t, dir)
			wantStoreDamaged(t, dir, readDamageStore(dir, leaves, epoch))
		})
	}
}

func TestEmptyNewestValueLogAndTempFiles(t *testing.T) {
	dir, leaves, epoch := makeDamageStore(t)
	// A kill between creating a value log and writing its header.
	if err := os.WriteFile(filepath.Join(dir, "000099.vlog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".tmp-123456")
	if err := os.WriteFile(tmp, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readDamageStore(dir, leaves, epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left: %v", err)
	}
}

func glob(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s in %s", pattern, dir)
	}
	return m
}
