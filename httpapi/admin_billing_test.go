package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

var nonceField = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// orderAndPay orders a product through the portal and pays it on the sandbox page with 4242,
// then waits until the subscription is active.
func orderAndPay(t *testing.T, st *testenv.Stack, email, slug string) (store.Subscription, store.Invoice) {
	t.Helper()
	ctx := context.Background()
	cust := createUser(t, st, email, "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login(email, "password 12345")
	id := productID(t, st, slug)
	rev := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})
	placed := c.post("/order/"+itoa(id)+"/place", "", hiddenFields(rev.Body))
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("place: status %d to %q", placed.Status, placed.Location)
	}
	if r := c.post(strings.TrimPrefix(placed.Location, st.URL("")), "", url.Values{"number": {"4242424242424242"}, "expiry": {"12/40"}, "cvc": {"123"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pay on the hosted page: status %d", r.Status)
	}
	subs, _ := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: cust.ID})
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(subs))
	}
	sub := waitSubscription(t, st, subs[0].ID, "active", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
	invs, _ := st.Store.SubscriptionInvoices(ctx, sub.ID)
	return sub, invs[len(invs)-1]
}

func TestAdminRefundsThroughTheGatewayOnceAndTheWebhookDoesNotCountItTwice(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	_, inv := orderAndPay(t, st, "refund@example.com", "vps-2gb")
	if !inv.Paid() {
		t.Fatalf("invoice %s is %s, want paid", inv.Number, inv.Status)
	}
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	a := newBrowser(t, st)
	a.login("boss@example.com", "password 12345")
	page := "/admin/invoices/" + itoa(inv.ID)
	body := a.get(page).Body
	m := nonceField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the invoice page has no refund form")
	}
	// A partial refund, submitted twice with the same form.
	for range 2 {
		r := a.post(page+"/refund", page, url.Values{"nonce": {m[1]}, "amount": {"5.00"}, "reason": {"goodwill"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("refund: status %d\n%s", r.Status, r.Body)
		}
	}
	if n := st.Sandbox.Stats().Charges; n != 1 {
		t.Fatalf("sandbox charges = %d", n)
	}
	// Over-refunding is refused and changes nothing.
	m = nonceField.FindStringSubmatch(a.get(page).Body)
	if r := a.post(page+"/refund", page, url.Values{"nonce": {m[1]}, "amount": {"9999.00"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("over-refund: status %d", r.Status)
	}
	// The sandbox delivers its refund event to /webhooks/sandbox; give it time, then check the ledger.
	time.Sleep(500 * time.Millisecond)
	refunds, err := st.Store.InvoiceRefunds(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].Amount != (billing.Money{Amount: 500, Currency: "USD"}) || !strings.HasPrefix(refunds[0].GatewayRefundID, "re_") {
		t.Fatalf("refunds after one partial refund, a double submission and its webhook: %+v", refunds)
	}
	fresh, _ := st.Store.Invoice(ctx, inv.ID)
	if fresh.Status != billing.StatusPartiallyRefunded {
		t.Fatalf("status after partial refund %s", fresh.Status)
	}
	// The rest, with the amount left empty.
	m = nonceField.FindStringSubmatch(a.get(page).Body)
	if r := a.post(page+"/refund", page, url.Values{"nonce": {m[1]}}); r.Status != http.StatusSeeOther {
		t.Fatalf("refund the rest: status %d", r.Status)
	}
	fresh, _ = st.Store.Invoice(ctx, inv.ID)
	if fresh.Status != billing.StatusRefunded || fresh.Totals.Refunded != fresh.Totals.Paid {
		t.Fatalf("after refunding the rest: %s, refunded %s of %s", fresh.Status, fresh.Totals.Refunded, fresh.Totals.Paid)
	}
	if body := a.get(page).Body; strings.Contains(body, `data-testid="invoice-refund-form"`) {
		t.Fatal("a fully refunded invoice still offers a refund")
	}
}

func TestAdminAddsCreditOnceAndBillingStaffCannotRefundAsSupport(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUser(t, st, "credit@example.com", "password 12345", store.RoleCustomer)
	inv, err := st.Store.CreateInvoice(ctx, store.NewInvoice{CustomerID: cust.ID, Currency: "USD", DueAt: time.Now(),
		Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "VPS", Amount: billing.Money{Amount: 1000, Currency: "USD"}}},
		IdempotencyKey: "credit-test", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, st, "bill@example.com", "password 12345", store.RoleBilling)
	b := newBrowser(t, st)
	b.login("bill@example.com", "password 12345")
	page := "/admin/invoices/" + itoa(inv.ID)
	m := nonceField.FindStringSubmatch(b.get(page).Body)
	if m == nil {
		t.Fatal("no credit form for billing staff")
	}
	form := url.Values{"nonce": {m[1]}, "amount": {"12.34"}, "currency": {"USD"}, "note": {"outage compensation"}, "back": {page}}
	for range 2 {
		if r := b.post("/admin/customers/"+itoa(cust.ID)+"/credit", page, form); r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "done=credited") {
			t.Fatalf("add credit: %d to %q", r.Status, r.Location)
		}
	}
	if bal, _ := st.Store.CreditBalance(ctx, cust.ID, "USD"); bal.Amount != 1234 {
		t.Fatalf("balance %s after adding 12.34 twice with one form, want USD 12.34", bal)
	}
	bad := url.Values{"nonce": {"another-nonce-1"}, "amount": {"-3"}, "currency": {"USD"}, "note": {"x"}, "back": {page}}
	if r := b.post("/admin/customers/"+itoa(cust.ID)+"/credit", page, bad); !strings.Contains(r.Location, "credit-invalid") {
		t.Fatalf("negative credit: %q", r.Location)
	}
	if bal, _ := st.Store.CreditBalance(ctx, cust.ID, "USD"); bal.Amount != 1234 {
		t.Fatalf("balance %s after a refused credit", bal)
	}
}

func TestAdminSuspendsAndUnsuspendsASubscriptionThroughItsWorkflow(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 20 * time.Millisecond})
	sub, _ := orderAndPay(t, st, "suspend@example.com", "vps-2gb")
	createUser(t, st, "help@example.com", "password 12345", store.RoleSupport)
	s := newBrowser(t, st)
	s.login("help@example.com", "password 12345")
	page := "/admin/subscriptions/" + itoa(sub.ID)
	if r := s.get(page); r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="subscription-suspend"`) {
		t.Fatalf("subscription page: %d, suspend button shown: %v", r.Status, strings.Contains(r.Body, "subscription-suspend"))
	}
	if r := s.post(page+"/suspend", page, url.Values{"reason": {"abuse report"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("suspend: %d\n%s", r.Status, r.Body)
	}
	waitSubscription(t, st, sub.ID, "suspended", func(x store.Subscription) bool { return x.Status == billing.SubscriptionSuspended })
	if r := s.post(page+"/suspend", page, url.Values{"reason": {"again"}}); r.Status != http.StatusConflict {
		t.Fatalf("second suspend: %d, want 409 from the workflow's validator", r.Status)
	}
	if r := s.post(page+"/cancel", page, url.Values{"reason": {"no"}}); r.Status != http.StatusForbidden {
		t.Fatalf("support cancelling: %d, want 403", r.Status)
	}
	if r := s.post(page+"/unsuspend", page, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("unsuspend: %d", r.Status)
	}
	waitSubscription(t, st, sub.ID, "active again", func(x store.Subscription) bool { return x.Status == billing.SubscriptionActive })
}
