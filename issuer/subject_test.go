package issuer

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResidentIDCheck(t *testing.T) {
	// The GB 11643-1999 example: 11010519491231002X.
	if got := residentIDCheck("11010519491231002"); got != 'X' {
		t.Fatalf("check character %c, want X", got)
	}
	if _, err := normaliseDocNumber(1, "11010519491231002x"); err != nil {
		t.Fatalf("lower-case x refused: %v", err)
	}
}

func TestSubjectValidation(t *testing.T) {
	valid := adultSubject()
	if err := valid.Validate(testNow); err != nil {
		t.Fatalf("valid subject refused: %v", err)
	}
	tests := []struct {
		name   string
		modify func(s *Subject)
		field  string // the field the error must name
	}{
		{"doc_type missing", func(s *Subject) { s.DocType = "" }, "doc_type"},
		{"doc_type unknown", func(s *Subject) { s.DocType = "driving_licence" }, "doc_type"},
		{"doc_number missing", func(s *Subject) { s.DocNumber = "" }, "doc_number"},
		{"doc_number bad check", func(s *Subject) { s.DocNumber = s.DocNumber[:17] + "0" }, "doc_number"},
		{"doc_number short", func(s *Subject) { s.DocNumber = "11010119900307" }, "doc_number"},
		{"doc_number space", func(s *Subject) { s.DocNumber = " " + s.DocNumber[1:] }, "doc_number"},
		{"doc_number no date", func(s *Subject) { s.DocNumber = residentID("110101", "19901307", 1) }, "doc_number"},
		{"passport number too short", func(s *Subject) { s.DocType, s.DocNumber = "passport", "E12" }, "doc_number"},
		{"passport number symbol", func(s *Subject) { s.DocType, s.DocNumber = "passport", "E1234-678" }, "doc_number"},
		{"name missing", func(s *Subject) { s.Name = "" }, "name"},
		{"name control character", func(s *Subject) { s.Name = "张\x00三" }, "name"},
		{"birth_date missing", func(s *Subject) { s.BirthDate = "" }, "birth_date"},
		{"birth_date malformed", func(s *Subject) { s.BirthDate = "1990-3-7" }, "birth_date"},
		{"birth_date future", func(s *Subject) {
			s.BirthDate = "2027-01-01"
			s.DocNumber = residentID("110101", "20270101", 1)
		}, "birth_date"},
		{"birth_date differs from ID", func(s *Subject) { s.BirthDate = "1990-03-08" }, "birth_date"},
		{"region missing", func(s *Subject) { s.Region = "" }, "region"},
		{"region malformed", func(s *Subject) { s.Region = "11010" }, "region"},
		{"level zero", func(s *Subject) { s.Level = 0 }, "level"},
		{"level five", func(s *Subject) { s.Level = 5 }, "level"},
		{"doc_expiry past", func(s *Subject) { s.DocExpiry = "2026-06-14" }, "doc_expiry"},
		{"doc_expiry malformed", func(s *Subject) { s.DocExpiry = "soon" }, "doc_expiry"},
		{"guardian for adult", func(s *Subject) { s.Guardian = guardianRecordFor(testNow) }, "guardian"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := *adultSubject()
			tc.modify(&s)
			_, err := s.validate(testNow)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrSubject) {
				t.Fatalf("error does not wrap ErrSubject: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "subject: "+tc.field+": ") {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestArticle4(t *testing.T) {
	tests := []struct {
		name    string
		subject func() *Subject
		field   string // "" means accepted
		flags   uint8
	}{
		{"13 without guardian", func() *Subject { s := minorSubject("2013-01-01"); s.Guardian = nil; return s }, "guardian", 0},
		{"15 without guardian", func() *Subject { s := minorSubject("2011-01-01"); s.Guardian = nil; return s }, "guardian", 0},
		{"12 with consent", func() *Subject { return minorSubject("2014-01-01") }, "", 1},
		{"13 the day before 14", func() *Subject { return minorSubject("2012-06-16") }, "", 1},
		{"14 today", func() *Subject { return minorSubject("2012-06-15") }, "", 2},
		{"15 with acknowledgement", func() *Subject { return minorSubject("2011-01-01") }, "", 2},
		{"17 the day before 18", func() *Subject { return minorSubject("2008-06-16") }, "", 2},
		{"18 today without guardian", func() *Subject { s := minorSubject("2008-06-15"); s.Guardian = nil; return s }, "", 0},
		{"consent false", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.Consent = false; return s }, "guardian.consent", 0},
		{"guardian time missing", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.Time = ""; return s }, "guardian.time", 0},
		{"guardian time malformed", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.Time = "2026-06-15"; return s }, "guardian.time", 0},
		{"guardian time future", func() *Subject {
			s := minorSubject("2014-01-01")
			s.Guardian.Time = testNow.Add(time.Hour).Format(time.RFC3339)
			return s
		}, "guardian.time", 0},
		{"guardian a minor", func() *Subject {
			s := minorSubject("2014-01-01")
			s.Guardian.DocNumber = residentID("110101", "20100101", 1)
			return s
		}, "guardian.doc_number", 0},
		{"guardian is the child", func() *Subject {
			s := minorSubject("2014-01-01")
			s.Guardian.DocNumber = s.DocNumber
			return s
		}, "guardian.doc_number", 0},
		{"guardian doc_type unknown", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.DocType = "x"; return s }, "guardian.doc_type", 0},
		{"guardian doc_type missing", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.DocType = ""; return s }, "guardian.doc_type", 0},
		{"guardian doc_number bad", func() *Subject { s := minorSubject("2014-01-01"); s.Guardian.DocNumber = "123"; return s }, "guardian.doc_number", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.subject().validate(testNow)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if e.flags != tc.flags {
					t.Fatalf("flags %d, want %d", e.flags, tc.flags)
				}
				if (e.guardian != nil) != (tc.flags != 0) {
					t.Fatalf("guardian record kept = %v", e.guardian != nil)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "subject: "+tc.field+": ") {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	s := adultSubject()
	e, err := s.validate(testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.expiry.String(); got != "2031-06-15" {
		t.Fatalf("default expiry %s, want 2031-06-15", got)
	}
	s.DocExpiry = "2028-01-31"
	if e, err = s.validate(testNow); err != nil || e.expiry.String() != "2028-01-31" {
		t.Fatalf("expiry with an earlier document expiry: %v, %v", e, err)
	}
}

func TestParseSubject(t *testing.T) {
	good := `{"doc_type":"resident_id","doc_number":"x","name":"n","birth_date":"1990-01-01","region":"110101","level":1}`
	if _, err := ParseSubject([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"unknown field": `{"doc_type":"resident_id","nationality":"CN"}`,
		"not json":      `doc_type=resident_id`,
		"trailing":      good + `{}`,
		"level string":  `{"level":"3"}`,
		"too large":     `{"name":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`,
	} {
		if _, err := ParseSubject([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
