package httpapi_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// activeSubscription places a monthly USD order of a product straight in the store and makes
// it active in a 30-day period with 20 days left today (UTC), as the workflow would after the
// first payment.
func activeSubscription(t *testing.T, st *testenv.Stack, customerID int64, slug, key string) store.Subscription {
	t.Helper()
	ctx := context.Background()
	id := productID(t, st, slug)
	q, _, err := st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: customerID, ProductID: id, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: customerID, IdempotencyKey: key, ProductID: id, Cycle: billing.Monthly,
		Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if err := st.Store.UpdateSubscription(ctx, store.SubscriptionChange{ID: o.SubscriptionID, Status: billing.SubscriptionActive,
		PeriodStart: today.AddDate(0, 0, -10), PeriodEnd: today.AddDate(0, 0, 20), AnchorDay: today.AddDate(0, 0, -10).Day(),
		Event: store.SubscriptionEvent{Kind: "activated", Message: "first invoice paid", Actor: "test"}}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestACustomerCannotReachAnotherCustomersSubscription(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	bo := createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	mine := activeSubscription(t, st, ana.ID, "vps-2gb", "ana-1")
	theirs := activeSubscription(t, st, bo.ID, "vps-2gb", "bo-1")
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")

	list := c.get("/account/subscriptions")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, `data-subscription-id="`+itoa(mine.ID)+`"`) || strings.Contains(list.Body, `data-subscription-id="`+itoa(theirs.ID)+`"`) {
		t.Fatalf("subscription list: status %d; want own %d only\n%s", list.Status, mine.ID, list.Body)
	}
	if r := c.get("/account/subscriptions/" + itoa(mine.ID)); r.Status != http.StatusOK {
		t.Fatalf("own subscription: status %d", r.Status)
	}
	vps8 := itoa(productID(t, st, "vps-8gb"))
	other := "/account/subscriptions/" + itoa(theirs.ID)
	for _, p := range []string{other, other + "/change?product=" + vps8} {
		if r := c.get(p); r.Status != http.StatusNotFound {
			t.Fatalf("GET %s of another customer: status %d, want 404", p, r.Status)
		}
	}
	own := "/account/subscriptions/" + itoa(mine.ID)
	for _, p := range []string{other + "/cancel", other + "/change"} {
		if r := c.post(p, own, url.Values{"reason": {"too expensive"}, "when": {"now"}, "product": {vps8}}); r.Status != http.StatusNotFound {
			t.Fatalf("POST %s of another customer: status %d, want 404", p, r.Status)
		}
	}
	after, err := st.Store.SubscriptionByID(context.Background(), theirs.ID)
	if err != nil || after.Status != billing.SubscriptionActive || after.CancelAtPeriodEnd || after.ProductID != theirs.ProductID {
		t.Fatalf("another customer's subscription changed: %+v %v", after, err)
	}
}

func TestSubscriptionPageShowsTheScheduleAndThePlanChangePreviewTheExactProration(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	sub := activeSubscription(t, st, ana.ID, "vps-2gb", "ana-1") // USD 8.00 monthly
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	page := "/account/subscriptions/" + itoa(sub.ID)
	r := c.get(page)
	if r.Status != http.StatusOK {
		t.Fatalf("subscription page: status %d\n%s", r.Status, r.Body)
	}
	if n := strings.Count(r.Body, `data-testid="schedule-row"`); n != 12 {
		t.Fatalf("schedule rows %d, want 12", n)
	}
	due := sub.PeriodEnd.Time.UTC().Format(time.DateOnly)
	if !strings.Contains(r.Body, `data-testid="subscription-next-due">`+due) || !strings.Contains(r.Body, `data-testid="subscription-next-amount">USD 8.00`) {
		t.Fatalf("next invoice: want %s for USD 8.00\n%s", due, r.Body)
	}
	vps8 := productID(t, st, "vps-8gb")
	if !strings.Contains(r.Body, `value="`+itoa(vps8)+`"`) || strings.Contains(r.Body, `value="`+itoa(productID(t, st, "web-starter"))+`"`) {
		t.Fatal("change plan offers must be VPS 8 GB (same type, priced monthly in USD) and nothing of another type")
	}
	if r := c.get(page); !strings.Contains(r.Body, "first invoice paid") {
		t.Fatal("timeline lacks the store's events")
	}

	// 20 of 30 days left: credit 8.00×20/30 = 5.33, charge 24.00×20/30 = 16.00, net 16.00×20/30 = 10.67.
	p := c.get(page + "/change?product=" + itoa(vps8))
	if p.Status != http.StatusOK {
		t.Fatalf("preview: status %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{
		`data-testid="proration-remaining-days">20<`, `data-testid="proration-total-days">30<`,
		`data-testid="proration-credit">USD 5.33<`, `data-testid="proration-charge">USD 16.00<`,
		`data-testid="proration-net">USD 10.67<`, `data-testid="proration-total">USD 10.67<`,
		`name="product" value="` + itoa(vps8) + `"`, `data-testid="confirm-change"`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("preview lacks %s", want)
		}
	}
	// The reverse direction credits the difference.
	big := activeSubscription(t, st, ana.ID, "vps-8gb", "ana-2")
	d := c.get("/account/subscriptions/" + itoa(big.ID) + "/change?product=" + itoa(sub.ProductID))
	if d.Status != http.StatusOK || !strings.Contains(d.Body, `data-testid="proration-credited">USD 10.67<`) {
		t.Fatalf("downgrade preview: status %d, want USD 10.67 credited\n%s", d.Status, d.Body)
	}
	if r := c.get(page + "/change?product=" + itoa(productID(t, st, "web-starter"))); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("preview of a product of another type: status %d, want 422", r.Status)
	}
	after, _ := st.Store.SubscriptionByID(context.Background(), sub.ID)
	if after.ProductID != sub.ProductID {
		t.Fatal("a preview changed the plan")
	}
}

func TestCancellingWithoutAReasonIsRefused(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	sub := activeSubscription(t, st, ana.ID, "vps-2gb", "ana-1")
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	page := "/account/subscriptions/" + itoa(sub.ID)
	r := c.post(page+"/cancel", page, url.Values{"reason": {"   "}, "when": {"now"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(r.Body), "Tell us why you are cancelling.") {
		t.Fatalf("cancel without a reason: status %d, want 422 asking for the reason\n%s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, `value="now" checked`) {
		t.Error("the refused form lost the chosen time")
	}
	after, err := st.Store.SubscriptionByID(context.Background(), sub.ID)
	if err != nil || after.Status != billing.SubscriptionActive || after.CancelAtPeriodEnd || after.CancelledAt.Valid {
		t.Fatalf("a refused cancellation changed the subscription: %+v %v", after, err)
	}
}

func TestPaymentMethodsListTheSavedCardAndKeepTheOnlyOneOfAnActiveSubscription(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	if r := c.get("/account/payment-methods"); r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="methods-empty"`) {
		t.Fatalf("payment methods before paying: status %d, want the empty state", r.Status)
	}
	id := productID(t, st, "vps-2gb")
	rev := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})
	placed := c.post("/order/"+itoa(id)+"/place", "", hiddenFields(rev.Body))
	if placed.Status != http.StatusSeeOther {
		t.Fatalf("place: status %d", placed.Status)
	}
	paid := c.post(strings.TrimPrefix(placed.Location, st.URL("")), "", url.Values{"number": {"4242 4242 4242 4242"}, "expiry": {"12 / 40"}, "cvc": {"123"}})
	if paid.Status != http.StatusSeeOther {
		t.Fatalf("sandbox payment: status %d\n%s", paid.Status, paid.Body)
	}
	r := c.get("/account/payment-methods")
	if r.Status != http.StatusOK || strings.Count(r.Body, `data-testid="payment-method"`) != 1 || !strings.Contains(r.Body, "4242") || !strings.Contains(r.Body, `data-testid="method-default"`) {
		t.Fatalf("payment methods after paying with 4242: status %d\n%s", r.Status, r.Body)
	}
	subs, _ := st.Store.Subscriptions(context.Background(), store.SubscriptionFilter{CustomerID: ana.ID})
	if err := st.Store.UpdateSubscription(context.Background(), store.SubscriptionChange{ID: subs[0].ID, Status: billing.SubscriptionActive}); err != nil {
		t.Fatal(err)
	}
	method := hiddenFields(r.Body).Get("method")
	if !strings.HasPrefix(method, "sandbox:") {
		t.Fatalf("remove form names %q", method)
	}
	if rm := c.post("/account/payment-methods/remove", "/account/payment-methods", url.Values{"method": {method}}); rm.Status != http.StatusConflict || !strings.Contains(rm.Body, "only saved payment method") {
		t.Fatalf("remove the only card of an active subscription: status %d, want 409", rm.Status)
	}
	if r := c.get("/account/payment-methods"); strings.Count(r.Body, `data-testid="payment-method"`) != 1 {
		t.Fatal("the refused removal removed the card")
	}
	bo := createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	other := newBrowser(t, st)
	other.login(bo.Email, "password 12345")
	if rm := other.post("/account/payment-methods/remove", "/account/payment-methods", url.Values{"method": {method}}); rm.Status != http.StatusNotFound {
		t.Fatalf("another customer removing ana's card: status %d, want 404", rm.Status)
	}
}

// waitSubscription polls the store until the subscription satisfies ok.
func waitSubscription(t *testing.T, st *testenv.Stack, id int64, what string, ok func(store.Subscription) bool) store.Subscription {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		sub, err := st.Store.SubscriptionByID(context.Background(), id)
		if err == nil && ok(sub) {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %d never became %s: %+v (%v)", id, what, sub, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestCustomerOrdersPaysUpgradesAndCancelsThroughTheWorkflow(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	small, big := productID(t, st, "vps-2gb"), productID(t, st, "vps-8gb")
	rev := c.review(small, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})
	placed := c.post("/order/"+itoa(small)+"/place", "", hiddenFields(rev.Body))
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("place: status %d to %q", placed.Status, placed.Location)
	}
	if r := c.post(strings.TrimPrefix(placed.Location, st.URL("")), "", url.Values{"number": {"4242424242424242"}, "expiry": {"12/40"}, "cvc": {"123"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pay on the hosted page: status %d", r.Status)
	}
	subs, _ := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: ana.ID})
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(subs))
	}
	sub := waitSubscription(t, st, subs[0].ID, "active with a saved card", func(s store.Subscription) bool {
		return s.Status == billing.SubscriptionActive && s.PeriodEnd.Valid && s.PaymentMethodRef != ""
	})
	page := "/account/subscriptions/" + itoa(sub.ID)

	// Upgrade: the workflow prices the change, charges the saved card and switches the plan.
	if p := c.get(page + "/change?product=" + itoa(big)); p.Status != http.StatusOK || !strings.Contains(p.Body, `data-testid="proration-net"`) {
		t.Fatalf("preview: status %d", p.Status)
	}
	up := c.post(page+"/change", page, url.Values{"product": {itoa(big)}})
	if up.Status != http.StatusSeeOther || !strings.HasPrefix(up.Location, "/account/invoices/") {
		t.Fatalf("confirm upgrade: status %d to %q, want 303 to the change invoice\n%s", up.Status, up.Location, up.Body)
	}
	changed := waitSubscription(t, st, sub.ID, "on VPS 8 GB", func(s store.Subscription) bool { return s.ProductID == big })
	if changed.PriceAmount != 2400 {
		t.Fatalf("price after upgrade %d, want 2400", changed.PriceAmount)
	}

	// Cancel at period end; asking again is refused by the workflow with its message.
	if r := c.post(page+"/cancel", page, url.Values{"reason": {"moving to another host"}, "when": {"period_end"}}); r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "done=cancel-scheduled") {
		t.Fatalf("cancel at period end: status %d to %q\n%s", r.Status, r.Location, r.Body)
	}
	ending := waitSubscription(t, st, sub.ID, "cancelling at period end", func(s store.Subscription) bool { return s.CancelAtPeriodEnd })
	if ending.Status != billing.SubscriptionActive || ending.CancelReason != "moving to another host" {
		t.Fatalf("after cancel at period end: status %s reason %q", ending.Status, ending.CancelReason)
	}
	again := c.post(page+"/cancel", page, url.Values{"reason": {"again"}, "when": {"period_end"}})
	if again.Status != http.StatusConflict || !strings.Contains(again.Body, "The subscription already cancels at the end of the period.") {
		t.Fatalf("second cancel at period end: status %d, want 409 with the workflow's reason\n%s", again.Status, again.Body)
	}
	if r := c.get(page); !strings.Contains(r.Body, `data-testid="cancel-scheduled"`) || !strings.Contains(r.Body, `data-testid="schedule-note"`) {
		t.Fatal("the subscription page does not say it ends at the period end")
	}
}
