//go:build !unix

package bench

// cpuNanos is not measured on this system (0: unknown).
func cpuNanos() int64 { return 0 }
