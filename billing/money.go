package billing

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Money is an amount in integer minor units (cents, pence, fils, yen) of an ISO 4217 currency.
// The zero value is "no amount in no currency"; build amounts with New, Zero or ParseDecimal.
type Money struct {
	Amount   int64  // minor units; 1234 USD is 12.34 dollars, 1234 JPY is 1234 yen
	Currency string // upper-case ISO 4217 code, e.g. "USD"
}

// CurrencyExponent reports how many minor-unit digits a currency has (2 for USD, 0 for JPY,
// 3 for KWD), from ISO 4217. Unknown codes give ErrUnknownCurrency rather than a guess.
func CurrencyExponent(code string) (int, error) {
	switch code {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0, nil
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3, nil
	case "CLF", "UYW":
		return 4, nil
	case "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
		"BDT", "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
		"CDF", "CHF", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP",
		"ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
		"HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
		"KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD",
		"MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN",
		"NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON",
		"RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
		"SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD",
		"TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR", "ZMW", "ZWL":
		return 2, nil
	}
	return 0, fmt.Errorf("currency %q: %w", code, ErrUnknownCurrency)
}

// New returns amount minor units of currency. The code is upper-cased (Stripe sends "usd")
// and must be known to CurrencyExponent.
func New(amount int64, currency string) (Money, error) {
	code := strings.ToUpper(currency)
	if _, err := CurrencyExponent(code); err != nil {
		return Money{}, err
	}
	return Money{Amount: amount, Currency: code}, nil
}

// Zero returns a zero amount of currency, validated like New.
func Zero(currency string) (Money, error) { return New(0, currency) }

// IsZero reports whether the amount is zero, whatever the currency.
func (m Money) IsZero() bool { return m.Amount == 0 }

// IsNegative reports whether the amount is below zero.
func (m Money) IsNegative() bool { return m.Amount < 0 }

// IsPositive reports whether the amount is above zero.
func (m Money) IsPositive() bool { return m.Amount > 0 }

func (m Money) sameCurrency(op string, o Money) error {
	if m.Currency != o.Currency {
		return fmt.Errorf("%s %s and %s: %w", op, m, o, ErrCurrencyMismatch)
	}
	return nil
}

// Add returns m+o. Different currencies give ErrCurrencyMismatch; a sum past int64 gives ErrOverflow.
func (m Money) Add(o Money) (Money, error) {
	if err := m.sameCurrency("add", o); err != nil {
		return Money{}, err
	}
	s, ok := add64(m.Amount, o.Amount)
	if !ok {
		return Money{}, fmt.Errorf("add %s and %s: %w", m, o, ErrOverflow)
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

// Sub returns m-o, with the same errors as Add.
func (m Money) Sub(o Money) (Money, error) {
	if err := m.sameCurrency("subtract", o); err != nil {
		return Money{}, err
	}
	d, ok := sub64(m.Amount, o.Amount)
	if !ok {
		return Money{}, fmt.Errorf("subtract %s from %s: %w", o, m, ErrOverflow)
	}
	return Money{Amount: d, Currency: m.Currency}, nil
}

// Neg returns -m. Only the most negative int64 cannot be negated (ErrOverflow).
func (m Money) Neg() (Money, error) {
	if m.Amount == math.MinInt64 {
		return Money{}, fmt.Errorf("negate %d %s: %w", m.Amount, m.Currency, ErrOverflow)
	}
	return Money{Amount: -m.Amount, Currency: m.Currency}, nil
}

// Cmp compares m and o: -1 if m < o, 0 if equal, +1 if m > o. Different currencies are not
// ordered and give ErrCurrencyMismatch.
func (m Money) Cmp(o Money) (int, error) {
	if err := m.sameCurrency("compare", o); err != nil {
		return 0, err
	}
	switch {
	case m.Amount < o.Amount:
		return -1, nil
	case m.Amount > o.Amount:
		return 1, nil
	}
	return 0, nil
}

// Sum adds amounts that must all be in currency; with no amounts it is zero in currency.
func Sum(currency string, amounts ...Money) (Money, error) {
	total := Money{Currency: currency}
	for _, a := range amounts {
		var err error
		if total, err = total.Add(a); err != nil {
			return Money{}, err
		}
	}
	return total, nil
}

// MulRatio returns m * num / den rounded to the nearest minor unit, halves away from zero
// (0.5 → 1, -0.5 → -1), so the result is never more than half a minor unit from the exact
// rational. The product is formed in 128 bits, so only a result whose magnitude exceeds
// math.MaxInt64 gives ErrOverflow (math.MinInt64 is refused too, so every result can be
// negated); den == 0 gives ErrDivisionByZero. Example: USD 10.00 × 1/3 = USD 3.33; USD 0.05 × 1/2 = USD 0.03.
func (m Money) MulRatio(num, den int64) (Money, error) {
	v, err := mulDivRound(m.Amount, num, den)
	if err != nil {
		return Money{}, fmt.Errorf("%s × %d/%d: %w", m, num, den, err)
	}
	return Money{Amount: v, Currency: m.Currency}, nil
}

// Allocate splits m in proportion to weights without losing or inventing a minor unit: each
// share is the floor of its exact proportion, and the units left over go one each to the
// largest remainders (ties to the earlier weight). Shares of a negative amount are the negated
// shares of its absolute value. Weights must be non-negative with a positive sum that fits in
// int64 (ErrInvalidWeights). Example: USD 100.00 split 1:1:1 is 33.34, 33.33, 33.33.
func (m Money) Allocate(weights ...int64) ([]Money, error) {
	var total uint64
	for _, w := range weights {
		if w < 0 {
			return nil, fmt.Errorf("allocate %s by %v: negative weight: %w", m, weights, ErrInvalidWeights)
		}
		total += uint64(w)
		if total > math.MaxInt64 {
			return nil, fmt.Errorf("allocate %s by %v: weights sum past int64: %w", m, weights, ErrInvalidWeights)
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("allocate %s by %v: weights sum to zero: %w", m, weights, ErrInvalidWeights)
	}
	abs := absU64(m.Amount)
	shares := make([]uint64, len(weights))
	rems := make([]uint64, len(weights))
	var given uint64
	for i, w := range weights {
		hi, lo := bits.Mul64(abs, uint64(w))
		shares[i], rems[i] = bits.Div64(hi, lo, total) // hi < w <= total, so no overflow
		given += shares[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rems[a] > rems[b]:
			return -1
		case rems[a] < rems[b]:
			return 1
		}
		return 0
	})
	// The leftover is below the number of non-zero remainders, so one pass hands it all out.
	for _, i := range order[:abs-given] {
		shares[i]++
	}
	out := make([]Money, len(weights))
	for i, s := range shares {
		v := int64(s) // s <= abs, and abs of a non-MinInt64 fits; MinInt64 is handled below
		if m.Amount < 0 {
			v = -int64(s-1) - 1
		}
		out[i] = Money{Amount: v, Currency: m.Currency}
	}
	return out, nil
}

// String formats m for people: the currency code, a space, and the amount in major units with
// the currency's number of decimals and the whole part grouped in thousands by commas
// ("USD 70,228.68", "JPY 1,234,567", "KWD -1,000.005"). Machines get Decimal.
func (m Money) String() string { return m.Currency + " " + groupThousands(m.Decimal()) }

// Short formats the amount for a chart axis, without the currency: whole major units below
// ten thousand ("450", or "12.34" when it has a fraction below one hundred), thousands with one
// decimal from ten thousand ("12.4k"), millions with one decimal from a million ("1.2M"); a
// trailing ".0" is dropped. It rounds half away from zero, in integers.
func (m Money) Short() string {
	exp, err := CurrencyExponent(m.Currency)
	if err != nil {
		exp = 2
	}
	unit := uint64(1)
	for range exp {
		unit *= 10
	}
	abs := absU64(m.Amount)
	sign := ""
	if m.Amount < 0 {
		sign = "-"
	}
	div := func(a, b uint64) uint64 { return a/b + (a%b*2)/b } // a/b rounded half up; no overflow
	tenths := func(per uint64, suffix string) string {
		n := div(abs, per/10)
		s := strconv.FormatUint(n/10, 10)
		if n%10 != 0 {
			s += "." + strconv.FormatUint(n%10, 10)
		}
		return sign + s + suffix
	}
	switch {
	case abs/unit >= 1_000_000:
		return tenths(unit*1_000_000, "M")
	case abs/unit >= 10_000:
		return tenths(unit*1_000, "k")
	case abs/unit >= 100 || abs%unit == 0:
		return sign + strconv.FormatUint(div(abs, unit), 10)
	}
	cents := abs // exp is at least 2 here: a currency without decimals is always whole
	if exp > 2 {
		cents = div(abs, unit/100)
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// groupThousands puts a comma between each group of three digits of a Decimal's whole part.
func groupThousands(dec string) string {
	sign, whole, frac := "", dec, ""
	if strings.HasPrefix(whole, "-") {
		sign, whole = "-", whole[1:]
	}
	if i := strings.IndexByte(whole, '.'); i >= 0 {
		whole, frac = whole[:i], whole[i:]
	}
	if len(whole) <= 3 {
		return dec
	}
	var b strings.Builder
	b.Grow(len(dec) + len(whole)/3)
	b.WriteString(sign)
	first := len(whole) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(whole[:first])
	for i := first; i < len(whole); i += 3 {
		b.WriteByte(',')
		b.WriteString(whole[i : i+3])
	}
	b.WriteString(frac)
	return b.String()
}

// Decimal formats the amount in major units with exactly the currency's number of decimals:
// "12.34" for USD 1234, "1234" for JPY 1234, "-1.005" for KWD -1005; this is the form PayPal
// expects. An amount in an unknown currency is printed as its minor units.
func (m Money) Decimal() string {
	exp, err := CurrencyExponent(m.Currency)
	if err != nil {
		exp = 0
	}
	digits := strconv.FormatUint(absU64(m.Amount), 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if m.Amount < 0 {
		return "-" + digits
	}
	return digits
}

// ParseDecimal reads a decimal amount in major units such as PayPal's "12.34" into Money.
// The form is an optional sign, one or more digits, and optionally a point followed by at
// least one digit; no exponent, spaces or thousands separators. Fractional digits beyond the
// currency's exponent must be zeros ("12.340" is fine for USD, "12.345" gives ErrTooPrecise):
// parsing never rounds.
func ParseDecimal(s, currency string) (Money, error) {
	code := strings.ToUpper(currency)
	exp, err := CurrencyExponent(code)
	if err != nil {
		return Money{}, err
	}
	bad := func() (Money, error) {
		return Money{}, fmt.Errorf("parse %q as %s: %w", s, code, ErrInvalidDecimal)
	}
	body := s
	neg := false
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if intPart == "" || (hasPoint && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return bad()
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return Money{}, fmt.Errorf("parse %q as %s (%d decimals): %w", s, code, exp, ErrTooPrecise)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	var v uint64
	for _, c := range intPart + frac {
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > math.MaxInt64 {
			return Money{}, fmt.Errorf("parse %q as %s: %w", s, code, ErrOverflow)
		}
		v = lo
	}
	amount := int64(v)
	if neg {
		amount = -amount
	}
	return Money{Amount: amount, Currency: code}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mulDivRound returns a*num/den rounded half away from zero, computed exactly in 128 bits.
func mulDivRound(a, num, den int64) (int64, error) {
	if den == 0 {
		return 0, ErrDivisionByZero
	}
	neg := (a < 0) != (num < 0) != (den < 0)
	ua, un, ud := absU64(a), absU64(num), absU64(den)
	hi, lo := bits.Mul64(ua, un)
	if hi >= ud {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, ud)
	if r >= ud-r { // remainder at least half the divisor: round the magnitude up
		if q == math.MaxUint64 {
			return 0, ErrOverflow
		}
		q++
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	if neg {
		return -int64(q), nil
	}
	return int64(q), nil
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(^v) + 1
	}
	return uint64(v)
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

func sub64(a, b int64) (int64, bool) {
	d := a - b
	return d, (d < a) == (b > 0)
}
