package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestWebhookEventStaysUnprocessedUntilMarked(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	if _, err := s.RecordWebhookEvent(ctx, "sandbox", "evt_1", "payment.succeeded", []byte(`{"id":"evt_1"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordWebhookEvent(ctx, "stripe", "evt_2", "charge.refunded", []byte(`{"id":"evt_2"}`)); err != nil {
		t.Fatal(err)
	}
	e, err := s.WebhookEvent(ctx, "sandbox", "evt_1")
	if err != nil || e.Processed() || e.Type != "payment.succeeded" {
		t.Fatalf("stored event = %+v, %v; want an unprocessed payment.succeeded", e, err)
	}
	if err := s.MarkWebhookProcessed(ctx, "sandbox", "evt_1"); err != nil {
		t.Fatal(err)
	}
	if e, err = s.WebhookEvent(ctx, "sandbox", "evt_1"); err != nil || !e.Processed() {
		t.Fatalf("after marking: %+v, %v; want processed", e, err)
	}
	if _, err := s.WebhookEvent(ctx, "paypal", "evt_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("event of another provider: err = %v; want ErrNotFound", err)
	}
	all, err := s.WebhookEvents(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all events: %d, %v; want 2", len(all), err)
	}
	stripe, err := s.WebhookEvents(ctx, "stripe")
	if err != nil || len(stripe) != 1 || stripe[0].EventID != "evt_2" {
		t.Fatalf("stripe events: %+v, %v; want evt_2 only", stripe, err)
	}
}

func TestPaymentByGatewayRefAndInvoiceLedger(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "ledger@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "ledger-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PaymentByGatewayRef(ctx, "stripe", "pi_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown payment: err = %v; want ErrNotFound", err)
	}
	paid, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(2160), CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PaymentByGatewayRef(ctx, "stripe", "pi_1")
	if err != nil || got.ID != paid.Payment.ID || got.InvoiceID != inv.ID || got.Amount != usd(2160) {
		t.Fatalf("PaymentByGatewayRef = %+v, %v; want payment %d of USD 21.60 on invoice %d", got, err, paid.Payment.ID, inv.ID)
	}
	if _, err := s.RecordRefund(ctx, store.Refund{PaymentID: got.ID, GatewayRefundID: "re_1", Amount: usd(500), CreatedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	pays, refunds, err := s.InvoiceLedger(ctx, inv.ID)
	if err != nil || len(pays) != 1 || len(refunds) != 1 || refunds[0].GatewayRefundID != "re_1" || refunds[0].Amount != usd(500) {
		t.Fatalf("ledger: %d payments, refunds %+v, %v; want 1 payment and refund re_1 of USD 5.00", len(pays), refunds, err)
	}
}
