package pdf

import (
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// FromStore builds the document for a stored invoice. Tax lines become the totals' tax rows
// (their descriptions already name the tax and rate, e.g. "VAT 21%"); credit lines are
// summed in Totals.Credit; every other line goes in the lines table.
func FromStore(inv store.Invoice, seller Party, buyer Party) InvoiceDoc {
	t := inv.Totals
	d := InvoiceDoc{
		Number: inv.Number, Status: inv.Status, DueAt: inv.DueAt,
		Seller: seller, Buyer: buyer, Currency: inv.Currency,
		Subtotal: t.Subtotal, Discount: t.Discount, Credit: t.Credit, Total: t.Total,
		Paid: t.Paid, Refunded: t.Refunded, Due: t.Due,
		ReverseCharge: inv.ReverseCharge, Notes: inv.Notes,
	}
	if inv.IssuedAt.Valid {
		d.IssuedAt = inv.IssuedAt.Time
	}
	for _, l := range inv.Lines {
		switch l.Kind {
		case billing.LineTax:
			d.Taxes = append(d.Taxes, DocTax{Label: l.Description, Amount: l.Amount})
		case billing.LineCredit:
		default:
			d.Lines = append(d.Lines, DocLine{Description: l.Description, Kind: l.Kind, Amount: l.Amount})
		}
	}
	return d
}
