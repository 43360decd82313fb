package strictjson

import (
	"encoding/json"
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

type inner struct {
	Proof string `json:"proof"`
}

type embedded struct {
	Kind string `json:"kind"`
}

type outer struct {
	embedded
	Name   string           `json:"name"`
	Inner  inner            `json:"inner"`
	List   []inner          `json:"list"`
	Map    map[string]inner `json:"map"`
	Ptr    *inner           `json:"ptr"`
	Raw    json.RawMessage  `json:"raw"`
	Any    map[string]any   `json:"any"`
	Bytes  []byte           `json:"bytes"`
	NoTag  string
	Hidden string `json:"-"`
}

// TestStrictMembers breaks each member rule alone; the valid document next
// to them shows that nested structs, slices, maps, pointers, embedded fields,
// raw messages and free-form maps still decode.
func TestStrictMembers(t *testing.T) {
	valid := `{"kind":"k","name":"a","inner":{"proof":"p"},"list":[{"proof":"q"}],` +
		`"map":{"x":{"proof":"r"}},"ptr":{"proof":"s"},"raw":{"Proof":1,"proof":2},` +
		`"any":{"A":1,"a":{"B":2}},"bytes":"AAE=","NoTag":"n"}`
	var o outer
	if err := Unmarshal([]byte(valid), 0, &o); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	if o.Kind != "k" || o.Inner.Proof != "p" || o.List[0].Proof != "q" || o.Map["x"].Proof != "r" || o.Ptr.Proof != "s" || o.NoTag != "n" {
		t.Fatalf("valid document decoded as %+v", o)
	}
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"duplicate member":            {`{"name":"a","name":"b"}`, ErrDuplicateMember},
		"duplicate in another case":   {`{"name":"a","NAME":"b"}`, ErrDuplicateMember},
		"duplicate Kelvin sign fold":  {`{"kind":"a","\u212aind":"b"}`, ErrDuplicateMember},
		"duplicate nested":            {`{"inner":{"proof":"a","proof":"b"}}`, ErrDuplicateMember},
		"duplicate in array element":  {`{"list":[{"proof":"a"},{"proof":"a","proof":"b"}]}`, ErrDuplicateMember},
		"duplicate in free-form map":  {`{"any":{"x":1,"x":2}}`, ErrDuplicateMember},
		"case variant":                {`{"Name":"a"}`, ErrCaseVariant},
		"case variant nested":         {`{"inner":{"PROOF":"a"}}`, ErrCaseVariant},
		"case variant in slice":       {`{"list":[{"Proof":"a"}]}`, ErrCaseVariant},
		"case variant in map value":   {`{"map":{"x":{"pRoof":"a"}}}`, ErrCaseVariant},
		"case variant behind pointer": {`{"ptr":{"Proof":"a"}}`, ErrCaseVariant},
		"case variant of embedded":    {`{"Kind":"a"}`, ErrCaseVariant},
		"case variant of untagged":    {`{"notag":"a"}`, ErrCaseVariant},
		"invalid UTF-8 in value":      {"{\"name\":\"\xff\"}", ErrInvalidUTF8},
		"invalid UTF-8 in name":       {"{\"na\xc3me\":\"a\"}", ErrInvalidUTF8},
		"lone surrogate escape":       {`{"name":"\ud800"}`, ErrInvalidUTF8},
	} {
		err := Unmarshal([]byte(tc.in), 0, &outer{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	var v any
	if err := Unmarshal([]byte(deep), 0, &v); err == nil {
		t.Fatal("a document nested 100 levels deep was accepted")
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"name":"a","inner":{"proof":"p"}}`))
	f.Add([]byte(`{"name":"a","NAME":"b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o outer
		if err := Unmarshal(data, 1<<16, &o); err != nil {
			return
		}
		// What is accepted must be UTF-8 and must re-encode to a document
		// that is accepted again and decodes the same.
		out, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var again outer
		if err := Unmarshal(out, 0, &again); err != nil {
			t.Fatalf("re-encoded document refused: %v\n%s", err, out)
		}
	})
}

// TestCaseVariantIntoLowerCaseType: a type whose member names are all lower
// case is walked only when the document has a name with a foldable letter;
// such a name is still refused.
func TestCaseVariantIntoLowerCaseType(t *testing.T) {
	var in inner
	if err := Unmarshal([]byte(`{"proof":"x"}`), 0, &in); err != nil || in.Proof != "x" {
		t.Fatalf("lower-case document: %v, %+v", err, in)
	}
	for _, doc := range []string{`{"Proof":"x"}`, `{"pRoOf":"x"}`, `{"PROOF":"x"}`} {
		if err := Unmarshal([]byte(doc), 0, &inner{}); !errors.Is(err, ErrCaseVariant) {
			t.Errorf("%s: %v, want ErrCaseVariant", doc, err)
		}
	}
	if err := Unmarshal([]byte(`[{"proof":"x"},{"Proof":"y"}]`), 0, &[]inner{}); !errors.Is(err, ErrCaseVariant) {
		t.Errorf("case variant in a slice element: %v", err)
	}
}

func BenchmarkUnmarshalLowerCase(b *testing.B) {
	doc := []byte(`{"name":"a","inner":{"proof":"p"},"list":[{"proof":"q"},{"proof":"r"}]}`)
	type lower struct {
		Name  string  `json:"name"`
		Inner inner   `json:"inner"`
		List  []inner `json:"list"`
	}
	for b.Loop() {
		var v lower
		if err := Unmarshal(doc, 0, &v); err != nil {
			b.Fatal(err)
		}
	}
}
