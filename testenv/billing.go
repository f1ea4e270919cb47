package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
)

// ProductWithoutPanel creates a monthly USD 5.00 product that provisions nothing, for tests about
// billing only.
func (s *Stack) ProductWithoutPanel(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	g, err := s.Store.CreateProductGroup(ctx, store.ProductGroup{Slug: "licences", Name: "Licences"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Store.CreateProduct(ctx, store.CatalogProduct{
		Product: store.Product{GroupID: g.ID, Slug: "panel-licence", Name: "Panel licence", Type: "web_hosting"},
		Prices:  []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// RenewingSubscription makes customer n with a card saved on the sandbox (the order's invoice
// paid on its hosted page with 4242) and an active monthly subscription of the product whose
// period ends at due, so its renewal is charged off-session. No workflow is started.
func (s *Stack) RenewingSubscription(t testing.TB, n int, productID int64, due time.Time) store.Subscription {
	t.Helper()
	ctx := context.Background()
	cust, err := s.Store.CreateUser(ctx, store.NewUser{Email: fmt.Sprintf("renew-%d@example.com", n), Name: "Renewing Customer",
		PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := s.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: productID, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: fmt.Sprintf("renew-%d", n), ProductID: productID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Sandbox.EnsureCustomer(ctx, gateways.Customer{ID: cust.ID, Email: cust.Email, Name: cust.Name})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.Store.Invoice(ctx, o.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	co, err := s.Sandbox.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: inv.ID, CustomerRef: ref, Amount: inv.Totals.Due,
		SuccessURL: s.URL("/account"), IdempotencyKey: fmt.Sprintf("checkout:invoice:%d", inv.ID)})
	if err != nil {
		t.Fatal(err)
	}
	PayWith4242(t, co.URL)
	methods, err := s.Sandbox.PaymentMethods(ctx, ref)
	if err != nil || len(methods) != 1 {
		t.Fatalf("saved cards of customer %d: %v, %v", cust.ID, methods, err)
	}
	if err := s.Store.SetSubscriptionPaymentMethod(ctx, o.SubscriptionID, "sandbox", ref, methods[0].Ref); err != nil {
		t.Fatal(err)
	}
	start := due.AddDate(0, -1, 0)
	if err := s.Store.UpdateSubscription(ctx, store.SubscriptionChange{ID: o.SubscriptionID, Status: billing.SubscriptionActive,
		PeriodStart: start, PeriodEnd: due, AnchorDay: start.Day()}); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// PayWith4242 submits the test card 4242 4242 4242 4242 on a sandbox hosted page (a checkout
// or a setup page), as a customer would, without following the redirect back.
func PayWith4242(t testing.TB, pageURL string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(pageURL, url.Values{"number": {"4242424242424242"}, "expiry": {"12 / 35"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
}

// ProductID is the id of the catalog product with slug; a missing product fails the test.
func (s *Stack) ProductID(t testing.TB, slug string) int64 {
	t.Helper()
	list, err := s.Store.Products(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Slug == slug {
			return p.ID
		}
	}
	t.Fatalf("no product %s in the catalog", slug)
	return 0
}
