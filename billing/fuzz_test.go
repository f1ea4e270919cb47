package billing

import (
	"errors"
	"math"
	"testing"
	"time"
)

// Fuzz targets for the arithmetic invariants; their seed corpora run with every go test, and
// `go test -fuzz FuzzProration ./billing/` searches further.

func FuzzProration(f *testing.F) {
	f.Add(int64(1000), int64(2500), uint16(8830), uint8(0), uint16(15), uint32(0))        // the doc.go upgrade
	f.Add(int64(2500), int64(1000), uint16(8830), uint8(0), uint16(15), uint32(86399))    // its downgrade
	f.Add(int64(1), int64(2), uint16(0), uint8(0), uint16(1), uint32(0))                  // half-cent ties
	f.Add(int64(math.MaxInt64), int64(0), uint16(9000), uint8(5), uint16(500), uint32(7)) // extremes
	f.Add(int64(-1), int64(5), uint16(10), uint8(1), uint16(3), uint32(0))                // negative price
	f.Fuzz(func(t *testing.T, oldPrice, newPrice int64, startDay uint16, cycleIdx uint8, remaining uint16, secs uint32) {
		cycles := []Cycle{Monthly, Quarterly, SemiAnnual, Annual, Biennial, Triennial}
		c := cycles[int(cycleIdx)%len(cycles)]
		start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(startDay)%15000)
		end := c.NextDue(start)
		total := DaysBetween(start, end)
		rem := int(remaining) % (total + 3) // a little past both ends too
		at := end.AddDate(0, 0, -rem).Add(time.Duration(secs%86400) * time.Second)
		in := ChangeInput{OldPrice: money(oldPrice, "USD"), NewPrice: money(newPrice, "USD"), PeriodStart: start, PeriodEnd: end, ChangeAt: at}
		if oldPrice < 0 || newPrice < 0 {
			if _, err := Prorate(in); !errors.Is(err, ErrInvalidAmount) {
				t.Errorf("Prorate with a negative price: %v; want ErrInvalidAmount", err)
			}
			return
		}
		prop{errorf: t.Errorf}.prorationCase(in, total, rem)
	})
}

func FuzzMulRatio(f *testing.F) {
	f.Add(int64(1000), int64(1), int64(3))
	f.Add(int64(-5), int64(1), int64(2))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(1), int64(-1))
	f.Add(int64(7), int64(3), int64(0))
	f.Fuzz(func(t *testing.T, a, num, den int64) {
		prop{errorf: t.Errorf}.mulRatioCase(a, num, den)
	})
}

func FuzzAllocate(f *testing.F) {
	f.Add(int64(10000), int64(1), int64(1), int64(1), uint8(3))
	f.Add(int64(-7), int64(1), int64(2), int64(0), uint8(3))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(0), uint8(1))
	f.Add(int64(5), int64(0), int64(0), int64(0), uint8(2))
	f.Fuzz(func(t *testing.T, amount, w1, w2, w3 int64, n uint8) {
		weights := []int64{w1, w2, w3}[:1+int(n)%3]
		prop{errorf: t.Errorf}.allocation(money(amount, "EUR"), weights)
	})
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"12.34", "-0.05", "1234", "1.005", "12.340", "1e3", ".5", "92233720368547758.07", "+0"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, curIdx uint8) {
		cur := []string{"USD", "JPY", "KWD"}[int(curIdx)%3]
		m, err := ParseDecimal(s, cur)
		if err != nil {
			return
		}
		back, err := ParseDecimal(m.Decimal(), cur)
		if err != nil || back != m {
			t.Errorf("ParseDecimal(%q, %s) = %v, but its Decimal %q parses to %v, %v", s, cur, m, m.Decimal(), back, err)
		}
	})
}
