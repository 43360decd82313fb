package schemas

import (
	"fmt"
	"time"
)

// MaxAge is the largest age a request may name.
const MaxAge = 200

// AgeCutoff returns the last birth date of a person who is at least n years
// old on today.
//
// Ages are counted the way Go's time.AddDate counts years: a person born on
// b is n years old on the first day t with b.AddDate(n, 0, 0) <= t, so a
// 29 February birthday falls on 1 March in common years. The cutoff is
// today's month and day n years earlier, or 28 February when that day is a
// 29 February that does not exist.
func AgeCutoff(today Date, n int) Date {
	c := Date{Year: today.Year - n, Month: today.Month, Day: today.Day}
	if c.Month == time.February && c.Day == 29 && !c.exists() {
		c.Day = 28
	}
	return c
}

// AgeAt returns the age in whole years on today of a person born on birth,
// counted as AgeCutoff counts them. It is negative if birth is after today.
func AgeAt(birth, today Date) int {
	n := today.Year - birth.Year
	if birth.Compare(AgeCutoff(today, n)) > 0 {
		n--
	}
	return n
}

// AgeWindow turns an age rule into the birth-date window the circuit checks:
// bornAfter <= birth code <= bornBefore, both bounds inclusive. ageOver
// (nil: no rule) asks for an age of at least *ageOver on today; ageUnder
// (nil: no rule) for an age below *ageUnder. An unbounded side is 0 or
// MaxDateCode. Ages must be 0 to MaxAge, and the window must not be empty.
func AgeWindow(today Date, ageOver, ageUnder *int) (bornAfter, bornBefore uint32, err error) {
	if _, err := today.Code(); err != nil {
		return 0, 0, fmt.Errorf("today: %w", err)
	}
	bornAfter, bornBefore = 0, MaxDateCode
	if ageOver != nil {
		if *ageOver < 0 || *ageOver > MaxAge {
			return 0, 0, fmt.Errorf("age_over %d outside 0 to %d", *ageOver, MaxAge)
		}
		bornBefore, err = AgeCutoff(today, *ageOver).Code()
		if err != nil {
			return 0, 0, fmt.Errorf("age_over %d: %w", *ageOver, err)
		}
	}
	if ageUnder != nil {
		if *ageUnder < 1 || *ageUnder > MaxAge {
			return 0, 0, fmt.Errorf("age_under %d outside 1 to %d", *ageUnder, MaxAge)
		}
		cutoff, err := AgeCutoff(today, *ageUnder).Code()
		if err != nil {
			return 0, 0, fmt.Errorf("age_under %d: %w", *ageUnder, err)
		}
		// Younger than n: born after the cutoff. With n >= 1 the cutoff is
		// at least a year before today, so the +1 stays in range.
		bornAfter = cutoff + 1
	}
	if bornAfter > bornBefore {
		return 0, 0, fmt.Errorf("age_over %d and age_under %d leave no birth date", *ageOver, *ageUnder)
	}
	return bornAfter, bornBefore, nil
}
