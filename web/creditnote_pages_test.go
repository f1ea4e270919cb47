package web

import (
	"strings"
	"testing"
)

var sampleCreditNote = CreditNoteRow{ID: 4, Number: "CN-1004", InvoiceID: 12, InvoiceNumber: "INV-1012", Customer: "Ana Lima",
	CustomerEmail: "ana@example.com", CustomerID: 3, Reason: "Invoice cancelled", IssuedAt: at, Total: "USD 3.00", CreditAmount: "USD 3.00"}

var sampleCreditNoteDetail = CreditNoteDetail{CreditNote: sampleCreditNote,
	Lines:  []InvoiceLineRow{{Kind: "credit", Description: "Account credit applied to INV-1012 returned", Amount: "USD 3.00"}},
	Totals: []InvoiceTotalRow{{Label: "Total credited", Amount: "USD 3.00", Strong: true}},
	Buyer:  []string{"Ana Lima", "Lima Hosting Lda", "Rua Augusta 1", "PT", "VAT ID: PT123456789"}, ReverseCharge: true}

func init() {
	sampleData["account_credit_notes"] = AccountCreditNotes{CreditNotes: []CreditNoteRow{sampleCreditNote}}
	sampleData["account_credit_note"] = AccountCreditNote{sampleCreditNoteDetail}
	sampleData["admin_credit_notes"] = AdminCreditNotes{CustomerID: 3, CreditNotes: []CreditNoteRow{sampleCreditNote}}
	sampleData["admin_credit_note"] = AdminCreditNote{sampleCreditNoteDetail}
	emptyData["account_credit_notes"] = AccountCreditNotes{}
	emptyData["admin_credit_notes"] = AdminCreditNotes{}
	emptyData["account_credit_note"] = AccountCreditNote{}
	emptyData["admin_credit_note"] = AdminCreditNote{}
}

func TestInvoicePagesListTheirCreditNotes(t *testing.T) {
	r := newRenderer(t)
	for name, want := range map[string]string{"account_invoice": `href="/account/credit-notes/4"`, "admin_invoice": `href="/admin/credit-notes/4"`} {
		var data any
		switch name {
		case "account_invoice":
			v := sampleData[name].(AccountInvoice)
			v.CreditNotes = []CreditNoteRow{sampleCreditNote}
			data = v
		case "admin_invoice":
			v := sampleData[name].(AdminInvoice)
			v.CreditNotes = []CreditNoteRow{sampleCreditNote}
			data = v
		}
		out := render(t, r, name, pageFor(name, viewers["admin"], data))
		if !strings.Contains(out, want) || !strings.Contains(out, "CN-1004") {
			t.Errorf("%s with a credit note: link %s to CN-1004 missing", name, want)
		}
	}
}

func TestCreditNotePageShowsTheInvoiceItCreditsAndTheBuyer(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "account_credit_note", pageFor("account_credit_note", viewers["customer"], sampleData["account_credit_note"]))
	for _, w := range []string{"CN-1004", `href="/account/invoices/12"`, "INV-1012", "Rua Augusta 1", "VAT ID: PT123456789",
		"Account credit applied to INV-1012 returned", "Reverse charge", `href="/account/credit-notes/4/pdf"`} {
		if !strings.Contains(out, w) {
			t.Errorf("account credit note page lacks %q", w)
		}
	}
}
