package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

func TestLiveSubscriptionsListsThoseNotOverWithTheirOrdersInvoiceInPages(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	live, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "live", 0))
	if err != nil {
		t.Fatal(err)
	}
	over, err := s.PlaceOrder(ctx, order(u.ID, p, ps.ID, "over", 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSubscription(ctx, store.SubscriptionChange{ID: over.SubscriptionID, Status: billing.SubscriptionCancelled, Cancelled: true,
		CancelReason: "changed my mind", Event: store.SubscriptionEvent{Kind: "cancelled", Message: "cancelled", Actor: "test"}}); err != nil {
		t.Fatal(err)
	}
	// An imported subscription is history: active, but no order made it and no workflow ran it.
	day := time.Now().AddDate(0, -2, 0).UTC()
	imported := &store.HistoricSubscription{Customer: &store.HistoricCustomer{Email: "old@example.com", Name: "Old", PasswordHash: "x", CreatedAt: day},
		ProductID: p.ID, Cycle: "monthly", Price: usd(1250), Status: billing.SubscriptionActive, Gateway: "stripe",
		PeriodStart: day, PeriodEnd: day.AddDate(0, 1, 0), AnchorDay: day.Day(), CreatedBy: "import:test", CreatedAt: day, UpdatedAt: day}
	if err := s.Import(ctx, &store.ImportBatch{Customers: []*store.HistoricCustomer{imported.Customer}, Subscriptions: []*store.HistoricSubscription{imported}}); err != nil {
		t.Fatal(err)
	}
	page, err := s.LiveSubscriptions(ctx, time.Now().Add(time.Minute), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != live.SubscriptionID || page[0].Status != billing.SubscriptionPending ||
		page[0].CustomerID != u.ID || page[0].FirstInvoiceID != live.InvoiceID {
		t.Fatalf("first page %+v, want the pending subscription %d with invoice %d", page, live.SubscriptionID, live.InvoiceID)
	}
	rest, err := s.LiveSubscriptions(ctx, time.Now().Add(time.Minute), page[0].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Fatalf("after %d: %+v, want nothing (one is cancelled, the other imported)", page[0].ID, rest)
	}
	if young, err := s.LiveSubscriptions(ctx, time.Now().Add(-time.Hour), 0, 10); err != nil || len(young) != 0 {
		t.Fatalf("created before an hour ago: %+v %v, want none", young, err)
	}
}
