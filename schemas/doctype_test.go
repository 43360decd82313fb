package schemas

import "testing"

func TestDocTypes(t *testing.T) {
	want := []string{"resident_id", "passport", "hk_macao_permit", "taiwan_permit",
		"hk_macao_residence", "taiwan_residence", "foreign_permanent_residence"}
	all := DocTypes()
	if len(all) != len(want) {
		t.Fatalf("%d types, want %d", len(all), len(want))
	}
	for i, name := range want {
		d := all[i]
		if uint8(d) != uint8(i+1) || d.String() != name || d.ChineseName() == "" {
			t.Errorf("type %d: code %d, name %q, Chinese %q", i, d, d, d.ChineseName())
		}
		p, err := ParseDocType(name)
		if err != nil || p != d {
			t.Errorf("ParseDocType(%q) = %v, %v", name, p, err)
		}
	}
	if ResidentID.ChineseName() != "居民身份证" || ForeignPermanentResidence.ChineseName() != "外国人永久居留身份证" {
		t.Error("Chinese names wrong")
	}
	for _, bad := range []string{"", "Resident_ID", "resident id", "id_card", "8"} {
		if d, err := ParseDocType(bad); err == nil {
			t.Errorf("%q parsed as %v", bad, d)
		}
	}
	for _, d := range []DocType{0, 8, 255} {
		if d.Valid() || d.ChineseName() != "" {
			t.Errorf("code %d valid", d)
		}
	}
}
