// Package passphrase obtains the passphrase that unlocks an issuer's or a
// holder's sealed keys.
//
// The environment variable YINZHENG_PASSPHRASE wins when it is set (scripts,
// tests, the demo, a service manager's environment file). Otherwise, when
// stdin is a terminal, the passphrase is typed after a prompt on stderr with
// echo turned off (golang.org/x/term); when stdin is a pipe or a file, its
// first line is the passphrase.
package passphrase

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// EnvVar is the environment variable read by [Get].
const EnvVar = "YINZHENG_PASSPHRASE"

// MaxLen bounds a passphrase read from stdin, so that a stray binary file
// piped in is refused rather than read whole.
const MaxLen = 1024

// ErrMismatch reports that the two entries of a new passphrase differ.
var ErrMismatch = errors.New("passphrase: the two passphrases differ")

// Get returns the passphrase from [EnvVar] if it is set, else prompts on
// stderr and reads one line from stdin, without echo when stdin is a
// terminal. With confirm (used when a new passphrase is chosen) a prompted
// passphrase is asked twice and the two must match. An empty passphrase is
// refused.
//
// stdin is read one byte at a time up to the end of the line, so whatever
// follows the passphrase line (for example a JSON document given as "-")
// is left unread for the caller.
func Get(prompt string, stdin io.Reader, stderr io.Writer, confirm bool) ([]byte, error) {
	return get(os.LookupEnv, prompt, stdin, stderr, confirm)
}

func get(lookup func(string) (string, bool), prompt string, stdin io.Reader, stderr io.Writer, confirm bool) ([]byte, error) {
	if v, ok := lookup(EnvVar); ok {
		if v == "" {
			return nil, fmt.Errorf("passphrase: %s is set but empty", EnvVar)
		}
		return []byte(v), nil
	}
	if stdin == nil {
		return nil, fmt.Errorf("passphrase: no input to read from; set %s", EnvVar)
	}
	// Callers name the passphrase ("Issuer passphrase"); the colon is added
	// here, once, whether or not the name already ends with one.
	prompt = strings.TrimSuffix(strings.TrimSpace(prompt), ":")
	read := func() ([]byte, error) { return readLine(stdin) }
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read = func() ([]byte, error) { return readTerminal(f, stderr) }
	}
	fmt.Fprintf(stderr, "%s: ", prompt)
	first, err := read()
	if err != nil {
		return nil, err
	}
	if len(first) == 0 {
		return nil, errors.New("passphrase: empty passphrase")
	}
	if !confirm {
		return first, nil
	}
	fmt.Fprintf(stderr, "%s (again): ", prompt)
	second, err := read()
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(first, second) != 1 {
		return nil, ErrMismatch
	}
	return first, nil
}

// readTerminal reads one line from a terminal with echo off. The newline
// the user typed is not echoed either, so one is written to stderr to end
// the prompt's line.
func readTerminal(f *os.File, stderr io.Writer) ([]byte, error) {
	line, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("passphrase: no passphrase given (end of input); set %s or type it", EnvVar)
		}
		return nil, fmt.Errorf("passphrase: reading the terminal: %w", err)
	}
	if len(line) > MaxLen {
		return nil, fmt.Errorf("passphrase: longer than %d bytes", MaxLen)
	}
	return line, nil
}

// readLine reads up to '\n' (dropping a trailing '\r'), one byte at a time so
// that nothing after the line is consumed.
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(line) == MaxLen {
				return nil, fmt.Errorf("passphrase: longer than %d bytes", MaxLen)
			}
			line = append(line, b[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil, fmt.Errorf("passphrase: no passphrase given (end of input); set %s or type it", EnvVar)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("passphrase: reading input: %w", err)
		}
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
