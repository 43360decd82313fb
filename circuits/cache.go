package circuits

import (
	"fmt"
	"os"
	"path/filepath"
)

// CacheEnv names the environment variable that moves the development keys
// cache (and anything else Yinzheng caches) out of the user cache directory.
const CacheEnv = "YINZHENG_CACHE"

// DevelopmentKeysDir is where the development keys for depth are cached:
// $YINZHENG_CACHE/keys/… or, without it, the user cache directory's
// yinzheng/keys/…. The name carries the circuit name, version and depth, so
// keys for another circuit never land in the same place; [LoadOrSetupDevelopment]
// still checks that what it finds fits the compiled circuit.
func DevelopmentKeysDir(depth int) (string, error) {
	base := os.Getenv(CacheEnv)
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("circuits: no cache directory (set %s): %w", CacheEnv, err)
		}
		base = filepath.Join(c, "yinzheng")
	}
	return filepath.Join(base, "keys", fmt.Sprintf("%s-v%d-d%d", CircuitName, CircuitVersion, depth)), nil
}
