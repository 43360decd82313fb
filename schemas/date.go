package schemas

import (
	"fmt"
	"time"
)

// ChinaTime is China Standard Time (UTC+8): the day on which a person's age,
// a credential's expiry and its day of issuance (an SD-JWT's iat is the
// start of that day) are counted.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Date codes: a date is the number of days since 1970-01-01 (UTC midnight to
// UTC midnight) plus DateOffset, which must lie in [0, 2^DateBits). The
// offset lets birth dates before 1970 encode without signs: the codes cover
// 1611-02-20 (code 0) to 2328-11-11 (code MaxDateCode).
const (
	// DateBits is the width of a date code in the packed word and the circuit.
	DateBits = 18
	// DateOffset is the code of 1970-01-01.
	DateOffset = 1 << 17
	// MaxDateCode is the largest date code, 2^DateBits - 1.
	MaxDateCode = 1<<DateBits - 1
)

const secondsPerDay = 24 * 60 * 60

// Date is a calendar date in the proleptic Gregorian calendar, with no time
// zone: the day a person was born, or the day a credential expires.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location. Convert t first
// (t.In(loc)) to choose whose "today" it is.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads a date in the form YYYY-MM-DD exactly: four-digit year,
// two-digit month and day, a date that exists, and one that has a date code.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q is not in the form YYYY-MM-DD", s)
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date %q is not in the form YYYY-MM-DD", s)
	}
	d := Date{Year: year, Month: time.Month(month), Day: day}
	if _, err := d.Code(); err != nil {
		return Date{}, err
	}
	return d, nil
}

// digits reads a string of ASCII decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// exists reports whether d names a day of the calendar (not 2023-02-30).
func (d Date) exists() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 || d.Day > 31 {
		return false
	}
	return DateOf(d.midnight()) == d
}

// midnight returns the start of d in UTC.
func (d Date) midnight() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Code returns the date code of d, days since 1970-01-01 plus DateOffset.
// It fails if d is not a real date or lies outside [MinDate, MaxDate].
func (d Date) Code() (uint32, error) {
	if d.Year < 0 || d.Year > 9999 || !d.exists() {
		return 0, fmt.Errorf("date %s does not exist", d)
	}
	days := d.midnight().Unix() / secondsPerDay
	code := days + DateOffset
	if code < 0 || code > MaxDateCode {
		return 0, fmt.Errorf("date %s is outside the encodable range %s to %s", d, MinDate(), MaxDate())
	}
	return uint32(code), nil
}

// DateFromCode returns the date a date code stands for.
func DateFromCode(code uint32) (Date, error) {
	if code > MaxDateCode {
		return Date{}, fmt.Errorf("date code %d exceeds %d", code, MaxDateCode)
	}
	days := int64(code) - DateOffset
	return DateOf(time.Unix(days*secondsPerDay, 0).UTC()), nil
}

// MinDate is the date whose code is 0.
func MinDate() Date { d, _ := DateFromCode(0); return d }

// MaxDate is the date whose code is MaxDateCode.
func MaxDate() Date { d, _ := DateFromCode(MaxDateCode); return d }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return d.midnight().Compare(e.midnight())
}
