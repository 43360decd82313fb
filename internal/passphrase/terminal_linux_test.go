package passphrase

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the test types on the master, the
// code under test reads the slave as its stdin.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal on this machine: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open slave: %v", err)
	}
	t.Cleanup(func() { slave.Close(); master.Close() })
	return master, slave
}

// typeWhenEchoOff waits until the slave's echo is off, then types line on
// the master: typed earlier, the line discipline would echo it regardless
// of what the reader does next.
func typeWhenEchoOff(t *testing.T, master, slave *os.File, line string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Errorf("tcgetattr: %v", err)
			return
		}
		if tio.Lflag&unix.ECHO == 0 {
			if _, err := master.WriteString(line); err != nil {
				t.Errorf("typing: %v", err)
			}
			return
		}
	}
	t.Error("echo was never turned off")
}

// echoed types a marker with echo back on and returns everything the
// terminal echoed up to it: the secret must not be in it.
func echoed(t *testing.T, master *os.File) string {
	t.Helper()
	if _, err := master.WriteString("END-OF-TEST\n"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := bufio.NewReader(master)
	for !strings.Contains(out.String(), "END-OF-TEST") {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("reading the terminal: %v (so far %q)", err, out.String())
		}
		out.WriteByte(b)
	}
	return out.String()
}

func TestTerminalReadsWithoutEcho(t *testing.T) {
	master, slave := openPTY(t)
	var prompts bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		typeWhenEchoOff(t, master, slave, "s3cret-typed\n")
	}()
	got, err := get(env("", false), "Issuer passphrase", slave, &prompts, false)
	<-done
	if err != nil || string(got) != "s3cret-typed" {
		t.Fatalf("got %q, %v", got, err)
	}
	if e := echoed(t, master); strings.Contains(e, "s3cret") {
		t.Fatalf("the passphrase was echoed: %q", e)
	}
	if !strings.Contains(prompts.String(), "Issuer passphrase: ") || strings.Contains(prompts.String(), "s3cret") {
		t.Fatalf("prompt output %q", prompts.String())
	}
}

func TestTerminalConfirmsNewPassphrase(t *testing.T) {
	for _, tc := range []struct {
		name, first, second string
		want                error
	}{
		{"match", "n3w-pass\n", "n3w-pass\n", nil},
		{"mismatch", "n3w-pass\n", "n3w-typo\n", ErrMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master, slave := openPTY(t)
			var prompts syncWriter
			done := make(chan struct{})
			go func() {
				defer close(done)
				typeWhenEchoOff(t, master, slave, tc.first)
				// The second entry only after the second prompt, so it is
				// read by the second ReadPassword, not the first.
				for !strings.Contains(prompts.String(), "(again)") {
					time.Sleep(time.Millisecond)
				}
				typeWhenEchoOff(t, master, slave, tc.second)
			}()
			got, err := get(env("", false), "New passphrase", slave, &prompts, true)
			<-done
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && string(got) != "n3w-pass" {
				t.Fatalf("got %q", got)
			}
			if e := echoed(t, master); strings.Contains(e, "n3w") {
				t.Fatalf("a passphrase was echoed: %q", e)
			}
		})
	}
}
