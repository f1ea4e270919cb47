package billing

import (
	"fmt"
)

// CreditNoteReason is why a credit note was issued.
type CreditNoteReason string

// The credit note reasons.
const (
	CreditNoteDowngrade        CreditNoteReason = "downgrade"         // unused time of a plan moved down
	CreditNoteInvoiceCancelled CreditNoteReason = "invoice_cancelled" // an unpaid invoice withdrawn; credit applied to it returned
	CreditNoteRefundToCredit   CreditNoteReason = "refund_to_credit"  // a payment returned as account credit
	CreditNoteOverpayment      CreditNoteReason = "overpayment"       // more was paid than the invoice asked
	CreditNoteManual           CreditNoteReason = "manual"            // issued by staff
)

// CreditNoteReasons lists every reason, in the order forms offer them.
var CreditNoteReasons = []CreditNoteReason{
	CreditNoteDowngrade, CreditNoteInvoiceCancelled, CreditNoteRefundToCredit, CreditNoteOverpayment, CreditNoteManual,
}

// Valid reports whether r is one of the reasons above.
func (r CreditNoteReason) Valid() bool {
	for _, k := range CreditNoteReasons {
		if r == k {
			return true
		}
	}
	return false
}

// Label is the reason as people read it.
func (r CreditNoteReason) Label() string {
	switch r {
	case CreditNoteDowngrade:
		return "Plan downgrade"
	case CreditNoteInvoiceCancelled:
		return "Invoice cancelled"
	case CreditNoteRefundToCredit:
		return "Refund to account credit"
	case CreditNoteOverpayment:
		return "Overpayment"
	case CreditNoteManual:
		return "Manual"
	}
	return string(r)
}

// CreditNoteKind is the credit ledger kind of credit given by a credit note (positive).
const CreditNoteKind CreditKind = "credit_note"

// CreditNoteTax is the tax a credit note returns when it credits net of the invoice's taxable
// base, after earlier credit notes already credited creditedNet and, per tax line of the
// invoice in order, creditedTax (nil: nothing yet). It returns one positive tax line per
// invoice tax line that has tax left to return, with that line's description.
//
// Each tax line's share is net × tax ÷ base rounded half up, where tax ÷ base is the rate the
// invoice actually charged (the rule's rate up to the invoice's own rounding; compound levels
// included). The share is capped at what is left of that tax line, and the note that credits the
// last of the base returns exactly what is left, so the credit notes on one invoice always sum
// to its tax, never a cent more or less (docs/ledger.md, "Tax on a partial credit").
//
// Example: base EUR 19.99 with VAT 21% EUR 4.20; crediting EUR 10.00 returns 10.00 × 4.20 ÷
// 19.99 = 2.101 → EUR 2.10; crediting the remaining EUR 9.99 afterwards returns EUR 2.10, the rest.
//
// An invoice without tax lines (tax-exempt or reverse charge) returns no lines. net must be
// zero or positive and, with creditedNet, not exceed the base (ErrInvalidAmount); amounts in
// another currency give ErrCurrencyMismatch.
func CreditNoteTax(inv Invoice, net, creditedNet Money, creditedTax []Money) ([]Line, error) {
	for _, m := range []Money{net, creditedNet} {
		if m.Currency != inv.Currency {
			return nil, fmt.Errorf("credit note tax: %s on a %s invoice: %w", m, inv.Currency, ErrCurrencyMismatch)
		}
		if m.IsNegative() {
			return nil, fmt.Errorf("credit note tax: net %s: %w", m, ErrInvalidAmount)
		}
	}
	var taxes []Line
	for _, l := range inv.Lines {
		if l.Kind == LineTax {
			taxes = append(taxes, l)
		}
	}
	if len(taxes) == 0 {
		return nil, nil
	}
	if creditedTax != nil && len(creditedTax) != len(taxes) {
		return nil, fmt.Errorf("credit note tax: %d credited amounts for %d tax lines: %w", len(creditedTax), len(taxes), ErrInvalidAmount)
	}
	base, err := inv.TaxableBase()
	if err != nil {
		return nil, fmt.Errorf("credit note tax: %w", err)
	}
	after, err := creditedNet.Add(net)
	if err != nil {
		return nil, fmt.Errorf("credit note tax: %w", err)
	}
	if !base.IsPositive() || after.Amount > base.Amount {
		return nil, fmt.Errorf("credit note tax: crediting %s after %s of a taxable base of %s: %w", net, creditedNet, base, ErrInvalidAmount)
	}
	exhausts := after.Amount == base.Amount
	var out []Line
	for i, t := range taxes {
		done := Money{Currency: inv.Currency}
		if creditedTax != nil {
			done = creditedTax[i]
			if done.Currency != inv.Currency {
				return nil, fmt.Errorf("credit note tax: %s credited on a %s invoice: %w", done, inv.Currency, ErrCurrencyMismatch)
			}
		}
		left, err := t.Amount.Sub(done)
		if err != nil {
			return nil, fmt.Errorf("credit note tax %q: %w", t.Description, err)
		}
		if left.IsNegative() {
			return nil, fmt.Errorf("credit note tax %q: %s credited of %s: %w", t.Description, done, t.Amount, ErrInvalidAmount)
		}
		share := left
		if !exhausts {
			// Positive operands: MulRatio's half away from zero is half up.
			if share, err = net.MulRatio(t.Amount.Amount, base.Amount); err != nil {
				return nil, fmt.Errorf("credit note tax %q: %w", t.Description, err)
			}
			share.Amount = min(share.Amount, left.Amount)
		}
		if share.IsPositive() {
			out = append(out, Line{Kind: LineTax, Description: t.Description, Amount: share})
		}
	}
	return out, nil
}
