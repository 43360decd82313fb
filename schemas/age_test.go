package schemas

import (
	"testing"
	"time"
)

// TestAgeCutoffMatchesAddDate checks the documented rule on every pair of a
// birth date and a today over several leap cycles: age >= n on today exactly
// when birth.AddDate(n, 0, 0) <= today, exactly when birth <= the cutoff.
func TestAgeCutoffMatchesAddDate(t *testing.T) {
	start := time.Date(1995, 12, 20, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 4, 14, 18} {
		for td := 0; td < 3*366; td++ {
			today := start.AddDate(n, 0, td)
			cutoff := AgeCutoff(DateOf(today), n)
			for bd := td - 20; bd < td+20; bd++ {
				birth := start.AddDate(0, 0, bd)
				byAddDate := !birth.AddDate(n, 0, 0).After(today)
				byCutoff := DateOf(birth).Compare(cutoff) <= 0
				if byAddDate != byCutoff {
					t.Fatalf("n=%d birth %s today %s: AddDate says %v, cutoff %s says %v",
						n, birth.Format(time.DateOnly), today.Format(time.DateOnly), byAddDate, cutoff, byCutoff)
				}
				if got, want := AgeAt(DateOf(birth), DateOf(today)) >= n, byAddDate; got != want {
					t.Fatalf("AgeAt(%s, %s) >= %d is %v", birth.Format(time.DateOnly), today.Format(time.DateOnly), n, got)
				}
			}
		}
	}
}

func mustDate(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustCode(t *testing.T, s string) uint32 {
	t.Helper()
	c, err := mustDate(t, s).Code()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inWindow is the circuit's check.
func inWindow(birth, after, before uint32) bool { return after <= birth && birth <= before }

func TestAgeWindowEdges(t *testing.T) {
	cases := []struct {
		name, birth, today string
		over, under        *int
		in                 bool
	}{
		{"18th birthday today", "2008-05-17", "2026-05-17", intp(18), nil, true},
		{"18th birthday tomorrow", "2008-05-18", "2026-05-17", intp(18), nil, false},
		{"18th birthday yesterday", "2008-05-16", "2026-05-17", intp(18), nil, true},
		{"under 18, birthday today", "2008-05-17", "2026-05-17", nil, intp(18), false},
		{"under 18, birthday tomorrow", "2008-05-18", "2026-05-17", nil, intp(18), true},
		{"Feb 29 birthday, Feb 28 common year", "2008-02-29", "2026-02-28", intp(18), nil, false},
		{"Feb 29 birthday, Mar 1 common year", "2008-02-29", "2026-03-01", intp(18), nil, true},
		{"Feb 29 birthday, Feb 29 leap year", "2012-02-29", "2028-02-29", intp(16), nil, true},
		{"Feb 28 birthday, Feb 29 leap year, cutoff year common", "2010-02-28", "2028-02-29", intp(18), nil, true},
		{"Mar 1 birthday, Feb 29 leap year, cutoff year common", "2010-03-01", "2028-02-29", intp(18), nil, false},
		{"Mar 1 birthday, under 18 on Feb 29", "2010-03-01", "2028-02-29", nil, intp(18), true},
		{"14 to 17, 14th birthday today", "2012-05-17", "2026-05-17", intp(14), intp(18), true},
		{"14 to 17, 18th birthday today", "2008-05-17", "2026-05-17", intp(14), intp(18), false},
		{"14 to 17, day before 14th birthday", "2012-05-18", "2026-05-17", intp(14), intp(18), false},
		{"born before 1970, over 60", "1949-10-01", "2026-05-17", intp(60), nil, true},
		{"no rule", "1700-01-01", "2026-05-17", nil, nil, true},
	}
	for _, c := range cases {
		after, before, err := AgeWindow(mustDate(t, c.today), c.over, c.under)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := inWindow(mustCode(t, c.birth), after, before); got != c.in {
			t.Errorf("%s: in window %v, want %v (window %d..%d)", c.name, got, c.in, after, before)
		}
	}
	after, before, _ := AgeWindow(mustDate(t, "2026-05-17"), nil, nil)
	if after != 0 || before != MaxDateCode {
		t.Errorf("unbounded window %d..%d", after, before)
	}
}

func TestAgeWindowErrors(t *testing.T) {
	today := mustDate(t, "2026-05-17")
	cases := map[string]struct {
		today       Date
		over, under *int
	}{
		"negative age_over":   {today, intp(-1), nil},
		"age_over too large":  {today, intp(MaxAge + 1), nil},
		"age_under 0":         {today, nil, intp(0)},
		"age_under too large": {today, nil, intp(MaxAge + 1)},
		"empty window":        {today, intp(18), intp(18)},
		"inverted window":     {today, intp(60), intp(18)},
		"today not a date":    {Date{2026, 2, 30}, intp(18), nil},
		"cutoff out of range": {mustDate(t, "1700-01-01"), intp(100), nil},
	}
	for name, c := range cases {
		if a, b, err := AgeWindow(c.today, c.over, c.under); err == nil {
			t.Errorf("%s: window %d..%d", name, a, b)
		}
	}
}
