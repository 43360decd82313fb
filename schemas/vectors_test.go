package schemas

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/emmansun/gmsm/sm3"

	"github.com/yinzheng-id/yinzheng/internal/golden"
)

const vectorsFile = "testdata/encoding-vectors.json"

type vectorFile struct {
	Description string          `json:"description"`
	Attributes  []attrVector    `json:"attributes"`
	Scopes      []scopeVector   `json:"scopes"`
	Nonces      []nonceVector   `json:"nonces"`
	AgeWindows  []windowVector  `json:"age_windows"`
	Dates       []dateVector    `json:"dates"`
	HashToField []hashToFVector `json:"hash_to_field"`
}

type attrVector struct {
	Name                    string `json:"case"`
	Wanghao                 string `json:"wanghao"`
	HolderName              string `json:"name"`
	BirthDate               string `json:"birth_date"`
	DocType                 string `json:"doc_type"`
	DocTypeCode             uint8  `json:"doc_type_code"`
	Region                  string `json:"region"`
	Level                   uint8  `json:"level"`
	GuardianConsent         bool   `json:"guardian_consent"`
	GuardianAcknowledgement bool   `json:"guardian_acknowledgement"`
	Expiry                  string `json:"expiry"`
	Salt                    string `json:"salt"`

	BirthCode       uint32 `json:"birth_code"`
	ExpiryCode      uint32 `json:"expiry_code"`
	Packed          string `json:"packed"`
	PackedElement   string `json:"packed_element"`
	IdentityMessage string `json:"identity_message"`
	Identity        string `json:"identity"`
}

type scopeVector struct {
	Scope   string `json:"scope"`
	Element string `json:"element"`
}

type nonceVector struct {
	Nonce   string `json:"nonce"`
	Element string `json:"element"`
}

type windowVector struct {
	Today          string `json:"today"`
	AgeOver        *int   `json:"age_over"`
	AgeUnder       *int   `json:"age_under"`
	BornAfter      uint32 `json:"born_after"`
	BornBefore     uint32 `json:"born_before"`
	BornAfterDate  string `json:"born_after_date"`
	BornBeforeDate string `json:"born_before_date"`
}

type dateVector struct {
	Date string `json:"date"`
	Code uint32 `json:"code"`
}

type hashToFVector struct {
	DST           string `json:"dst"`
	Msg           string `json:"msg"`
	UniformBytes  string `json:"uniform_bytes"`
	Element       string `json:"element"`
	ElementReason string `json:"note,omitempty"`
}

func formatElement(e fr.Element) string {
	b := e.Bytes()
	return "0x" + hex.EncodeToString(b[:])
}

func testSalt(i int) string {
	d := sm3.Sum(fmt.Appendf(nil, "yinzheng test salt %d", i))
	return hex.EncodeToString(d[:])
}

func intp(n int) *int { return &n }

// vectorInputs are the inputs of the published vectors.
func vectorInputs() vectorFile {
	a := func(name, wanghao, holder, birth string, doc DocType, region string, level uint8, consent, ack bool, expiry string) attrVector {
		return attrVector{Name: name, Wanghao: wanghao, HolderName: holder, BirthDate: birth, DocType: doc.String(),
			DocTypeCode: uint8(doc), Region: region, Level: level, GuardianConsent: consent,
			GuardianAcknowledgement: ack, Expiry: expiry}
	}
	attrs := []attrVector{
		a("adult resident", "Wh8rT2kQ9mXz4LpA", "张三", "1990-05-17", ResidentID, "110101", 3, false, false, "2030-05-16"),
		a("born before 1970", "Zq1Nn5Yc7Vb3Kd0e", "李四", "1949-10-01", ResidentID, "310104", 4, false, false, "2040-01-01"),
		a("epoch birthday", "epoch19700101aa", "王五", "1970-01-01", Passport, "US", 2, false, false, "2029-12-31"),
		a("leap-day birthday", "LeapDay2000x0229", "赵六", "2000-02-29", HKMacaoPermit, "810000", 1, false, false, "2031-02-28"),
		a("minor under 14", "Child2015aa11bb2", "孙小明", "2015-08-08", ResidentID, "440305", 3, true, false, "2027-08-07"),
		a("minor 14 to 17", "Teen20100303cc4d", "周小红", "2010-03-03", ResidentID, "510107", 2, false, true, "2028-03-02"),
		a("both guardian flags", "Both2012flags9z9", "吴一", "2012-12-31", TaiwanPermit, "710000", 3, true, true, "2030-12-30"),
		a("hk macao residence", "HkMo1985resid001", "Chan Tai Man", "1985-06-30", HKMacaoResidence, "440304", 2, false, false, "2032-06-29"),
		a("taiwan residence", "Tw1978resident02", "林美玲", "1978-11-11", TaiwanResidence, "350203", 3, false, false, "2033-11-10"),
		a("foreign permanent resident", "Fpr1960perm00003", "John Smith", "1960-01-31", ForeignPermanentResidence, "110105", 4, false, false, "2035-01-30"),
		a("elderly, 64-byte wanghao", "Old19300215aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "郑老", "1930-02-15", ResidentID, "330106", 1, false, false, "2099-12-31"),
		a("earliest and latest dates", "Extremes16110220", "钱七", "1611-02-20", Passport, "GB", 1, false, false, "2328-11-11"),
	}
	for i := range attrs {
		attrs[i].Salt = testSalt(i)
	}
	return vectorFile{
		Description: "wangzheng v1 field encoding test vectors; see docs/schema-wangzheng-v1.md. Hex strings are lowercase; field elements are 0x and 64 hex digits, big-endian.",
		Attributes:  attrs,
		Scopes:      []scopeVector{{Scope: "https://platform.example.cn"}, {Scope: "https://another.example.com"}, {Scope: "微信"}},
		Nonces: []nonceVector{
			{Nonce: "000102030405060708090a0b0c0d0e0f"},
			{Nonce: "4e6f6e636520666f722061206c6f67696e20617474656d707421"},
		},
		AgeWindows: []windowVector{
			{Today: "2026-05-17", AgeOver: intp(18)},
			{Today: "2026-05-17", AgeUnder: intp(14)},
			{Today: "2026-05-17", AgeOver: intp(14), AgeUnder: intp(18)},
			{Today: "2026-05-17", AgeOver: intp(60)},
			{Today: "2026-02-28", AgeOver: intp(18)},
			{Today: "2026-03-01", AgeOver: intp(18)},
			{Today: "2028-02-29", AgeOver: intp(18)},
			{Today: "2028-02-29", AgeOver: intp(16)},
			{Today: "2028-02-29", AgeUnder: intp(18)},
			{Today: "2026-05-17"},
		},
		Dates: []dateVector{{Date: "1970-01-01"}, {Date: "1969-12-31"}, {Date: "2000-02-29"}, {Date: "1611-02-20"}, {Date: "2328-11-11"}, {Date: "2026-05-17"}},
		HashToField: []hashToFVector{
			{DST: "QUUX-V01-CS02-with-expander-SM3-128", Msg: ""},
			{DST: "QUUX-V01-CS02-with-expander-SM3-128", Msg: "abc"},
			{DST: ScopeDST, Msg: "abc"},
		},
	}
}

// computeVectors fills the outputs of v from its inputs.
func computeVectors(t *testing.T, v *vectorFile) {
	t.Helper()
	for i := range v.Attributes {
		c := &v.Attributes[i]
		attrs, err := c.attributes()
		if err != nil {
			t.Fatalf("vector %q: %v", c.Name, err)
		}
		p, err := attrs.Predicates()
		if err != nil {
			t.Fatalf("vector %q: %v", c.Name, err)
		}
		word, err := Pack(p)
		if err != nil {
			t.Fatalf("vector %q: %v", c.Name, err)
		}
		packed, identity, err := attrs.Encode()
		if err != nil {
			t.Fatalf("vector %q: %v", c.Name, err)
		}
		c.BirthCode, c.ExpiryCode = p.Birth, p.Expiry
		c.Packed = fmt.Sprintf("0x%011x", word)
		c.PackedElement = formatElement(packed)
		c.IdentityMessage = hex.EncodeToString(attrs.IdentityMessage())
		c.Identity = formatElement(identity)
	}
	for i := range v.Scopes {
		e, err := ScopeElement(v.Scopes[i].Scope)
		if err != nil {
			t.Fatal(err)
		}
		v.Scopes[i].Element = formatElement(e)
	}
	for i := range v.Nonces {
		n, err := hex.DecodeString(v.Nonces[i].Nonce)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NonceElement(n)
		if err != nil {
			t.Fatal(err)
		}
		v.Nonces[i].Element = formatElement(e)
	}
	for i := range v.AgeWindows {
		w := &v.AgeWindows[i]
		today, err := ParseDate(w.Today)
		if err != nil {
			t.Fatal(err)
		}
		w.BornAfter, w.BornBefore, err = AgeWindow(today, w.AgeOver, w.AgeUnder)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := DateFromCode(w.BornAfter)
		b, _ := DateFromCode(w.BornBefore)
		w.BornAfterDate, w.BornBeforeDate = a.String(), b.String()
	}
	for i := range v.Dates {
		d, err := ParseDate(v.Dates[i].Date)
		if err != nil {
			t.Fatal(err)
		}
		v.Dates[i].Code, _ = d.Code()
	}
	for i := range v.HashToField {
		h := &v.HashToField[i]
		h.UniformBytes = hex.EncodeToString(expandMessageXMD(sm3.New, []byte(h.Msg), []byte(h.DST), hashToFieldBytes))
		e, err := HashToField(h.DST, []byte(h.Msg))
		if err != nil {
			t.Fatal(err)
		}
		h.Element = formatElement(e)
	}
}

func (c *attrVector) attributes() (*Attributes, error) {
	birth, err := ParseDate(c.BirthDate)
	if err != nil {
		return nil, err
	}
	expiry, err := ParseDate(c.Expiry)
	if err != nil {
		return nil, err
	}
	doc, err := ParseDocType(c.DocType)
	if err != nil {
		return nil, err
	}
	if uint8(doc) != c.DocTypeCode {
		return nil, fmt.Errorf("doc_type %s has code %d, vector says %d", doc, doc, c.DocTypeCode)
	}
	a := &Attributes{Wanghao: c.Wanghao, Name: c.HolderName, BirthDate: birth, DocType: doc, Region: c.Region,
		Level: c.Level, GuardianConsent: c.GuardianConsent, GuardianAcknowledgement: c.GuardianAcknowledgement, Expiry: expiry}
	salt, err := hex.DecodeString(c.Salt)
	if err != nil || len(salt) != SaltBytes {
		return nil, fmt.Errorf("salt must be %d bytes of hex", SaltBytes)
	}
	copy(a.Salt[:], salt)
	return a, nil
}

func marshalVectors(v vectorFile) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestEncodingVectors recomputes every output in the published vectors from
// the inputs there, and checks that the file matches what this code writes.
// YINZHENG_UPDATE_TESTDATA=1 rewrites the file (package internal/golden).
func TestEncodingVectors(t *testing.T) {
	v := vectorInputs()
	computeVectors(t, &v)
	want, err := marshalVectors(v)
	if err != nil {
		t.Fatal(err)
	}
	data := golden.Load(t, vectorsFile, want)
	var published vectorFile
	if err := json.Unmarshal(data, &published); err != nil {
		t.Fatal(err)
	}
	if len(published.Attributes) < 10 {
		t.Fatalf("%d attribute vectors, want at least 10", len(published.Attributes))
	}
	recomputed := published
	recomputed.Attributes = append([]attrVector(nil), published.Attributes...)
	recomputed.Scopes = append([]scopeVector(nil), published.Scopes...)
	recomputed.Nonces = append([]nonceVector(nil), published.Nonces...)
	recomputed.AgeWindows = append([]windowVector(nil), published.AgeWindows...)
	recomputed.Dates = append([]dateVector(nil), published.Dates...)
	recomputed.HashToField = append([]hashToFVector(nil), published.HashToField...)
	computeVectors(t, &recomputed)
	for i := range published.Attributes {
		if got, want := recomputed.Attributes[i], published.Attributes[i]; got != want {
			t.Errorf("attributes %q:\n got %+v\nwant %+v", want.Name, got, want)
		}
	}
	for i := range published.Scopes {
		if got, want := recomputed.Scopes[i], published.Scopes[i]; got != want {
			t.Errorf("scope %q: got %s, want %s", want.Scope, got.Element, want.Element)
		}
	}
	for i := range published.Nonces {
		if got, want := recomputed.Nonces[i], published.Nonces[i]; got != want {
			t.Errorf("nonce %s: got %s, want %s", want.Nonce, got.Element, want.Element)
		}
	}
	for i := range published.AgeWindows {
		got, want := recomputed.AgeWindows[i], published.AgeWindows[i]
		if got.BornAfter != want.BornAfter || got.BornBefore != want.BornBefore ||
			got.BornAfterDate != want.BornAfterDate || got.BornBeforeDate != want.BornBeforeDate {
			t.Errorf("age window %d (today %s): got %+v, want %+v", i, want.Today, got, want)
		}
	}
	for i := range published.Dates {
		if got, want := recomputed.Dates[i], published.Dates[i]; got != want {
			t.Errorf("date %s: got code %d, want %d", want.Date, got.Code, want.Code)
		}
	}
	for i := range published.HashToField {
		if got, want := recomputed.HashToField[i], published.HashToField[i]; got != want {
			t.Errorf("hash_to_field %q %q:\n got %+v\nwant %+v", want.DST, want.Msg, got, want)
		}
	}
	// The file is exactly what the inputs here produce, so it cannot drift
	// from them unnoticed.
	golden.Check(t, vectorsFile, want)
}

// loadVectorsForSeeds reads the published vectors to seed fuzz targets.
func loadVectorsForSeeds() (vectorFile, error) {
	var v vectorFile
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(data, &v)
}
