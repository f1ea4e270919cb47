package web

import "time"

// CreditNoteRow is one credit note as listed and as the head of its page. Money is
// preformatted by the handler.
type CreditNoteRow struct {
	ID            int64
	Number        string
	InvoiceID     int64
	InvoiceNumber string
	Customer      string // admin pages only
	CustomerEmail string // admin pages only
	CustomerID    int64
	Reason        string // as people read it, e.g. "Invoice cancelled"
	IssuedAt      time.Time
	Total         string
	CreditAmount  string // the part given as account credit
}

// CreditNoteDetail is a credit note's page: its lines, figures and the buyer it names.
type CreditNoteDetail struct {
	CreditNote    CreditNoteRow
	Lines         []InvoiceLineRow
	Totals        []InvoiceTotalRow
	Buyer         []string // name, company, address lines, country, VAT id; empty ones left out
	ReverseCharge bool
}

// AccountCreditNotes is the view of "account_credit_notes": the customer's credit notes, newest first.
type AccountCreditNotes struct{ CreditNotes []CreditNoteRow }

// AccountCreditNote is the view of "account_credit_note".
type AccountCreditNote struct{ CreditNoteDetail }

// AdminCreditNotes is the view of "admin_credit_notes"; CustomerID narrows it to one customer (0: all).
type AdminCreditNotes struct {
	CustomerID  int64
	CreditNotes []CreditNoteRow
}

// AdminCreditNote is the view of "admin_credit_note".
type AdminCreditNote struct{ CreditNoteDetail }
