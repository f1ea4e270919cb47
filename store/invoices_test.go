package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func usd(amount int64) billing.Money { return billing.Money{Amount: amount, Currency: "USD"} }

// newInvoice is a USD 20.00 product less a 2.00 discount plus 3.60 tax: total USD 21.60.
func newInvoice(customerID int64, key string) store.NewInvoice {
	return store.NewInvoice{
		CustomerID: customerID,
		Currency:   "USD",
		Lines: []billing.Line{
			{Kind: billing.LineProduct, Description: "VPS 1", Amount: usd(2000), Taxable: true},
			{Kind: billing.LineDiscount, Description: "Coupon TEN", Amount: usd(-200), Taxable: true, CouponCode: "TEN"},
			{Kind: billing.LineTax, Description: "VAT 20%", Amount: usd(360)},
		},
		DueAt:          time.Now().Add(7 * 24 * time.Hour),
		IdempotencyKey: key,
		CreatedBy:      "test:" + key,
	}
}

func TestConcurrentInvoiceCreationNumbersWithoutGaps(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "seq@example.com")
	const n = 20
	numbers := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, fmt.Sprintf("order-%d", i)))
			numbers[i], errs[i] = inv.Number, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("creation %d: %v", i, err)
		}
	}
	sort.Slice(numbers, func(a, b int) bool { return numbers[a] < numbers[b] }) // same width: lexical = numeric
	for i, got := range numbers {
		if want := fmt.Sprintf("INV-%d", 1001+i); got != want {
			t.Fatalf("sorted numbers = %v; position %d is %s, want %s (gap or duplicate)", numbers, i, got, want)
		}
	}
}

func TestRetriedInvoiceCreationReturnsTheFirstInvoice(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "idem@example.com")
	first, err := s.CreateInvoice(ctx, newInvoice(u.ID, "wf-1/invoice/1"))
	if err != nil {
		t.Fatal(err)
	}
	retry := newInvoice(u.ID, "wf-1/invoice/1")
	retry.Lines = retry.Lines[:1] // a retry cannot change what was invoiced
	again, err := s.CreateInvoice(ctx, retry)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Number != first.Number || len(again.Lines) != 3 || again.Totals.Total != usd(2160) {
		t.Fatalf("retry gave %s (id %d, %d lines, total %s); want %s (id %d, 3 lines, USD 21.60)",
			again.Number, again.ID, len(again.Lines), again.Totals.Total, first.Number, first.ID)
	}
	next, err := s.CreateInvoice(ctx, newInvoice(u.ID, "wf-1/invoice/2"))
	if err != nil {
		t.Fatal(err)
	}
	if next.Number != "INV-1002" {
		t.Fatalf("next invoice after a retry is %s; want INV-1002 (the retry must not consume a number)", next.Number)
	}
	other := newCustomer(t, s, "other@example.com")
	if _, err := s.CreateInvoice(ctx, newInvoice(other.ID, "wf-1/invoice/1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("another customer reusing the key: err = %v; want ErrConflict", err)
	}
}

func TestInvoiceTotalsAreDerivedFromLines(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "totals@example.com")
	created, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.Invoice(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.InvoiceTotals{Subtotal: usd(2000), Discount: usd(-200), Tax: usd(360), Credit: usd(0), Total: usd(2160), Paid: usd(0), Refunded: usd(0), Due: usd(2160)}
	if inv.Totals != want || inv.Status != billing.StatusUnpaid || !inv.IssuedAt.Valid || inv.CreatedBy != "test:k" {
		t.Fatalf("invoice = status %s issued %v totals %+v; want unpaid, issued, %+v", inv.Status, inv.IssuedAt.Valid, inv.Totals, want)
	}
	if inv.Lines[1].CouponCode != "TEN" || !inv.Lines[1].Taxable || inv.Lines[2].Kind != billing.LineTax {
		t.Fatalf("lines did not round-trip: %+v", inv.Lines)
	}
	list, err := s.Invoices(ctx, store.InvoiceFilter{CustomerID: u.ID, Status: billing.StatusUnpaid})
	if err != nil || len(list) != 1 || list[0].Totals != want {
		t.Fatalf("Invoices = %+v, %v; want the one invoice with totals %+v", list, err, want)
	}
	if list, _ := s.Invoices(ctx, store.InvoiceFilter{Status: billing.StatusPaid}); len(list) != 0 {
		t.Fatalf("paid invoices = %d; want 0", len(list))
	}
}

func TestAnotherCustomersInvoiceIsNotFound(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	owner, other := newCustomer(t, s, "owner@example.com"), newCustomer(t, s, "nosy@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(owner.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerInvoice(ctx, other.ID, inv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("customer %d reading customer %d's invoice: err = %v; want ErrNotFound", other.ID, owner.ID, err)
	}
	if got, err := s.CustomerInvoice(ctx, owner.ID, inv.ID); err != nil || got.Number != inv.Number {
		t.Fatalf("owner reading own invoice = %s, %v", got.Number, err)
	}
}

func TestFailedInvoiceCreationLeavesNothingAndConsumesNoNumber(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	if _, err := s.CreateInvoice(ctx, newInvoice(987654, "ghost")); err == nil {
		t.Fatal("invoice for an unknown customer was created")
	}
	bad := newInvoice(987654, "bad-product")
	bad.Lines[0].ProductID = 424242
	u := newCustomer(t, s, "after@example.com")
	bad.CustomerID = u.ID
	if _, err := s.CreateInvoice(ctx, bad); err == nil {
		t.Fatal("invoice with a line for an unknown product was created")
	}
	if list, _ := s.Invoices(ctx, store.InvoiceFilter{}); len(list) != 0 {
		t.Fatalf("failed creations left %d invoice(s)", len(list))
	}
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "real"))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Number != "INV-1001" {
		t.Fatalf("first successful invoice is %s; want INV-1001 (failed creations consumed numbers)", inv.Number)
	}
	mixed := newInvoice(u.ID, "eur-line")
	mixed.Lines[0].Amount.Currency = "EUR"
	if _, err := s.CreateInvoice(ctx, mixed); !errors.Is(err, billing.ErrCurrencyMismatch) {
		t.Fatalf("EUR line on a USD invoice: err = %v; want ErrCurrencyMismatch", err)
	}
}

func TestPaymentIsRecordedOnceAndMarksTheInvoicePaid(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "pay@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_eur", Amount: billing.Money{Amount: 2160, Currency: "EUR"}, CreatedBy: "t"}); !errors.Is(err, billing.ErrCurrencyMismatch) {
		t.Fatalf("EUR payment on a USD invoice: err = %v; want ErrCurrencyMismatch", err)
	}
	part, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(1000), CreatedBy: "webhook:evt_1"})
	if err != nil {
		t.Fatal(err)
	}
	if part.AlreadyRecorded || part.Status != billing.StatusUnpaid {
		t.Fatalf("USD 10.00 of 21.60: %+v; want a new payment, invoice unpaid", part)
	}
	// The same webhook delivered twice, concurrently.
	var wg sync.WaitGroup
	results := make([]store.PaymentResult, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_2", Amount: usd(1160), CreatedBy: "webhook:evt_2"})
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("duplicate delivery errors: %v, %v", errs[0], errs[1])
	}
	if results[0].AlreadyRecorded == results[1].AlreadyRecorded || results[0].Payment.ID != results[1].Payment.ID {
		t.Fatalf("duplicate deliveries = %+v and %+v; want one new and one AlreadyRecorded of the same payment", results[0], results[1])
	}
	got, err := s.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != billing.StatusPaid || !got.Paid() || got.Totals.Paid != usd(2160) || !got.Totals.Due.IsZero() {
		t.Fatalf("after USD 10.00 + 11.60 (second delivered twice): status %s paid_at %v paid %s due %s; want paid, USD 21.60, 0",
			got.Status, got.PaidAt.Valid, got.Totals.Paid, got.Totals.Due)
	}
	other, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPayment(ctx, store.Payment{InvoiceID: other.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(1000), CreatedBy: "t"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("transaction pi_1 replayed on another invoice: err = %v; want ErrConflict", err)
	}
}

func TestRefundsAreBoundedByWhatWasPaid(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "refund@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(2160), CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	refund := func(id string, amount int64) (store.RefundResult, error) {
		return s.RecordRefund(ctx, store.Refund{PaymentID: pay.Payment.ID, GatewayRefundID: id, Amount: usd(amount), Reason: "goodwill", CreatedBy: "admin:1"})
	}
	if _, err := refund("re_big", 2161); !errors.Is(err, billing.ErrRefundExceedsPaid) {
		t.Fatalf("refund of USD 21.61 on 21.60 paid: err = %v; want ErrRefundExceedsPaid", err)
	}
	r1, err := refund("re_1", 1000)
	if err != nil || r1.Status != billing.StatusPartiallyRefunded {
		t.Fatalf("refund USD 10.00 of 21.60 = %+v, %v; want partially_refunded", r1, err)
	}
	again, err := refund("re_1", 1000)
	if err != nil || !again.AlreadyRecorded || again.Refund.ID != r1.Refund.ID {
		t.Fatalf("re_1 again = %+v, %v; want AlreadyRecorded", again, err)
	}
	if _, err := refund("re_2", 1161); !errors.Is(err, billing.ErrRefundExceedsPaid) {
		t.Fatalf("refund USD 11.61 with 11.60 left: err = %v; want ErrRefundExceedsPaid", err)
	}
	r2, err := refund("re_2", 1160)
	if err != nil || r2.Status != billing.StatusRefunded {
		t.Fatalf("refund the remaining USD 11.60 = %+v, %v; want refunded", r2, err)
	}
	got, _ := s.Invoice(ctx, inv.ID)
	if got.Status != billing.StatusRefunded || got.Totals.Refunded != usd(2160) || got.Totals.Paid != usd(2160) {
		t.Fatalf("invoice after full refund: status %s paid %s refunded %s", got.Status, got.Totals.Paid, got.Totals.Refunded)
	}
	if err := s.CancelInvoice(ctx, inv.ID); !errors.Is(err, store.ErrInvoiceState) {
		t.Fatalf("cancelling a refunded invoice: err = %v; want ErrInvoiceState", err)
	}
}

func TestCancelledInvoiceKeepsItsNumberAndLateMoneyIsOverpaid(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "cancel@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CancelInvoice(ctx, inv.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelInvoice(ctx, inv.ID); err != nil {
		t.Fatalf("cancelling twice: %v", err)
	}
	got, _ := s.Invoice(ctx, inv.ID)
	if got.Status != billing.StatusCancelled || !got.CancelledAt.Valid || got.Number != inv.Number {
		t.Fatalf("cancelled invoice = %s %v %s", got.Status, got.CancelledAt.Valid, got.Number)
	}
	// Money that still arrives for a withdrawn invoice (a page left open) is recorded so it can
	// be returned: all of it is overpaid and the invoice stays cancelled.
	res, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(2160), CreatedBy: "t"})
	if err != nil || res.Overpaid != usd(2160) || res.Status != billing.StatusCancelled {
		t.Fatalf("paying a cancelled invoice = overpaid %s, status %s, %v; want all USD 21.60 overpaid, still cancelled", res.Overpaid, res.Status, err)
	}
	draft := newInvoice(u.ID, "draft")
	draft.Draft = true
	d, err := s.CreateInvoice(ctx, draft)
	if err != nil || d.Status != billing.StatusDraft || d.IssuedAt.Valid {
		t.Fatalf("draft = %s issued %v, %v", d.Status, d.IssuedAt.Valid, err)
	}
	if _, err := s.RecordPayment(ctx, store.Payment{InvoiceID: d.ID, Gateway: "stripe", GatewayTxnID: "pi_d", Amount: usd(2160), CreatedBy: "t"}); !errors.Is(err, store.ErrInvoiceState) {
		t.Fatalf("paying a draft: err = %v; want ErrInvoiceState", err)
	}
}

func TestZeroTotalInvoiceIsPaidOnIssue(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "zero@example.com")
	in := newInvoice(u.ID, "k")
	in.Lines = append(in.Lines, billing.Line{Kind: billing.LineCredit, Description: "Account credit applied", Amount: usd(-2160)})
	inv, err := s.CreateInvoice(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Status != billing.StatusPaid || !inv.PaidAt.Valid || !inv.Totals.Total.IsZero() {
		t.Fatalf("credit-covered invoice: status %s paid_at %v total %s; want paid", inv.Status, inv.PaidAt.Valid, inv.Totals.Total)
	}
}

func TestWebhookEventIsStoredOnce(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	payload := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	first, err := s.RecordWebhookEvent(ctx, "stripe", "evt_1", "payment_intent.succeeded", payload)
	if err != nil || !first {
		t.Fatalf("first delivery: inserted %v, %v; want true", first, err)
	}
	second, err := s.RecordWebhookEvent(ctx, "stripe", "evt_1", "payment_intent.succeeded", payload)
	if err != nil || second {
		t.Fatalf("second delivery: inserted %v, %v; want false", second, err)
	}
	other, err := s.RecordWebhookEvent(ctx, "paypal", "evt_1", "PAYMENT.CAPTURE.COMPLETED", payload)
	if err != nil || !other {
		t.Fatalf("same event id from another provider: inserted %v, %v; want true", other, err)
	}
	if err := s.MarkWebhookProcessed(ctx, "stripe", "evt_1"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkWebhookProcessed(ctx, "stripe", "evt_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("marking an unknown event: err = %v; want ErrNotFound", err)
	}
}

func TestExactDuePaymentMustSettleTheInvoice(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "exact@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "exact")) // total USD 21.60
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "sandbox", GatewayTxnID: "ch_short", Amount: usd(2000), CreatedBy: "t", ExactDue: true})
	if !errors.Is(err, store.ErrNotAmountDue) {
		t.Fatalf("short payment: %v, want ErrNotAmountDue", err)
	}
	if pays, _ := s.InvoicePayments(ctx, inv.ID); len(pays) != 0 {
		t.Fatalf("a refused payment left %d rows", len(pays))
	}
	res, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "sandbox", GatewayTxnID: "ch_ok", Amount: usd(2160), CreatedBy: "t", ExactDue: true})
	if err != nil || res.Status != billing.StatusPaid || res.InvoiceNumber != inv.Number {
		t.Fatalf("exact payment: %+v, %v", res, err)
	}
	// The same transaction again is already recorded, not a mismatch against the new balance.
	again, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "sandbox", GatewayTxnID: "ch_ok", Amount: usd(2160), CreatedBy: "t", ExactDue: true})
	if err != nil || !again.AlreadyRecorded {
		t.Fatalf("replayed payment: %+v, %v", again, err)
	}
}
