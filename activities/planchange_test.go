package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// activeOrder places and pays an order of a seeded product (optionally with a coupon) and
// makes its subscription active for the month starting at start.
func activeOrder(ctx context.Context, t *testing.T, st *testenv.Stack, email, slug, coupon string, start time.Time) store.Subscription {
	t.Helper()
	cust, err := st.Store.CreateUser(ctx, store.NewUser{Email: email, Name: "Plan Changer", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	productID := st.ProductID(t, slug)
	q, _, err := st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: productID, Cycle: billing.Monthly,
		Currency: "USD", CouponCode: coupon, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: "order-" + email, ProductID: productID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: start, CreditUsed: q.CreditUsed, Redeems: q.Redeems}})
	if err != nil {
		t.Fatal(err)
	}
	if total := q.Total(); total.IsPositive() {
		if _, err := st.Store.RecordPayment(ctx, store.Payment{InvoiceID: o.InvoiceID, Gateway: "manual", GatewayTxnID: "manual-" + email,
			Amount: total, CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Store.UpdateSubscription(ctx, store.SubscriptionChange{ID: o.SubscriptionID, Status: billing.SubscriptionActive,
		PeriodStart: start, PeriodEnd: start.AddDate(0, 1, 0), AnchorDay: start.Day()}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// A downgrade credits the unused days as they were paid for, with their VAT, on a credit note
// that amends the invoice that paid the period, once however often the activity runs; with a
// 100% coupon on that period nothing was paid, so nothing is credited.
func TestDowngradeIssuesOneTaxedCreditNoteForWhatWasPaid(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	if _, err := st.Store.CreateTaxRule(ctx, billing.TaxRule{Level: 1, Name: "VAT", RateMilliPercent: 20000}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sub := activeOrder(ctx, t, st, "down@example.com", "vps-8gb", "", start)
	in := workflows.PlanChangeInput{SubscriptionID: sub.ID, ProductID: st.ProductID(t, "vps-2gb"), At: start.AddDate(0, 0, 15),
		Key: "subscription:1:change:3", WorkflowID: "subscription:1"}
	var res workflows.PlanChangeResult
	for range 2 { // a retried activity
		var err error
		if res, err = st.Billing.PlanChange(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	notes, err := st.Store.CreditNotes(ctx, store.CreditNoteFilter{CustomerID: sub.CustomerID})
	if err != nil || len(notes) != 1 {
		t.Fatalf("credit notes %+v, %v; want exactly one", notes, err)
	}
	n := notes[0]
	// USD 24.00 → 8.00 with 16 of 31 days left: 16.00 × 16/31 = 8.26 credited, VAT 20% = 1.65, total 9.91.
	if n.Reason != billing.CreditNoteDowngrade || n.Subtotal.Amount != 826 || n.Tax.Amount != 165 || n.Total.Amount != 991 || n.CreditAmount != n.Total {
		t.Fatalf("credit note %s: reason %s, subtotal %s, tax %s, total %s, credited %s; want downgrade 8.26 + 1.65 = 9.91, all credited",
			n.Number, n.Reason, n.Subtotal, n.Tax, n.Total, n.CreditAmount)
	}
	if bal, _ := st.Store.CreditBalance(ctx, sub.CustomerID, "USD"); bal != n.Total || res.Net.Amount != -n.Total.Amount {
		t.Fatalf("credit balance %s, result net %s; want the note's %s", bal, res.Net, n.Total)
	}

	if _, err := st.Store.CreateCoupon(ctx, billing.Coupon{Code: "FREE", Kind: billing.CouponPercent, PercentBP: billing.PercentScale,
		Duration: billing.CouponOnce}); err != nil {
		t.Fatal(err)
	}
	free := activeOrder(ctx, t, st, "free@example.com", "vps-8gb", "FREE", start)
	in.SubscriptionID, in.Key = free.ID, "subscription:2:change:3"
	if _, err := st.Billing.PlanChange(ctx, in); err != nil {
		t.Fatal(err)
	}
	if bal, _ := st.Store.CreditBalance(ctx, free.CustomerID, "USD"); !bal.IsZero() {
		t.Fatalf("a downgrade after a 100%% coupon minted %s of credit", bal)
	}
}
