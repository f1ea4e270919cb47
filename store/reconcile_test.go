package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestReconcileLedgerListsAGatewaysPaymentsAndRefundsByRangeOrRef(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "reconcile@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_1", Amount: usd(2160), CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordRefund(ctx, store.Refund{PaymentID: pay.Payment.ID, GatewayRefundID: "re_1", Amount: usd(500), Reason: "x", CreatedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	inv2, err := s.CreateInvoice(ctx, newInvoice(u.ID, "k2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv2.ID, Gateway: "paypal", GatewayTxnID: "CAP1", Amount: usd(2160), CreatedBy: "t"}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	payments, refunds, err := s.ReconcileLedger(ctx, "stripe", now.Add(-time.Hour), now.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(payments) != 1 || payments[0].Ref != "pi_1" || payments[0].InvoiceID != inv.ID || payments[0].Amount != usd(2160) {
		t.Errorf("stripe payments = %+v, want pi_1 of USD 21.60 for invoice %d (and not PayPal's CAP1)", payments, inv.ID)
	}
	if len(refunds) != 1 || refunds[0].Ref != "re_1" || refunds[0].PaymentRef != "pi_1" || refunds[0].Amount != usd(500) || refunds[0].InvoiceID != inv.ID {
		t.Errorf("stripe refunds = %+v, want re_1 of USD 5.00 refunding pi_1", refunds)
	}

	long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	payments, refunds, err = s.ReconcileLedger(ctx, "stripe", long, long.AddDate(0, 1, 0), nil)
	if err != nil || len(payments)+len(refunds) != 0 {
		t.Errorf("January 2020: %+v %+v %v, want nothing", payments, refunds, err)
	}
	payments, refunds, err = s.ReconcileLedger(ctx, "stripe", long, long.AddDate(0, 1, 0), []string{"pi_1", "re_1"})
	if err != nil || len(payments) != 1 || len(refunds) != 1 {
		t.Errorf("January 2020 asking for pi_1 and re_1: %+v %+v %v, want both whatever their date", payments, refunds, err)
	}
}
