package docs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/verifier"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/wire"
)

// kind is one sort of JSON document the markdown shows: the Go type that
// gives its fields, and the parser a reader would feed it to.
type kind struct {
	shape reflect.Type
	parse func([]byte) error
}

// kinds are the document kinds an example may be marked with, either in
// the fence's info string ("```json jwk") or, in a jsonc block, by a comment
// that starts with the kind's name right before the document
// ("// holder request (holder request → issuer issue --holder)").
var kinds = map[string]kind{
	"subject": {reflect.TypeFor[issuer.Subject](), func(b []byte) error {
		s, err := issuer.ParseSubject(b)
		if err != nil {
			return err
		}
		// Validated today, as the issuer would on the day a reader copies it.
		return s.Validate(time.Now())
	}},
	"holder request": {reflect.TypeFor[wire.HolderRequest](), func(b []byte) error {
		_, err := issuer.ParseHolderRequest(b)
		return err
	}},
	"bundle": {reflect.TypeFor[wire.Bundle](), func(b []byte) error {
		_, err := holder.ParseBundle(b)
		return err
	}},
	"request": {reflect.TypeFor[wire.Request](), func(b []byte) error {
		_, err := verifier.ParseRequest(b)
		return err
	}},
	"presentation": {reflect.TypeFor[wire.Presentation](), func(b []byte) error {
		_, err := verifier.ParsePresentation(b)
		return err
	}},
	"result": {reflect.TypeFor[verifier.Result](), func(b []byte) error {
		var r verifier.Result
		return strictjson.Unmarshal(b, 0, &r)
	}},
	// The payload of a request object: strictly its fields (its rules,
	// such as exp, depend on the day and are tested in package wire).
	"request object": {reflect.TypeFor[wire.RequestObject](), func(b []byte) error {
		var ro wire.RequestObject
		if err := strictjson.Unmarshal(b, wire.MaxDocumentSize, &ro); err != nil {
			return err
		}
		return ro.DCQLQuery.Check()
	}},
	"vp_token": {reflect.TypeFor[map[string][]wire.ZKPresentation](), func(b []byte) error {
		tok, err := wire.ParseVPToken(b)
		if err != nil {
			return err
		}
		for _, ps := range tok {
			var z wire.ZKPresentation
			if err := strictjson.Unmarshal(ps[0], 0, &z); err != nil {
				return err
			}
		}
		return nil
	}},
	"transaction": {reflect.TypeFor[verifierapi.TransactionDocument](), func(b []byte) error {
		var d verifierapi.TransactionDocument
		return strictjson.Unmarshal(b, 0, &d)
	}},
	"trust": {reflect.TypeFor[verifier.Trust](), func(b []byte) error {
		_, err := verifier.ParseTrust(b)
		return err
	}},
	"manifest": {reflect.TypeFor[circuits.Manifest](), func(b []byte) error {
		_, err := circuits.ParseManifest(b)
		return err
	}},
	"jwk": {nil, func(b []byte) error {
		var probe map[string]any
		if err := json.Unmarshal(b, &probe); err != nil {
			return err
		}
		if _, private := probe["d"]; private {
			_, err := jose.ParsePrivateJWK(b)
			return err
		}
		_, err := jose.ParsePublicJWK(b)
		return err
	}},
	// A JWS protected header or payload: any strict JSON object (the values
	// are checked against the token by jose/example_test.go).
	"jws": {nil, func(b []byte) error {
		var m map[string]any
		return strictjson.Unmarshal(b, 0, &m)
	}},
}

// example is one JSON document found in a markdown file.
type example struct {
	file string
	line int
	kind string
	text string // comments and elisions removed
	// schematic examples hold placeholders ("0x…", "<JWS>"): their fields
	// and value types are checked, not their values.
	schematic bool
}

func TestEveryMarkdownJSONExampleParses(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	files = append(files, "../README.md")
	var all []example
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exs, err := extract(f, string(data))
		if err != nil {
			t.Error(err)
			continue
		}
		all = append(all, exs...)
	}
	counts := map[string]int{}
	for _, ex := range all {
		counts[ex.kind]++
		k := kinds[ex.kind]
		where := fmt.Sprintf("%s:%d (%s)", ex.file, ex.line, ex.kind)
		if !ex.schematic {
			if err := k.parse([]byte(ex.text)); err != nil {
				t.Errorf("%s: the example is refused: %v\n%s", where, err, ex.text)
			}
			continue
		}
		if k.shape == nil {
			t.Errorf("%s: a %s example must be a real document, not a schematic one", where, ex.kind)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(ex.text), &v); err != nil {
			t.Errorf("%s: not JSON once comments are removed: %v\n%s", where, err, ex.text)
			continue
		}
		for _, problem := range checkShape(v, k.shape, "") {
			t.Errorf("%s: %s", where, problem)
		}
	}
	// The README's own examples must be among those found: a marker that
	// stopped matching would otherwise silently check nothing.
	for _, want := range []string{"subject", "holder request", "bundle", "request", "presentation", "result", "manifest", "jwk"} {
		if counts[want] == 0 {
			t.Errorf("no %s example found in %v", want, files)
		}
	}
	if counts["subject"] < 2 {
		t.Errorf("%d subject examples, want the adult's and the minor's", counts["subject"])
	}
}

// extract returns the JSON documents of every ```json and ```jsonc block.
// Every document must have a kind; a block that marks none fails, so that
// no JSON example escapes the check.
func extract(file, md string) ([]example, error) {
	var out []example
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		fields := strings.Fields(info)
		start := i + 1
		j := start
		for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
			j++
		}
		body := strings.Join(lines[start:j], "\n")
		i = j
		if len(fields) == 0 || (fields[0] != "json" && fields[0] != "jsonc") {
			continue
		}
		blockKind := strings.Join(fields[1:], " ")
		docs, err := splitDocuments(body, blockKind)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, start, err)
		}
		for _, d := range docs {
			d.file, d.line = file, start+d.line
			if _, known := kinds[d.kind]; !known {
				return nil, fmt.Errorf("%s:%d: JSON example without a known kind (%q): mark the fence (```json KIND) or precede it with a // KIND comment, KIND one of %v",
					file, d.line, d.kind, kindNames())
			}
			out = append(out, d)
		}
	}
	return out, nil
}

func kindNames() []string {
	var names []string
	for n := range kinds {
		names = append(names, n)
	}
	return names
}

// splitDocuments walks a json/jsonc block: it drops // and /* */ comments
// and bare "…" elisions (", …]"), and cuts the block into its top-level
// documents, each with the kind of the last kind comment before it.
func splitDocuments(body, kindName string) ([]example, error) {
	var docs []example
	var cur strings.Builder
	depth, line, docLine := 0, 0, 0
	inString, escaped, schematic := false, false, false
	rs := []rune(body)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c == '\n' {
			line++
		}
		if inString {
			cur.WriteRune(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			case c == '…' || c == '<':
				schematic = true
			}
			continue
		}
		switch {
		case c == '/' && i+1 < len(rs) && rs[i+1] == '/':
			end := i
			for end < len(rs) && rs[end] != '\n' {
				end++
			}
			if depth == 0 {
				comment := strings.TrimSpace(string(rs[i+2 : end]))
				if k := kindPrefix(comment); k != "" {
					kindName = k
				}
			}
			i = end - 1
			continue
		case c == '/' && i+1 < len(rs) && rs[i+1] == '*':
			end := strings.Index(string(rs[i:]), "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated /* comment")
			}
			schematic = true
			chunk := []rune(string(rs[i:])[:end])
			line += strings.Count(string(chunk), "\n")
			i += len(chunk) + 1
			continue
		case c == '…':
			// An elided list tail: drop it and the comma before it.
			s := strings.TrimRight(cur.String(), " \n\t")
			s = strings.TrimSuffix(s, ",")
			cur.Reset()
			cur.WriteString(s)
			schematic = true
			continue
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth == 0 {
				cur.Reset()
				docLine, schematic = line, false
			}
			depth++
		case c == '}' || c == ']':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced %q", c)
			}
		}
		if depth > 0 || c == '}' || c == ']' {
			cur.WriteRune(c)
		}
		if depth == 0 && (c == '}' || c == ']') {
			docs = append(docs, example{line: docLine, kind: kindName, text: cur.String(), schematic: schematic})
			cur.Reset()
		}
	}
	if depth != 0 || inString {
		return nil, fmt.Errorf("unterminated JSON document")
	}
	return docs, nil
}

// kindPrefix returns the kind a comment starts with, the longest match
// ("holder request" before "request").
func kindPrefix(comment string) string {
	best := ""
	for name := range kinds {
		if strings.HasPrefix(comment, name) && len(name) > len(best) {
			rest := comment[len(name):]
			if rest == "" || rest[0] == ' ' || rest[0] == ':' || rest[0] == '(' {
				best = name
			}
		}
	}
	return best
}

// checkShape compares a schematic example with the Go type of its document:
// every member must be a field of the type, every field without omitempty
// must be present, and each value must have the JSON type the field takes.
func checkShape(v any, t reflect.Type, path string) []string {
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			return nil
		}
		return []string{fmt.Sprintf("%s: null for a %s", orRoot(path), t)}
	}
	if t == reflect.TypeFor[json.RawMessage]() || t.Kind() == reflect.Interface {
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil // a type that decodes itself (a JWK, say) has members of its own
	}
	bad := func(want string) []string {
		return []string{fmt.Sprintf("%s: %v is not %s (field type %s)", orRoot(path), v, want, t)}
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		var problems []string
		seen := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			seen[name] = true
			val, present := obj[name]
			if !present {
				if !strings.Contains(opts, "omitempty") {
					problems = append(problems, fmt.Sprintf("%s: required member %q missing", orRoot(path), name))
				}
				continue
			}
			problems = append(problems, checkShape(val, f.Type, path+"."+name)...)
		}
		for name := range obj {
			if !seen[name] {
				problems = append(problems, fmt.Sprintf("%s: member %q is not a field of %s (the parser refuses unknown members)", orRoot(path), name, t))
			}
		}
		return problems
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		var problems []string
		for i, e := range arr {
			problems = append(problems, checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return problems
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		var problems []string
		for k, e := range obj {
			problems = append(problems, checkShape(e, t.Elem(), path+"."+k)...)
		}
		return problems
	case reflect.String:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return bad("an integer")
		}
	default:
		return []string{fmt.Sprintf("%s: field type %s not covered by this check", orRoot(path), t)}
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return strings.TrimPrefix(path, ".")
}

func TestShapeCheckCatchesRot(t *testing.T) {
	// Each edit breaks exactly one rule of the check.
	base := `{"version": 1, "type": "zk", "request_id": "…"}`
	cases := map[string]string{
		"unknown member":   `{"version": 1, "type": "zk", "request_id": "…", "nonce": "…"}`,
		"missing required": `{"version": 1, "request_id": "…"}`,
		"wrong type":       `{"version": "1", "type": "zk", "request_id": "…"}`,
	}
	shape := reflect.TypeFor[wire.Presentation]()
	var v any
	if err := json.Unmarshal([]byte(base), &v); err != nil {
		t.Fatal(err)
	}
	if p := checkShape(v, shape, ""); len(p) != 0 {
		t.Fatalf("the base example fails: %v", p)
	}
	for name, doc := range cases {
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if p := checkShape(v, shape, ""); len(p) != 1 {
			t.Errorf("%s: problems %v, want exactly one", name, p)
		}
	}
}

func TestExtractRefusesUnmarkedJSON(t *testing.T) {
	if _, err := extract("x.md", "```json\n{\"a\": 1}\n```\n"); err == nil {
		t.Fatal("a JSON block without a kind was accepted")
	}
	docs, err := extract("x.md", "```jsonc\n// subject: one\n{\"a\": [1, …]} // trailing\n{\"b\": \"/* not a comment */\"}\n```\n")
	if err != nil || len(docs) != 2 || docs[0].kind != "subject" || docs[1].kind != "subject" {
		t.Fatalf("docs %+v, err %v", docs, err)
	}
	if docs[0].text != `{"a": [1]}` || !docs[0].schematic || docs[1].text != `{"b": "/* not a comment */"}` || docs[1].schematic {
		t.Fatalf("cleaned %q (schematic %v), %q (schematic %v)", docs[0].text, docs[0].schematic, docs[1].text, docs[1].schematic)
	}
}

func TestRefusedExampleFails(t *testing.T) {
	// The README's old subject: its birth date is not the one in its
	// resident ID number. The check must refuse it.
	old := `{"doc_type": "resident_id", "doc_number": "11010519491231002X", "name": "张伟",
 "birth_date": "1990-05-17", "region": "110101", "level": 3}`
	if err := kinds["subject"].parse([]byte(old)); err == nil {
		t.Fatal("the refused subject passes the example check")
	}
}
