package billing

import (
	"errors"
	"math"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCycleMonthsAndParsing(t *testing.T) {
	for c, want := range map[Cycle]int{Monthly: 1, Quarterly: 3, SemiAnnual: 6, Annual: 12, Biennial: 24, Triennial: 36, OneTime: 0, "weekly": 0} {
		if got := c.Months(); got != want {
			t.Errorf("%s.Months() = %d; want %d", c, got, want)
		}
	}
	if _, err := ParseCycle("fortnightly"); !errors.Is(err, ErrUnknownCycle) {
		t.Errorf("ParseCycle(fortnightly) error = %v; want ErrUnknownCycle", err)
	}
	if c, err := ParseCycle("onetime"); err != nil || c != OneTime {
		t.Errorf("ParseCycle(onetime) = %q, %v", c, err)
	}
}

func TestJan31MonthlyRenewalsKeepTheAnchorDay(t *testing.T) {
	for _, tc := range []struct {
		start string
		want  []string
	}{
		{"2024-01-31", []string{"2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30"}}, // leap year
		{"2023-01-31", []string{"2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31", "2023-06-30"}},
		{"2024-01-30", []string{"2024-02-29", "2024-03-30", "2024-04-30"}},
		{"2023-12-31", []string{"2024-01-31", "2024-02-29", "2024-03-31"}}, // across the year end
	} {
		start := day(tc.start)
		due := start
		for n, want := range tc.want {
			due = Monthly.NextDueAnchored(due, start.Day())
			if got := due.Format(time.DateOnly); got != want {
				t.Errorf("start %s renewal %d: NextDueAnchored = %s; want %s", tc.start, n+1, got, want)
			}
			if got := Monthly.DueDate(start, n+1).Format(time.DateOnly); got != want {
				t.Errorf("start %s: DueDate(%d) = %s; want %s", tc.start, n+1, got, want)
			}
		}
	}
}

func TestNextDueAddsCalendarMonthsWithClamping(t *testing.T) {
	for _, tc := range []struct {
		cycle     Cycle
		from, due string
	}{
		{Monthly, "2024-03-15", "2024-04-15"},
		{Monthly, "2024-02-29", "2024-03-29"}, // no anchor given: from's own day
		{Quarterly, "2023-11-30", "2024-02-29"},
		{SemiAnnual, "2024-08-31", "2025-02-28"},
		{Annual, "2024-02-29", "2025-02-28"},
		{Biennial, "2024-02-29", "2026-02-28"},
		{Triennial, "2025-02-28", "2028-02-28"},
		{Annual, "2023-12-31", "2024-12-31"},
	} {
		if got := tc.cycle.NextDue(day(tc.from)).Format(time.DateOnly); got != tc.due {
			t.Errorf("%s.NextDue(%s) = %s; want %s", tc.cycle, tc.from, got, tc.due)
		}
	}
	if !OneTime.NextDue(day("2024-01-01")).IsZero() || !Cycle("weekly").NextDue(day("2024-01-01")).IsZero() {
		t.Error("one-time and unknown cycles must not renew")
	}
	// Quadrennial leap-day anchor: an annual subscription from 2024-02-29 renews on 2028-02-29.
	if got := Annual.DueDate(day("2024-02-29"), 4).Format(time.DateOnly); got != "2028-02-29" {
		t.Errorf("Annual.DueDate(2024-02-29, 4) = %s; want 2028-02-29", got)
	}
}

func TestNextDueKeepsClockAndLocation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	from := time.Date(2024, 3, 9, 10, 30, 0, 0, ny) // DST starts 2024-03-10 in New York
	got := Monthly.NextDue(from)
	if want := time.Date(2024, 4, 9, 10, 30, 0, 0, ny); !got.Equal(want) || got.Location() != ny {
		t.Errorf("NextDue(%v) = %v; want %v", from, got, want)
	}
}

func TestPeriodDaysCountsCalendarDays(t *testing.T) {
	for _, tc := range []struct {
		cycle Cycle
		start string
		want  int
	}{
		{Monthly, "2024-02-01", 29},
		{Monthly, "2023-02-01", 28},
		{Monthly, "2024-01-31", 29}, // to 2024-02-29
		{Quarterly, "2024-01-01", 91},
		{Annual, "2024-01-01", 366},
		{Annual, "2023-03-01", 366}, // contains 2024-02-29
		{Annual, "2023-01-01", 365},
		{Triennial, "2024-01-01", 1096},
		{OneTime, "2024-01-01", 0},
	} {
		if got := tc.cycle.PeriodDays(day(tc.start)); got != tc.want {
			t.Errorf("%s.PeriodDays(%s) = %d; want %d", tc.cycle, tc.start, got, tc.want)
		}
	}
}

func TestDaysBetweenUsesUTCDates(t *testing.T) {
	a := time.Date(2024, 2, 28, 23, 0, 0, 0, time.UTC)
	b := time.Date(2024, 3, 1, 0, 30, 0, 0, time.UTC)
	if got := DaysBetween(a, b); got != 2 {
		t.Errorf("DaysBetween(%v, %v) = %d; want 2", a, b, got)
	}
	// 2024-03-01 01:00 in UTC+02:00 is 2024-02-29 23:00 UTC: one day after the 28th, not two.
	east := time.Date(2024, 3, 1, 1, 0, 0, 0, time.FixedZone("EET", 2*3600))
	if got := DaysBetween(day("2024-02-28"), east); got != 1 {
		t.Errorf("DaysBetween(2024-02-28, %v) = %d; want 1", east, got)
	}
	if got := DaysBetween(b, a); got != -2 {
		t.Errorf("DaysBetween reversed = %d; want -2", got)
	}
}

func TestMonthlyEquivalentRoundsHalfAwayFromZero(t *testing.T) {
	for _, tc := range []struct {
		cycle Cycle
		price Money
		want  int64
	}{
		{Monthly, money(999, "USD"), 999},
		{Monthly, money(math.MinInt64, "USD"), math.MinInt64},
		{Quarterly, money(math.MinInt64, "USD"), -3074457345618258603}, // -3074457345618258602.67
		{Quarterly, money(2999, "USD"), 1000},                          // 999.67
		{SemiAnnual, money(3, "USD"), 1},                               // 0.5 → 1
		{Annual, money(10000, "USD"), 833},                             // 833.33
		{Biennial, money(9999, "EUR"), 417},                            // 416.63
		{Triennial, money(100000, "JPY"), 2778},                        // 2777.78
		{Annual, money(12006, "KWD"), 1001},                            // 1000.5 → 1001
		{Annual, money(-6, "USD"), -1},                                 // -0.5 → -1
		{OneTime, money(5000, "USD"), 0},
	} {
		got := tc.cycle.MonthlyEquivalent(tc.price)
		if got.Amount != tc.want || got.Currency != tc.price.Currency {
			t.Errorf("%s.MonthlyEquivalent(%v) = %v; want %d", tc.cycle, tc.price, got, tc.want)
		}
	}
}
