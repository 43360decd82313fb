package main

import (
	"os"
	"testing"

	"github.com/yinzheng-id/yinzheng/bench"
)

// TestMain lets the test binary serve as a replica of `bench verifier`'s
// HTTP figures, as the yinzheng binary's main does: the benchmark starts
// its own executable, with bench.ReplicaEnv set, for each replica.
func TestMain(m *testing.M) {
	bench.MaybeServeReplica()
	os.Exit(m.Run())
}
