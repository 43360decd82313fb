package bench

import (
	"os"
	"testing"
)

// TestMain lets the test binary be a replica of the HTTP benchmark:
// VerifierHTTP starts its own executable, with ReplicaEnv set, as each
// replica process.
func TestMain(m *testing.M) {
	MaybeServeReplica()
	os.Exit(m.Run())
}
