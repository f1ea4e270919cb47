package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// createUnverifiedCustomer makes a customer who has not confirmed their email address.
func createUnverifiedCustomer(t *testing.T, st *testenv.Stack, email, password string) store.User {
	t.Helper()
	h, err := auth.HashPassword(password, auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Unconfirmed Customer", PasswordHash: h, Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	if u.Verified() {
		t.Fatal("the new customer is already verified")
	}
	return u
}

// orderToken is a review page's place token as the server signs it with the stack's APP_KEY,
// so a place request is valid in every way but the customer's verification.
func orderToken(customerID, productID int64) string {
	const nonce = "unverifiednonce"
	m := hmac.New(sha256.New, []byte(testenv.AppKey))
	fmt.Fprintf(m, "order:%d:%d:%s", customerID, productID, nonce)
	return nonce + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// unpaidInvoice places an order for the customer straight in the store (as staff would for a
// customer) and returns its unpaid invoice.
func unpaidInvoice(t *testing.T, st *testenv.Stack, customerID, productID int64) store.Invoice {
	t.Helper()
	ctx := context.Background()
	q, _, err := st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: customerID, ProductID: productID, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: customerID, IdempotencyKey: fmt.Sprintf("staff-%d", customerID), ProductID: productID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.Store.Invoice(ctx, o.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestUnverifiedCustomerIsAskedToConfirmBeforeOrderingOrPaying: the verification mail says a
// confirmed address is needed to place orders. A customer who has not confirmed is sent to a
// page asking them to, from the order form, the review, placing, and paying an invoice; nothing
// is ordered and no payment page is opened. Once confirmed, ordering works.
func TestUnverifiedCustomerIsAskedToConfirmBeforeOrderingOrPaying(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUnverifiedCustomer(t, st, "unconfirmed@example.com", "password 12345")
	vps := productID(t, st, "vps-2gb")
	c := newBrowser(t, st)
	if r := c.login(cust.Email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("login: status %d", r.Status)
	}

	if r := c.get("/order/" + itoa(vps)); r.Status != http.StatusSeeOther || r.Location != "/verify/needed" {
		t.Errorf("order form: status %d to %q, want 303 to /verify/needed", r.Status, r.Location)
	}
	if r := c.post("/order/"+itoa(vps)+"/review", "/account", url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}}); r.Status != http.StatusSeeOther || r.Location != "/verify/needed" {
		t.Errorf("review: status %d to %q, want 303 to /verify/needed", r.Status, r.Location)
	}
	place := url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}, "token": {orderToken(cust.ID, vps)}}
	if r := c.post("/order/"+itoa(vps)+"/place", "/account", place); r.Status != http.StatusSeeOther || r.Location != "/verify/needed" {
		t.Errorf("place: status %d to %q, want 303 to /verify/needed", r.Status, r.Location)
	}
	if subs, invs := orderCounts(t, st, cust.ID); subs != 0 || invs != 0 {
		t.Fatalf("an unverified customer's order made %d subscriptions and %d invoices, want none", subs, invs)
	}

	inv := unpaidInvoice(t, st, cust.ID, vps)
	pay := fmt.Sprintf("/account/invoices/%d/pay", inv.ID)
	if r := c.get(pay); r.Status != http.StatusSeeOther || r.Location != "/verify/needed" {
		t.Errorf("pay form: status %d to %q, want 303 to /verify/needed", r.Status, r.Location)
	}
	if r := c.post(pay, "/account", url.Values{"gateway": {"sandbox"}}); r.Status != http.StatusSeeOther || r.Location != "/verify/needed" {
		t.Errorf("pay: status %d to %q, want 303 to /verify/needed", r.Status, r.Location)
	}
	if open, err := st.Store.OpenCheckouts(ctx, inv.ID); err != nil || len(open) != 0 {
		t.Fatalf("payment pages opened for the unverified customer's invoice: %d (%v), want none", len(open), err)
	}

	page := c.get("/verify/needed")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="verify-needed"`) ||
		!strings.Contains(page.Body, `action="/verify/resend"`) || !strings.Contains(page.Body, cust.Email) {
		t.Fatalf("verify-needed page: status %d, want the request to confirm with a resend button\n%s", page.Status, page.Body)
	}
	if r := c.post("/verify/resend", "/verify/needed", url.Values{"email": {cust.Email}}); r.Status != http.StatusSeeOther {
		t.Fatalf("resend: status %d", r.Status)
	}
	link := mailedLink(t, st, cust.Email, "Confirm your email")
	if r := c.get(link); r.Status != http.StatusOK {
		t.Fatalf("verification link: status %d", r.Status)
	}
	if r := c.get("/verify/needed"); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Errorf("verify-needed once confirmed: status %d to %q, want 303 to /account", r.Status, r.Location)
	}
	if r := c.get("/order/" + itoa(vps)); r.Status != http.StatusOK {
		t.Fatalf("order form once confirmed: status %d, want 200", r.Status)
	}
	if r := c.get(pay); r.Status != http.StatusOK {
		t.Fatalf("pay form once confirmed: status %d, want 200", r.Status)
	}
}

// TestBrowserUnverifiedCustomerSeesConfirmFirstWhenOrdering: in headless Chromium, a customer
// who has not confirmed their address picks a product and lands on the page asking them to
// confirm first, and can have the link sent again from there.
func TestBrowserUnverifiedCustomerSeesConfirmFirstWhenOrdering(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	cust := createUnverifiedCustomer(t, st, "unconfirmed@example.com", "password 12345")
	vps := productID(t, st, "vps-2gb")

	b := testenv.Chromium(t)
	logInThroughForm(b, t, st, cust.Email, "password 12345", "account-dashboard")
	chromeSteps(b, t, "choose the VPS in the catalog",
		chromedp.Navigate(st.URL("/order")),
		chromedp.WaitVisible(byID("order-catalog")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="order-product"][data-product-id="%d"] [data-testid="order-link"]`, vps))),
	)
	waitCtx, cancel := context.WithTimeout(b, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(byID("verify-needed"))); err != nil {
		loc, _ := chromedp.Run(b, chromedp.Location())
		t.Fatalf("after choosing a product the unverified customer is at %q, not asked to confirm: %v", loc, err)
	}
	if got := chromeValue(b, t, "the page's text", chromedp.Text(byID("verify-needed"))); !strings.Contains(got, "confirmed email address") || !strings.Contains(got, cust.Email) {
		t.Fatalf("verify-needed page reads %q", got)
	}
	screenshotTo(b, t, "verify-needed.png")
	chromeSteps(b, t, "resend the link", chromedp.Click(byID("verify-resend-submit")), chromedp.WaitVisible(byID("verify-sent")))
	mailedLink(t, st, cust.Email, "Confirm your email")
}
