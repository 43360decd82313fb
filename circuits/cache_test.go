package circuits

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDevelopmentKeysDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv(CacheEnv, base)
	got, err := DevelopmentKeysDir(16)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(filepath.Dir(got)) != base || !strings.HasSuffix(got, "-d16") || !strings.Contains(got, CircuitName) {
		t.Fatalf("DevelopmentKeysDir(16) = %q under %q", got, base)
	}
	if other, _ := DevelopmentKeysDir(32); other == got {
		t.Fatal("two depths share one cache directory")
	}
	t.Setenv(CacheEnv, "")
	if def, err := DevelopmentKeysDir(16); err == nil && strings.HasPrefix(def, base) {
		t.Fatalf("without %s the cache stays in %q", CacheEnv, def)
	}
}
