package billing

import (
	"fmt"
	"time"
)

// Cycle is how often a subscription is billed.
type Cycle string

// The billing cycles hosting companies sell, named as stored and shown.
const (
	Monthly    Cycle = "monthly"    // every calendar month
	Quarterly  Cycle = "quarterly"  // every 3 months
	SemiAnnual Cycle = "semiannual" // every 6 months
	Annual     Cycle = "annual"     // every 12 months
	Biennial   Cycle = "biennial"   // every 24 months
	Triennial  Cycle = "triennial"  // every 36 months
	OneTime    Cycle = "onetime"    // paid once, never renews
)

// ParseCycle validates a stored or submitted cycle name.
func ParseCycle(s string) (Cycle, error) {
	c := Cycle(s)
	if !c.Valid() {
		return "", fmt.Errorf("cycle %q: %w", s, ErrUnknownCycle)
	}
	return c, nil
}

// Valid reports whether c is one of the Cycle constants.
func (c Cycle) Valid() bool {
	return c == OneTime || c.Months() > 0
}

// Months is the number of calendar months one cycle covers; 0 for OneTime and unknown cycles.
func (c Cycle) Months() int {
	switch c {
	case Monthly:
		return 1
	case Quarterly:
		return 3
	case SemiAnnual:
		return 6
	case Annual:
		return 12
	case Biennial:
		return 24
	case Triennial:
		return 36
	}
	return 0
}

// NextDue returns the due date one cycle after from, anchored on from's own day of month; see
// NextDueAnchored. It returns the zero Time for OneTime and unknown cycles, which never renew.
func (c Cycle) NextDue(from time.Time) time.Time {
	return c.NextDueAnchored(from, from.Day())
}

// NextDueAnchored returns the due date one cycle after the due date from, on the subscription's
// anchor day (the day of month it started) clamped to the length of the target month. Keeping
// the anchor is what stops end-of-month subscriptions drifting: anchored on the 31st, a
// monthly subscription started 2024-01-31 is due 2024-02-29, then 2024-03-31 (not the 29th),
// then 2024-04-30. The clock time and location of from are kept. An anchorDay outside 1..31
// means "from's own day". OneTime and unknown cycles give the zero Time.
func (c Cycle) NextDueAnchored(from time.Time, anchorDay int) time.Time {
	n := c.Months()
	if n == 0 {
		return time.Time{}
	}
	if anchorDay < 1 || anchorDay > 31 {
		anchorDay = from.Day()
	}
	return addMonthsClamped(from, n, anchorDay)
}

// DueDate returns the n-th due date of a subscription that started at start (n = 0 is start
// itself), computed from start rather than by repeated steps, so it equals n NextDueAnchored
// steps with anchor start.Day(). OneTime and unknown cycles give the zero Time for n > 0.
func (c Cycle) DueDate(start time.Time, n int) time.Time {
	if n == 0 {
		return start
	}
	months := c.Months()
	if months == 0 {
		return time.Time{}
	}
	return addMonthsClamped(start, n*months, start.Day())
}

// PeriodDays is the number of calendar days from start to NextDue(start), counting dates, not
// 24-hour spans (so a DST change does not shorten a day). 0 for OneTime and unknown cycles.
// Periods of an anchored subscription are DaysBetween(DueDate(start, n), DueDate(start, n+1)).
func (c Cycle) PeriodDays(start time.Time) int {
	next := c.NextDue(start)
	if next.IsZero() {
		return 0
	}
	return civilDays(next) - civilDays(start)
}

// MonthlyEquivalent is price / Months(), rounded half away from zero to the minor unit, for
// monthly recurring revenue: USD 100.00 annual is USD 8.33 a month, USD 99.99 biennial is
// USD 4.17. One-time and unknown cycles are not recurring revenue and give zero.
func (c Cycle) MonthlyEquivalent(price Money) Money {
	n := c.Months()
	switch n {
	case 0:
		return Money{Currency: price.Currency}
	case 1:
		return price
	}
	v, _ := mulDivRound(price.Amount, 1, int64(n)) // n >= 3: |v| < MaxInt64, cannot overflow
	return Money{Amount: v, Currency: price.Currency}
}

// DaysBetween counts calendar days from a to b by their UTC dates, ignoring the clock:
// 2024-02-28T23:00Z to 2024-03-01T00:30Z is 2 days. Negative when b is before a. This is the
// day granularity proration uses.
func DaysBetween(a, b time.Time) int {
	return civilDays(b.UTC()) - civilDays(a.UTC())
}

// civilDays numbers t's calendar date (in t's own location) as days since 1970-01-01.
func civilDays(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func addMonthsClamped(t time.Time, months, anchorDay int) time.Time {
	y, m, _ := t.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC) // normalises the year
	ty, tm, _ := first.Date()
	day := min(anchorDay, daysIn(ty, tm))
	hh, mm, ss := t.Clock()
	return time.Date(ty, tm, day, hh, mm, ss, t.Nanosecond(), t.Location())
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
