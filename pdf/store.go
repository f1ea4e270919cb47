package pdf

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// Buyer is the customer as printed on an invoice: name, company, address and VAT id from the store.
func Buyer(ctx context.Context, st *store.Store, customerID int64) (Party, error) {
	u, err := st.UserByID(ctx, customerID)
	if err != nil {
		return Party{}, err
	}
	b := Party{Name: u.Name}
	p, err := st.ProfileByUser(ctx, customerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return b, nil
	case err != nil:
		return Party{}, err
	}
	b.Company, b.Country = p.Company, p.Country
	for _, l := range []string{p.Address1, p.Address2, strings.TrimSpace(strings.Join([]string{p.Postcode, p.City}, " ")), p.State} {
		if l = strings.TrimSpace(l); l != "" {
			b.Address = append(b.Address, l)
		}
	}
	if bp, err := st.BillingProfileOf(ctx, customerID); err == nil {
		b.TaxID = bp.VATID
	}
	return b, nil
}

// ForInvoice renders a stored invoice for its customer.
func ForInvoice(ctx context.Context, st *store.Store, inv store.Invoice, seller Party) ([]byte, error) {
	buyer, err := Buyer(ctx, st, inv.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("invoice %s buyer: %w", inv.Number, err)
	}
	return Invoice(FromStore(inv, seller, buyer))
}
