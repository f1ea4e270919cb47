package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestPayPalCheckoutIsCapturedWhenTheCustomerComesBack orders with PayPal: the hosted page is the
// PayPal simulator's approve page; coming back to the invoice captures the approved order once,
// records the payment and starts the subscription. Coming back again captures nothing more.
func TestPayPalCheckoutIsCapturedWhenTheCustomerComesBack(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{PayPal: true})
	ctx := context.Background()
	cust := createUser(t, st, "pp@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("pp@example.com", "password 12345")
	id := productID(t, st, "vps-2gb")
	rev := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"paypal"}})
	placed := c.post("/order/"+itoa(id)+"/place", "", hiddenFields(rev.Body))
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.PayPal.URL) {
		t.Fatalf("place with PayPal: %d to %q, want the PayPal approve page", placed.Status, placed.Location)
	}
	approve, _ := url.Parse(placed.Location)
	order := approve.Query().Get("token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(st.PayPal.URL+"/checkoutnow", url.Values{"token": {order}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, st.URL("/account/invoices/")) || !strings.Contains(back, "from=paypal") {
		t.Fatalf("PayPal sends the buyer back to %q", back)
	}
	for range 2 {
		page := c.get(strings.TrimPrefix(back, st.URL("")))
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "the invoice is paid") {
			t.Fatalf("back from PayPal: %d\n%s", page.Status, page.Body)
		}
	}
	if caps := st.PayPal.Captures(); len(caps) != 1 {
		t.Fatalf("%d captures at PayPal, want 1", len(caps))
	}
	subs, _ := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: cust.ID})
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions", len(subs))
	}
	sub := waitSubscription(t, st, subs[0].ID, "active", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
	invs, _ := st.Store.SubscriptionInvoices(ctx, sub.ID)
	pays, _ := st.Store.InvoicePayments(ctx, invs[len(invs)-1].ID)
	if len(pays) != 1 || pays[0].Gateway != "paypal" {
		t.Fatalf("payments %+v", pays)
	}
}

// TestAddingACardOnTheGatewaysSetupPageMakesItTheRenewalCard adds a card from the payment
// methods page through the sandbox's setup page: nothing is charged, the card is listed as the
// default and the customer's subscription will be charged on it.
func TestAddingACardOnTheGatewaysSetupPageMakesItTheRenewalCard(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	sub, _ := orderAndPay(t, st, "cards@example.com", "vps-2gb")
	c := newBrowser(t, st)
	c.login("cards@example.com", "password 12345")
	page := c.get("/account/payment-methods")
	fields := hiddenFields(page.Body)
	if !strings.Contains(page.Body, `data-testid="method-add"`) {
		t.Fatal("no add-a-card button for the sandbox")
	}
	charges := st.Sandbox.Stats().Charges
	add := c.post("/account/payment-methods/add", "/account/payment-methods", url.Values{"gateway": {"sandbox"}, "nonce": {fields.Get("nonce")}})
	if add.Status != http.StatusSeeOther || !strings.HasPrefix(add.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("add a card: %d to %q", add.Status, add.Location)
	}
	saved := c.post(strings.TrimPrefix(add.Location, st.URL("")), "", url.Values{"number": {"4000 0000 0000 0341"}, "expiry": {"11 / 39"}, "cvc": {"321"}})
	if saved.Status != http.StatusSeeOther || !strings.Contains(saved.Location, "done=added") {
		t.Fatalf("setup page: %d to %q", saved.Status, saved.Location)
	}
	back := c.get(strings.TrimPrefix(saved.Location, st.URL("")))
	if strings.Count(back.Body, `data-testid="payment-method"`) != 2 || !strings.Contains(back.Body, "Your new card is saved") {
		t.Fatalf("payment methods after adding:\n%s", back.Body)
	}
	if st.Sandbox.Stats().Charges != charges {
		t.Fatal("saving a card charged it")
	}
	fresh, _ := st.Store.SubscriptionByID(ctx, sub.ID)
	methods, _ := st.Sandbox.PaymentMethods(ctx, fresh.GatewayCustomerRef)
	for _, m := range methods {
		if m.Default && (m.Last4 != "0341" || fresh.PaymentMethodRef != m.Ref) {
			t.Fatalf("default %+v, subscription charges %s", m, fresh.PaymentMethodRef)
		}
	}
	if fresh.PaymentMethodRef == sub.PaymentMethodRef {
		t.Fatal("the subscription still charges the old card")
	}
}
