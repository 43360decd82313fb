package storelock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// crashChildEnv makes the test binary the child of crashedStore: it writes
// the store of makeStore, spends the spent key, says so and waits to be
// killed, so that the memtable log (.mem) is left as a crash leaves it.
const crashChildEnv = "YINZHENG_STORELOCK_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir string) int {
	db, err := Open(subjectOptions(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := fill(db); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("written")
	time.Sleep(time.Hour) // killed here, never closed
	return 0
}

// fill writes what makeStore writes, the spending last.
func fill(db *badger.DB) error {
	for start := 0; start < nEntries; start += 100 {
		err := Update(db, func(txn *badger.Txn) error {
			for i := start; i < start+100; i++ {
				v := []byte(fmt.Sprintf("small %d", i))
				if i%10 == 0 {
					v = bigValue(i)
				}
				if err := txn.SetEntry(badger.NewEntry([]byte(fmt.Sprintf("request/%04d", i)), v).WithTTL(time.Hour)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, k := range []string{spentKey, liveKey} {
		if err := Update(db, func(txn *badger.Txn) error { return txn.Set([]byte(k), []byte("doc")) }); err != nil {
			return err
		}
	}
	return Update(db, func(txn *badger.Txn) error { return txn.Delete([]byte(spentKey)) })
}

var crashed struct {
	dir string
	err error
}

// crashedStore returns a fresh copy of a store whose writer was killed
// with SIGKILL after its last (synced) commit, the spending of spentKey:
// everything since the open is only in the memtable log.
func crashedStore(t *testing.T) string {
	t.Helper()
	if crashed.dir == "" && crashed.err == nil {
		crashed.dir, crashed.err = makeCrashed()
	}
	if crashed.err != nil {
		t.Fatal(crashed.err)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(crashed.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(crashed.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func makeCrashed() (string, error) {
	dir, err := os.MkdirTemp("", "storelock-crash-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill() // SIGKILL: no close, no flush
	cmd.Wait()
	if line != "written\n" {
		return "", fmt.Errorf("crash child: %q", line)
	}
	if ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(ssts) != 0 {
		return "", errors.New("crash child flushed a table: the memtable log is not what is tested")
	}
	return dir, nil
}

// memEnd returns the .mem file of dir, its bytes and the offset just past
// its last non-zero byte: the end of the last entry written.
func memEnd(t *testing.T, dir string) (string, []byte, int) {
	t.Helper()
	path := onlyFile(t, dir, "*.mem")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	if end <= memHeaderSize {
		t.Fatal("the memtable log is empty")
	}
	return path, b, end
}

func TestCrashedStoreReads(t *testing.T) {
	got, err := readAll(crashedStore(t))
	if err != nil {
		t.Fatal(err)
	}
	checkIntact(t, got)
}

// TestDamagedMemLogTail flips one byte at each position of the last 80
// bytes of the memtable log (the commit that spent the key, and the one
// before it). Badger's replay drops a transaction whose entry fails its
// checksum, and everything after it, without an error: the spent key came
// back. Now the open refuses, or, where the byte changed nothing Badger
// reads, reads everything as it was.
func TestDamagedMemLogTail(t *testing.T) {
	path, b, end := memEnd(t, crashedStore(t))
	_ = path
	for pos := end - 80; pos < end; pos++ {
		flip := b[pos] ^ 0x5a
		if flip == 0 {
			flip = b[pos] ^ 0xa5 // a byte turned to zero is what a tear leaves
		}
		t.Run(fmt.Sprint(end-pos), func(t *testing.T) {
			dir := crashedStore(t)
			p := onlyFile(t, dir, "*.mem")
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{flip}, int64(pos)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, err := readAll(dir)
			if err != nil {
				wantDamaged(t, dir, err)
				if _, err := readAll(dir); !errors.Is(err, ErrDamaged) {
					t.Fatalf("second open: %v, want ErrDamaged again", err)
				}
				return
			}
			checkIntact(t, got)
		})
	}
}

// TestDamagedMemLogMiddle: a flipped byte in the first entry makes
// Badger's replay drop every later commit.
func TestDamagedMemLogMiddle(t *testing.T) {
	dir := crashedStore(t)
	p := onlyFile(t, dir, "*.mem")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[memHeaderSize+30] ^= 0x01
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = readAll(dir)
	wantDamaged(t, dir, err)
}

// TestTornMemLogTailOpens: what a kill in the middle of the last write
// leaves (a prefix of its bytes, zeros after) is not damage: the store
// opens, without that unacknowledged transaction and with everything
// before it.
func TestTornMemLogTailOpens(t *testing.T) {
	_, _, end := memEnd(t, crashedStore(t))
	for _, cut := range []int{1, 3, 7, 20, 40} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := crashedStore(t)
			p := onlyFile(t, dir, "*.mem")
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(make([]byte, cut), int64(end-cut)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, err := readAll(dir)
			if err != nil {
				t.Fatalf("a torn last write refused: %v", err)
			}
			// The spending was the torn transaction: it is not there, and
			// nothing else is lost.
			if string(got[spentKey]) != "doc" || string(got[liveKey]) != "doc" || len(got) != nEntries+2 {
				t.Fatalf("read %d entries after a torn tail", len(got))
			}
		})
	}
}

// TestEmptyMemLog: a kill between creating a memtable log and sizing it
// leaves a zero-length .mem, on which Badger's open failed ("Create a new
// file").
func TestEmptyMemLog(t *testing.T) {
	dir := makeStore(t)
	if err := os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(dir)
	if err != nil {
		t.Fatalf("open with an empty memtable log: %v", err)
	}
	checkIntact(t, got)
}

// TestDamagedValueLogTailAfterCrash: a flipped byte in the last value of
// the value log of a crashed store is refused when read.
func TestDamagedValueLogTailAfterCrash(t *testing.T) {
	dir := crashedStore(t)
	vlog := onlyFile(t, dir, "*.vlog")
	f, err := os.OpenFile(vlog, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	if _, err := f.WriteAt([]byte{b[end-10] ^ 0x01}, int64(end-10)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := readAll(dir)
	if err == nil {
		checkIntact(t, got)
		t.Fatal("a damaged value read without an error")
	}
	wantDamaged(t, dir, err)
}
