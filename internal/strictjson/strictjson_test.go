package strictjson

import (
	"errors"
	"strings"
	"testing"
)

type doc struct {
	Name string `json:"name"`
}

func TestUnmarshal(t *testing.T) {
	var d doc
	if err := Unmarshal([]byte(" {\"name\":\"a\"}\n"), 100, &d); err != nil || d.Name != "a" {
		t.Fatalf("valid document: %v, %+v", err, d)
	}
	for name, tc := range map[string]struct {
		in    string
		limit int
		want  error
	}{
		"too large":        {`{"name":"` + strings.Repeat("a", 100) + `"}`, 100, ErrTooLarge},
		"trailing value":   {`{"name":"a"}{}`, 0, ErrTrailingData},
		"trailing garbage": {`{"name":"a"} x`, 0, ErrTrailingData},
		"trailing brace":   {`{"name":"a"}}`, 0, ErrTrailingData},
		"unknown member":   {`{"name":"a","x":1}`, 0, nil},
		"not JSON":         {`{"name":`, 0, nil},
		"empty":            {``, 0, nil},
	} {
		err := Unmarshal([]byte(tc.in), tc.limit, &doc{})
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
