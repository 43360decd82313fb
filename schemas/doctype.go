package schemas

import "fmt"

// DocType is a legal identity document type of Art. 15, encoded as a small
// integer in the identity element.
type DocType uint8

// The document types of Art. 15, with their codes. The codes are part of the
// encoding: never renumber them.
const (
	ResidentID                DocType = 1 // 居民身份证
	Passport                  DocType = 2 // 护照 (Chinese citizen settled abroad)
	HKMacaoPermit             DocType = 3 // 港澳居民来往内地通行证
	TaiwanPermit              DocType = 4 // 台湾居民来往大陆通行证
	HKMacaoResidence          DocType = 5 // 港澳居民居住证
	TaiwanResidence           DocType = 6 // 台湾居民居住证
	ForeignPermanentResidence DocType = 7 // 外国人永久居留身份证
)

// names returns the claim name and the Chinese name of t, or empty strings
// for an unknown type.
func (t DocType) names() (name, chinese string) {
	switch t {
	case ResidentID:
		return "resident_id", "居民身份证"
	case Passport:
		return "passport", "护照"
	case HKMacaoPermit:
		return "hk_macao_permit", "港澳居民来往内地通行证"
	case TaiwanPermit:
		return "taiwan_permit", "台湾居民来往大陆通行证"
	case HKMacaoResidence:
		return "hk_macao_residence", "港澳居民居住证"
	case TaiwanResidence:
		return "taiwan_residence", "台湾居民居住证"
	case ForeignPermanentResidence:
		return "foreign_permanent_residence", "外国人永久居留身份证"
	}
	return "", ""
}

// DocTypes returns every document type in code order.
func DocTypes() []DocType {
	out := make([]DocType, 0, int(ForeignPermanentResidence))
	for t := ResidentID; t <= ForeignPermanentResidence; t++ {
		out = append(out, t)
	}
	return out
}

// ParseDocType returns the document type with the given claim name, such as
// "resident_id".
func ParseDocType(name string) (DocType, error) {
	for _, t := range DocTypes() {
		if n, _ := t.names(); n == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown document type %q", name)
}

// Valid reports whether t is one of the Art. 15 types.
func (t DocType) Valid() bool { return t >= ResidentID && t <= ForeignPermanentResidence }

// String returns the claim name of t, such as "resident_id".
func (t DocType) String() string {
	if !t.Valid() {
		return fmt.Sprintf("DocType(%d)", uint8(t))
	}
	name, _ := t.names()
	return name
}

// ChineseName returns the document's name in Art. 15, such as "居民身份证".
func (t DocType) ChineseName() string {
	_, chinese := t.names()
	return chinese
}
