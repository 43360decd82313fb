package passphrase

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

func env(v string, set bool) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name != EnvVar {
			return "", false
		}
		return v, set
	}
}

func TestEnvWins(t *testing.T) {
	var errOut bytes.Buffer
	in := strings.NewReader("typed\n")
	got, err := get(env("from-env", true), "Passphrase", in, &errOut, true)
	if err != nil || string(got) != "from-env" {
		t.Fatalf("got %q, %v", got, err)
	}
	if errOut.Len() != 0 || in.Len() != len("typed\n") {
		t.Fatal("prompted or read stdin although the environment variable is set")
	}
	if _, err := get(env("", true), "Passphrase", in, &errOut, false); err == nil {
		t.Fatal("empty environment variable accepted")
	}
}

func TestPromptLeavesRestOfStdin(t *testing.T) {
	var errOut bytes.Buffer
	in := strings.NewReader("s3cret\r\n{\"doc\":1}")
	got, err := get(env("", false), "Issuer passphrase", in, &errOut, false)
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("got %q, %v", got, err)
	}
	if !strings.Contains(errOut.String(), "Issuer passphrase") {
		t.Fatalf("no prompt: %q", errOut.String())
	}
	rest, _ := io.ReadAll(in)
	if string(rest) != `{"doc":1}` {
		t.Fatalf("rest of stdin = %q", rest)
	}
}

func TestPromptRejects(t *testing.T) {
	tests := []struct {
		name, input string
		confirm     bool
	}{
		{"empty line", "\n", false},
		{"end of input", "", false},
		{"confirm differs", "alpha9\nbravo9\n", true},
		{"confirm missing", "alpha9\n", true},
		{"too long", strings.Repeat("a", MaxLen+1) + "\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := get(env("", false), "P", strings.NewReader(tc.input), io.Discard, tc.confirm)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "alpha9") || strings.Contains(err.Error(), "bravo9") {
				t.Fatalf("error leaks the passphrase: %v", err)
			}
		})
	}
	if _, err := get(env("", false), "P", nil, io.Discard, false); err == nil {
		t.Fatal("nil stdin accepted")
	}
}

func TestConfirmMatches(t *testing.T) {
	got, err := get(env("", false), "P", strings.NewReader("same\nsame\n"), io.Discard, true)
	if err != nil || string(got) != "same" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = get(env("", false), "P", strings.NewReader("last line without newline"), io.Discard, false)
	if err != nil || string(got) != "last line without newline" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// syncWriter is a buffer safe to read while another goroutine writes.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestPipedConfirmMismatchIsSentinel(t *testing.T) {
	_, err := get(env("", false), "P", strings.NewReader("alpha9\nbravo9\n"), io.Discard, true)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
}

func TestPromptEndsWithOneColon(t *testing.T) {
	for _, prompt := range []string{"issuer passphrase", "issuer passphrase: "} {
		var errOut bytes.Buffer
		if _, err := get(env("", false), prompt, strings.NewReader("x\n"), &errOut, false); err != nil {
			t.Fatal(err)
		}
		if errOut.String() != "issuer passphrase: " {
			t.Errorf("prompt %q printed %q", prompt, errOut.String())
		}
	}
}
