package billing

import (
	"fmt"
)

// LineKind says what an invoice line is for; totals group lines by kind.
type LineKind string

// The invoice line kinds.
const (
	LineProduct   LineKind = "product"   // a recurring or one-time product charge
	LineSetup     LineKind = "setup"     // a setup fee
	LineProration LineKind = "proration" // a plan-change charge or credit (may be negative)
	LineDiscount  LineKind = "discount"  // a coupon discount (negative)
	LineTax       LineKind = "tax"       // a tax level (never itself taxable)
	LineCredit    LineKind = "credit"    // account credit applied (negative)
)

// Line is one line of an invoice. Taxes, discounts and applied credit are lines too, so an
// invoice's figures are always the sums of its lines.
type Line struct {
	Kind        LineKind
	Description string
	Amount      Money
	ProductID   int64  // product the line is for (discount lines: the discounted product)
	Taxable     bool   // included in the tax base
	CouponCode  string // discount lines: the coupon that gave them
}

// Invoice is a list of lines in one currency; every figure is derived from the lines.
type Invoice struct {
	Currency      string
	Lines         []Line
	ReverseCharge bool     // EU reverse charge: no VAT, the buyer accounts for it
	Notes         []string // printed on the invoice, e.g. ReverseChargeNote
}

// Subtotal is the sum of product, setup and proration lines: the price before discounts,
// tax and credit.
func (inv Invoice) Subtotal() (Money, error) {
	return inv.sum(func(k LineKind) bool { return k == LineProduct || k == LineSetup || k == LineProration })
}

// DiscountTotal is the sum of discount lines (zero or negative).
func (inv Invoice) DiscountTotal() (Money, error) {
	return inv.sum(func(k LineKind) bool { return k == LineDiscount })
}

// TaxTotal is the sum of tax lines.
func (inv Invoice) TaxTotal() (Money, error) {
	return inv.sum(func(k LineKind) bool { return k == LineTax })
}

// CreditTotal is the sum of applied-credit lines (zero or negative).
func (inv Invoice) CreditTotal() (Money, error) {
	return inv.sum(func(k LineKind) bool { return k == LineCredit })
}

// TaxableBase is the sum of taxable lines: what tax levels are computed on.
func (inv Invoice) TaxableBase() (Money, error) {
	total := Money{Currency: inv.Currency}
	for _, l := range inv.Lines {
		if !l.Taxable {
			continue
		}
		var err error
		if total, err = total.Add(l.Amount); err != nil {
			return Money{}, fmt.Errorf("taxable base of invoice: %w", err)
		}
	}
	return total, nil
}

// Total is the sum of every line: Subtotal + DiscountTotal + TaxTotal + CreditTotal.
func (inv Invoice) Total() (Money, error) {
	return inv.sum(func(LineKind) bool { return true })
}

func (inv Invoice) sum(include func(LineKind) bool) (Money, error) {
	total := Money{Currency: inv.Currency}
	for i, l := range inv.Lines {
		if !include(l.Kind) {
			continue
		}
		var err error
		if total, err = total.Add(l.Amount); err != nil {
			return Money{}, fmt.Errorf("invoice line %d (%s): %w", i, l.Description, err)
		}
	}
	return total, nil
}

// InvoiceInput is everything BuildInvoice needs to price one invoice.
type InvoiceInput struct {
	Currency        string
	Items           []Line // product, setup and proration lines only
	Coupons         []Coupon
	CouponContext   CouponContext
	TaxRules        []TaxRule
	Tax             TaxContext
	CreditAvailable Money // the customer's credit balance; the zero Money means none
}

// BuildInvoice prices an invoice in a fixed order: the items; then coupon discounts
// (ApplyCoupons); then tax (ComputeTax) on the taxable base after discounts, as tax lines;
// then account credit, as one negative credit line of min(credit available, total so far),
// so credit never makes the total negative and is not applied to a zero or negative total.
// It returns the invoice and the credit used (zero or positive), which the caller takes from
// the CreditLedger in the same transaction that saves the invoice.
//
// Example: USD 20.00 taxable product, 10% coupon, 20% VAT, USD 5.00 credit: discount -2.00,
// VAT 20% of 18.00 = 3.60, credit -5.00, total USD 16.60, credit used USD 5.00.
func BuildInvoice(in InvoiceInput) (Invoice, Money, error) {
	if _, err := CurrencyExponent(in.Currency); err != nil {
		return Invoice{}, Money{}, fmt.Errorf("build invoice: %w", err)
	}
	noCredit := Money{Currency: in.Currency}
	for i, l := range in.Items {
		switch l.Kind {
		case LineProduct, LineSetup, LineProration:
		default:
			return Invoice{}, noCredit, fmt.Errorf("build invoice: item %d (%q) has kind %q: %w", i, l.Description, l.Kind, ErrInvalidLine)
		}
		if l.Amount.Currency != in.Currency {
			return Invoice{}, noCredit, fmt.Errorf("build invoice: item %d (%q) is %s on a %s invoice: %w",
				i, l.Description, l.Amount, in.Currency, ErrCurrencyMismatch)
		}
		if l.Amount.IsNegative() && l.Kind != LineProration {
			return Invoice{}, noCredit, fmt.Errorf("build invoice: item %d (%q) is %s: %w", i, l.Description, l.Amount, ErrInvalidLine)
		}
	}
	inv := Invoice{Currency: in.Currency, Lines: append([]Line(nil), in.Items...)}

	discounts, err := ApplyCoupons(in.Items, in.Coupons, in.CouponContext)
	if err != nil {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: %w", err)
	}
	inv.Lines = append(inv.Lines, discounts...)

	base, err := inv.TaxableBase()
	if err != nil {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: %w", err)
	}
	tax, err := ComputeTax(base, in.TaxRules, in.Tax)
	if err != nil {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: %w", err)
	}
	for _, t := range tax.Lines {
		inv.Lines = append(inv.Lines, Line{Kind: LineTax, Description: t.Name + " " + FormatRate(t.RateMilliPercent), Amount: t.Amount})
	}
	if tax.ReverseCharge {
		inv.ReverseCharge = true
		inv.Notes = append(inv.Notes, tax.Note)
	}

	credit := in.CreditAvailable
	if credit == (Money{}) {
		credit = noCredit
	}
	if credit.Currency != in.Currency {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: credit %s on a %s invoice: %w", credit, in.Currency, ErrCurrencyMismatch)
	}
	if credit.IsNegative() {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: credit available %s: %w", credit, ErrInvalidAmount)
	}
	due, err := inv.Total()
	if err != nil {
		return Invoice{}, noCredit, fmt.Errorf("build invoice: %w", err)
	}
	used := Money{Amount: max(0, min(credit.Amount, due.Amount)), Currency: in.Currency}
	if used.IsPositive() {
		inv.Lines = append(inv.Lines, Line{Kind: LineCredit, Description: "Account credit applied", Amount: Money{Amount: -used.Amount, Currency: in.Currency}})
	}
	return inv, used, nil
}
