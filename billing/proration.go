package billing

import (
	"fmt"
	"math/bits"
	"time"
)

// ChangeInput describes a plan change in the middle of a paid period.
type ChangeInput struct {
	OldPrice    Money     // price of the current plan for the whole period, already paid
	NewPrice    Money     // price of the new plan for a whole period of the same cycle
	PeriodStart time.Time // first day of the current period
	PeriodEnd   time.Time // the next due date (exclusive)
	ChangeAt    time.Time // when the new plan starts; its UTC date counts as a day of the new plan
}

// Proration is the day-exact settlement of a plan change; see Prorate for the rounding.
type Proration struct {
	TotalDays     int   // calendar days in the period
	RemainingDays int   // days from the change date to the period end
	Credit        Money // value of the unused days of the old plan (>= 0)
	Charge        Money // value of the remaining days of the new plan (>= 0)
	Net           Money // Charge - Credit: positive is due now, negative is a credit to the account
}

// Prorate values a plan change by whole days. Days are UTC calendar dates (DaysBetween):
// total = PeriodStart..PeriodEnd, remaining = ChangeAt..PeriodEnd, so a change on the start
// date swaps the whole period and a change on the end date costs nothing.
//
// Rounding: Net = (NewPrice − OldPrice) × remaining / total, rounded half away from zero, so
// |Net| is exactly the rounded price difference for the remaining days and never more.
// Credit = OldPrice × remaining / total and Charge = NewPrice × remaining / total are each
// rounded half away from zero too; when those two rounded figures do not differ by exactly Net
// (each can be off by half a unit, in opposite directions), the one rounded further from its
// exact value (Charge on a tie) moves one minor unit to the other side of it. So always
// Charge − Credit = Net, and Credit and Charge are each the floor or ceiling of their exact
// value: 0 <= Credit <= OldPrice and 0 <= Charge <= NewPrice.
//
// Example: USD 10.00 → USD 25.00 on a period 2024-03-01..2024-04-01 (31 days) changed on
// 2024-03-17 (15 days left): Credit = 1000×15/31 = 483.87 → USD 4.84; Charge = 2500×15/31 =
// 1209.68 → USD 12.10; Net = 1500×15/31 = 725.81 → USD 7.26 due now. The reverse change
// credits USD 7.26. With JPY 1000 → 2500 on 2023-02-01..2023-03-01 changed on 2023-02-20 (9 of
// 28 days): Credit 321.43 → 321, Net 482.14 → 482, Charge 803.57 would round to 804 but
// Charge − Credit must be 482, so Charge is JPY 803.
//
// Prices must be non-negative and in one currency; the period must be at least one day and
// contain ChangeAt (ErrInvalidAmount, ErrCurrencyMismatch, ErrInvalidPeriod, ErrChangeOutsidePeriod).
func Prorate(in ChangeInput) (Proration, error) {
	if err := in.OldPrice.sameCurrency("prorate", in.NewPrice); err != nil {
		return Proration{}, err
	}
	if in.OldPrice.IsNegative() || in.NewPrice.IsNegative() {
		return Proration{}, fmt.Errorf("prorate %s → %s: negative price: %w", in.OldPrice, in.NewPrice, ErrInvalidAmount)
	}
	total := DaysBetween(in.PeriodStart, in.PeriodEnd)
	if total < 1 {
		return Proration{}, fmt.Errorf("prorate period %s..%s (%d days): %w",
			in.PeriodStart.UTC().Format(time.DateOnly), in.PeriodEnd.UTC().Format(time.DateOnly), total, ErrInvalidPeriod)
	}
	remaining := DaysBetween(in.ChangeAt, in.PeriodEnd)
	if remaining < 0 || remaining > total {
		return Proration{}, fmt.Errorf("prorate change on %s in period %s..%s: %w", in.ChangeAt.UTC().Format(time.DateOnly),
			in.PeriodStart.UTC().Format(time.DateOnly), in.PeriodEnd.UTC().Format(time.DateOnly), ErrChangeOutsidePeriod)
	}
	r, t := int64(remaining), int64(total)
	credit, creditErr := roundedShare(in.OldPrice.Amount, r, t)
	charge, chargeErr := roundedShare(in.NewPrice.Amount, r, t)
	net, err := mulDivRound(in.NewPrice.Amount-in.OldPrice.Amount, r, t) // both >= 0: no overflow
	if err != nil {
		return Proration{}, err // cannot happen: |difference| × r/t <= max price
	}
	// Errors are (rounded − exact) × total, in (−total/2, total/2]. Moving a figure one unit
	// keeps it within one unit of exact only if it moves back across its exact value.
	switch charge - credit - net {
	case 1: // lower Charge (if it was rounded up) or raise Credit (if it was rounded down)
		if chargeErr > 0 && chargeErr >= -creditErr {
			charge--
		} else {
			credit++
		}
	case -1: // raise Charge (if rounded down) or lower Credit (if rounded up)
		if chargeErr < 0 && -chargeErr >= creditErr {
			charge++
		} else {
			credit--
		}
	}
	cur := in.OldPrice.Currency
	return Proration{
		TotalDays:     total,
		RemainingDays: remaining,
		Credit:        Money{Amount: credit, Currency: cur},
		Charge:        Money{Amount: charge, Currency: cur},
		Net:           Money{Amount: net, Currency: cur},
	}, nil
}

// roundedShare returns price × r / t (price >= 0, 0 <= r <= t) rounded half up, and the
// rounding error (rounded − exact) scaled by t.
func roundedShare(price, r, t int64) (int64, int64) {
	hi, lo := bits.Mul64(uint64(price), uint64(r))
	q, rem := bits.Div64(hi, lo, uint64(t)) // hi < t because r <= t
	if rem >= uint64(t)-rem {
		return int64(q) + 1, t - int64(rem)
	}
	return int64(q), -int64(rem)
}
