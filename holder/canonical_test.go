package holder

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestImportRefusesCopiesNotInCanonicalForm: a copy the lenient verifier
// accepts (it trims white space) but Present could never re-serialise is
// refused at import, naming the copy; nothing is stored.
func TestImportRefusesCopiesNotInCanonicalForm(t *testing.T) {
	iss := newIssuer(t)
	for _, tc := range []struct {
		name string
		edit func(string) string
	}{
		{"trailing newline", func(s string) string { return s + "\n" }},
		{"trailing space", func(s string) string { return s + " " }},
		{"trailing CRLF", func(s string) string { return s + "\r\n" }},
		{"leading space", func(s string) string { return " " + s }},
		{"text after the last tilde", func(s string) string { return s + "a.b.c" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWallet(t)
			b := iss.issue(adult, mustRequest(t, w), issueOpts{})
			b.SDJWT[3] = tc.edit(b.SDJWT[3])
			_, err := w.Import(context.Background(), b, iss.source())
			if !errors.Is(err, ErrCopyForm) || !errors.Is(err, ErrBundle) {
				t.Fatalf("err = %v, want ErrCopyForm (an ErrBundle)", err)
			}
			if !strings.Contains(err.Error(), "sd_jwt[3]") {
				t.Fatalf("the error does not name the copy: %v", err)
			}
			if len(w.Credentials()) != 0 {
				t.Fatal("a refused bundle was stored")
			}
		})
	}
	// The same bundle untouched imports and every copy is presentable.
	w := newWallet(t)
	b := iss.issue(adult, mustRequest(t, w), issueOpts{})
	if _, err := w.Import(context.Background(), b, iss.source()); err != nil {
		t.Fatal(err)
	}
	for range SDJWTCopies {
		if _, err := w.present(sdRequestFor(t, "platform-a", "name")); err != nil {
			t.Fatalf("present: %v", err)
		}
	}
}
