package publication

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

func validMetadata(t *testing.T) map[string]any {
	t.Helper()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := Metadata{Issuer: "https://issuer.yinzheng.example", Suite: jose.SuiteGM, JWK: key.Public(),
		KeyID: key.Public().KeyID(), Depth: 32, CircuitID: "zCircuit", SchemaID: "zSchema",
		VCT: "urn:yinzheng:wangzheng:v1", StatusListURI: "https://issuer.yinzheng.example/statuslist.jwt"}
	data, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestParseMetadata(t *testing.T) {
	obj := validMetadata(t)
	data, _ := json.Marshal(obj)
	m, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Depth != 32 || m.JWK.KeyID() != m.KeyID || m.Issuer != obj["issuer"] {
		t.Errorf("parsed %+v", m)
	}
	obj["version"] = 1
	data, _ = json.Marshal(obj)
	if _, err := ParseMetadata(data); err != nil {
		t.Errorf("version 1: %v", err)
	}
}

func TestParseMetadataRefuses(t *testing.T) {
	other, err := jose.GenerateKey(jose.SuiteIntl, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(map[string]any)
		want string
	}{
		"version":        {func(o map[string]any) { o["version"] = 2 }, "version"},
		"unknown field":  {func(o map[string]any) { o["extra"] = true }, "unknown field"},
		"no issuer":      {func(o map[string]any) { delete(o, "issuer") }, "issuer is missing"},
		"no jwk":         {func(o map[string]any) { delete(o, "jwk") }, "jwk is missing"},
		"bad jwk":        {func(o map[string]any) { o["jwk"] = map[string]any{"kty": "EC"} }, "crv"},
		"suite mismatch": {func(o map[string]any) { o["suite"] = "intl" }, "suite"},
		"other key":      {func(o map[string]any) { o["jwk"] = other.Public(); o["suite"] = "intl" }, "kid"},
		"wrong kid":      {func(o map[string]any) { o["kid"] = "zSomethingElse" }, "kid"},
		"depth 0":        {func(o map[string]any) { o["depth"] = 0 }, "depth"},
		"depth 49":       {func(o map[string]any) { o["depth"] = 49 }, "depth"},
		"odd depth":      {func(o map[string]any) { o["depth"] = 31 }, "depth"},
		"no circuit":     {func(o map[string]any) { o["circuit_id"] = "" }, "circuit_id"},
		"no schema":      {func(o map[string]any) { o["schema_id"] = "" }, "schema_id"},
		"no vct":         {func(o map[string]any) { o["vct"] = "" }, "vct"},
		"no status list": {func(o map[string]any) { o["status_list_uri"] = "" }, "status_list_uri"},
	} {
		obj := validMetadata(t)
		c.edit(obj)
		data, _ := json.Marshal(obj)
		if _, err := ParseMetadata(data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
	data, _ := json.Marshal(validMetadata(t))
	if _, err := ParseMetadata(append(data, []byte(" {}")...)); err == nil {
		t.Error("trailing data accepted")
	}
	if _, err := ParseMetadata([]byte(strings.Repeat(" ", MaxMetadataSize+1))); err == nil {
		t.Error("oversized metadata accepted")
	}
}
