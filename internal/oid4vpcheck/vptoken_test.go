package oid4vpcheck

import (
	"encoding/json"
	"errors"
	"testing"
)

// vpRequest is a checked request with an SD-JWT query, an object-format
// query allowing multiple presentations, and (sets) credential sets.
func vpRequest(t testing.TB, sets bool) *Request {
	t.Helper()
	q := `{"credentials": [
	  {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:example:pid"]}, "claims": [{"path": ["age_over_18"]}]},
	  {"id": "zk", "format": "yinzheng-zk+groth16", "meta": {}, "multiple": true},
	  {"id": "loose", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:example:pid"]}, "require_cryptographic_holder_binding": false}]`
	if sets {
		q += `, "credential_sets": [{"options": [["pid"], ["zk"]]}, {"options": [["loose"]], "required": false}]`
	}
	d, err := CheckDCQL(json.RawMessage(q + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return &Request{ClientID: testClientID, DNSName: testDomain, Nonce: testNonce, DCQL: d}
}

func vpJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVPToken: each case breaks one rule of §8.1 (or of the SD-JWT+KB
// form, Appendix B.3.6) for a request without credential sets, where
// every query is required.
func TestVPToken(t *testing.T) {
	good := sdJWT(nil, nil, "")
	zk := map[string]any{"proof": "AAAB"}
	unbound := replaceFirst(good, good[len(good)-len(lastPart(good)):], "")
	for _, c := range []struct {
		name string
		tok  any
		want error
	}{
		{"valid", map[string]any{"pid": []string{good}, "zk": []any{zk, zk}, "loose": []string{good}}, nil},
		{"sm3 sd_hash", map[string]any{"pid": []string{sdJWT(nil, nil, "sm3")}, "zk": []any{zk}, "loose": []string{good}}, nil},
		{"unbound presentation where allowed", map[string]any{"pid": []string{good}, "zk": []any{zk}, "loose": []string{unbound}}, nil},
		{"not an object", []string{good}, ErrVPToken},
		{"a string", "eyJ", ErrVPToken},
		{"unknown id", map[string]any{"pid": []string{good}, "zk": []any{zk}, "loose": []string{good}, "other": []string{good}}, ErrVPTokenUnknownID},
		{"value not an array", map[string]any{"pid": good, "zk": []any{zk}, "loose": []string{good}}, ErrVPTokenArray},
		{"empty array", map[string]any{"pid": []string{}, "zk": []any{zk}, "loose": []string{good}}, ErrVPTokenArray},
		{"two without multiple", map[string]any{"pid": []string{good, good}, "zk": []any{zk}, "loose": []string{good}}, ErrVPTokenMultiple},
		{"presentation a number", map[string]any{"pid": []string{good}, "zk": []any{1}, "loose": []string{good}}, ErrPresentation},
		{"query not answered", map[string]any{"pid": []string{good}, "loose": []string{good}}, ErrVPTokenMissing},
		{"sd-jwt an object", map[string]any{"pid": []any{zk}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"sd-jwt without ~", map[string]any{"pid": []string{"eyJ.eyJ.sig"}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"sd-jwt without KB-JWT where binding is required", map[string]any{"pid": []string{unbound}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"sd-jwt bad disclosure", map[string]any{"pid": []string{replaceFirst(good, "~", "~*~")}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"KB-JWT typ JWT", map[string]any{"pid": []string{sdJWT(map[string]any{"typ": "JWT"}, nil, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrKBJWTType},
		{"KB-JWT alg none", map[string]any{"pid": []string{sdJWT(map[string]any{"alg": "none"}, nil, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"KB-JWT without iat", map[string]any{"pid": []string{sdJWT(nil, map[string]any{"iat": nil}, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrSDJWT},
		{"KB-JWT aud the bare domain", map[string]any{"pid": []string{sdJWT(nil, map[string]any{"aud": testDomain}, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrKBJWTAudience},
		{"KB-JWT nonce another", map[string]any{"pid": []string{sdJWT(nil, map[string]any{"nonce": "other-nonce-0123456789abc"}, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrKBJWTNonce},
		{"KB-JWT sd_hash wrong", map[string]any{"pid": []string{sdJWT(nil, map[string]any{"sd_hash": "AAAA"}, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrKBJWTSDHash},
		{"KB-JWT sd_hash missing", map[string]any{"pid": []string{sdJWT(nil, map[string]any{"sd_hash": nil}, "")}, "zk": []any{zk}, "loose": []string{good}}, ErrKBJWTSDHash},
	} {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			if s, ok := c.tok.(string); ok {
				data = []byte(`"` + s + `"`)
			} else {
				data = vpJSON(t, c.tok)
			}
			err := vpRequest(t, false).CheckVPToken(data)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := vpRequest(t, false).CheckVPToken([]byte(`{"pid":["a"],"pid":["b"]}`)); !errors.Is(err, ErrDuplicateMember) {
		t.Fatalf("duplicate key: %v", err)
	}
}

// TestVPTokenCredentialSets: with credential sets, one option of each
// required set must be answered; optional sets may be left out.
func TestVPTokenCredentialSets(t *testing.T) {
	good := sdJWT(nil, nil, "")
	r := vpRequest(t, true)
	for _, c := range []struct {
		name string
		tok  map[string]any
		want error
	}{
		{"first option", map[string]any{"pid": []string{good}}, nil},
		{"second option and the optional set", map[string]any{"zk": []any{map[string]any{}}, "loose": []string{good}}, nil},
		{"only the optional set", map[string]any{"loose": []string{good}}, ErrVPTokenMissing},
	} {
		if err := r.CheckVPToken(vpJSON(t, c.tok)); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func lastPart(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '~' {
			return s[i+1:]
		}
	}
	return s
}
