package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// order is a USD 12.50 monthly order of p with the given credit applied on its invoice.
func order(customerID int64, p store.Product, panelID int64, key string, creditUsed int64) store.NewOrder {
	lines := []billing.Line{{Kind: billing.LineProduct, Description: p.Name, Amount: usd(1250), ProductID: p.ID}}
	if creditUsed > 0 {
		lines = append(lines, billing.Line{Kind: billing.LineCredit, Description: "Account credit applied", Amount: usd(-creditUsed)})
	}
	return store.NewOrder{
		CustomerID: customerID, IdempotencyKey: key, ProductID: p.ID, Cycle: billing.Monthly, Price: usd(1250),
		Fields: map[string]string{"hostname": "a.example.com"}, Gateway: "sandbox", PanelServerID: panelID,
		Hostname: "a.example.com", CreatedBy: "req:" + key,
		Invoice: store.NewInvoice{Currency: "USD", Lines: lines, DueAt: time.Now(), CreditUsed: usd(creditUsed)},
	}
}

func TestPlaceOrderCreatesSubscriptionServiceAndInvoiceOnce(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	if _, err := s.AddCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(300), CreatedBy: "t", IdempotencyKey: "gift"}); err != nil {
		t.Fatal(err)
	}
	const n = 10
	orders := make([]store.Order, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n { // ten submissions of one form
		wg.Go(func() { orders[i], errs[i] = s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "form-1", 300)) })
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		if !orders[i].Existing {
			created++
		}
		if orders[i].ID != orders[0].ID || orders[i].InvoiceID != orders[0].InvoiceID {
			t.Fatalf("submission %d got order %+v, submission 0 got %+v", i, orders[i], orders[0])
		}
	}
	if created != 1 {
		t.Fatalf("%d submissions created an order, want 1", created)
	}
	o := orders[0]
	sub, err := s.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != billing.SubscriptionPending || sub.Price() != usd(1250) || sub.Cycle != billing.Monthly || !sub.ServiceID.Valid {
		t.Fatalf("subscription = %+v", sub)
	}
	inv, err := s.Invoice(ctx, o.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Totals.Total != usd(950) || inv.SubscriptionID.Int64 != sub.ID || inv.Status != billing.StatusUnpaid {
		t.Fatalf("invoice total %s sub %v status %s", inv.Totals.Total, inv.SubscriptionID, inv.Status)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); !bal.IsZero() {
		t.Fatalf("credit after order = %s, want 0 (taken once)", bal)
	}
	svcs, err := s.Services(ctx, store.ServiceFilter{CustomerID: u.ID})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("services = %d, %v; want 1", len(svcs), err)
	}
	invs, _ := s.Invoices(ctx, store.InvoiceFilter{CustomerID: u.ID})
	if len(invs) != 1 {
		t.Fatalf("invoices = %d, want 1", len(invs))
	}
}

func TestPlaceOrderChangesNothingWhenCreditIsShort(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	_, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "form-short", 500)) // no credit at all
	if !errors.Is(err, billing.ErrInsufficientCredit) {
		t.Fatalf("err = %v, want ErrInsufficientCredit", err)
	}
	subs, _ := s.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: u.ID})
	svcs, _ := s.Services(ctx, store.ServiceFilter{CustomerID: u.ID})
	invs, _ := s.Invoices(ctx, store.InvoiceFilter{CustomerID: u.ID})
	if len(subs)+len(svcs)+len(invs) != 0 {
		t.Fatalf("a refused order left %d subscriptions, %d services, %d invoices", len(subs), len(svcs), len(invs))
	}
	// The failed attempt consumed no invoice number.
	o, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "form-ok", 0))
	if err != nil {
		t.Fatal(err)
	}
	if inv, _ := s.Invoice(ctx, o.InvoiceID); inv.Number != "INV-1001" {
		t.Fatalf("first invoice number = %s, want INV-1001", inv.Number)
	}
}

func TestPlaceOrderRespectsTheStockLimitUnderConcurrency(t *testing.T) {
	s, g, cp := catalogFixture(t) // stock limit 20
	ctx := context.Background()
	cp.StockLimit = sql.NullInt64{Int64: 3, Valid: true}
	cp.Prices = nil
	if err := s.UpdateProduct(ctx, cp); err != nil {
		t.Fatal(err)
	}
	_ = g
	u := newCustomer(t, s, "stock@example.com")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.PlaceOrder(ctx, order(u.ID, cp.Product, 0, fmt.Sprintf("form-%d", i), 0)) })
	}
	wg.Wait()
	ok, out := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrOutOfStock):
			out++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 3 || out != 5 {
		t.Fatalf("%d orders placed and %d refused, want 3 and 5", ok, out)
	}
}

func TestOrderKeyOfAnotherCustomerIsAConflict(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	other := newCustomer(t, s, "other@example.com")
	if _, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "form-x", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, order(other.ID, p, ps.ID, "form-x", 0)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func TestUpdateSubscriptionWithAKeyAppliesOnce(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	o, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "form-u", 0))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	change := store.SubscriptionChange{ID: o.SubscriptionID, Status: billing.SubscriptionActive, PeriodStart: start,
		PeriodEnd: billing.Monthly.NextDue(start), CouponCycles: map[string]int{"TEN": 1},
		Event: store.SubscriptionEvent{Kind: "paid", Message: "first invoice paid", IdempotencyKey: sql.NullString{String: "k1", Valid: true}}}
	for range 2 {
		if err := s.UpdateSubscription(ctx, change); err != nil {
			t.Fatal(err)
		}
	}
	sub, _ := s.SubscriptionByID(ctx, o.SubscriptionID)
	if sub.Status != billing.SubscriptionActive || !sub.PeriodEnd.Time.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)) || sub.CouponCycles["TEN"] != 1 {
		t.Fatalf("subscription = %+v", sub)
	}
	events, _ := s.SubscriptionEvents(ctx, o.SubscriptionID)
	paid := 0
	for _, e := range events {
		if e.Kind == "paid" {
			paid++
		}
	}
	if paid != 1 {
		t.Fatalf("%d 'paid' events, want 1", paid)
	}
}

func TestCouponRedemptionsCountPerCustomer(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	c, err := s.CreateCoupon(ctx, billing.Coupon{Code: " ten ", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, OncePerCustomer: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.Code != "TEN" {
		t.Fatalf("code stored as %q", c.Rules.Code)
	}
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "TEN", Kind: billing.CouponPercent, PercentBP: 5, Duration: billing.CouponOnce}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate code: %v", err)
	}
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "BAD", Kind: billing.CouponPercent, PercentBP: 0, Duration: billing.CouponOnce}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("0%% coupon: %v", err)
	}
	o := order(u.ID, p, ps.ID, "form-c", 0)
	o.CouponCode = "TEN"
	o.Invoice.Redeems = []string{"TEN"}
	if _, err := s.PlaceOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	use, err := s.CouponUsage(ctx, "ten", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if use.Uses != 1 || use.PerCustomer[u.ID] != 1 {
		t.Fatalf("usage = %+v", use)
	}
	other := newCustomer(t, s, "o2@example.com")
	if use, _ := s.CouponUsage(ctx, "TEN", other.ID); use.Uses != 1 || use.PerCustomer[other.ID] != 0 {
		t.Fatalf("usage for another customer = %+v", use)
	}
}
