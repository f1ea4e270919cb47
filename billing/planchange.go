package billing

import (
	"fmt"
	"time"
)

// PlanChangeInput is a plan change in the middle of a paid period, with what that period was
// billed at: the coupons that discounted it and the tax that applies.
type PlanChangeInput struct {
	OldPrice     Money // the current plan's list price for a whole period
	NewPrice     Money // the new plan's list price for a whole period of the same cycle
	OldProductID int64
	NewProductID int64
	// Coupons are the coupons that discounted the current period, in the order they applied.
	// They were granted already, so expiry, limits and durations are not checked again: they
	// discount the whole period, on either plan.
	Coupons     []Coupon
	TaxRules    []TaxRule
	Tax         TaxContext
	PeriodStart time.Time // first day of the current period
	PeriodEnd   time.Time // the next due date (exclusive)
	ChangeAt    time.Time // the new plan's first day (its UTC date)
}

// PlanChange is a priced plan change. Proration holds the day counts and the credit, charge
// and net on the period prices after discounts; an upgrade (Net > 0) is billed with Items, a
// downgrade (Net < 0) is credited with CreditNote.
type PlanChange struct {
	Proration      Proration
	OldPeriodPrice Money // OldPrice after the period's discounts
	NewPeriodPrice Money // NewPrice after the same discounts
	// Items are the upgrade invoice's items (for BuildInvoice): the new plan's remaining days
	// and the old plan's unused days, both after discounts, so the invoice is taxed on Net.
	Items []Line
	// CreditNote is a downgrade's credit: one positive proration line of |Net| and the tax
	// lines it carries (CreditTax against the period's tax on the old plan).
	CreditNote []Line
	// CreditTotal is the sum of CreditNote: what goes back to the customer, tax included.
	CreditTotal Money
}

// PricePlanChange values a plan change on what the period was actually billed at, not on
// list prices. Each plan's period price is its list price less the discounts of in.Coupons
// (ApplyCoupons rules: in order, percent rounded half away from zero, fixed capped at what is
// left, product restrictions kept); those period prices are then prorated by whole days
// (Prorate). So a coupon discounts every day of the period once, on whichever plan the
// customer is on that day: a 100% coupon makes a same-day downgrade credit nothing, and a
// fixed EUR 5.00 coupon is not given again on the upgrade's remaining days.
//
// This is the "flexible" basis Stripe moved to (credit what was debited, with the tax that
// was charged: https://docs.stripe.com/billing/subscriptions/billing-mode/compare) rather
// than the classic basis that credits list prices, and Lago's (coupon share deducted from the
// credit, taxes added pro rata: https://getlago.com/docs/guide/subscriptions/upgrades-downgrades).
//
// Example (EUR, 20% VAT, a 10% coupon, period 2026-03-01..04-01 = 31 days, change on 03-17 =
// 15 days left): VPS L 25.00 → 22.50, VPS S 10.00 → 9.00. Downgrade L → S: credit
// 22.50×15/31 = 10.887 → 10.89, net −13.50×15/31 = −6.532 → −6.53 (Prorate rounds the
// difference once), charge 4.36 (9.00×15/31 = 4.355, kept at credit + net); the credit note
// is 6.53 + VAT 20% 1.306 → 1.31 = EUR 7.84.
func PricePlanChange(in PlanChangeInput) (PlanChange, error) {
	if err := in.OldPrice.sameCurrency("plan change", in.NewPrice); err != nil {
		return PlanChange{}, err
	}
	oldPeriod, err := periodPrice(in.OldPrice, in.OldProductID, in.Coupons)
	if err != nil {
		return PlanChange{}, fmt.Errorf("old plan's period price: %w", err)
	}
	newPeriod, err := periodPrice(in.NewPrice, in.NewProductID, in.Coupons)
	if err != nil {
		return PlanChange{}, fmt.Errorf("new plan's period price: %w", err)
	}
	pr, err := Prorate(ChangeInput{OldPrice: oldPeriod, NewPrice: newPeriod,
		PeriodStart: in.PeriodStart, PeriodEnd: in.PeriodEnd, ChangeAt: in.ChangeAt})
	if err != nil {
		return PlanChange{}, err
	}
	out := PlanChange{Proration: pr, OldPeriodPrice: oldPeriod, NewPeriodPrice: newPeriod,
		CreditTotal: Money{Currency: in.OldPrice.Currency}}
	days := fmt.Sprintf("%d of %d days", pr.RemainingDays, pr.TotalDays)
	switch {
	case pr.Net.IsPositive():
		credit, _ := pr.Credit.Neg() // 0 <= Credit <= price: negatable
		out.Items = []Line{
			{Kind: LineProration, Description: "New plan, " + days + discountNote(in.Coupons), Amount: pr.Charge, ProductID: in.NewProductID, Taxable: true},
			{Kind: LineProration, Description: "Unused time on the old plan, " + days + discountNote(in.Coupons), Amount: credit, ProductID: in.OldProductID, Taxable: true},
		}
	case pr.Net.IsNegative():
		net, _ := pr.Net.Neg()
		invoiced, err := ComputeTax(oldPeriod, in.TaxRules, in.Tax)
		if err != nil {
			return PlanChange{}, fmt.Errorf("tax on the old plan's period: %w", err)
		}
		tax, err := CreditTax(net, invoiced)
		if err != nil {
			return PlanChange{}, err
		}
		out.CreditNote = append(out.CreditNote, Line{Kind: LineProration, Amount: net, ProductID: in.OldProductID, Taxable: true,
			Description: "Unused time on the old plan less the new plan, " + days + discountNote(in.Coupons)})
		out.CreditTotal = net
		for _, t := range tax {
			out.CreditNote = append(out.CreditNote, Line{Kind: LineTax, Description: t.Name + " " + FormatRate(t.RateMilliPercent), Amount: t.Amount})
			if out.CreditTotal, err = out.CreditTotal.Add(t.Amount); err != nil {
				return PlanChange{}, fmt.Errorf("credit note total: %w", err)
			}
		}
	}
	return out, nil
}

// CreditTax returns the tax lines a credit of net (0 <= net <= the invoiced base) carries back
// from an invoice taxed as invoiced (a ComputeTax result). Per level it is net × rate rounded
// half up (the compound level taxes net plus its level-1 share), never more than that level's
// invoiced tax; a credit of the whole base returns exactly the invoiced tax, whatever the
// rounding. Exempt and reverse-charge invoices carried no tax, so neither does the credit.
// This follows the neutrality principle of EU VAT (Directive 2006/112/EC art. 90: a price
// reduction reduces the taxable amount, and the tax with it at the original rate).
//
// CreditTax prices the tax of a period's credit from the tax rules (a ComputeTax result), as a
// plan change does before any document exists; CreditNoteTax shares out the tax lines of one
// stored invoice among the credit notes written against it. Both round half up and never
// return more than was charged.
func CreditTax(net Money, invoiced TaxResult) ([]TaxLine, error) {
	if len(invoiced.Lines) == 0 {
		return nil, nil
	}
	base := invoicedBase(invoiced)
	if err := net.sameCurrency("credit tax", base); err != nil {
		return nil, err
	}
	if net.IsNegative() || net.Amount > base.Amount {
		return nil, fmt.Errorf("credit %s of an invoiced base of %s: %w", net, base, ErrInvalidAmount)
	}
	if net == base {
		return append([]TaxLine(nil), invoiced.Lines...), nil
	}
	out := make([]TaxLine, 0, len(invoiced.Lines))
	level1 := Money{Currency: net.Currency}
	for _, l := range invoiced.Lines {
		taxed := net
		if l.Compound {
			taxed = Money{Amount: net.Amount + level1.Amount, Currency: net.Currency} // both <= invoiced figures
		}
		amount, err := taxed.MulRatio(l.RateMilliPercent, TaxRateScale)
		if err != nil {
			return nil, fmt.Errorf("credit tax %q: %w", l.Name, err)
		}
		amount.Amount = min(amount.Amount, l.Amount.Amount)
		if l.Level == 1 {
			level1 = amount
		}
		out = append(out, TaxLine{Level: l.Level, Name: l.Name, RateMilliPercent: l.RateMilliPercent, Compound: l.Compound, Base: taxed, Amount: amount})
	}
	return out, nil
}

// invoicedBase is the untaxed base of a tax result: a non-compound line's base (a compound
// level 2 alone, with no level 1, was applied to the base too).
func invoicedBase(t TaxResult) Money {
	for _, l := range t.Lines {
		if !l.Compound {
			return l.Base
		}
	}
	return t.Lines[0].Base
}

// periodPrice is price less what coupons take off a whole period of it.
func periodPrice(price Money, productID int64, coupons []Coupon) (Money, error) {
	if len(coupons) == 0 || !price.IsPositive() {
		return price, nil
	}
	granted := make([]Coupon, len(coupons))
	usage := make(map[string]CouponUse, len(coupons))
	for i, c := range coupons {
		// Already granted for this period: only how it discounts matters.
		c.Duration, c.Cycles, c.ExpiresAt, c.MaxUses, c.OncePerCustomer, c.Stackable = CouponForever, 0, time.Time{}, 0, false, true
		granted[i] = c
		usage[c.Code] = CouponUse{CyclesApplied: 1}
	}
	line := Line{Kind: LineProduct, Amount: price, ProductID: productID, Taxable: true}
	discounts, err := ApplyCoupons([]Line{line}, granted, CouponContext{Usage: usage})
	if err != nil {
		return Money{}, err
	}
	for _, d := range discounts {
		if price, err = price.Add(d.Amount); err != nil {
			return Money{}, err
		}
	}
	return price, nil
}

func discountNote(coupons []Coupon) string {
	if len(coupons) == 0 {
		return ""
	}
	s := ", after coupon"
	if len(coupons) > 1 {
		s += "s"
	}
	for i, c := range coupons {
		if i > 0 {
			s += ","
		}
		s += " " + c.Code
	}
	return s
}
