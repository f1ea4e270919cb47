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

// One gateway refund is one row however many callers report it at once (the staff action and
// two webhook deliveries), and concurrent different refunds never take more than was paid.
func TestConcurrentReportsOfOneRefundRecordOneRowAndRefundsStayBounded(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "refund-race@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "race"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "stripe", GatewayTxnID: "pi_race", Amount: usd(2160), CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.RecordRefund(ctx, store.Refund{PaymentID: pay.Payment.ID, GatewayRefundID: "re_same", Amount: usd(500),
				CreatedBy: fmt.Sprintf("caller:%d", i)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("report %d of re_same: %v", i, err)
		}
	}
	// Ten different refunds of USD 5.00 race for the USD 16.60 left: three fit, the rest are refused.
	refused := 0
	var mu sync.Mutex
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RecordRefund(ctx, store.Refund{PaymentID: pay.Payment.ID, GatewayRefundID: fmt.Sprintf("re_%d", i), Amount: usd(500), CreatedBy: "t"})
			if errors.Is(err, billing.ErrRefundExceedsPaid) {
				mu.Lock()
				refused++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refunds, err := s.InvoiceRefunds(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, r := range refunds {
		if r.GatewayRefundID == "re_same" {
			same++
		}
	}
	got, _ := s.Invoice(ctx, inv.ID)
	if same != 1 || len(refunds) != 4 || refused != 7 || got.Totals.Refunded != usd(2000) {
		t.Fatalf("re_same rows %d, refunds %d, refused %d, refunded %s; want 1 row, 4 refunds, 7 refused, USD 20.00", same, len(refunds), refused, got.Totals.Refunded)
	}
}
