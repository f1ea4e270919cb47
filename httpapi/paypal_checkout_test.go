package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
	sub := waitSubscription(t, st, subs[0].ID, "active", func(s store.Subscription) bool { return s.Status == store.SubscriptionActive })
	invs, _ := st.Store.SubscriptionInvoices(ctx, sub.ID)
	pays, _ := st.Store.InvoicePayments(ctx, invs[len(invs)-1].ID)
	if len(pays) != 1 || pays[0].Gateway != "paypal" {
		t.Fatalf("payments %+v", pays)
	}
}
