// Package redistest runs a real redis-server for tests and benchmarks: on
// a random loopback port, with the append-only file on and no snapshots,
// in a directory of its own, so that it can be stopped, killed and started
// again with its data.
//
// A test that needs Redis fails when it cannot start one; it does not skip
// (CI installs redis-server, see .ci/run).
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Binary is the server program looked up on PATH (then /usr/bin).
const Binary = "redis-server"

// startTimeout bounds the wait for a started server to answer PING (a
// restarted one first loads its append-only file).
const startTimeout = 15 * time.Second

// Server is one redis-server process and its data directory.
type Server struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// TB is the part of testing.TB that New uses (so that this package, which
// the benchmark command links too, does not import testing).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// New starts a server for tb in a temporary directory and stops it when
// the test ends; it fails the test if the server cannot start.
func New(tb TB) *Server {
	tb.Helper()
	s, err := Start(tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: %v (install redis-server: apt-get install redis-server)", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Start starts a server keeping its data in dir, on a free loopback port.
func Start(dir string) (*Server, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		if _, serr := os.Stat("/usr/bin/" + Binary); serr != nil {
			return nil, fmt.Errorf("%s not found: %w", Binary, err)
		}
		bin = "/usr/bin/" + Binary
	}
	var last error
	// The free port is found by binding it and letting go: another
	// process may take it in between, so try a few.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
		if last = s.run(bin); last == nil {
			return s, nil
		}
	}
	return nil, last
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// run starts the process on s.Addr with s.dir and waits until it answers.
func (s *Server) run(bin string) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	log := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(bin,
		"--port", port, "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		"--dir", s.dir, "--logfile", log, "--daemonize", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.cmd = nil
			return fmt.Errorf("redis-server exited at start (%v): %s", err, tail(log))
		default:
		}
		if Ping(s.Addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("redis-server on %s did not answer within %s: %s", s.Addr, startTimeout, tail(log))
}

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Dir is the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Stop shuts the server down cleanly (SIGTERM: it writes its append-only
// file and exits) and waits for it. It does nothing if it is not running.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill ends the server at once (SIGKILL), as a crash would, and waits for
// it. What the server had written to its append-only file survives; what
// was not yet written does not.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the server again on the same address with the same data
// directory (after Stop or Kill), and waits until it has loaded its data.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("redistest: the server is running")
	}
	bin, err := exec.LookPath(Binary)
	if err != nil {
		bin = "/usr/bin/" + Binary
	}
	return s.run(bin)
}

// Ping sends PING to addr and reports whether PONG came back (a server
// still loading its data answers an error).
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// tail returns the end of the server's log, for error messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if len(data) > 800 {
		data = data[len(data)-800:]
	}
	return strings.TrimSpace(string(data))
}
