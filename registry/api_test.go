package registry_test

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/apicheck"
)

// TestPublicAPI: wallets and platforms outside this module use the
// registry package, so no exported name may involve an internal type.
func TestPublicAPI(t *testing.T) {
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/registry", 30)
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/registry/registrytest", 5)
}
