package main

import (
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// revocationBenchResult is what `yinzheng bench revocation --json` prints.
type revocationBenchResult struct {
	Depth      int `json:"depth"`
	Leaves     int `json:"leaves"`
	BatchSize  int `json:"batch_size"`
	GOMAXPROCS int `json:"gomaxprocs"`

	AppendPerS float64 `json:"append_per_s"` // leaves appended per second, batches of BatchSize
	RevokePerS float64 `json:"revoke_per_s"` // random revocations per second, batches of BatchSize
	PathUS     float64 `json:"path_us"`      // one path read from the store
	PublishMS  float64 `json:"publish_ms"`   // sign and store one epoch
	// Delta sizes (binary encoding): per revocation in an epoch of one
	// batch of random revocations, in an epoch of a single revocation, and
	// per leaf in an epoch of one batch of appends.
	DeltaBytesPerRevocation       float64 `json:"delta_bytes_per_revocation"`
	DeltaBytesPerSingleRevocation float64 `json:"delta_bytes_single_revocation"`
	DeltaBytesPerIssuance         float64 `json:"delta_bytes_per_issuance"`
	// Store size after appending Leaves, measured on disk after closing:
	// the tree, status list and epochs (Badger's LSM tables), and that plus
	// the retained batch deltas (value log).
	BytesPerLeaf          float64 `json:"bytes_per_leaf"`
	BytesPerLeafWithDelta float64 `json:"bytes_per_leaf_with_deltas"`
	Extrapolated14e9GB    float64 `json:"extrapolated_1_4e9_gb"` // BytesPerLeaf × 1.4×10^9
}

// runBenchRevocation implements `yinzheng bench revocation [--depth N]
// [--leaves N] [--json]`.
func runBenchRevocation(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench revocation", stderr)
	depth := fs.Int("depth", revocation.DefaultDepth, "tree depth")
	leaves := fs.Int("leaves", 1_000_000, "leaves to append before measuring (store size per leaf is measured here)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const batch = 10_000
	if err := revocation.CheckDepth(*depth); err != nil || *depth < 16 {
		return usageError("--depth %d is not an even number in 16…%d", *depth, revocation.MaxDepth)
	}
	if *leaves < batch || uint64(*leaves)+2*batch > uint64(1)<<uint(*depth) {
		return usageError("--leaves %d must be at least %d and leave room for two more batches at depth %d", *leaves, batch, *depth)
	}
	tmp, err := os.MkdirTemp("", "yinzheng-bench-revocation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "acc")
	key, err := jose.GenerateKey(jose.SuiteGM, rand.Reader)
	if err != nil {
		return err
	}
	res := revocationBenchResult{Depth: *depth, Leaves: *leaves, BatchSize: batch, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}

	s, err := revocation.Open(dir, revocation.Options{Depth: *depth})
	if err != nil {
		return err
	}
	defer func() { s.Close() }()
	rng := mrand.New(mrand.NewPCG(1, 2))

	// Appends, in batches of 10,000.
	var appendTime time.Duration
	for n := 0; n < *leaves; n += batch {
		b := bench.RandomLeaves(rng, min(batch, *leaves-n))
		start := time.Now()
		if _, err := s.Append(b...); err != nil {
			return err
		}
		appendTime += time.Since(start)
	}
	res.AppendPerS = float64(*leaves) / appendTime.Seconds()
	progress("appended %d leaves: %.0f/s", *leaves, res.AppendPerS)
	if _, err := s.Publish(key, "https://bench.invalid", time.Now()); err != nil {
		return err
	}

	// Store size: close so the memtable is flushed, measure, reopen.
	if err := s.Close(); err != nil {
		return err
	}
	lsm, vlog, err := dirSizes(dir)
	if err != nil {
		return err
	}
	res.BytesPerLeaf = float64(lsm) / float64(*leaves)
	res.BytesPerLeafWithDelta = float64(lsm+vlog) / float64(*leaves)
	res.Extrapolated14e9GB = res.BytesPerLeaf * 1.4e9 / 1e9
	if s, err = revocation.Open(dir, revocation.Options{Depth: *depth}); err != nil {
		return err
	}

	// Random revocations, batches of 10,000; each batch is one epoch.
	var revokeTime, publishTime time.Duration
	var revoked, deltaBytes int
	const rounds = 3
	for range rounds {
		serials := make([]uint64, batch)
		for i := range serials {
			serials[i] = rng.Uint64N(uint64(*leaves))
		}
		start := time.Now()
		if err := s.Revoke(serials...); err != nil {
			return err
		}
		revokeTime += time.Since(start)
		start = time.Now()
		e, err := s.Publish(key, "https://bench.invalid", time.Now())
		if err != nil {
			return err
		}
		publishTime += time.Since(start)
		n, size, err := deltaSize(s, e.Epoch)
		if err != nil {
			return err
		}
		revoked += n
		deltaBytes += size
	}
	res.RevokePerS = float64(rounds*batch) / revokeTime.Seconds()
	res.PublishMS = float64(publishTime.Microseconds()) / 1000 / rounds
	res.DeltaBytesPerRevocation = float64(deltaBytes) / float64(revoked)
	progress("revoked %d: %.0f/s, publish %.2f ms", rounds*batch, res.RevokePerS, res.PublishMS)

	// One revocation alone in an epoch.
	for {
		serial := rng.Uint64N(uint64(*leaves))
		if st, err := s.Status(serial); err != nil {
			return err
		} else if st == revocation.Revoked {
			continue
		}
		if err := s.Revoke(serial); err != nil {
			return err
		}
		break
	}
	e, err := s.Publish(key, "https://bench.invalid", time.Now())
	if err != nil {
		return err
	}
	if _, size, err := deltaSize(s, e.Epoch); err != nil {
		return err
	} else {
		res.DeltaBytesPerSingleRevocation = float64(size)
	}

	// One batch of issuance in an epoch.
	if _, err := s.Append(bench.RandomLeaves(rng, batch)...); err != nil {
		return err
	}
	if e, err = s.Publish(key, "https://bench.invalid", time.Now()); err != nil {
		return err
	}
	n, size, err := deltaSize(s, e.Epoch)
	if err != nil {
		return err
	}
	res.DeltaBytesPerIssuance = float64(size) / float64(n)

	// Path reads of random serials.
	const reads = 5_000
	start := time.Now()
	for range reads {
		if _, err := s.Path(rng.Uint64N(uint64(*leaves))); err != nil {
			return err
		}
	}
	res.PathUS = float64(time.Since(start).Nanoseconds()) / 1000 / reads

	if *asJSON {
		return jsonEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "depth %d, %d leaves, batches of %d, GOMAXPROCS %d\n", res.Depth, res.Leaves, batch, res.GOMAXPROCS)
	fmt.Fprintf(stdout, "append %.0f leaves/s, revoke %.0f/s, path %.1f µs, publish %.2f ms\n", res.AppendPerS, res.RevokePerS, res.PathUS, res.PublishMS)
	fmt.Fprintf(stdout, "delta %.0f B/revocation (batch), %.0f B (single), %.0f B/issuance\n", res.DeltaBytesPerRevocation, res.DeltaBytesPerSingleRevocation, res.DeltaBytesPerIssuance)
	fmt.Fprintf(stdout, "store %.1f B/leaf (%.1f with deltas); at 1.4e9 leaves ≈ %.0f GB\n", res.BytesPerLeaf, res.BytesPerLeafWithDelta, res.Extrapolated14e9GB)
	return nil
}

// deltaSize returns the number of changed leaves in epoch and the size of
// its binary delta.
func deltaSize(s *revocation.Store, epoch uint64) (changed, size int, err error) {
	d, err := s.Delta(epoch)
	if err != nil {
		return 0, 0, err
	}
	bin, err := d.MarshalBinary()
	if err != nil {
		return 0, 0, err
	}
	return len(d.Serials), len(bin), nil
}

// dirSizes sums Badger's LSM tables (and any other file) and its value log.
func dirSizes(dir string) (lsm, vlog int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return 0, 0, err
		}
		if strings.HasSuffix(e.Name(), ".vlog") {
			vlog += info.Size()
		} else {
			lsm += info.Size()
		}
	}
	return lsm, vlog, nil
}
