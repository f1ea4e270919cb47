package billing

import (
	"errors"
	"testing"
	"time"
)

// The worked examples of doc.go, and the edges of a period.
func TestProrateWorkedExamples(t *testing.T) {
	for _, tc := range []struct {
		name                string
		old, new            Money
		start, end, change  string
		total, remaining    int
		credit, charge, net int64
	}{
		{"upgrade USD", money(1000, "USD"), money(2500, "USD"), "2024-03-01", "2024-04-01", "2024-03-17", 31, 15, 484, 1210, 726},
		{"downgrade USD", money(2500, "USD"), money(1000, "USD"), "2024-03-01", "2024-04-01", "2024-03-17", 31, 15, 1210, 484, -726},
		{"leap February JPY", money(1000, "JPY"), money(2500, "JPY"), "2024-02-01", "2024-03-01", "2024-02-20", 29, 10, 345, 862, 517},
		{"February of a common year", money(1000, "JPY"), money(2500, "JPY"), "2023-02-01", "2023-03-01", "2023-02-20", 28, 9, 321, 803, 482}, // Charge 803.57 → 803 so that Charge − Credit = Net,
		{"annual KWD over a leap day", money(12500, "KWD"), money(20000, "KWD"), "2024-01-31", "2025-01-31", "2024-07-15", 366, 200, 6831, 10929, 4098},
		{"Jan 31 anchor, short period", money(3000, "BHD"), money(6000, "BHD"), "2024-01-31", "2024-02-29", "2024-02-15", 29, 14, 1448, 2896, 1448}, // Charge 2896.55 → 2896,
		{"change on the first day swaps the whole period", money(1000, "EUR"), money(2500, "EUR"), "2024-03-01", "2024-04-01", "2024-03-01", 31, 31, 1000, 2500, 1500},
		{"change on the due date costs nothing", money(1000, "EUR"), money(2500, "EUR"), "2024-03-01", "2024-04-01", "2024-04-01", 31, 0, 0, 0, 0},
		{"same price", money(1999, "GBP"), money(1999, "GBP"), "2024-03-01", "2024-04-01", "2024-03-10", 31, 22, 1419, 1419, 0},
		{"to a free plan credits the unused days", money(1000, "CAD"), money(0, "CAD"), "2024-03-01", "2024-04-01", "2024-03-17", 31, 15, 484, 0, -484},
		{"from a free plan", money(0, "AUD"), money(1000, "AUD"), "2024-03-01", "2024-04-01", "2024-03-17", 31, 15, 0, 484, 484},
		// Credit (0.5) and Net (0.5) both round up, but Charge is exactly 1 cent: Credit yields.
		{"two half cents do not make a charge", money(1, "USD"), money(2, "USD"), "2024-03-01", "2024-03-03", "2024-03-02", 2, 1, 0, 1, 1},
	} {
		p, err := Prorate(ChangeInput{OldPrice: tc.old, NewPrice: tc.new, PeriodStart: day(tc.start), PeriodEnd: day(tc.end), ChangeAt: day(tc.change)})
		if err != nil {
			t.Errorf("%s: Prorate error %v", tc.name, err)
			continue
		}
		if p.TotalDays != tc.total || p.RemainingDays != tc.remaining ||
			p.Credit.Amount != tc.credit || p.Charge.Amount != tc.charge || p.Net.Amount != tc.net {
			t.Errorf("%s: got total %d remaining %d credit %d charge %d net %d; want %d %d %d %d %d", tc.name,
				p.TotalDays, p.RemainingDays, p.Credit.Amount, p.Charge.Amount, p.Net.Amount,
				tc.total, tc.remaining, tc.credit, tc.charge, tc.net)
		}
		if p.Net.Currency != tc.old.Currency || p.Credit.Currency != tc.old.Currency || p.Charge.Currency != tc.old.Currency {
			t.Errorf("%s: currencies %v %v %v; want %s", tc.name, p.Credit, p.Charge, p.Net, tc.old.Currency)
		}
	}
}

func TestProrateCountsTheChangeDayInUTC(t *testing.T) {
	// 23:30 on 2024-03-16 in New York is already 2024-03-17 in UTC: 15 days remain, not 16.
	change := time.Date(2024, 3, 16, 23, 30, 0, 0, time.FixedZone("EDT", -4*3600))
	p, err := Prorate(ChangeInput{OldPrice: money(1000, "USD"), NewPrice: money(2500, "USD"),
		PeriodStart: day("2024-03-01"), PeriodEnd: day("2024-04-01"), ChangeAt: change})
	if err != nil || p.RemainingDays != 15 || p.Net.Amount != 726 {
		t.Errorf("Prorate at %v = %+v, %v; want 15 days and USD 7.26", change, p, err)
	}
}

func TestProrateRejectsBadInput(t *testing.T) {
	ok := ChangeInput{OldPrice: money(1000, "USD"), NewPrice: money(2500, "USD"),
		PeriodStart: day("2024-03-01"), PeriodEnd: day("2024-04-01"), ChangeAt: day("2024-03-17")}
	for _, tc := range []struct {
		name   string
		change func(*ChangeInput)
		want   error
	}{
		{"mixed currencies", func(in *ChangeInput) { in.NewPrice = money(2500, "EUR") }, ErrCurrencyMismatch},
		{"negative old price", func(in *ChangeInput) { in.OldPrice = money(-1, "USD") }, ErrInvalidAmount},
		{"negative new price", func(in *ChangeInput) { in.NewPrice = money(-1, "USD") }, ErrInvalidAmount},
		{"empty period", func(in *ChangeInput) { in.PeriodEnd = in.PeriodStart }, ErrInvalidPeriod},
		{"backwards period", func(in *ChangeInput) { in.PeriodEnd = day("2024-02-01") }, ErrInvalidPeriod},
		{"change before the period", func(in *ChangeInput) { in.ChangeAt = day("2024-02-29") }, ErrChangeOutsidePeriod},
		{"change after the period", func(in *ChangeInput) { in.ChangeAt = day("2024-04-02") }, ErrChangeOutsidePeriod},
	} {
		in := ok
		tc.change(&in)
		if _, err := Prorate(in); !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v; want %v", tc.name, err, tc.want)
		}
	}
}
