package httpapi_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// hiddenFields are the hidden inputs of a page (the place form of a review page), csrf included.
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// review submits the configure form of a product and returns the answer.
func (b *browser) review(productID int64, form url.Values) response {
	b.t.Helper()
	return b.post("/order/"+itoa(productID)+"/review", "/order/"+itoa(productID), form)
}

// orderCounts is how many subscriptions and invoices a customer has.
func orderCounts(t *testing.T, st *testenv.Stack, customerID int64) (subs, invoices int) {
	t.Helper()
	ss, err := st.Store.Subscriptions(context.Background(), store.SubscriptionFilter{CustomerID: customerID})
	if err != nil {
		t.Fatal(err)
	}
	is, err := st.Store.Invoices(context.Background(), store.InvoiceFilter{CustomerID: customerID})
	if err != nil {
		t.Fatal(err)
	}
	return len(ss), len(is)
}

func TestOrderCatalogListsOrderableProductsAndOrderingNeedsALogin(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	if _, err := st.Store.UpsertCatalogEntry(ctx, store.CatalogEntry{
		Group:   store.ProductGroup{Slug: "cloud-vps", Name: "Cloud VPS", Sort: 1},
		Product: store.Product{Slug: "vps-secret", Name: "Secret VPS", Type: "vps", Hidden: true},
		Prices:  []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 100}},
	}); err != nil {
		t.Fatal(err)
	}
	anon := newBrowser(t, st)
	r := anon.get("/order")
	if r.Status != http.StatusOK {
		t.Fatalf("catalog: status %d", r.Status)
	}
	for _, want := range []string{"Cloud VPS", "VPS 2 GB", "USD 8.00", "Xeon E3-1240 v6", "USD 49.00", "Minecraft 4 GB", "Game Servers"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("catalog lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "Secret VPS") {
		t.Error("catalog lists a hidden product")
	}
	id := productID(t, st, "vps-2gb")
	if r := anon.get("/order/" + itoa(id)); r.Status != http.StatusSeeOther || r.Location != "/login?next="+url.QueryEscape("/order/"+itoa(id)) {
		t.Fatalf("configure logged out: status %d to %q, want 303 to the login page coming back", r.Status, r.Location)
	}
	createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	anon.login("ana@example.com", "password 12345")
	r = anon.get("/order/" + itoa(id))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `value="monthly/USD"`) || !strings.Contains(r.Body, `value="annual/EUR"`) || !strings.Contains(r.Body, `value="sandbox"`) {
		t.Fatalf("configure: status %d, want the product's four prices and the sandbox gateway\n%s", r.Status, r.Body)
	}
	if r := anon.get("/order/" + itoa(productID(t, st, "vps-secret"))); r.Status != http.StatusNotFound {
		t.Fatalf("configure a hidden product: status %d, want 404", r.Status)
	}
}

func TestReviewShowsCouponAndTaxLinesAndPlacingSendsToTheHostedPage(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	if _, err := st.Store.CreateCoupon(ctx, billing.Coupon{Code: "save25", Kind: billing.CouponPercent, PercentBP: 2500, Duration: billing.CouponOnce}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.CreateTaxRule(ctx, billing.TaxRule{Level: 1, Name: "Sales tax", RateMilliPercent: 10000}); err != nil {
		t.Fatal(err)
	}
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	id := productID(t, st, "e3-1240") // USD 89.00 monthly + USD 49.00 setup
	r := c.review(id, url.Values{"price": {"monthly/USD"}, "coupon": {" save25 "}, "gateway": {"sandbox"}})
	if r.Status != http.StatusOK {
		t.Fatalf("review: status %d\n%s", r.Status, r.Body)
	}
	// 25% of the product line (not the setup fee) is 22.25; tax 10% of 89 + 49 − 22.25 = 115.75 is 11.575 → 11.58.
	for _, want := range []string{"USD 89.00", "USD 49.00", "USD -22.25", "Sales tax", "USD 11.58", `data-testid="order-total">USD 127.33<`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("review lacks %q", want)
		}
	}
	if subs, invs := orderCounts(t, st, ana.ID); subs != 0 || invs != 0 {
		t.Fatalf("review created %d subscriptions and %d invoices, want none", subs, invs)
	}
	form := hiddenFields(r.Body)
	if form.Get("token") == "" || form.Get("price") != "monthly/USD" {
		t.Fatalf("review's place form: %v", form)
	}
	// Tampering with the token is refused; nothing is created.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("token", form.Get("token")+"x")
	if r := c.post("/order/"+itoa(id)+"/place", "", bad); r.Status != http.StatusBadRequest {
		t.Fatalf("forged token: status %d, want 400", r.Status)
	}
	placed := c.post("/order/"+itoa(id)+"/place", "", form)
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("place: status %d to %q, want 303 to the sandbox's hosted page\n%s", placed.Status, placed.Location, placed.Body)
	}
	invs, err := st.Store.Invoices(ctx, store.InvoiceFilter{CustomerID: ana.ID})
	if err != nil || len(invs) != 1 {
		t.Fatalf("invoices after placing: %d (%v), want 1", len(invs), err)
	}
	if got := invs[0].Totals.Total.String(); got != "USD 127.33" || invs[0].Status != billing.StatusUnpaid {
		t.Fatalf("first invoice: total %s status %s, want USD 127.33 unpaid", got, invs[0].Status)
	}
	if use, _ := st.Store.CouponUsage(ctx, "SAVE25", ana.ID); use.Uses != 1 {
		t.Fatalf("coupon redemptions %d, want 1", use.Uses)
	}
	// The hosted page pays the amount due of our invoice.
	if r := c.get(placed.Location); r.Status != http.StatusOK || !strings.Contains(r.Body, "127.33") {
		t.Fatalf("hosted page: status %d, want it to ask for 127.33\n%s", r.Status, r.Body)
	}
	// Paying an invoice again goes to the same hosted page.
	pay := "/account/invoices/" + itoa(invs[0].ID) + "/pay"
	if r := c.get(pay); r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="pay-gateway-sandbox"`) {
		t.Fatalf("pay page: status %d", r.Status)
	}
	if r := c.post(pay, pay, url.Values{"gateway": {"sandbox"}}); r.Status != http.StatusSeeOther || r.Location != placed.Location {
		t.Fatalf("pay again: status %d to %q, want the same hosted page %q", r.Status, r.Location, placed.Location)
	}
	other := createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	bo := newBrowser(t, st)
	bo.login(other.Email, "password 12345")
	if r := bo.get(pay); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's pay page: status %d, want 404", r.Status)
	}
}

func TestBadCouponsMissingFieldsAndSoldOutProductsAreRefusedAndCreateNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	vps := productID(t, st, "vps-2gb")
	game := productID(t, st, "minecraft-4gb")
	for _, c := range []billing.Coupon{
		{Code: "OLD", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, ExpiresAt: time.Now().Add(-time.Hour)},
		{Code: "GAMEONLY", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, ProductIDs: []int64{game}},
		{Code: "ONCE", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, OncePerCustomer: true},
	} {
		if _, err := st.Store.CreateCoupon(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	groups, _ := st.Store.ProductGroups(ctx)
	withFields, err := st.Store.CreateProduct(ctx, store.CatalogProduct{
		Product: store.Product{GroupID: groups[0].ID, Slug: "vps-custom", Name: "VPS Custom", Type: "vps"},
		OrderFields: store.OrderFields{
			{Key: "hostname", Label: "Hostname", Required: true, Kind: "text"},
			{Key: "os", Label: "Operating system", Required: true, Kind: "select", Options: []string{"debian-12", "ubuntu-24.04"}},
		},
		Prices: []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	soldOut, err := st.Store.CreateProduct(ctx, store.CatalogProduct{
		Product:    store.Product{GroupID: groups[0].ID, Slug: "vps-gone", Name: "VPS Gone", Type: "vps"},
		StockLimit: sql.NullInt64{Int64: 0, Valid: true},
		Prices:     []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both are delivered on the same panel as the seeded VPS (a product with no panel is not offered).
	mapped, err := st.Store.CatalogProductByID(ctx, vps)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{withFields.ID, soldOut.ID} {
		if err := st.Store.SetProductPanel(ctx, id, mapped.PanelType.String, mapped.PanelPlanID, mapped.PanelOptions); err != nil {
			t.Fatal(err)
		}
	}
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")

	// ONCE is used by a first order, so the second order is refused.
	r := c.review(vps, url.Values{"price": {"monthly/USD"}, "coupon": {"ONCE"}, "gateway": {"sandbox"}})
	if r.Status != http.StatusOK {
		t.Fatalf("first review with ONCE: status %d\n%s", r.Status, r.Body)
	}
	if placed := c.post("/order/"+itoa(vps)+"/place", "", hiddenFields(r.Body)); placed.Status != http.StatusSeeOther {
		t.Fatalf("first order with ONCE: status %d\n%s", placed.Status, placed.Body)
	}
	subs0, invs0 := orderCounts(t, st, ana.ID)

	for _, tc := range []struct {
		name    string
		product int64
		form    url.Values
		status  int
		message string
	}{
		{"unknown coupon", vps, url.Values{"price": {"monthly/USD"}, "coupon": {"nope"}, "gateway": {"sandbox"}}, 422, "There is no coupon with the code NOPE."},
		{"expired coupon", vps, url.Values{"price": {"monthly/USD"}, "coupon": {"OLD"}, "gateway": {"sandbox"}}, 422, "The coupon OLD has expired."},
		{"coupon for another product", vps, url.Values{"price": {"monthly/USD"}, "coupon": {"GAMEONLY"}, "gateway": {"sandbox"}}, 422, "The coupon GAMEONLY does not apply to VPS 2 GB."},
		{"coupon already used", vps, url.Values{"price": {"monthly/USD"}, "coupon": {"ONCE"}, "gateway": {"sandbox"}}, 422, "You have already used the coupon ONCE."},
		{"price the product does not have", vps, url.Values{"price": {"triennial/USD"}, "gateway": {"sandbox"}}, 422, "Choose a billing cycle from the list."},
		{"missing required field", withFields.ID, url.Values{"price": {"monthly/USD"}, "field_os": {"debian-12"}, "gateway": {"sandbox"}}, 422, "Hostname is required."},
		{"option not offered", withFields.ID, url.Values{"price": {"monthly/USD"}, "field_hostname": {"a.example.com"}, "field_os": {"windows"}, "gateway": {"sandbox"}}, 422, "Choose one of the listed options."},
		{"sold out", soldOut.ID, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}}, 409, "VPS Gone is sold out right now."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.review(tc.product, tc.form)
			if r.Status != tc.status || !strings.Contains(html.UnescapeString(r.Body), tc.message) {
				t.Fatalf("status %d, want %d with %q\n%s", r.Status, tc.status, tc.message, r.Body)
			}
			if !strings.Contains(r.Body, `data-testid="order-review-submit"`) {
				t.Fatal("the configure form is not shown again")
			}
			if strings.Contains(r.Body, `name="token"`) {
				t.Fatal("a refused review carries an order token")
			}
			// Placing the same choices directly is refused the same way.
			f := url.Values{}
			for k, v := range tc.form {
				f[k] = v
			}
			if p := c.post("/order/"+itoa(tc.product)+"/place", "/order/"+itoa(tc.product), f); p.Status == http.StatusSeeOther {
				t.Fatalf("place without a valid token: status %d", p.Status)
			}
			if subs, invs := orderCounts(t, st, ana.ID); subs != subs0 || invs != invs0 {
				t.Fatalf("after a refusal: %d subscriptions, %d invoices; want %d and %d", subs, invs, subs0, invs0)
			}
		})
	}

	ok := c.review(withFields.ID, url.Values{"price": {"monthly/USD"}, "field_hostname": {"web1.example.com"}, "field_os": {"ubuntu-24.04"}, "gateway": {"sandbox"}})
	if ok.Status != http.StatusOK || !strings.Contains(ok.Body, "web1.example.com") || !strings.Contains(ok.Body, "ubuntu-24.04") {
		t.Fatalf("review with the fields answered: status %d\n%s", ok.Status, ok.Body)
	}
}

func TestFiveConcurrentPlacementsOfOneReviewMakeOneOrder(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	id := productID(t, st, "vps-2gb")
	r := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})
	if r.Status != http.StatusOK {
		t.Fatalf("review: status %d\n%s", r.Status, r.Body)
	}
	body := hiddenFields(r.Body).Encode()
	type result struct {
		status   int
		location string
		err      error
	}
	results := make([]result, 5)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, st.URL("/order/"+itoa(id)+"/place"), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.c.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			res.Body.Close()
			results[i] = result{status: res.StatusCode, location: res.Header.Get("Location")}
		})
	}
	wg.Wait()
	for i, res := range results {
		if res.err != nil || res.status != http.StatusSeeOther || res.location != results[0].location || !strings.HasPrefix(res.location, st.URL("/sandbox/checkout/")) {
			t.Fatalf("submission %d: %v status %d to %q; want all 303 to one hosted page (first: %q)", i, res.err, res.status, res.location, results[0].location)
		}
	}
	subs, err := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: ana.ID})
	if err != nil {
		t.Fatal(err)
	}
	invs, err := st.Store.Invoices(ctx, store.InvoiceFilter{CustomerID: ana.ID})
	if err != nil {
		t.Fatal(err)
	}
	services, err := st.Store.Services(ctx, store.ServiceFilter{CustomerID: ana.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || len(invs) != 1 || len(services) > 1 {
		t.Fatalf("5 submissions of one form made %d subscriptions, %d invoices, %d services; want 1, 1, at most 1", len(subs), len(invs), len(services))
	}
	order, err := st.Store.OrderByInvoice(ctx, invs[0].ID)
	if err != nil || order.SubscriptionID != subs[0].ID {
		t.Fatalf("order of the invoice: %+v, %v", order, err)
	}
	if _, err := st.Temporal.DescribeWorkflow(ctx, workflows.SubscriptionID(subs[0].ID), ""); err != nil {
		t.Fatalf("the subscription workflow was not started: %v", err)
	}
}

// A product that needs a control panel but is mapped to none is not offered: a paid order would
// activate a subscription with nothing delivered. Staff see why on the catalog page.
func TestProductsWithoutAControlPanelAreNotOffered(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	if _, err := st.Store.UpsertCatalogEntry(ctx, store.CatalogEntry{
		Group:   store.ProductGroup{Slug: "cloud-vps", Name: "Cloud VPS", Sort: 1},
		Product: store.Product{Slug: "vps-unmapped", Name: "Unmapped VPS", Type: "vps"},
		Prices:  []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 100}},
	}); err != nil {
		t.Fatal(err)
	}
	customer := newBrowser(t, st)
	createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	customer.login("ana@example.com", "password 12345")
	if r := customer.get("/order"); r.Status != http.StatusOK || strings.Contains(r.Body, "Unmapped VPS") || !strings.Contains(r.Body, "VPS 2 GB") {
		t.Fatalf("catalog: status %d, lists the unmapped product %v, lists a mapped one %v", r.Status,
			strings.Contains(r.Body, "Unmapped VPS"), strings.Contains(r.Body, "VPS 2 GB"))
	}
	id := productID(t, st, "vps-unmapped")
	if r := customer.get("/order/" + itoa(id)); r.Status != http.StatusNotFound {
		t.Fatalf("configure an unmapped product: status %d, want 404", r.Status)
	}
	before, _ := orderCounts(t, st, currentID(t, st, "ana@example.com"))
	r := customer.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})
	if r.Status != http.StatusNotFound {
		t.Fatalf("review an unmapped product: status %d, want 404", r.Status)
	}
	if after, _ := orderCounts(t, st, currentID(t, st, "ana@example.com")); after != before {
		t.Fatalf("subscriptions %d → %d; an unmapped product must create nothing", before, after)
	}
	staff := newBrowser(t, st)
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	staff.login("boss@example.com", "password 12345")
	if r := staff.get("/admin/catalog"); !strings.Contains(r.Body, `data-testid="badge-no-panel"`) {
		t.Fatalf("the admin catalog does not say the unmapped product is not offered (status %d)", r.Status)
	}
}

func currentID(t *testing.T, st *testenv.Stack, email string) int64 {
	t.Helper()
	u, err := st.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
