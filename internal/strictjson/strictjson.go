// Package strictjson decodes the JSON documents Yinzheng exchanges the one
// strict way: a size limit checked before parsing, exactly one value, valid
// UTF-8, no member named twice in an object (also not in another letter
// case), no member that is only a case variant of a known one, no unknown
// object member, nothing after the value. Every parser of a wire document
// (bundles, requests, presentations, subjects, manifests, issuer metadata,
// root statements, HTTP bodies) goes through it, so a document accepted by one
// role is accepted by all, and two implementations cannot read one document
// two ways: encoding/json alone keeps the last of duplicate members, matches
// member names case-insensitively and replaces invalid UTF-8 silently, where
// other decoders keep the first member, match exactly or refuse.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ErrTrailingData reports bytes other than white space after the value.
var ErrTrailingData = errors.New("data after the first value")

// ErrTooLarge reports a document over the caller's limit.
var ErrTooLarge = errors.New("document too large")

// ErrDuplicateMember reports an object that names a member twice, also when
// the two names differ only in letter case.
var ErrDuplicateMember = errors.New("member named twice")

// ErrCaseVariant reports a member whose name matches a known member only
// when letter case is ignored ("Proof" for "proof").
var ErrCaseVariant = errors.New("member name in the wrong letter case")

// ErrInvalidUTF8 reports bytes that are not UTF-8, or a string holding
// U+FFFD, which is what encoding/json makes of invalid input such as an
// escaped lone surrogate ("\ud800"): no document the roles exchange needs
// the replacement character.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// maxDepth bounds nesting while checking member names, well above any
// document the roles exchange and far below a stack overflow.
const maxDepth = 64

// Unmarshal decodes data, of at most limit bytes (no limit if limit <= 0),
// into v, refusing invalid UTF-8, duplicate and case-variant member names,
// unknown object members and anything after the value.
func Unmarshal(data []byte, limit int, v any) error {
	if limit > 0 && len(data) > limit {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), limit)
	}
	if !utf8.Valid(data) {
		return ErrInvalidUTF8
	}
	foldable, err := checkMembers(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	// A member name can be a case variant of a field's, or fold onto
	// another member, only if one of them has a letter that case folding
	// changes: with lower-case ASCII names on both sides (every wire
	// document) the walk below cannot find anything, so it is skipped.
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer && (foldable || !lowerNames(t.Elem())) {
		return checkCase(json.RawMessage(data), t.Elem(), 0)
	}
	return nil
}

// foldableName reports whether case folding could map name onto another
// string: it holds an upper-case ASCII letter or any non-ASCII character
// (the Kelvin sign folds onto "k", the long s onto "s").
func foldableName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

var lowerCache sync.Map // reflect.Type → bool

// lowerNames reports whether every member name a struct reachable from t
// decodes (through fields, elements and map values) has no foldable letter.
func lowerNames(t reflect.Type) bool {
	if v, ok := lowerCache.Load(t); ok {
		return v.(bool)
	}
	lowerCache.Store(t, true) // a recursive type sees itself as fine meanwhile
	ok := lowerNamesOf(t)
	lowerCache.Store(t, ok)
	return ok
}

func lowerNamesOf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		for name, ft := range fieldsOf(t).exact {
			if foldableName(name) || !lowerNames(ft) {
				return false
			}
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		return lowerNames(t.Elem())
	}
	return true
}

// checkMembers walks the document's tokens: no object names a member twice
// and no string holds U+FFFD, which is what encoding/json makes of an escaped
// lone surrogate. foldable reports a member name with a letter that case
// folding changes. A syntax error is left to the decoder, which names it
// better.
func checkMembers(data []byte) (foldable bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		key    bool // the next string token is a member name
		seen   map[string]bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return foldable, nil
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].key = true
				}
				if len(stack) >= maxDepth {
					return false, fmt.Errorf("document nested deeper than %d levels", maxDepth)
				}
				stack = append(stack, frame{object: t == '{', key: t == '{'})
			default:
				stack = stack[:top]
			}
			continue
		case string:
			if strings.ContainsRune(t, utf8.RuneError) {
				return false, ErrInvalidUTF8
			}
			if top >= 0 && stack[top].object && stack[top].key {
				f := &stack[top]
				if f.seen == nil {
					f.seen = make(map[string]bool)
				}
				if f.seen[t] {
					return false, fmt.Errorf("%w: %q", ErrDuplicateMember, t)
				}
				f.seen[t] = true
				foldable = foldable || foldableName(t)
				f.key = false
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
	}
}

// foldKey maps s to one representative of its case-folding class, the
// equivalence encoding/json uses to match member names (strings.EqualFold).
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		lo := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lo = min(lo, f)
		}
		b.WriteRune(lo)
	}
	return b.String()
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// checkCase walks a decoded document beside the type it was decoded into:
// every member of an object decoded into a struct must carry a field's name
// exactly, and no two of its members may differ only in letter case (free-form
// maps keep such members apart, so they may). Types that decode themselves, raw messages and interfaces are
// left to their own parser.
func checkCase(raw json.RawMessage, t reflect.Type, depth int) error {
	if depth > maxDepth {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' { // null
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil // not an object: the decoder has already refused it
		}
		fields := fieldsOf(t)
		folded := make(map[string]string, len(members))
		for name := range members {
			k := foldKey(name)
			if other, dup := folded[k]; dup {
				return fmt.Errorf("%w: %q and %q", ErrDuplicateMember, min(name, other), max(name, other))
			}
			folded[k] = name
		}
		for name, value := range members {
			ft, ok := fields.exact[name]
			if !ok {
				if known, ok := fields.folded[foldKey(name)]; ok {
					return fmt.Errorf("%w: %q for %q", ErrCaseVariant, name, known)
				}
				continue
			}
			if err := checkCase(value, ft, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is a base64 string
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil
		}
		for _, it := range items {
			if err := checkCase(it, t.Elem(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil
		}
		for _, value := range members {
			if err := checkCase(value, t.Elem(), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// structFields are the JSON member names of a struct type: exactly, and
// folded to the exact name.
type structFields struct {
	exact  map[string]reflect.Type
	folded map[string]string
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	collectFields(t, f, 0)
	fieldCache.Store(t, f)
	return f
}

// collectFields gathers the member names encoding/json gives t's exported
// fields, promoting those of embedded structs without a name of their own.
func collectFields(t reflect.Type, f *structFields, depth int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && depth < maxDepth {
				collectFields(et, f, depth+1)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := f.exact[name]; !dup {
			f.exact[name] = ft
			f.folded[foldKey(name)] = name
		}
	}
}
