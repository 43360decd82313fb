package schemas

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// SaltBytes is the length of the identity salt.
const SaltBytes = 32

// Limits on the text attributes.
const (
	// MinWanghaoLen and MaxWanghaoLen bound the length of a 网号.
	MinWanghaoLen, MaxWanghaoLen = 8, 64
	// MaxNameBytes bounds the UTF-8 length of a name.
	MaxNameBytes = 256
)

// Attributes are the attributes of a wangzheng v1 credential, shared by its
// SD-JWT VC and its zero-knowledge form. The document number is not among
// them: the issuer keeps it, encrypted, for deletion requests.
type Attributes struct {
	// Wanghao is the 网号 (Art. 2): 8 to 64 ASCII letters and digits.
	Wanghao string
	// Name is the holder's name as on the document, UTF-8, exactly the bytes
	// the issuer chose (no normalisation is applied here).
	Name string
	// BirthDate is the date of birth.
	BirthDate Date
	// DocType is the legal identity document the credential rests on.
	DocType DocType
	// Region is the GB/T 2260 six-digit administrative division code of the
	// holder's registered region, or, for a holder residing outside the
	// mainland, the ISO 3166-1 alpha-2 code of the country (two capitals).
	Region string
	// Level is the verification level, MinLevel to MaxLevel.
	Level uint8
	// GuardianConsent: a guardian consented (Art. 4, 5; under 14).
	GuardianConsent bool
	// GuardianAcknowledgement: applied under a guardian's supervision
	// (Art. 4; 14 to 17).
	GuardianAcknowledgement bool
	// Expiry is the last day the credential is valid.
	Expiry Date
	// Salt hides the identity element: without it, the element of a known
	// person could be recomputed. Random, never all zero.
	Salt [SaltBytes]byte
}

// Validate checks every attribute on its own and against the others; the
// error names the first field at fault and the problem.
func (a *Attributes) Validate() error {
	if err := checkWanghao(a.Wanghao); err != nil {
		return fmt.Errorf("wanghao: %w", err)
	}
	if err := checkName(a.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	birth, err := a.BirthDate.Code()
	if err != nil {
		return fmt.Errorf("birth_date: %w", err)
	}
	if !a.DocType.Valid() {
		return fmt.Errorf("doc_type: unknown document type code %d", uint8(a.DocType))
	}
	if err := checkRegion(a.Region); err != nil {
		return fmt.Errorf("region: %w", err)
	}
	if a.Level < MinLevel || a.Level > MaxLevel {
		return fmt.Errorf("level: %d outside %d to %d", a.Level, MinLevel, MaxLevel)
	}
	expiry, err := a.Expiry.Code()
	if err != nil {
		return fmt.Errorf("expiry: %w", err)
	}
	if expiry <= birth {
		return fmt.Errorf("expiry: %s is not after the birth date %s", a.Expiry, a.BirthDate)
	}
	var zero [SaltBytes]byte
	if subtle.ConstantTimeCompare(a.Salt[:], zero[:]) == 1 {
		return errors.New("salt: all zero (not drawn at random)")
	}
	return nil
}

// ValidateAt checks a as Validate does, and as an issuer must on the day of
// issuance: the holder is born, the credential is not yet expired, and the
// guardian flags Art. 4 requires are set (consent under 14, acknowledgement
// from 14 to 17).
func (a *Attributes) ValidateAt(issued Date) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if _, err := issued.Code(); err != nil {
		return fmt.Errorf("issuance date: %w", err)
	}
	if a.BirthDate.Compare(issued) > 0 {
		return fmt.Errorf("birth_date: %s is after the issuance date %s", a.BirthDate, issued)
	}
	if a.Expiry.Compare(issued) < 0 {
		return fmt.Errorf("expiry: %s is before the issuance date %s", a.Expiry, issued)
	}
	switch age := AgeAt(a.BirthDate, issued); {
	case age < 14 && !a.GuardianConsent:
		return fmt.Errorf("guardian_consent: required for a holder aged %d (under 14)", age)
	case age >= 14 && age < 18 && !a.GuardianAcknowledgement:
		return fmt.Errorf("guardian_acknowledgement: required for a holder aged %d (14 to 17)", age)
	}
	return nil
}

func checkWanghao(s string) error {
	if len(s) < MinWanghaoLen || len(s) > MaxWanghaoLen {
		return fmt.Errorf("length %d outside %d to %d", len(s), MinWanghaoLen, MaxWanghaoLen)
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return fmt.Errorf("byte %d is not an ASCII letter or digit", i)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameBytes:
		return fmt.Errorf("%d bytes, more than %d", len(s), MaxNameBytes)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	r, _ := utf8.DecodeRuneInString(s)
	l, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(r) || unicode.IsSpace(l) {
		return errors.New("leading or trailing white space")
	}
	return nil
}

func checkRegion(s string) error {
	switch len(s) {
	case 6:
		for i := 0; i < 6; i++ {
			if s[i] < '0' || s[i] > '9' {
				return fmt.Errorf("%q is not a six-digit GB/T 2260 code", s)
			}
		}
		if s[0] == '0' {
			return fmt.Errorf("%q is not a GB/T 2260 code (first digit 0)", s)
		}
		return nil
	case 2:
		if s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
			return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 code", s)
		}
		if s == "CN" {
			return errors.New(`"CN": use the GB/T 2260 code of the region`)
		}
		return nil
	}
	return fmt.Errorf("%q is neither a six-digit GB/T 2260 code nor an ISO 3166-1 alpha-2 code", s)
}

// Flags returns a's flags as a Predicates.Flags value.
func (a *Attributes) Flags() uint8 {
	var f uint8
	if a.GuardianConsent {
		f |= FlagGuardianConsent
	}
	if a.GuardianAcknowledgement {
		f |= FlagGuardianAcknowledgement
	}
	return f
}

// Predicates returns the attributes the circuit compares.
func (a *Attributes) Predicates() (Predicates, error) {
	if err := a.Validate(); err != nil {
		return Predicates{}, err
	}
	birth, _ := a.BirthDate.Code()
	expiry, _ := a.Expiry.Code()
	return Predicates{Birth: birth, Expiry: expiry, Level: a.Level, Flags: a.Flags()}, nil
}

// IdentityMessage returns the bytes hashed into the identity element:
// LP(wanghao) || LP(name) || u8(doc_type) || LP(region) || salt, where
// LP(x) = u32 big-endian length || x.
func (a *Attributes) IdentityMessage() []byte {
	b := make([]byte, 0, 4+len(a.Wanghao)+4+len(a.Name)+1+4+len(a.Region)+SaltBytes)
	b = appendLP(b, a.Wanghao)
	b = appendLP(b, a.Name)
	b = append(b, byte(a.DocType))
	b = appendLP(b, a.Region)
	return append(b, a.Salt[:]...)
}

// Encode validates a and returns its two field elements in the credential
// leaf: the packed predicate word and the identity element
// HashToField(IdentityDST, IdentityMessage()).
func (a *Attributes) Encode() (packed, identity fr.Element, err error) {
	p, err := a.Predicates()
	if err != nil {
		return packed, identity, err
	}
	word, err := Pack(p)
	if err != nil {
		return packed, identity, err
	}
	packed.SetUint64(word)
	return packed, hashToField(IdentityDST, a.IdentityMessage()), nil
}
