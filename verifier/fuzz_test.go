package verifier_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/yinzheng-id/yinzheng/verifier"
)

func seed(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParsePresentation: no panic, and an accepted document survives a
// round trip unchanged.
func FuzzParsePresentation(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := verifier.ParsePresentation(data)
		if err != nil {
			return
		}
		again, err := verifier.ParsePresentation(mustJSON(t, p))
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzParseRequest: no panic, and an accepted request survives a round trip.
func FuzzParseRequest(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := verifier.ParseRequest(data)
		if err != nil {
			return
		}
		again, err := verifier.ParseRequest(mustJSON(t, r))
		if err != nil || !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSeedsParse(t *testing.T) {
	for _, name := range []string{"presentation-zk.json", "presentation-sdjwt.json"} {
		data, _ := os.ReadFile(filepath.Join("testdata", name))
		if _, err := verifier.ParsePresentation(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join("testdata", "request.json"))
	if _, err := verifier.ParseRequest(data); err != nil {
		t.Error(err)
	}
}
