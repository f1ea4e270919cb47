package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

// downgradeNote credits net of the USD 21.60 newInvoice (18.00 taxable, 3.60 VAT) with its tax
// share, all to account credit.
func downgradeNote(customerID, invoiceID int64, key string, net, tax int64) store.NewCreditNote {
	lines := []billing.Line{{Kind: billing.LineProduct, Description: "VPS 1, unused days", Amount: usd(net), Taxable: true}}
	if tax > 0 {
		lines = append(lines, billing.Line{Kind: billing.LineTax, Description: "VAT 20%", Amount: usd(tax)})
	}
	return store.NewCreditNote{CustomerID: customerID, InvoiceID: invoiceID, Currency: "USD", Reason: billing.CreditNoteDowngrade,
		Lines: lines, CreditAmount: usd(net + tax), IdempotencyKey: key, CreatedBy: "test"}
}

func TestCreditNoteIsNumberedInItsOwnSeriesAndCreditsTheAccountOnce(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cn@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "inv-1"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "cn-1", 600, 120))
	if err != nil {
		t.Fatal(err)
	}
	if first.Number != "CN-1001" || first.InvoiceNumber != inv.Number || first.Total != usd(720) || first.Tax != usd(120) ||
		first.Subtotal != usd(600) || first.CreditAmount != usd(720) || len(first.Lines) != 2 || first.Buyer.Name != "Ada Lovelace" {
		t.Fatalf("credit note = %+v; want CN-1001 on %s, total USD 7.20 (6.00 + 1.20 tax), all credited, 2 lines, buyer Ada", first, inv.Number)
	}
	again, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "cn-1", 600, 120))
	if err != nil || again.ID != first.ID {
		t.Fatalf("retried note = %+v, %v; want the first note %d", again, err, first.ID)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(720) {
		t.Fatalf("balance after a note and its retry = %s; want USD 7.20 (credited once)", bal)
	}
	entries, _ := s.CreditEntries(ctx, u.ID, "USD")
	if len(entries) != 1 || entries[0].Kind != billing.CreditNoteKind || entries[0].CreditNoteID.Int64 != first.ID || entries[0].InvoiceID.Int64 != inv.ID {
		t.Fatalf("ledger = %+v; want one credit_note entry pointing at note %d and invoice %d", entries, first.ID, inv.ID)
	}
	if next, _ := s.CreateInvoice(ctx, newInvoice(u.ID, "inv-2")); next.Number != "INV-1002" {
		t.Fatalf("next invoice = %s; want INV-1002 (credit notes take no invoice number)", next.Number)
	}
	second, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "cn-2", 100, 20))
	if err != nil || second.Number != "CN-1002" {
		t.Fatalf("second note = %s, %v; want CN-1002", second.Number, err)
	}
	list, err := s.CreditNotes(ctx, store.CreditNoteFilter{InvoiceID: inv.ID})
	if err != nil || len(list) != 2 || list[0].ID != second.ID {
		t.Fatalf("notes of %s = %d, %v; want 2, newest first", inv.Number, len(list), err)
	}
}

func TestCreditNotesCannotExceedWhatWasInvoiced(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cn-cap@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "inv")) // USD 21.60
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "a", 1500, 300)); err != nil { // 18.00
		t.Fatal(err)
	}
	if _, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "b", 300, 61)); !errors.Is(err, store.ErrInvalid) { // 3.61 > 3.60 left
		t.Fatalf("note of USD 3.61 with USD 3.60 left: err = %v; want ErrInvalid", err)
	}
	if _, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "c", 300, 60)); err != nil { // exactly what is left
		t.Fatalf("note of the USD 3.60 left: %v", err)
	}
	tooMuchCredit := downgradeNote(u.ID, inv.ID, "d", 1, 0)
	tooMuchCredit.CreditAmount = usd(2)
	if _, err := s.IssueCreditNote(ctx, tooMuchCredit); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("credit amount above the note's total: err = %v; want ErrInvalid", err)
	}
	other := newCustomer(t, s, "cn-other@example.com")
	if _, err := s.IssueCreditNote(ctx, downgradeNote(other.ID, inv.ID, "e", 1, 0)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("note for another customer's invoice: err = %v; want ErrInvalid", err)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(2160) {
		t.Fatalf("balance = %s; want USD 21.60, the two notes issued", bal)
	}
}

func TestCustomerCreditNoteIsNotFoundForAnotherCustomer(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "mine@example.com")
	other := newCustomer(t, s, "theirs@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "inv"))
	if err != nil {
		t.Fatal(err)
	}
	cn, err := s.IssueCreditNote(ctx, downgradeNote(u.ID, inv.ID, "k", 100, 20))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CustomerCreditNote(ctx, u.ID, cn.ID); err != nil || got.Number != cn.Number {
		t.Fatalf("owner loading %s: %+v, %v", cn.Number, got, err)
	}
	if _, err := s.CustomerCreditNote(ctx, other.ID, cn.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another customer loading %s: err = %v; want ErrNotFound", cn.Number, err)
	}
	if list, _ := s.CreditNotes(ctx, store.CreditNoteFilter{CustomerID: other.ID}); len(list) != 0 {
		t.Fatalf("another customer's list has %d notes; want 0", len(list))
	}
}

// creditedInvoice gives the customer USD 5.00 credit and issues newInvoice with USD 3.00 of it
// applied: total USD 18.60, balance left USD 2.00.
func creditedInvoice(t *testing.T, s *store.Store, customerID int64, key string) store.Invoice {
	t.Helper()
	ctx := context.Background()
	if _, err := s.AddCredit(ctx, store.CreditChange{CustomerID: customerID, Amount: usd(500), CreatedBy: "t", IdempotencyKey: "gift:" + key}); err != nil {
		t.Fatal(err)
	}
	in := newInvoice(customerID, key)
	in.Lines = append(in.Lines, billing.Line{Kind: billing.LineCredit, Description: "Account credit applied", Amount: usd(-300)})
	in.CreditUsed = usd(300)
	inv, err := s.CreateInvoice(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if bal, _ := s.CreditBalance(ctx, customerID, "USD"); bal != usd(200) {
		t.Fatalf("balance after the invoice took USD 3.00 of 5.00 = %s; want USD 2.00", bal)
	}
	return inv
}

func TestCancellingAnInvoiceReturnsTheCreditAppliedOnce(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cancel-credit@example.com")
	inv := creditedInvoice(t, s, u.ID, "inv")
	for range 2 {
		if err := s.CancelInvoice(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(500) {
		t.Fatalf("balance after cancelling twice = %s; want USD 5.00 (the USD 3.00 applied returned once)", bal)
	}
	notes, err := s.CreditNotes(ctx, store.CreditNoteFilter{InvoiceID: inv.ID})
	if err != nil || len(notes) != 1 {
		t.Fatalf("credit notes of the cancelled invoice = %d, %v; want 1", len(notes), err)
	}
	n := notes[0]
	want := "Account credit applied to " + inv.Number + " returned"
	if n.Reason != billing.CreditNoteInvoiceCancelled || n.Total != usd(300) || n.CreditAmount != usd(300) ||
		len(n.Lines) != 1 || n.Lines[0].Description != want {
		t.Fatalf("credit note = %+v; want invoice_cancelled, USD 3.00 to credit, one line %q", n, want)
	}
}

func TestConcurrentCancelsReturnTheCreditAppliedOnce(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cancel-race@example.com")
	inv := creditedInvoice(t, s, u.ID, "inv")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.CancelInvoice(ctx, inv.ID) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(500) {
		t.Fatalf("balance after 8 concurrent cancels = %s; want USD 5.00 (returned once)", bal)
	}
	if notes, _ := s.CreditNotes(ctx, store.CreditNoteFilter{CustomerID: u.ID}); len(notes) != 1 {
		t.Fatalf("%d credit notes after 8 concurrent cancels; want 1", len(notes))
	}
}

func TestCancellingAnInvoiceWithoutCreditLeavesTheBalanceAlone(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cancel-plain@example.com")
	if _, err := s.AddCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(500), CreatedBy: "t", IdempotencyKey: "gift"}); err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "inv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CancelInvoice(ctx, inv.ID); err != nil {
		t.Fatal(err)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(500) {
		t.Fatalf("balance after cancelling an invoice that applied no credit = %s; want USD 5.00", bal)
	}
	if notes, _ := s.CreditNotes(ctx, store.CreditNoteFilter{CustomerID: u.ID}); len(notes) != 0 {
		t.Fatalf("%d credit notes for an invoice without credit; want 0", len(notes))
	}
}

func TestInvoiceKeepsTheBuyerAsIssued(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "moved@example.com")
	update := store.CustomerUpdate{ID: u.ID, Name: "Ada Lovelace", Email: "moved@example.com", VATID: "GB123456789",
		Profile: store.Profile{Company: "Analytical Engines Ltd", Address1: "12 St James's Square", City: "London", Postcode: "SW1Y 4JH", Country: "GB"}}
	if err := s.UpdateCustomer(ctx, update); err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "inv"))
	if err != nil {
		t.Fatal(err)
	}
	update.VATID, update.Profile.Address1, update.Profile.City, update.Profile.Postcode, update.Profile.Country = "DE987654321", "Hauptstraße 5", "Berlin", "10115", "DE"
	if err := s.UpdateCustomer(ctx, update); err != nil {
		t.Fatal(err)
	}
	got, err := s.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(store.Buyer{Name: "Ada Lovelace", Company: "Analytical Engines Ltd", Address: []string{"12 St James's Square", "SW1Y 4JH London"}, Country: "GB", VATID: "GB123456789"})
	if got.Buyer == nil || fmt.Sprint(*got.Buyer) != want {
		t.Fatalf("invoice buyer after the customer moved = %+v; want the buyer as issued %s", got.Buyer, want)
	}
}
