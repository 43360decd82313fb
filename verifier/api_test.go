package verifier

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/apicheck"
)

// TestPublicAPIHasNoInternalTypes: a program outside this module must be
// able to build a verifier from a directory or a URL, and serve it.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/verifier", 20)
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/verifier/httpapi", 3)
	apicheck.NoInternalTypes(t, "github.com/yinzheng-id/yinzheng/publication", 10)
}
