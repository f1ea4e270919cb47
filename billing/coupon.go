package billing

import (
	"fmt"
	"slices"
	"time"
)

// PercentScale is the denominator of coupon percentages in basis points: 25% is 2500.
const PercentScale = 10_000

// CouponKind is how a coupon discounts.
type CouponKind string

// The coupon kinds.
const (
	CouponPercent CouponKind = "percent" // PercentBP basis points of each eligible line
	CouponFixed   CouponKind = "fixed"   // a fixed amount off each eligible line, per currency
)

// CouponDuration is for how many billing cycles a redeemed coupon keeps discounting.
type CouponDuration string

// The coupon durations (Stripe's names).
const (
	CouponOnce      CouponDuration = "once"      // the first payment only
	CouponRepeating CouponDuration = "repeating" // the first Cycles payments
	CouponForever   CouponDuration = "forever"   // every payment
)

// Coupon is a promotion code and its rules.
type Coupon struct {
	Code            string
	Kind            CouponKind
	PercentBP       int64          // CouponPercent: 1..10000 basis points
	Fixed           []Money        // CouponFixed: the amount off, at most one per currency
	Duration        CouponDuration // how many cycles it discounts once redeemed
	Cycles          int            // CouponRepeating: number of cycles, >= 1
	ProductIDs      []int64        // restrict to these products; empty means every product
	IncludeSetup    bool           // also discount setup-fee lines of eligible products
	ExpiresAt       time.Time      // cannot be redeemed at or after this instant; zero = never
	MaxUses         int            // total redemptions allowed across customers; 0 = unlimited
	OncePerCustomer bool           // each customer may redeem it once
	Stackable       bool           // may be combined with other coupons on one invoice
}

// CouponUse is the state a coupon's rules are checked against. Uses and PerCustomer are the
// coupon's redemption counters; CyclesApplied is how many cycles it has already discounted on
// the subscription being invoiced (0 means this invoice redeems it).
type CouponUse struct {
	Uses          int           // redemptions so far, all customers
	PerCustomer   map[int64]int // redemptions so far, by customer id
	CyclesApplied int           // cycles already discounted on this subscription
}

// CouponContext is the moment and customer a set of coupons is applied for.
type CouponContext struct {
	Now        time.Time
	CustomerID int64
	Usage      map[string]CouponUse // by coupon code; a missing code has never been used
}

// ApplyCoupons returns the discount lines coupons give on lines (which must share one
// currency). It does not change any counter: after the invoice is saved, the caller records a
// redemption for each coupon with CyclesApplied == 0 that produced a line, and one more cycle
// applied for each coupon that produced a line.
//
// A coupon is redeemed when its CyclesApplied is 0; only then are expiry (ErrCouponExpired),
// MaxUses (ErrCouponExhausted), OncePerCustomer (ErrCouponAlreadyUsed) and product
// restrictions (ErrCouponNotApplicable: no eligible line with a positive amount) checked, so a
// recurring discount already granted keeps running after the code expires. A coupon past its
// duration (once: 1 cycle, repeating: Cycles, forever: never) is inert and gives no lines.
// Among the coupons still active, one that is not Stackable next to any other gives
// ErrCouponNotStackable.
//
// Eligible lines are product lines (and setup lines with IncludeSetup) of a listed product,
// with a positive amount. Active coupons apply in the order given, each to what earlier
// coupons left of a line: percent coupons take PercentBP/10000 of it rounded half away from
// zero, fixed coupons their amount, both capped at what is left, so no line goes below zero.
// Each discount line is negative, carries the discounted line's ProductID, Taxable flag and
// the coupon's code. Example: 25% of USD 19.99 = 4.9975 → a USD -5.00 line.
func ApplyCoupons(lines []Line, coupons []Coupon, ctx CouponContext) ([]Line, error) {
	if len(coupons) == 0 {
		return nil, nil
	}
	currency := ""
	for i, l := range lines {
		if i == 0 {
			currency = l.Amount.Currency
		} else if l.Amount.Currency != currency {
			return nil, fmt.Errorf("coupons on line %d (%s) of a %s invoice: %w", i, l.Amount, currency, ErrCurrencyMismatch)
		}
	}
	active := make([]Coupon, 0, len(coupons))
	for i, c := range coupons {
		if err := c.validate(); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(coupons[:i], func(o Coupon) bool { return o.Code == c.Code }) {
			return nil, fmt.Errorf("coupon %q listed twice: %w", c.Code, ErrInvalidCoupon)
		}
		use := ctx.Usage[c.Code]
		if !c.activeAfter(use.CyclesApplied) {
			continue
		}
		if use.CyclesApplied == 0 {
			if err := c.checkRedeemable(lines, use, ctx); err != nil {
				return nil, err
			}
		}
		active = append(active, c)
	}
	if len(active) > 1 {
		for _, c := range active {
			if !c.Stackable {
				return nil, fmt.Errorf("coupon %q with %d other coupon(s): %w", c.Code, len(active)-1, ErrCouponNotStackable)
			}
		}
	}
	left := make([]int64, len(lines))
	for i, l := range lines {
		left[i] = l.Amount.Amount
	}
	var out []Line
	for _, c := range active {
		var fixed int64
		if c.Kind == CouponFixed {
			amt, err := c.fixedIn(currency)
			if err != nil {
				return nil, err
			}
			fixed = amt.Amount
		}
		for i, l := range lines {
			if !c.eligible(l) || left[i] <= 0 {
				continue
			}
			off := min(fixed, left[i])
			if c.Kind == CouponPercent {
				off, _ = mulDivRound(left[i], c.PercentBP, PercentScale) // <= left[i]: cannot overflow
			}
			if off <= 0 {
				continue
			}
			left[i] -= off
			out = append(out, Line{
				Kind:        LineDiscount,
				Description: fmt.Sprintf("Coupon %s (%s): %s", c.Code, c.label(currency), l.Description),
				Amount:      Money{Amount: -off, Currency: currency},
				ProductID:   l.ProductID,
				Taxable:     l.Taxable,
				CouponCode:  c.Code,
			})
		}
	}
	return out, nil
}

// ValidateCoupon checks a coupon's rules (kind, amounts, duration, limits) before it is stored;
// the error wraps ErrInvalidCoupon.
func ValidateCoupon(c Coupon) error { return c.validate() }

func (c Coupon) validate() error {
	bad := func(why string) error { return fmt.Errorf("coupon %q: %s: %w", c.Code, why, ErrInvalidCoupon) }
	if c.Code == "" {
		return bad("empty code")
	}
	switch c.Kind {
	case CouponPercent:
		if c.PercentBP < 1 || c.PercentBP > PercentScale {
			return bad(fmt.Sprintf("percent %d basis points outside 1..10000", c.PercentBP))
		}
	case CouponFixed:
		if len(c.Fixed) == 0 {
			return bad("fixed coupon without amounts")
		}
		for i, f := range c.Fixed {
			if f.Amount <= 0 {
				return bad(fmt.Sprintf("fixed amount %s is not positive", f))
			}
			if slices.ContainsFunc(c.Fixed[:i], func(o Money) bool { return o.Currency == f.Currency }) {
				return bad("two fixed amounts in " + f.Currency)
			}
		}
	default:
		return bad(fmt.Sprintf("kind %q", c.Kind))
	}
	switch c.Duration {
	case CouponOnce, CouponForever:
	case CouponRepeating:
		if c.Cycles < 1 {
			return bad(fmt.Sprintf("repeating for %d cycles", c.Cycles))
		}
	default:
		return bad(fmt.Sprintf("duration %q", c.Duration))
	}
	if c.MaxUses < 0 {
		return bad(fmt.Sprintf("max uses %d", c.MaxUses))
	}
	return nil
}

// activeAfter reports whether the coupon still discounts a cycle after applied cycles.
func (c Coupon) activeAfter(applied int) bool {
	switch c.Duration {
	case CouponOnce:
		return applied < 1
	case CouponRepeating:
		return applied < c.Cycles
	}
	return true
}

func (c Coupon) checkRedeemable(lines []Line, use CouponUse, ctx CouponContext) error {
	if !c.ExpiresAt.IsZero() {
		if ctx.Now.IsZero() {
			return fmt.Errorf("coupon %q has an expiry but the context has no time: %w", c.Code, ErrInvalidCoupon)
		}
		if !ctx.Now.Before(c.ExpiresAt) {
			return fmt.Errorf("coupon %q expired %s: %w", c.Code, c.ExpiresAt.UTC().Format(time.RFC3339), ErrCouponExpired)
		}
	}
	if c.MaxUses > 0 && use.Uses >= c.MaxUses {
		return fmt.Errorf("coupon %q used %d of %d times: %w", c.Code, use.Uses, c.MaxUses, ErrCouponExhausted)
	}
	if c.OncePerCustomer && use.PerCustomer[ctx.CustomerID] > 0 {
		return fmt.Errorf("coupon %q by customer %d: %w", c.Code, ctx.CustomerID, ErrCouponAlreadyUsed)
	}
	if !slices.ContainsFunc(lines, func(l Line) bool { return c.eligible(l) && l.Amount.Amount > 0 }) {
		return fmt.Errorf("coupon %q (products %v): %w", c.Code, c.ProductIDs, ErrCouponNotApplicable)
	}
	if c.Kind == CouponFixed && len(lines) > 0 {
		if _, err := c.fixedIn(lines[0].Amount.Currency); err != nil {
			return err
		}
	}
	return nil
}

func (c Coupon) eligible(l Line) bool {
	if l.Kind != LineProduct && !(c.IncludeSetup && l.Kind == LineSetup) {
		return false
	}
	return len(c.ProductIDs) == 0 || slices.Contains(c.ProductIDs, l.ProductID)
}

func (c Coupon) fixedIn(currency string) (Money, error) {
	for _, f := range c.Fixed {
		if f.Currency == currency {
			return f, nil
		}
	}
	return Money{}, fmt.Errorf("coupon %q in %s: %w", c.Code, currency, ErrCouponCurrency)
}

func (c Coupon) label(currency string) string {
	if c.Kind == CouponPercent {
		return FormatRate(c.PercentBP * 10) // basis points → milli-percent
	}
	f, _ := c.fixedIn(currency)
	return f.String() + " off"
}
