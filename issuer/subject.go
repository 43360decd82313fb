package issuer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// MaxDocumentBytes bounds every JSON document the issuer reads (subjects,
// holder requests).
const MaxDocumentBytes = 1 << 20

// CredentialLifetime is how long a credential is valid when the document's
// own expiry is later (or not given).
const CredentialLifetime = 5 // years

// ErrSubject reports an enrolment record the issuer refuses; the wrapped
// message names the field and the rule.
var ErrSubject = errors.New("subject")

// Subject is an enrolment record: the legal identity document the applicant
// presented (Art. 15) and, for a minor, the guardian's record (Art. 4).
type Subject struct {
	DocType   string `json:"doc_type"`
	DocNumber string `json:"doc_number"`
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
	Region    string `json:"region"`
	Level     int    `json:"level"`
	// DocExpiry is the document's last valid day (YYYY-MM-DD), optional: the
	// credential never outlives the document it rests on.
	DocExpiry string    `json:"doc_expiry,omitempty"`
	Guardian  *Guardian `json:"guardian,omitempty"`
}

// Guardian is a guardian's record for a minor applicant: under 14 the
// guardian consents and applies on the child's behalf; from 14 to 17 the child
// applies under the guardian's supervision (Art. 4). Consent must be true in
// both cases, and Time is when the guardian gave it (RFC 3339).
type Guardian struct {
	DocType   string `json:"doc_type"`
	DocNumber string `json:"doc_number"`
	Consent   bool   `json:"consent"`
	Time      string `json:"time"`
}

// ParseSubject reads a subject strictly: one JSON object of at most
// MaxDocumentBytes, no unknown member. It does not validate the values; see
// Subject.Validate.
func ParseSubject(data []byte) (*Subject, error) {
	var s Subject
	if err := decodeStrict(data, "subject", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// enrolment is a validated subject.
type enrolment struct {
	docType   schemas.DocType
	docNumber string // normalised
	name      string
	birth     schemas.Date
	region    string
	level     uint8
	expiry    schemas.Date
	flags     uint8
	guardian  *guardianRecord
}

// guardianRecord is a validated guardian record.
type guardianRecord struct {
	DocType   string    `json:"doc_type"`
	DocNumber string    `json:"doc_number"`
	Kind      string    `json:"kind"` // "consent" (under 14) or "acknowledgement" (14 to 17)
	Time      time.Time `json:"time"`
}

// Validate checks the subject as the issuer must on the day of issuance, in
// the issuer's time zone: every field alone, then the Art. 4 rules. The error
// wraps ErrSubject and names the field at fault.
func (s *Subject) Validate(now time.Time) error {
	_, err := s.validate(now)
	return err
}

func subjectErr(field, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSubject, field, fmt.Sprintf(format, a...))
}

func (s *Subject) validate(now time.Time) (*enrolment, error) {
	today := schemas.DateOf(now)
	e := &enrolment{name: s.Name, region: s.Region}
	var err error
	if s.DocType == "" {
		return nil, subjectErr("doc_type", "missing")
	}
	if e.docType, err = schemas.ParseDocType(s.DocType); err != nil {
		return nil, subjectErr("doc_type", "%q is not an Art. 15 document type (one of %s)", s.DocType, docTypeList())
	}
	if e.docNumber, err = normaliseDocNumber(e.docType, s.DocNumber); err != nil {
		return nil, subjectErr("doc_number", "%v", err)
	}
	if s.Name == "" {
		return nil, subjectErr("name", "missing")
	}
	if s.BirthDate == "" {
		return nil, subjectErr("birth_date", "missing")
	}
	if e.birth, err = schemas.ParseDate(s.BirthDate); err != nil {
		return nil, subjectErr("birth_date", "%v", err)
	}
	if e.birth.Compare(today) > 0 {
		return nil, subjectErr("birth_date", "%s is in the future", e.birth)
	}
	if e.docType == schemas.ResidentID {
		if embedded, _ := residentIDBirth(e.docNumber); embedded != e.birth {
			return nil, subjectErr("birth_date", "%s differs from the birth date in the resident ID number", e.birth)
		}
	}
	if s.Region == "" {
		return nil, subjectErr("region", "missing")
	}
	if s.Level < schemas.MinLevel || s.Level > schemas.MaxLevel {
		return nil, subjectErr("level", "%d outside %d to %d", s.Level, schemas.MinLevel, schemas.MaxLevel)
	}
	e.level = uint8(s.Level)
	e.expiry = addYears(today, CredentialLifetime)
	if s.DocExpiry != "" {
		docExpiry, err := schemas.ParseDate(s.DocExpiry)
		if err != nil {
			return nil, subjectErr("doc_expiry", "%v", err)
		}
		if docExpiry.Compare(today) < 0 {
			return nil, subjectErr("doc_expiry", "the document expired on %s", docExpiry)
		}
		if docExpiry.Compare(e.expiry) < 0 {
			e.expiry = docExpiry
		}
	}

	age := schemas.AgeAt(e.birth, today)
	switch {
	case age >= 18 && s.Guardian != nil:
		// Art. 9: collect only what is necessary. An adult needs no guardian.
		return nil, subjectErr("guardian", "given for an adult applicant (aged %d); remove it", age)
	case age < 14 && s.Guardian == nil:
		return nil, subjectErr("guardian", "an applicant aged %d (under 14) needs a guardian's consent record (Art. 4)", age)
	case age < 18 && s.Guardian == nil:
		return nil, subjectErr("guardian", "an applicant aged %d (14 to 17) needs a guardian's acknowledgement record (Art. 4)", age)
	case age < 18:
		g, err := s.Guardian.validate(now, e)
		if err != nil {
			return nil, err
		}
		if age < 14 {
			g.Kind, e.flags = "consent", schemas.FlagGuardianConsent
		} else {
			g.Kind, e.flags = "acknowledgement", schemas.FlagGuardianAcknowledgement
		}
		e.guardian = g
	}
	// The schema's own rules (name text, region code, date ranges, Art. 4
	// flags), on placeholder 网号 and salt; its errors name the field.
	probe := e.attributes(strings.Repeat("a", WanghaoLen), [schemas.SaltBytes]byte{1})
	if err := probe.ValidateAt(today); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSubject, err)
	}
	return e, nil
}

// attributes returns the credential attributes of an enrolment.
func (e *enrolment) attributes(wanghao string, salt [schemas.SaltBytes]byte) schemas.Attributes {
	return schemas.Attributes{
		Wanghao:                 wanghao,
		Name:                    e.name,
		BirthDate:               e.birth,
		DocType:                 e.docType,
		Region:                  e.region,
		Level:                   e.level,
		GuardianConsent:         e.flags&schemas.FlagGuardianConsent != 0,
		GuardianAcknowledgement: e.flags&schemas.FlagGuardianAcknowledgement != 0,
		Expiry:                  e.expiry,
		Salt:                    salt,
	}
}

func (g *Guardian) validate(now time.Time, child *enrolment) (*guardianRecord, error) {
	if g.DocType == "" {
		return nil, subjectErr("guardian.doc_type", "missing")
	}
	dt, err := schemas.ParseDocType(g.DocType)
	if err != nil {
		return nil, subjectErr("guardian.doc_type", "%q is not an Art. 15 document type (one of %s)", g.DocType, docTypeList())
	}
	num, err := normaliseDocNumber(dt, g.DocNumber)
	if err != nil {
		return nil, subjectErr("guardian.doc_number", "%v", err)
	}
	if dt == child.docType && num == child.docNumber {
		return nil, subjectErr("guardian.doc_number", "is the applicant's own document")
	}
	if dt == schemas.ResidentID {
		birth, _ := residentIDBirth(num)
		if age := schemas.AgeAt(birth, schemas.DateOf(now)); age < 18 {
			return nil, subjectErr("guardian.doc_number", "the guardian is aged %d by the resident ID number; a guardian must be an adult", age)
		}
	}
	if !g.Consent {
		return nil, subjectErr("guardian.consent", "must be true")
	}
	if g.Time == "" {
		return nil, subjectErr("guardian.time", "missing")
	}
	t, err := time.Parse(time.RFC3339, g.Time)
	if err != nil {
		return nil, subjectErr("guardian.time", "not an RFC 3339 time: %q", g.Time)
	}
	if t.After(now.Add(5 * time.Minute)) { // a little clock skew is tolerated
		return nil, subjectErr("guardian.time", "%s is in the future", g.Time)
	}
	return &guardianRecord{DocType: dt.String(), DocNumber: num, Time: t.UTC()}, nil
}

// normaliseDocNumber checks a document number and returns its canonical
// form (upper case), so that one document always yields one 网号.
//
// A resident ID number is checked fully (GB 11643-1999: 17 digits, a MOD
// 11-2 check character, a real birth date). Other documents' numbers have no
// single public format; they must be 5 to 20 letters and digits.
func normaliseDocNumber(t schemas.DocType, s string) (string, error) {
	if s == "" {
		return "", errors.New("missing")
	}
	n := strings.ToUpper(s)
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("character %d is not a letter or digit", i+1)
		}
	}
	if t != schemas.ResidentID {
		if len(n) < 5 || len(n) > 20 {
			return "", fmt.Errorf("%d characters, want 5 to 20", len(n))
		}
		return n, nil
	}
	if len(n) != 18 {
		return "", fmt.Errorf("a resident ID number has 18 characters, got %d", len(n))
	}
	for i := 0; i < 17; i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", fmt.Errorf("character %d of a resident ID number must be a digit", i+1)
		}
	}
	if n[17] != residentIDCheck(n[:17]) {
		return "", errors.New("the resident ID check character is wrong (GB 11643 MOD 11-2)")
	}
	if _, err := residentIDBirth(n); err != nil {
		return "", err
	}
	return n, nil
}

// residentIDCheck computes the ISO 7064 MOD 11-2 check character of the
// first 17 digits of a resident ID number.
func residentIDCheck(digits string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		weight := (1 << (17 - i)) % 11 // 2^(18-i-1) mod 11
		sum += int(digits[i]-'0') * weight
	}
	return "10X98765432"[sum%11]
}

// residentIDBirth returns the birth date embedded in a resident ID number
// (characters 7 to 14, YYYYMMDD).
func residentIDBirth(n string) (schemas.Date, error) {
	if len(n) != 18 {
		return schemas.Date{}, errors.New("not a resident ID number")
	}
	s := n[6:10] + "-" + n[10:12] + "-" + n[12:14]
	d, err := schemas.ParseDate(s)
	if err != nil {
		return schemas.Date{}, fmt.Errorf("the birth date in the resident ID number is not a date: %s", s)
	}
	return d, nil
}

func addYears(d schemas.Date, years int) schemas.Date {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).AddDate(years, 0, 0)
	return schemas.DateOf(t)
}

func docTypeList() string {
	var names []string
	for _, t := range schemas.DocTypes() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}

// decodeStrict decodes one JSON object of at most MaxDocumentBytes into v,
// refusing unknown members and trailing data.
func decodeStrict(data []byte, what string, v any) error {
	if err := strictjson.Unmarshal(data, MaxDocumentBytes, v); err != nil {
		return fmt.Errorf("%s: not a valid JSON document: %w", what, err)
	}
	return nil
}
