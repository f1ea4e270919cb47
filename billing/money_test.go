package billing

import (
	"errors"
	"math"
	"testing"
)

func money(amount int64, currency string) Money { return Money{Amount: amount, Currency: currency} }

func TestCurrencyExponentKnowsMinorUnits(t *testing.T) {
	for _, tc := range []struct {
		code string
		want int
	}{
		{"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CAD", 2}, {"AUD", 2},
		{"JPY", 0}, {"KRW", 0}, {"BHD", 3}, {"KWD", 3}, {"OMR", 3},
	} {
		got, err := CurrencyExponent(tc.code)
		if err != nil || got != tc.want {
			t.Errorf("CurrencyExponent(%q) = %d, %v; want %d", tc.code, got, err, tc.want)
		}
	}
	for _, code := range []string{"", "usd", "XXX", "DOLLARS"} {
		if _, err := CurrencyExponent(code); !errors.Is(err, ErrUnknownCurrency) {
			t.Errorf("CurrencyExponent(%q) error = %v; want ErrUnknownCurrency", code, err)
		}
	}
}

func TestNewUppercasesAndRejectsUnknownCurrencies(t *testing.T) {
	m, err := New(1999, "usd")
	if err != nil || m != money(1999, "USD") {
		t.Fatalf(`New(1999, "usd") = %v, %v; want USD 19.99`, m, err)
	}
	if _, err := New(1, "ABC"); !errors.Is(err, ErrUnknownCurrency) {
		t.Fatalf(`New(1, "ABC") error = %v; want ErrUnknownCurrency`, err)
	}
	z, err := Zero("JPY")
	if err != nil || !z.IsZero() || z.Currency != "JPY" {
		t.Fatalf(`Zero("JPY") = %v, %v`, z, err)
	}
}

func TestArithmeticRefusesMixedCurrencies(t *testing.T) {
	a, b := money(100, "USD"), money(100, "EUR")
	if _, err := a.Add(b); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("USD+EUR error = %v; want ErrCurrencyMismatch", err)
	}
	if _, err := a.Sub(b); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("USD-EUR error = %v; want ErrCurrencyMismatch", err)
	}
	if _, err := a.Cmp(b); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("Cmp(USD, EUR) error = %v; want ErrCurrencyMismatch", err)
	}
	if _, err := Sum("USD", a, b); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("Sum(USD, EUR) error = %v; want ErrCurrencyMismatch", err)
	}
}

func TestArithmeticOnOneCurrency(t *testing.T) {
	a, b := money(1234, "USD"), money(-234, "USD")
	if s, err := a.Add(b); err != nil || s != money(1000, "USD") {
		t.Errorf("12.34 + -2.34 = %v, %v; want USD 10.00", s, err)
	}
	if d, err := a.Sub(b); err != nil || d != money(1468, "USD") {
		t.Errorf("12.34 - -2.34 = %v, %v; want USD 14.68", d, err)
	}
	if n, err := b.Neg(); err != nil || n != money(234, "USD") {
		t.Errorf("-(-2.34) = %v, %v", n, err)
	}
	for _, tc := range []struct {
		a, b Money
		want int
	}{{a, b, 1}, {b, a, -1}, {a, a, 0}} {
		if got, err := tc.a.Cmp(tc.b); err != nil || got != tc.want {
			t.Errorf("Cmp(%v, %v) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	if !b.IsNegative() || a.IsNegative() || !a.IsPositive() || a.IsZero() || !money(0, "USD").IsZero() {
		t.Errorf("sign predicates wrong for %v and %v", a, b)
	}
	if s, err := Sum("USD"); err != nil || s != money(0, "USD") {
		t.Errorf("empty Sum = %v, %v; want USD 0.00", s, err)
	}
}

func TestArithmeticReportsOverflow(t *testing.T) {
	max, min := money(math.MaxInt64, "USD"), money(math.MinInt64, "USD")
	one := money(1, "USD")
	if _, err := max.Add(one); !errors.Is(err, ErrOverflow) {
		t.Errorf("MaxInt64+1 error = %v; want ErrOverflow", err)
	}
	if _, err := min.Sub(one); !errors.Is(err, ErrOverflow) {
		t.Errorf("MinInt64-1 error = %v; want ErrOverflow", err)
	}
	if _, err := min.Neg(); !errors.Is(err, ErrOverflow) {
		t.Errorf("-MinInt64 error = %v; want ErrOverflow", err)
	}
	if s, err := max.Add(money(-1, "USD")); err != nil || s.Amount != math.MaxInt64-1 {
		t.Errorf("MaxInt64 + -1 = %v, %v", s, err)
	}
}

func TestMulRatioRoundsHalfAwayFromZero(t *testing.T) {
	for _, tc := range []struct {
		amount, num, den, want int64
	}{
		{1000, 1, 3, 333},        // 333.33
		{2000, 1, 3, 667},        // 666.67
		{5, 1, 2, 3},             // 2.5 → 3
		{-5, 1, 2, -3},           // -2.5 → -3
		{5, -1, 2, -3},           // sign from the numerator
		{5, 1, -2, -3},           // sign from the denominator
		{-5, -1, -2, -3},         // three negatives
		{7, 1, 4, 2},             // 1.75
		{-7, 1, 4, -2},           // -1.75
		{3, 1, 4, 1},             // 0.75
		{1, 1, 3, 0},             // 0.33
		{0, 5, 7, 0},             // zero
		{1999, 2500, 10000, 500}, // 25% of 19.99 = 4.9975
		// 128-bit intermediate: (MaxInt64 × MaxInt64) / MaxInt64 = MaxInt64.
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MaxInt64, 2, 4, 4611686018427387904}, // 4611686018427387903.5 → up
		{math.MinInt64 + 1, 1, 2, -4611686018427387904},
	} {
		got, err := money(tc.amount, "USD").MulRatio(tc.num, tc.den)
		if err != nil || got.Amount != tc.want {
			t.Errorf("%d × %d/%d = %v, %v; want %d", tc.amount, tc.num, tc.den, got.Amount, err, tc.want)
		}
	}
}

func TestMulRatioRefusesOverflowAndZeroDenominator(t *testing.T) {
	if _, err := money(math.MaxInt64, "USD").MulRatio(2, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("MaxInt64 × 2 error = %v; want ErrOverflow", err)
	}
	if _, err := money(math.MinInt64, "USD").MulRatio(1, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("MinInt64 × 1 error = %v; want ErrOverflow (results are kept negatable)", err)
	}
	if _, err := money(100, "USD").MulRatio(1, 0); !errors.Is(err, ErrDivisionByZero) {
		t.Errorf("÷0 error = %v; want ErrDivisionByZero", err)
	}
}

func TestAllocateLosesNoMinorUnit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		amount  Money
		weights []int64
		want    []int64
	}{
		{"thirds", money(10000, "USD"), []int64{1, 1, 1}, []int64{3334, 3333, 3333}},
		{"negative thirds", money(-10000, "USD"), []int64{1, 1, 1}, []int64{-3334, -3333, -3333}},
		{"largest remainder wins", money(100, "USD"), []int64{1, 2, 7}, []int64{10, 20, 70}},
		{"remainders decide", money(10, "USD"), []int64{3, 3, 4}, []int64{3, 3, 4}},
		{"leftover to biggest fraction", money(7, "JPY"), []int64{1, 2}, []int64{2, 5}}, // 2.33, 4.67
		{"zero weight gets nothing", money(1001, "KWD"), []int64{0, 1, 1}, []int64{0, 501, 500}},
		{"single weight", money(1, "BHD"), []int64{5}, []int64{1}},
		{"zero amount", money(0, "USD"), []int64{1, 1}, []int64{0, 0}},
		{"min int64", money(math.MinInt64, "USD"), []int64{1, 1}, []int64{math.MinInt64 / 2, math.MinInt64 / 2}},
	} {
		got, err := tc.amount.Allocate(tc.weights...)
		if err != nil {
			t.Errorf("%s: Allocate(%v, %v) error %v", tc.name, tc.amount, tc.weights, err)
			continue
		}
		for i := range tc.want {
			if got[i].Amount != tc.want[i] || got[i].Currency != tc.amount.Currency {
				t.Errorf("%s: Allocate(%v, %v) = %v; want %v", tc.name, tc.amount, tc.weights, got, tc.want)
				break
			}
		}
	}
}

func TestAllocateRejectsBadWeights(t *testing.T) {
	for _, w := range [][]int64{nil, {0, 0}, {1, -1}, {math.MaxInt64, 1}} {
		if _, err := money(100, "USD").Allocate(w...); !errors.Is(err, ErrInvalidWeights) {
			t.Errorf("Allocate(weights %v) error = %v; want ErrInvalidWeights", w, err)
		}
	}
}

func TestStringAndDecimalUseTheCurrencyExponent(t *testing.T) {
	for _, tc := range []struct {
		m       Money
		decimal string
	}{
		{money(1234, "USD"), "12.34"},
		{money(-1234, "USD"), "-12.34"},
		{money(5, "USD"), "0.05"},
		{money(-5, "EUR"), "-0.05"},
		{money(0, "GBP"), "0.00"},
		{money(1234, "JPY"), "1234"},
		{money(-1, "JPY"), "-1"},
		{money(1005, "KWD"), "1.005"},
		{money(7, "BHD"), "0.007"},
		{money(math.MinInt64, "USD"), "-92233720368547758.08"},
		{money(42, "???"), "42"},
	} {
		if got := tc.m.Decimal(); got != tc.decimal {
			t.Errorf("Decimal(%d %s) = %q; want %q", tc.m.Amount, tc.m.Currency, got, tc.decimal)
		}
	}
	if got := money(1234, "USD").String(); got != "USD 12.34" {
		t.Errorf("String = %q; want %q", got, "USD 12.34")
	}
}

func TestStringGroupsThousands(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{money(7022868, "USD"), "USD 70,228.68"},
		{money(-7022868, "USD"), "USD -70,228.68"},
		{money(99999, "EUR"), "EUR 999.99"},
		{money(100000, "GBP"), "GBP 1,000.00"},
		{money(1234567, "JPY"), "JPY 1,234,567"},
		{money(999, "JPY"), "JPY 999"},
		{money(-1000005, "KWD"), "KWD -1,000.005"},
		{money(123456789012, "USD"), "USD 1,234,567,890.12"},
		{money(math.MinInt64, "USD"), "USD -92,233,720,368,547,758.08"},
		{money(0, "USD"), "USD 0.00"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("String(%d %s) = %q; want %q", tc.m.Amount, tc.m.Currency, got, tc.want)
		}
	}
}

func TestShortRoundsInIntegers(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{money(0, "USD"), "0"},
		{money(45000, "USD"), "450"},
		{money(1234, "USD"), "12.34"},
		{money(1200, "USD"), "12"},
		{money(999999, "USD"), "10000"},  // 9,999.99 is at least 100: whole units, rounded
		{money(1235000, "USD"), "12.4k"}, // 12.35k: a float reads 12.35 as 12.3499…
		{money(1200000, "USD"), "12k"},
		{money(-1235000, "USD"), "-12.4k"},
		{money(123456789, "USD"), "1.2M"},
		{money(250000000, "JPY"), "250M"},
		{money(12345, "KWD"), "12.35"},
		{money(12345, "JPY"), "12.3k"},
		{money(math.MinInt64, "USD"), "-92233720368.5M"},
	} {
		if got := tc.m.Short(); got != tc.want {
			t.Errorf("Short(%d %s) = %q; want %q", tc.m.Amount, tc.m.Currency, got, tc.want)
		}
	}
}

func TestParseDecimalReadsPayPalAmounts(t *testing.T) {
	for _, tc := range []struct {
		s, cur string
		want   Money
	}{
		{"12.34", "USD", money(1234, "USD")},
		{"19.99", "usd", money(1999, "USD")},
		{"12", "USD", money(1200, "USD")},
		{"12.3", "EUR", money(1230, "EUR")},
		{"12.340", "USD", money(1234, "USD")},
		{"-0.05", "USD", money(-5, "USD")},
		{"+1.00", "USD", money(100, "USD")},
		{"0", "USD", money(0, "USD")},
		{"1234", "JPY", money(1234, "JPY")},
		{"1234.00", "JPY", money(1234, "JPY")},
		{"1.005", "KWD", money(1005, "KWD")},
		{"0.5", "BHD", money(500, "BHD")},
		{"92233720368547758.07", "USD", money(math.MaxInt64, "USD")},
	} {
		got, err := ParseDecimal(tc.s, tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("ParseDecimal(%q, %s) = %v, %v; want %v", tc.s, tc.cur, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		s, cur string
		want   error
	}{
		{"", "USD", ErrInvalidDecimal},
		{"-", "USD", ErrInvalidDecimal},
		{".5", "USD", ErrInvalidDecimal},
		{"5.", "USD", ErrInvalidDecimal},
		{"1,000.00", "USD", ErrInvalidDecimal},
		{" 1.00", "USD", ErrInvalidDecimal},
		{"1e3", "USD", ErrInvalidDecimal},
		{"1.2.3", "USD", ErrInvalidDecimal},
		{"--1", "USD", ErrInvalidDecimal},
		{"12.345", "USD", ErrTooPrecise},
		{"1.5", "JPY", ErrTooPrecise},
		{"1.0005", "KWD", ErrTooPrecise},
		{"92233720368547758.08", "USD", ErrOverflow},
		{"99999999999999999999999", "JPY", ErrOverflow},
		{"1.00", "XYZ", ErrUnknownCurrency},
	} {
		if _, err := ParseDecimal(tc.s, tc.cur); !errors.Is(err, tc.want) {
			t.Errorf("ParseDecimal(%q, %s) error = %v; want %v", tc.s, tc.cur, err, tc.want)
		}
	}
}

func TestDecimalRoundTripsThroughParseDecimal(t *testing.T) {
	for _, m := range []Money{money(1234, "USD"), money(-1, "KWD"), money(98765, "JPY"), money(math.MaxInt64, "BHD")} {
		back, err := ParseDecimal(m.Decimal(), m.Currency)
		if err != nil || back != m {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v", m.Decimal(), back, err, m)
		}
	}
}
