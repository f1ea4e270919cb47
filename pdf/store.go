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

// PartyOf is a buyer recorded on an invoice or credit note, as printed.
func PartyOf(b store.Buyer) Party {
	return Party{Name: b.Name, Company: b.Company, Address: b.Address, Country: b.Country, TaxID: b.VATID}
}

// ForInvoice renders a stored invoice for its customer, naming the buyer as the invoice recorded
// them when it was issued; invoices issued before buyers were recorded name the current profile.
func ForInvoice(ctx context.Context, st *store.Store, inv store.Invoice, seller Party) ([]byte, error) {
	var buyer Party
	if inv.Buyer != nil {
		buyer = PartyOf(*inv.Buyer)
	} else {
		var err error
		if buyer, err = Buyer(ctx, st, inv.CustomerID); err != nil {
			return nil, fmt.Errorf("invoice %s buyer: %w", inv.Number, err)
		}
	}
	return Invoice(FromStore(inv, seller, buyer))
}

// FromCreditNote builds the document for a stored credit note: tax lines become the totals' tax
// rows, every other line goes in the lines table.
func FromCreditNote(cn store.CreditNote, seller Party) CreditNoteDoc {
	d := CreditNoteDoc{
		Number: cn.Number, InvoiceNumber: cn.InvoiceNumber, IssuedAt: cn.IssuedAt, Reason: cn.Reason.Label(),
		Seller: seller, Buyer: PartyOf(cn.Buyer), Currency: cn.Currency,
		Subtotal: cn.Subtotal, Total: cn.Total, CreditAmount: cn.CreditAmount, ReverseCharge: cn.ReverseCharge,
	}
	for _, l := range cn.Lines {
		if l.Kind == billing.LineTax {
			d.Taxes = append(d.Taxes, DocTax{Label: l.Description, Amount: l.Amount})
			continue
		}
		d.Lines = append(d.Lines, DocLine{Description: l.Description, Kind: l.Kind, Amount: l.Amount})
	}
	return d
}

// ForCreditNote renders a stored credit note.
func ForCreditNote(cn store.CreditNote, seller Party) ([]byte, error) {
	return CreditNote(FromCreditNote(cn, seller))
}
