package zkhash

import (
	"strings"
	"testing"
)

func TestElementRoundTrip(t *testing.T) {
	e := Tag("x")
	got, err := ParseElement(FormatElement(e))
	if err != nil || !got.Equal(&e) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestParseElementRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no prefix":     strings.Repeat("0", 66),
		"short":         "0x" + strings.Repeat("0", 63),
		"uppercase":     "0x" + strings.Repeat("A", 64)[:1] + strings.Repeat("0", 63),
		"not hex":       "0x" + strings.Repeat("g", 64),
		"not canonical": "0x" + strings.Repeat("f", 64),
	} {
		if _, err := ParseElement(in); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		}
	}
}
