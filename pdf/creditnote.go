package pdf

import (
	"fmt"
	"time"

	"github.com/ezscale/billing/billing"
)

// CreditNoteDoc is everything printed on a credit note: the invoice content an amending
// document must carry (Council Directive 2006/112/EC, articles 219 and 226) and the number of
// the invoice it credits. Figures are passed in, not recomputed.
type CreditNoteDoc struct {
	Number        string
	InvoiceNumber string // the invoice it credits
	IssuedAt      time.Time
	Reason        string // the reason as people read it
	Seller        Party
	Buyer         Party // as on the credit note when it was issued
	Currency      string
	Lines         []DocLine // what is credited; taxes go in the totals
	Subtotal      billing.Money
	Taxes         []DocTax
	Total         billing.Money
	CreditAmount  billing.Money // the part given as account credit
	ReverseCharge bool          // the credited invoice was reverse charged
}

// CreditNote renders d as a PDF in the invoices' layout, titled "Credit note".
func CreditNote(d CreditNoteDoc) ([]byte, error) {
	return renderDocument(d.document())
}

func (d CreditNoteDoc) document() document {
	rows := []totalRow{{label: "Subtotal", amount: d.Subtotal}}
	for _, t := range d.Taxes {
		rows = append(rows, totalRow{label: t.Label, amount: t.Amount})
	}
	rows = append(rows, totalRow{label: "Total credited", amount: d.Total, strong: true, rule: true},
		totalRow{label: "To account credit", amount: d.CreditAmount})
	if rest, err := d.Total.Sub(d.CreditAmount); err == nil && rest.IsPositive() {
		rows = append(rows, totalRow{label: "Refunded or deducted", amount: rest})
	}
	meta := [][2]string{{"Credit note number", d.Number}, {"Issue date", date(d.IssuedAt)}, {"Credits invoice", d.InvoiceNumber}}
	if d.Reason != "" {
		meta = append(meta, [2]string{"Reason", d.Reason})
	}
	return document{
		title: "Credit note", number: d.Number, issuedAt: d.IssuedAt, meta: meta, seller: d.Seller, buyer: d.Buyer,
		currency: d.Currency, intro: fmt.Sprintf("Credits invoice %s", d.InvoiceNumber), lines: d.Lines, totals: rows,
		reverse: d.ReverseCharge,
	}
}
