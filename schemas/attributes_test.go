package schemas

import (
	"strings"
	"testing"
)

func validAttributes(t *testing.T) *Attributes {
	t.Helper()
	a := &Attributes{
		Wanghao: "Wh8rT2kQ9mXz4LpA", Name: "张三", BirthDate: mustDate(t, "1990-05-17"),
		DocType: ResidentID, Region: "110101", Level: 3, Expiry: mustDate(t, "2030-05-16"),
	}
	a.Salt[0] = 1
	return a
}

func TestValidateRejectsEachField(t *testing.T) {
	if err := validAttributes(t).Validate(); err != nil {
		t.Fatalf("valid attributes refused: %v", err)
	}
	cases := []struct {
		field  string
		mutate func(*Attributes)
	}{
		{"wanghao", func(a *Attributes) { a.Wanghao = "short" }},
		{"wanghao", func(a *Attributes) { a.Wanghao = strings.Repeat("a", MaxWanghaoLen+1) }},
		{"wanghao", func(a *Attributes) { a.Wanghao = "Wh8rT2kQ9mXz4Lp-" }},
		{"name", func(a *Attributes) { a.Name = "" }},
		{"name", func(a *Attributes) { a.Name = "\xff" }},
		{"name", func(a *Attributes) { a.Name = "张\n三" }},
		{"name", func(a *Attributes) { a.Name = " 张三" }},
		{"name", func(a *Attributes) { a.Name = strings.Repeat("名", 100) }},
		{"birth_date", func(a *Attributes) { a.BirthDate = Date{2023, 2, 30} }},
		{"birth_date", func(a *Attributes) { a.BirthDate = Date{1500, 1, 1} }},
		{"doc_type", func(a *Attributes) { a.DocType = 0 }},
		{"doc_type", func(a *Attributes) { a.DocType = 8 }},
		{"region", func(a *Attributes) { a.Region = "" }},
		{"region", func(a *Attributes) { a.Region = "11010" }},
		{"region", func(a *Attributes) { a.Region = "011010" }},
		{"region", func(a *Attributes) { a.Region = "11010a" }},
		{"region", func(a *Attributes) { a.Region = "us" }},
		{"region", func(a *Attributes) { a.Region = "CN" }},
		{"level", func(a *Attributes) { a.Level = 0 }},
		{"level", func(a *Attributes) { a.Level = 5 }},
		{"expiry", func(a *Attributes) { a.Expiry = Date{2330, 1, 1} }},
		{"expiry", func(a *Attributes) { a.Expiry = a.BirthDate }},
		{"salt", func(a *Attributes) { a.Salt = [SaltBytes]byte{} }},
	}
	for _, c := range cases {
		a := validAttributes(t)
		c.mutate(a)
		err := a.Validate()
		if err == nil {
			t.Errorf("%s: %+v accepted", c.field, a)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("error %q does not name the field %s", err, c.field)
		}
		if _, _, err := a.Encode(); err == nil {
			t.Errorf("%s: invalid attributes encoded", c.field)
		}
	}
}

func TestValidateAt(t *testing.T) {
	issued := mustDate(t, "2026-05-17")
	if err := validAttributes(t).ValidateAt(issued); err != nil {
		t.Fatalf("valid adult refused: %v", err)
	}
	cases := []struct {
		name, field string
		mutate      func(*Attributes)
	}{
		{"born after issuance", "birth_date", func(a *Attributes) { a.BirthDate = mustDate(t, "2026-05-18") }},
		{"expired at issuance", "expiry", func(a *Attributes) { a.Expiry = mustDate(t, "2026-05-16") }},
		{"under 14 without consent", "guardian_consent", func(a *Attributes) {
			a.BirthDate = mustDate(t, "2012-05-18")
			a.GuardianAcknowledgement = true
		}},
		{"14 without acknowledgement", "guardian_acknowledgement", func(a *Attributes) {
			a.BirthDate = mustDate(t, "2012-05-17")
			a.GuardianConsent = true
		}},
		{"17 without acknowledgement", "guardian_acknowledgement", func(a *Attributes) { a.BirthDate = mustDate(t, "2008-05-18") }},
	}
	for _, c := range cases {
		a := validAttributes(t)
		c.mutate(a)
		err := a.ValidateAt(issued)
		if err == nil || !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.field)
		}
	}
	for _, ok := range []func(*Attributes){
		func(a *Attributes) { a.BirthDate = mustDate(t, "2008-05-17") }, // 18 today: no flag needed
		func(a *Attributes) { a.BirthDate = mustDate(t, "2012-05-18"); a.GuardianConsent = true },
		func(a *Attributes) { a.BirthDate = mustDate(t, "2012-05-17"); a.GuardianAcknowledgement = true },
		func(a *Attributes) { a.Expiry = issued },
	} {
		a := validAttributes(t)
		ok(a)
		if err := a.ValidateAt(issued); err != nil {
			t.Errorf("%+v refused: %v", a, err)
		}
	}
}

// TestEncodeBindsEveryAttribute: changing any one attribute changes one of
// the two elements, and the salt changes the identity element.
func TestEncodeBindsEveryAttribute(t *testing.T) {
	base := validAttributes(t)
	p0, i0, err := base.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Attributes){
		"wanghao":  func(a *Attributes) { a.Wanghao = "Wh8rT2kQ9mXz4LpB" },
		"name":     func(a *Attributes) { a.Name = "张四" },
		"birth":    func(a *Attributes) { a.BirthDate = mustDate(t, "1990-05-18") },
		"doc type": func(a *Attributes) { a.DocType = Passport },
		"region":   func(a *Attributes) { a.Region = "110102" },
		"level":    func(a *Attributes) { a.Level = 4 },
		"consent":  func(a *Attributes) { a.GuardianConsent = true },
		"ack":      func(a *Attributes) { a.GuardianAcknowledgement = true },
		"expiry":   func(a *Attributes) { a.Expiry = mustDate(t, "2030-05-17") },
		"salt":     func(a *Attributes) { a.Salt[31] = 9 },
		// Length prefixes: moving a byte between wanghao and name must matter.
		"boundary": func(a *Attributes) { a.Wanghao, a.Name = "Wh8rT2kQ9mXz4Lp", "A张三" },
	} {
		a := *base
		mutate(&a)
		p, i, err := a.Encode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Equal(&p0) && i.Equal(&i0) {
			t.Errorf("changing %s changes neither element", name)
		}
	}
}
