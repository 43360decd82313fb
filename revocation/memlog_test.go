package revocation

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// crashedAccumulator runs a child that applies batches batches and is
// killed with SIGKILL after the last one committed (synced), before any
// close: the batches are in the memtable log (.mem) only.
func crashedAccumulator(t *testing.T, batches int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acc")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("%s=%d", crashStopEnv, batches))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	r.ReadString('\n') // ready
	line, _ := r.ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	if line != "done\n" {
		t.Fatalf("crash child: %q %s", line, stderr.String())
	}
	return dir
}

// copyStore copies dir into a new directory, keeping the sparse memtable
// log sparse (only its written bytes are copied).
func copyStore(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		size := len(data)
		data = bytes.TrimRight(data, "\x00")
		path := filepath.Join(to, e.Name())
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, int64(size)); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestDamagedMemLogTailAfterCrash: one damaged byte near the end of the
// accumulator's memtable log after a crash made Badger's replay drop the
// last batches without an error: an accumulator rolled back (serials
// re-issued, epochs re-signed). Now the open refuses with ErrDamaged, or
// the store is exactly what was committed.
func TestDamagedMemLogTailAfterCrash(t *testing.T) {
	const batches = 6
	crashed := crashedAccumulator(t, batches)
	ref := newReference(crashDepth)
	for k := range uint64(batches) {
		ref.apply(crashBatch(k))
	}
	mems, _ := filepath.Glob(filepath.Join(crashed, "*.mem"))
	if len(mems) != 1 {
		t.Fatalf("%d memtable logs, want 1", len(mems))
	}
	data, err := os.ReadFile(mems[0])
	if err != nil {
		t.Fatal(err)
	}
	end := len(bytes.TrimRight(data, "\x00"))
	refused := 0
	// Positions in the last batch's transaction, its commit record last.
	for _, back := range []int{1, 13, 30, 89, 987} {
		t.Run(fmt.Sprint(back), func(t *testing.T) {
			dir := copyStore(t, crashed)
			mem := filepath.Join(dir, filepath.Base(mems[0]))
			pos := end - back
			flip := data[pos] ^ 0x5a
			if flip == 0 {
				flip = 0xff // a zero is what a tear leaves
			}
			f, err := os.OpenFile(mem, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{flip}, int64(pos)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			s, err := openCrashStore(dir)
			if err != nil {
				wantStoreDamaged(t, dir, err)
				refused++
				return
			}
			defer s.Close()
			n, err := s.LeafCount()
			if err != nil {
				t.Fatal(err)
			}
			if n != batches*crashAppends {
				t.Fatalf("the accumulator opened with %d leaves, %d were committed", n, batches*crashAppends)
			}
			checkEqual(t, s, ref)
		})
	}
	if refused == 0 {
		t.Fatal("no damage was refused: the test did not reach the log's entries")
	}
	// The undamaged copy opens as committed.
	s, err := openCrashStore(copyStore(t, crashed))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkEqual(t, s, ref)
}
