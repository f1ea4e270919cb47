package sandbox

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/gateways"
)

func TestSandboxEventsCarryTheirKindAndRefundIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, pm := e.saveCard(cardSucceeds)
	ch, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 43, CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(999), IdempotencyKey: "renewal-43"})
	if err != nil {
		t.Fatalf("ChargeSaved: %v", err)
	}
	re, err := e.sb.Refund(ctx, gateways.RefundRequest{InvoiceID: 43, ChargeRef: ch.Ref, Amount: usd(400), IdempotencyKey: "refund-43"})
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	e.sb.DeclineOffSession(true)
	_, _ = e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 44, CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(999), IdempotencyKey: "renewal-44"})

	want := map[string]gateways.EventKind{EventPaymentSucceeded: gateways.EventPaymentSucceeded,
		EventPaymentFailed: gateways.EventPaymentFailed, EventRefundSucceeded: gateways.EventRefund}
	c := e.apiClient(testAPIKey)
	seen := map[string]bool{}
	for _, ev := range e.events {
		seen[ev.Type] = true
		if ev.Kind != want[ev.Type] {
			t.Errorf("%s event: Kind = %q, want %q", ev.Type, ev.Kind, want[ev.Type])
		}
		if ev.Type == EventRefundSucceeded {
			refunds := []gateways.RefundState{{Ref: re.Ref, Amount: usd(400), Status: gateways.RefundSucceeded}}
			if ev.RefundRef != re.Ref || ev.PaymentRef != ch.Ref || !reflect.DeepEqual(ev.Refunds, refunds) {
				t.Errorf("refund event %+v, want RefundRef %s (Refund.Ref), PaymentRef %s and Refunds %+v", ev, re.Ref, ch.Ref, refunds)
			}
		}
		body, header := e.sb.SignedEvent(ev)
		if got, err := c.ParseWebhook(ctx, body, header); err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("%s as a webhook: %+v, %v; want %+v", ev.Type, got, err, ev)
		}
	}
	if len(seen) != 3 {
		t.Errorf("event types %v, want succeeded, failed and refund events", e.eventTypes())
	}
}

func TestExpiredSandboxCheckoutRefusesToPay(t *testing.T) {
	e := newEnv(t)
	_, co := e.checkout()
	c := e.apiClient(testAPIKey)
	if err := c.ExpireCheckout(context.Background(), co.Ref); err != nil {
		t.Fatalf("ExpireCheckout: %v", err)
	}
	status, _, body := e.payWith(co.URL, cardSucceeds)
	if status != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("paying an expired checkout: status %d, want 410 and the expired page", status)
	}
	if n := e.sb.ChargeCount(); n != 0 || len(e.events) != 0 {
		t.Errorf("an expired checkout charged %d times and emitted %v", n, e.eventTypes())
	}
	if resp, _ := e.get(co.URL); resp.StatusCode != http.StatusGone {
		t.Errorf("GET expired checkout: status %d, want 410", resp.StatusCode)
	}
	if err := e.sb.ExpireCheckout(context.Background(), co.Ref); err != nil {
		t.Errorf("expiring twice: %v, want nil", err)
	}
}

func TestExpiringAPaidSandboxCheckoutIsNotAnError(t *testing.T) {
	e := newEnv(t)
	_, co := e.checkout()
	if status, _, _ := e.payWith(co.URL, cardSucceeds); status != http.StatusSeeOther {
		t.Fatalf("paying: status %d", status)
	}
	if err := e.sb.ExpireCheckout(context.Background(), co.Ref); err != nil {
		t.Errorf("ExpireCheckout of a paid checkout: %v, want nil", err)
	}
	if err := e.sb.ExpireCheckout(context.Background(), "cs_sb_nope"); err == nil {
		t.Errorf("ExpireCheckout of an unknown checkout: nil, want an error")
	}
}

func TestSandboxTransactionsListChargesAndRefundsInTheRange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := e.clock()
	cus, pm := e.saveCard(cardSucceeds) // a hosted checkout charge of USD 12.34 for invoice 42
	e.advance(time.Hour)
	ch, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 43, CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(999), IdempotencyKey: "renewal-43"})
	if err != nil {
		t.Fatal(err)
	}
	re, err := e.sb.Refund(ctx, gateways.RefundRequest{InvoiceID: 43, ChargeRef: ch.Ref, Amount: usd(400), IdempotencyKey: "r"})
	if err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	e.sb.DeclineOffSession(true)
	_, failure := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 44, CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(500), IdempotencyKey: "renewal-44"})
	e.advance(time.Hour)
	_, _ = e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 45, CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(500), IdempotencyKey: "renewal-45"}) // after the range

	got, err := e.apiClient(testAPIKey).Transactions(ctx, start.Add(30*time.Minute), start.Add(3*time.Hour))
	if err != nil {
		t.Fatalf("Transactions: %v", err)
	}
	var failedRef string
	if ge, ok := failure.(*gateways.Error); ok {
		failedRef = ge.PaymentRef
	}
	want := []gateways.Transaction{
		{Kind: gateways.TransactionCharge, Ref: ch.Ref, InvoiceID: 43, Amount: usd(999), Status: "succeeded", Created: start.Add(time.Hour)},
		{Kind: gateways.TransactionRefund, Ref: re.Ref, PaymentRef: ch.Ref, InvoiceID: 43, Amount: usd(400), Status: "succeeded", Created: start.Add(time.Hour)},
		{Kind: gateways.TransactionCharge, Ref: failedRef, InvoiceID: 44, Amount: usd(500), Status: "failed", Created: start.Add(2 * time.Hour)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Transactions:\n%+v\nwant\n%+v", got, want)
	}
}
