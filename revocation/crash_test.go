package revocation

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// crashChildEnv switches the test binary into the child that applies
// batches until it is killed.
const crashChildEnv = "YINZHENG_REVOCATION_CRASH_DIR"

// crashStopEnv, with crashChildEnv, makes the child stop after that many
// batches, say "done" and wait to be killed.
const crashStopEnv = "YINZHENG_REVOCATION_CRASH_STOP"

const (
	crashDepth   = 12
	crashAppends = 7 // leaves each batch appends, so leaf count / 7 = batches applied
)

// crashBatch is batch number k of the deterministic sequence.
func crashBatch(k uint64) Batch {
	rng := rand.New(rand.NewPCG(k, 77))
	b := Batch{Append: randomLeaves(rng, crashAppends)}
	total := (k + 1) * crashAppends
	for range rng.IntN(6) {
		b.Revoke = append(b.Revoke, rng.Uint64N(total))
	}
	return b
}

func openCrashStore(dir string) (*Store, error) {
	return Open(dir, Options{Depth: crashDepth, MemTableSize: 8 << 20})
}

// TestMain runs the crash child when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir string) int {
	s, err := openCrashStore(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n, err := s.LeafCount()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	if stop, err := strconv.ParseUint(os.Getenv(crashStopEnv), 10, 64); err == nil {
		for k := n / crashAppends; k < stop; k++ {
			if _, err := s.ApplyBatch(crashBatch(k)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		fmt.Println("done")
		time.Sleep(time.Hour) // killed here: every batch is in the memtable log only
	}
	for k := n / crashAppends; ; k++ {
		if _, err := s.ApplyBatch(crashBatch(k)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// TestCrashSafety kills a child process with SIGKILL at random moments
// while it applies batches, reopens the store each time, and checks that it
// equals the reference after a whole number of batches: the old or the new
// state of the batch that was being written, never a mixture.
func TestCrashSafety(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acc")
	rng := rand.New(rand.NewPCG(41, 42))
	ref := newReference(crashDepth)
	applied := uint64(0)
	kills, progressed := 20, 0
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child %d did not start: %q %s", i, line, stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()

		s, err := openCrashStore(dir)
		if err != nil {
			t.Fatalf("reopening after kill %d: %v", i, err)
		}
		n, err := s.LeafCount()
		if err != nil {
			t.Fatal(err)
		}
		if n%crashAppends != 0 {
			t.Fatalf("kill %d: leaf count %d is not a whole number of batches", i, n)
		}
		k := n / crashAppends
		if k < applied {
			t.Fatalf("kill %d: store went back from %d to %d batches", i, applied, k)
		}
		if k > applied {
			progressed++
		}
		for ; applied < k; applied++ {
			ref.apply(crashBatch(applied))
		}
		checkEqual(t, s, ref)
		for range 3 {
			serial := rng.Uint64N(n)
			p, err := s.Path(serial)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Leaf.Equal(&ref.leaves[serial]) || p.Verify() != nil {
				t.Fatalf("kill %d: path of serial %d is inconsistent", i, serial)
			}
		}
		s.Close()
	}
	if progressed < kills/2 || applied == 0 {
		t.Fatalf("children applied batches before only %d of %d kills (%d batches): the test did not exercise crashes mid-stream", progressed, kills, applied)
	}
	t.Logf("%d kills, %d batches applied in all", kills, applied)
}

// limitedBuffer keeps the first 4 KiB of a child's stderr.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
