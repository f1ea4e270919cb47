package payments_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

func usd(a int64) billing.Money { return billing.Money{Amount: a, Currency: "USD"} }

// fixture is a customer with a card saved on the sandbox, an active subscription and an unpaid
// USD 5.00 renewal invoice, with the payments service under test.
type fixture struct {
	st  *testenv.Stack
	svc *payments.Service
	sub store.Subscription
	inv store.Invoice
}

func newFixture(t *testing.T, policy payments.Overpayment) fixture {
	t.Helper()
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	product := st.ProductWithoutPanel(t)
	sub := st.RenewingSubscription(t, 1, product, time.Now().Add(24*time.Hour))
	// The events of the charges and refunds these tests make at the sandbox are handed to the
	// service under test by the tests themselves, not by the stack's own webhook endpoint.
	st.Sandbox.DropWebhooks(true)
	inv, err := st.Store.CreateInvoice(context.Background(), store.NewInvoice{CustomerID: sub.CustomerID, Currency: "USD",
		Lines: []billing.Line{{Kind: billing.LineProduct, Description: "Panel licence (renewal)", Amount: usd(500), Taxable: true}},
		DueAt: time.Now().Add(24 * time.Hour), IdempotencyKey: "test-renewal", CreatedBy: "test", SubscriptionID: sub.ID})
	if err != nil {
		t.Fatal(err)
	}
	svc := &payments.Service{Store: st.Store, Gateways: st.Gateways, Workflows: st.Temporal, Overpayment: policy}
	return fixture{st: st, svc: svc, sub: sub, inv: inv}
}

func (f fixture) invoice(t *testing.T) store.Invoice {
	t.Helper()
	inv, err := f.st.Store.Invoice(context.Background(), f.inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// chargeAtSandbox takes USD 5.00 from the saved card directly at the gateway, as a second
// checkout or a stray charge would, and returns its ref.
func (f fixture) chargeAtSandbox(t *testing.T, key string) string {
	t.Helper()
	ch, err := f.st.Sandbox.ChargeSaved(context.Background(), gateways.ChargeRequest{InvoiceID: f.inv.ID, CustomerRef: f.sub.GatewayCustomerRef,
		PaymentMethodRef: f.sub.PaymentMethodRef, Amount: usd(500), IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return ch.Ref
}

// payManually records the invoice paid by staff (USD 5.00 by bank transfer).
func (f fixture) payManually(t *testing.T) {
	t.Helper()
	if _, err := f.svc.Record(context.Background(), payments.Payment{InvoiceID: f.inv.ID, Gateway: "manual", Ref: "manual-1",
		Amount: usd(500), By: "admin:1", Manual: true}); err != nil {
		t.Fatal(err)
	}
}

// payTwice pays the invoice by hand, then has a second USD 5.00 taken at the sandbox (a page left
// open) and its event delivered twice.
func (f fixture) payTwice(t *testing.T) {
	t.Helper()
	f.payManually(t)
	ref := f.chargeAtSandbox(t, "stray-charge")
	ev := gateways.Event{ID: "evt_late", Kind: gateways.EventPaymentSucceeded, InvoiceID: f.inv.ID, PaymentRef: ref, Amount: usd(500)}
	for range 2 { // a redelivery changes nothing
		if review, err := f.svc.HandleEvent(context.Background(), "sandbox", ev); err != nil || review != "" {
			t.Fatalf("late payment event: review %q, err %v; want recorded", review, err)
		}
	}
}

func TestManualPaymentWaitsWhileTheSavedCardIsBeingCharged(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	claim, err := f.st.Store.BeginCharge(ctx, f.inv.ID, "subscription:1:invoice:2:attempt:due")
	if err != nil || !claim.Claimed {
		t.Fatalf("BeginCharge = %+v, %v; want the claim", claim, err)
	}
	_, err = f.svc.Record(ctx, payments.Payment{InvoiceID: f.inv.ID, Gateway: "manual", Ref: "manual-x", Amount: usd(500), By: "admin:1", Manual: true})
	if !errors.Is(err, store.ErrChargeInFlight) {
		t.Fatalf("manual payment during a charge: err = %v, want ErrChargeInFlight", err)
	}
	if inv := f.invoice(t); inv.Totals.Paid.Amount != 0 {
		t.Fatalf("invoice paid %s during the charge, want nothing recorded", inv.Totals.Paid)
	}
	// A second charge of the same invoice under another key is refused without reaching the gateway.
	before := f.st.Sandbox.ChargeCount()
	out, err := f.svc.ChargeSaved(ctx, payments.Charge{InvoiceID: f.inv.ID, Gateway: "sandbox", CustomerRef: f.sub.GatewayCustomerRef,
		MethodRef: f.sub.PaymentMethodRef, Key: "dunning:2:invoice:2:attempt:1", By: "dunning:2"})
	if err != nil || out.Paid || out.Failure == "" || f.st.Sandbox.ChargeCount() != before {
		t.Fatalf("second charge during a charge = %+v, %v, sandbox charges %d → %d; want refused, no charge", out, err, before, f.st.Sandbox.ChargeCount())
	}
}

func TestRenewalChargeAfterAManualPaymentDoesNotCharge(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	f.payManually(t)
	key := "subscription:1:invoice:2:attempt:due"
	out, err := f.svc.ChargeSaved(ctx, payments.Charge{InvoiceID: f.inv.ID, Gateway: "sandbox", CustomerRef: f.sub.GatewayCustomerRef,
		MethodRef: f.sub.PaymentMethodRef, Key: key, By: "subscription:1"})
	if err != nil || !out.Paid {
		t.Fatalf("charge of a paid invoice = %+v, %v; want paid without charging", out, err)
	}
	if n := f.st.Sandbox.ChargesFor(key); n != 0 {
		t.Fatalf("the sandbox charged %d times under %s; want none", n, key)
	}
}

// A payment that lands on an invoice already paid (a second checkout tab, a charge that raced
// a manual payment) is recorded, refunded through the gateway that took it and flagged to staff;
// the invoice stays paid, never silently overpaid.
func TestPaymentOnAPaidInvoiceIsRefundedAndFlagged(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	f.payTwice(t)
	inv := f.invoice(t)
	if inv.Status != billing.StatusPaid || inv.Totals.Paid.Amount != 1000 || inv.Totals.Refunded.Amount != 500 {
		t.Fatalf("invoice %s: status %s, paid %s, refunded %s; want paid, USD 10.00 paid, USD 5.00 refunded",
			inv.Number, inv.Status, inv.Totals.Paid, inv.Totals.Refunded)
	}
	refunds, err := f.st.Store.InvoiceRefunds(ctx, inv.ID)
	if err != nil || len(refunds) != 1 || refunds[0].Reason != "overpayment" {
		t.Fatalf("refunds = %+v, %v; want one overpayment refund", refunds, err)
	}
	alerts, err := f.st.Store.MoneyAlerts(ctx, store.MoneyAlertFilter{InvoiceID: inv.ID, OpenOnly: true})
	if err != nil || len(alerts) != 1 || alerts[0].Kind != store.AlertOverpayment {
		t.Fatalf("alerts = %+v, %v; want one open overpayment alert", alerts, err)
	}
	if bal, _ := f.st.Store.CreditBalance(ctx, inv.CustomerID, "USD"); !bal.IsZero() {
		t.Fatalf("credit balance %s; a refunded overpayment adds no credit", bal)
	}
}

func TestPaymentOnAPaidInvoiceBecomesCreditWhenConfigured(t *testing.T) {
	f := newFixture(t, payments.OverpaymentCredit)
	ctx := context.Background()
	f.payTwice(t)
	if bal, _ := f.st.Store.CreditBalance(ctx, f.inv.CustomerID, "USD"); bal.Amount != 500 {
		t.Fatalf("credit balance %s, want USD 5.00 from the overpayment", bal)
	}
	if refunds, _ := f.st.Store.InvoiceRefunds(ctx, f.inv.ID); len(refunds) != 0 {
		t.Fatalf("refunds %+v; the overpayment was to become credit", refunds)
	}
	if alerts, _ := f.st.Store.MoneyAlerts(ctx, store.MoneyAlertFilter{InvoiceID: f.inv.ID}); len(alerts) != 1 {
		t.Fatalf("%d alerts, want one overpayment alert", len(alerts))
	}
}

// One gateway refund is one ledger row whether staff's record or the gateway's event comes
// first, and whatever events report it.
func TestOneRefundIsOneRowWhicheverArrivesFirst(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	ref := f.chargeAtSandbox(t, "renewal")
	if _, err := f.svc.Record(ctx, payments.Payment{InvoiceID: f.inv.ID, Gateway: "sandbox", Ref: ref, Amount: usd(500), By: "test"}); err != nil {
		t.Fatal(err)
	}
	// Staff first, then two events about the same refund (e.g. charge.refunded and charge.refund.updated).
	res, err := f.svc.Refund(ctx, payments.RefundRequest{InvoiceID: f.inv.ID, Amount: usd(100), Reason: "goodwill", Key: "nonce-one", By: "admin:1"})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"evt_a", "evt_b"} {
		ev := gateways.Event{ID: id, Kind: gateways.EventRefund, PaymentRef: ref,
			Refunds: []gateways.RefundState{{Ref: res.Refund.GatewayRefundID, Amount: usd(100), Status: gateways.RefundSucceeded}}}
		if review, err := f.svc.HandleEvent(ctx, "sandbox", ev); err != nil || review != "" {
			t.Fatalf("event %d: review %q, err %v", i, review, err)
		}
	}
	// The gateway's event first (a refund made at the gateway with the key staff then submit).
	gw, _ := f.st.Gateways.Get("sandbox")
	early, err := gw.Refund(ctx, gateways.RefundRequest{InvoiceID: f.inv.ID, ChargeRef: ref, Amount: usd(200),
		IdempotencyKey: fmt.Sprintf("refund:invoice:%d:%s", f.inv.ID, "nonce-two")})
	if err != nil {
		t.Fatal(err)
	}
	ev := gateways.Event{ID: "evt_c", Kind: gateways.EventRefund, PaymentRef: ref,
		Refunds: []gateways.RefundState{{Ref: early.Ref, Amount: usd(200), Status: gateways.RefundSucceeded}}}
	if review, err := f.svc.HandleEvent(ctx, "sandbox", ev); err != nil || review != "" {
		t.Fatalf("early event: review %q, err %v", review, err)
	}
	again, err := f.svc.Refund(ctx, payments.RefundRequest{InvoiceID: f.inv.ID, Amount: usd(200), Key: "nonce-two", By: "admin:1"})
	if err != nil || !again.AlreadyRecorded {
		t.Fatalf("staff refund after its event = %+v, %v; want the same refund, already recorded", again, err)
	}
	refunds, err := f.st.Store.InvoiceRefunds(ctx, f.inv.ID)
	if err != nil || len(refunds) != 2 {
		t.Fatalf("refunds = %+v, %v; want 2 rows (USD 1.00 and USD 2.00)", refunds, err)
	}
	if inv := f.invoice(t); inv.Totals.Refunded.Amount != 300 || inv.Status != billing.StatusPartiallyRefunded {
		t.Fatalf("invoice refunded %s (%s), want USD 3.00, partially refunded", inv.Totals.Refunded, inv.Status)
	}
}

// A pending refund counts against the payment until it fails; a failed refund stops counting,
// the invoice is paid again and staff are told the customer did not get the money.
func TestFailedRefundStopsCountingAndIsFlagged(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	ref := f.chargeAtSandbox(t, "renewal")
	if _, err := f.svc.Record(ctx, payments.Payment{InvoiceID: f.inv.ID, Gateway: "sandbox", Ref: ref, Amount: usd(500), By: "test"}); err != nil {
		t.Fatal(err)
	}
	state := func(st gateways.RefundStatus, id string) gateways.Event {
		return gateways.Event{ID: id, Kind: gateways.EventRefund, PaymentRef: ref,
			Refunds: []gateways.RefundState{{Ref: "re_bank", Amount: usd(500), Status: st}}}
	}
	if _, err := f.svc.HandleEvent(ctx, "sandbox", state(gateways.RefundPending, "evt_1")); err != nil {
		t.Fatal(err)
	}
	inv := f.invoice(t)
	if inv.Status != billing.StatusRefunded || inv.Totals.Refunded.Amount != 500 {
		t.Fatalf("after a pending full refund: %s, refunded %s; want refunded USD 5.00", inv.Status, inv.Totals.Refunded)
	}
	refunds, _ := f.st.Store.InvoiceRefunds(ctx, inv.ID)
	if len(refunds) != 1 || refunds[0].Status != billing.RefundPending {
		t.Fatalf("refunds %+v; want one pending", refunds)
	}
	if _, err := f.svc.HandleEvent(ctx, "sandbox", state(gateways.RefundFailed, "evt_2")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.HandleEvent(ctx, "sandbox", state(gateways.RefundSucceeded, "evt_3_out_of_order")); err != nil {
		t.Fatal(err)
	}
	inv = f.invoice(t)
	if inv.Status != billing.StatusPaid || !inv.Totals.Refunded.IsZero() {
		t.Fatalf("after the refund failed: %s, refunded %s; want paid, nothing refunded", inv.Status, inv.Totals.Refunded)
	}
	pays, _ := f.st.Store.InvoicePayments(ctx, inv.ID)
	refunds, _ = f.st.Store.InvoiceRefunds(ctx, inv.ID)
	if _, left, ok := payments.RefundablePayment(pays, refunds); !ok || left.Amount != 500 {
		t.Fatalf("refundable after a failed refund: %s, %v; want USD 5.00 again", left, ok)
	}
	alerts, _ := f.st.Store.MoneyAlerts(ctx, store.MoneyAlertFilter{InvoiceID: inv.ID})
	if len(alerts) != 1 || alerts[0].Kind != store.AlertRefundFailed {
		t.Fatalf("alerts %+v; want one refund_failed", alerts)
	}
}

// A payment the gateway accepted but has not settled (a bank debit) is pending: nothing charges
// the invoice again until it succeeds or fails.
func TestPendingPaymentStopsChargesUntilItSettles(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	pending := gateways.Event{ID: "evt_p", Kind: gateways.EventPaymentPending, InvoiceID: f.inv.ID, PaymentRef: "pi_sepa", Amount: usd(500)}
	if _, err := f.svc.HandleEvent(ctx, "sandbox", pending); err != nil {
		t.Fatal(err)
	}
	if inv := f.invoice(t); !inv.PaymentPending() || inv.Paid() {
		t.Fatalf("invoice after a pending payment: pending %v, paid %v; want pending, unpaid", inv.PaymentPending(), inv.Paid())
	}
	charge := func(key string) payments.ChargeOutcome {
		out, err := f.svc.ChargeSaved(ctx, payments.Charge{InvoiceID: f.inv.ID, Gateway: "sandbox", CustomerRef: f.sub.GatewayCustomerRef,
			MethodRef: f.sub.PaymentMethodRef, Key: key, By: "dunning:2"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := charge("attempt-1"); !out.Pending || out.Paid || f.st.Sandbox.ChargesFor("attempt-1") != 0 {
		t.Fatalf("charge while a payment is pending = %+v, %d sandbox charges; want pending, no charge", out, f.st.Sandbox.ChargesFor("attempt-1"))
	}
	failed := pending
	failed.ID, failed.Kind = "evt_f", gateways.EventPaymentFailed
	if _, err := f.svc.HandleEvent(ctx, "sandbox", failed); err != nil {
		t.Fatal(err)
	}
	if out := charge("attempt-2"); !out.Paid || f.st.Sandbox.ChargesFor("attempt-2") != 1 {
		t.Fatalf("charge after the pending payment failed = %+v; want one charge, paid", out)
	}
}

// A refund to account credit produces a credit note amending the invoice, credits the account
// once however often the form is sent, and shows on the invoice as refunded.
func TestRefundToCreditIssuesACreditNoteOnce(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	ref := f.chargeAtSandbox(t, "renewal")
	if _, err := f.svc.Record(ctx, payments.Payment{InvoiceID: f.inv.ID, Gateway: "sandbox", Ref: ref, Amount: usd(500), By: "test"}); err != nil {
		t.Fatal(err)
	}
	gw, _ := f.st.Gateways.Get("sandbox")
	listed := func() int {
		txns, err := gw.(gateways.TransactionLister).Transactions(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(txns)
	}
	before := listed()
	for range 2 {
		if _, err := f.svc.Refund(ctx, payments.RefundRequest{InvoiceID: f.inv.ID, Amount: usd(200), Reason: "goodwill", Key: "nonce-credit",
			By: "admin:1", ToCredit: true}); err != nil {
			t.Fatal(err)
		}
	}
	if bal, _ := f.st.Store.CreditBalance(ctx, f.inv.CustomerID, "USD"); bal.Amount != 200 {
		t.Fatalf("credit balance %s, want USD 2.00", bal)
	}
	notes, err := f.st.Store.CreditNotes(ctx, store.CreditNoteFilter{InvoiceID: f.inv.ID})
	if err != nil || len(notes) != 1 || notes[0].Reason != billing.CreditNoteRefundToCredit || notes[0].Total.Amount != 200 || notes[0].CreditAmount.Amount != 200 {
		t.Fatalf("credit notes %+v, %v; want one refund_to_credit note of USD 2.00 credited", notes, err)
	}
	refunds, _ := f.st.Store.InvoiceRefunds(ctx, f.inv.ID)
	if len(refunds) != 1 || !refunds[0].ToCredit || refunds[0].GatewayRefundID != "credit-note:"+notes[0].Number {
		t.Fatalf("refunds %+v; want one refund to credit naming %s", refunds, notes[0].Number)
	}
	if inv := f.invoice(t); inv.Status != billing.StatusPartiallyRefunded || inv.Totals.Refunded.Amount != 200 {
		t.Fatalf("invoice %s refunded %s; want partially refunded USD 2.00", inv.Status, inv.Totals.Refunded)
	}
	if after := listed(); after != before {
		t.Fatalf("the sandbox holds %d transactions after a refund to credit, %d before; it must move no money", after, before)
	}
}

// Once an invoice is paid one way, the hosted pages still open for it are expired at the
// gateway, so a tab left open cannot take a second payment.
func TestPaidInvoiceExpiresItsOtherOpenCheckouts(t *testing.T) {
	f := newFixture(t, payments.OverpaymentRefund)
	ctx := context.Background()
	co, err := f.st.Sandbox.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: f.inv.ID, CustomerRef: f.sub.GatewayCustomerRef,
		Amount: usd(500), SuccessURL: f.st.URL("/account"), IdempotencyKey: "checkout:invoice:test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.Store.AddCheckout(ctx, f.inv.ID, "sandbox", co.Ref); err != nil {
		t.Fatal(err)
	}
	f.payManually(t)
	if open, err := f.st.Store.OpenCheckouts(ctx, f.inv.ID); err != nil || len(open) != 0 {
		t.Fatalf("open checkouts after the invoice was paid: %+v, %v; want none", open, err)
	}
	resp, err := http.PostForm(co.URL, url.Values{"number": {"4242424242424242"}, "expiry": {"12 / 35"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("paying on the page left open: status %d, want 410 Gone", resp.StatusCode)
	}
	if pays, _ := f.st.Store.InvoicePayments(ctx, f.inv.ID); len(pays) != 1 {
		t.Fatalf("%d payments; the open page must not take a second one", len(pays))
	}
}
