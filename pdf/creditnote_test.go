package pdf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

// downgradeNote credits EUR 12.00 net and EUR 2.52 VAT of INV-1042, EUR 10.00 of it to account credit.
func downgradeNote() store.CreditNote {
	return store.CreditNote{
		Number: "CN-1007", InvoiceNumber: "INV-1042", Currency: "EUR", Reason: billing.CreditNoteDowngrade,
		IssuedAt: time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC),
		Lines: []billing.Line{
			{Kind: billing.LineProration, Description: "VPS Large → VPS Small, 12 of 30 days unused", Amount: eur(1200)},
			{Kind: billing.LineTax, Description: "VAT 21%", Amount: eur(252)},
		},
		Subtotal: eur(1200), Tax: eur(252), Total: eur(1452), CreditAmount: eur(1000),
		Buyer: store.Buyer{Name: "Jürgen Müller", Company: "Müller Server GmbH", Address: []string{"Hauptstraße 5", "10115 Berlin"},
			Country: "DE", VATID: "DE123456789"},
	}
}

func renderCreditNote(t *testing.T, cn store.CreditNote) string {
	t.Helper()
	out, err := ForCreditNote(cn, seller(t))
	if err != nil {
		t.Fatalf("render credit note %s: %v", cn.Number, err)
	}
	path := filepath.Join(t.TempDir(), "credit-note.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return text(t, path, 0, 0)
}

func TestCreditNotePrintsTheInvoiceItCreditsBuyerLinesTaxAndTotal(t *testing.T) {
	got := renderCreditNote(t, downgradeNote())
	for _, w := range []string{
		"Credit note CN-1007", "Credits invoice INV-1042", "2024-06-20", "Plan downgrade", "ezScale Hosting B.V.", "NL123456789B01",
		"Jürgen Müller", "Müller Server GmbH", "Hauptstraße 5", "DE123456789", "12 of 30 days unused", "12.00",
		"VAT 21%", "EUR 2.52", "Total credited", "EUR 14.52", "To account credit", "EUR 10.00", "Refunded or deducted", "EUR 4.52",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("credit note text lacks %q:\n%s", w, got)
		}
	}
	for _, unwanted := range []string{"Reverse charge", "Amount due", "UNPAID"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("credit note prints %q:\n%s", unwanted, got)
		}
	}
}

func TestCreditNoteOfAReverseChargedInvoiceSaysSo(t *testing.T) {
	cn := downgradeNote()
	cn.ReverseCharge, cn.Lines, cn.Tax, cn.Total, cn.CreditAmount = true, cn.Lines[:1], eur(0), eur(1200), eur(1200)
	got := renderCreditNote(t, cn)
	if n := strings.Count(got, "Reverse charge"); n != 1 {
		t.Errorf("reverse-charge note printed %d times; want once:\n%s", n, got)
	}
	if strings.Contains(got, "Refunded or deducted") {
		t.Errorf("a note credited in full to the account prints a refunded part:\n%s", got)
	}
}

func TestInvoicePDFKeepsTheBuyerAsIssued(t *testing.T) {
	pdfTool(t, "pdftotext")
	s := storetest.New(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.NewUser{Email: "moved@example.com", Name: "Ada Lovelace", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	update := store.CustomerUpdate{ID: u.ID, Name: "Ada Lovelace", Email: "moved@example.com", VATID: "NL000099998B57",
		Profile: store.Profile{Company: "Old Harbour B.V.", Address1: "Keizersgracht 99", City: "Amsterdam", Postcode: "1015 CJ", Country: "NL"}}
	if err := s.UpdateCustomer(ctx, update); err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvoice(ctx, store.NewInvoice{CustomerID: u.ID, Currency: "EUR", DueAt: time.Now(), IdempotencyKey: "inv", CreatedBy: "test",
		Lines: []billing.Line{{Kind: billing.LineProduct, Description: "VPS", Amount: eur(1000)}}})
	if err != nil {
		t.Fatal(err)
	}
	update.VATID, update.Profile.Address1, update.Profile.City, update.Profile.Postcode = "NL111122223B01", "Prinsengracht 1", "Utrecht", "3511 AA"
	if err := s.UpdateCustomer(ctx, update); err != nil {
		t.Fatal(err)
	}
	out, err := ForInvoice(ctx, s, inv, seller(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	got := text(t, path, 0, 0)
	for _, w := range []string{"Keizersgracht 99", "1015 CJ Amsterdam", "NL000099998B57"} {
		if !strings.Contains(got, w) {
			t.Errorf("invoice issued before the customer moved lacks %q (the buyer as issued):\n%s", w, got)
		}
	}
	for _, w := range []string{"Prinsengracht", "Utrecht", "NL111122223B01"} {
		if strings.Contains(got, w) {
			t.Errorf("invoice issued before the customer moved prints the new %q:\n%s", w, got)
		}
	}
}
