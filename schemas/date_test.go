package schemas

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	good := map[string]uint32{
		"1970-01-01": DateOffset,
		"1969-12-31": DateOffset - 1,
		"1970-01-02": DateOffset + 1,
		"2000-02-29": DateOffset + 11016,
		"1611-02-20": 0,
		"2328-11-11": MaxDateCode,
	}
	for s, want := range good {
		d, err := ParseDate(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("%s prints as %s", s, d)
		}
		code, err := d.Code()
		if err != nil || code != want {
			t.Errorf("%s: code %d, %v; want %d", s, code, err, want)
		}
		back, err := DateFromCode(code)
		if err != nil || back != d {
			t.Errorf("%s: code %d decodes to %s, %v", s, code, back, err)
		}
	}
	bad := []string{
		"2023-02-30",  // no such day
		"2023-02-29",  // not a leap year
		"1900-02-29",  // century, not a leap year
		"2023-13-01",  // month 13
		"2023-00-10",  // month 0
		"2023-01-00",  // day 0
		"2023-04-31",  // April has 30 days
		"2023-1-05",   // not zero padded
		"2023-01-5",   // not zero padded
		"23-01-05",    // two-digit year
		"2023/01/05",  // wrong separators
		"2023-01-05Z", // trailing text
		" 2023-01-05", // leading space
		"+023-01-05",  // sign
		"２０２３-01-05",  // non-ASCII digits
		"1611-02-19",  // one day before code 0
		"2328-11-12",  // one day after MaxDateCode
		"0000-01-01",  // out of range
		"",
	}
	for _, s := range bad {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("%q accepted as %s", s, d)
		}
	}
}

func TestDateCodeErrors(t *testing.T) {
	for _, d := range []Date{{2023, 2, 30}, {2023, 0, 1}, {2023, 1, 32}, {-1, 1, 1}, {10000, 1, 1}, {1500, 1, 1}} {
		if _, err := d.Code(); err == nil {
			t.Errorf("%v has a code", d)
		}
	}
	if _, err := DateFromCode(MaxDateCode + 1); err == nil {
		t.Error("code 2^18 decoded")
	}
}

// TestDateCodeMatchesUnixDays checks the code against days since the epoch
// for every day of a span around 1970.
func TestDateCodeMatchesUnixDays(t *testing.T) {
	start := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for day := 0; day < 200*366; day += 7 {
		tm := start.AddDate(0, 0, day)
		code, err := DateOf(tm).Code()
		if err != nil {
			t.Fatal(err)
		}
		if want := tm.Unix()/86400 + DateOffset; int64(code) != want {
			t.Fatalf("%s: code %d, want %d", tm.Format(time.DateOnly), code, want)
		}
	}
}

func TestDateOfUsesLocation(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	tm := time.Date(2026, 5, 16, 20, 0, 0, 0, time.UTC) // 04:00 on the 17th in Shanghai
	if got := DateOf(tm); got != (Date{2026, 5, 16}) {
		t.Errorf("UTC date %s", got)
	}
	if got := DateOf(tm.In(shanghai)); got != (Date{2026, 5, 17}) {
		t.Errorf("Shanghai date %s", got)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1970-01-01", "2000-02-29", "2023-02-30", "1611-02-20", "2328-11-11", "9999-99-99"} {
		f.Add(s)
	}
	if v, err := loadVectorsForSeeds(); err == nil {
		for _, a := range v.Attributes {
			f.Add(a.BirthDate)
			f.Add(a.Expiry)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("%q parses to %s", s, d)
		}
		code, err := d.Code()
		if err != nil || code > MaxDateCode {
			t.Fatalf("%q: code %d, %v", s, code, err)
		}
		if back, err := DateFromCode(code); err != nil || back != d {
			t.Fatalf("%q: code %d decodes to %s", s, code, back)
		}
	})
}
