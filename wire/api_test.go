package wire

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/apicheck"
)

// TestPublicAPIHasNoInternalTypes: the protocol documents are for programs
// outside this module too.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/wire", 20)
}
