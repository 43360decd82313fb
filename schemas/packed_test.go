package schemas

import "testing"

func TestLayoutMatchesCircuit(t *testing.T) {
	// The circuit's layout: 18-bit dates at 0 and 18, a 3-bit level at 36,
	// two flags at 39, 41 bits in all.
	if BirthShift != 0 || ExpiryShift != 18 || LevelShift != 36 || LevelBits != 3 ||
		FlagsShift != 39 || FlagBits != 2 || PackedBits != 41 || DateBits != 18 {
		t.Fatal("packed layout differs from the circuit's")
	}
	if FlagGuardianConsent != 1 || FlagGuardianAcknowledgement != 2 {
		t.Fatal("flag values differ from the circuit's")
	}
}

func TestPackUnpack(t *testing.T) {
	cases := []Predicates{
		{Birth: 0, Expiry: 0, Level: MinLevel, Flags: 0},
		{Birth: MaxDateCode, Expiry: MaxDateCode, Level: MaxLevel, Flags: 3},
		{Birth: 138513, Expiry: 153122, Level: 3, Flags: FlagGuardianConsent},
		{Birth: 1, Expiry: 2, Level: 2, Flags: FlagGuardianAcknowledgement},
	}
	for _, p := range cases {
		w, err := Pack(p)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if w>>PackedBits != 0 {
			t.Errorf("%+v packs to %#x, wider than %d bits", p, w, PackedBits)
		}
		back, err := Unpack(w)
		if err != nil || back != p {
			t.Errorf("%+v -> %#x -> %+v, %v", p, w, back, err)
		}
	}
	w, _ := Pack(Predicates{Birth: 5, Expiry: 7, Level: 4, Flags: 2})
	if want := uint64(5) | 7<<18 | 4<<36 | 2<<39; w != want {
		t.Errorf("packed %#x, want %#x", w, want)
	}
}

func TestPackErrors(t *testing.T) {
	ok := Predicates{Birth: 1, Expiry: 2, Level: 1}
	for name, mutate := range map[string]func(*Predicates){
		"birth too large":  func(p *Predicates) { p.Birth = MaxDateCode + 1 },
		"expiry too large": func(p *Predicates) { p.Expiry = MaxDateCode + 1 },
		"level 0":          func(p *Predicates) { p.Level = 0 },
		"level 5":          func(p *Predicates) { p.Level = 5 },
		"unknown flag":     func(p *Predicates) { p.Flags = 4 },
	} {
		p := ok
		mutate(&p)
		if w, err := Pack(p); err == nil {
			t.Errorf("%s: packed to %#x", name, w)
		}
	}
}

func TestUnpackErrors(t *testing.T) {
	valid, _ := Pack(Predicates{Birth: 1, Expiry: 2, Level: 1})
	for name, w := range map[string]uint64{
		"bit 41 set": valid | 1<<PackedBits,
		"bit 63 set": valid | 1<<63,
		"level 0":    valid &^ (7 << LevelShift),
		"level 7":    valid | 7<<LevelShift,
	} {
		if p, err := Unpack(w); err == nil {
			t.Errorf("%s: unpacked %#x to %+v", name, w, p)
		}
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(1) << 41)
	if v, err := loadVectorsForSeeds(); err == nil {
		for _, a := range v.Attributes {
			var w uint64
			for _, c := range a.Packed[2:] {
				w = w<<4 | uint64(hexDigit(byte(c)))
			}
			f.Add(w)
		}
	}
	f.Fuzz(func(t *testing.T, w uint64) {
		p, err := Unpack(w)
		if err != nil {
			return
		}
		back, err := Pack(p)
		if err != nil || back != w {
			t.Fatalf("%#x -> %+v -> %#x, %v", w, p, back, err)
		}
	})
}

func hexDigit(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
