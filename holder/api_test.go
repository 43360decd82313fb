package holder

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/apicheck"
)

// TestPublicAPIHasNoInternalTypes: a program outside this module must be
// able to use the wallet.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/holder", 20)
}
