package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// createCustomerIn makes a verified customer whose profile gives country.
func createCustomerIn(t *testing.T, st *testenv.Stack, email, country string) store.User {
	t.Helper()
	h, err := auth.HashPassword("password 12345", auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Customer in " + country, PasswordHash: h,
		Role: store.RoleCustomer, Verified: true, Profile: store.Profile{Country: country}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// orderCard is the catalog card of a product.
func orderCard(t *testing.T, body string, productID int64) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)data-product-id="` + itoa(productID) + `".*?</article>`).FindString(body)
	if m == "" {
		t.Fatalf("no catalog card for product %d", productID)
	}
	return m
}

// TestOrderCatalogShowsOnePriceInTheVisitorsCurrency sells VPS 2 GB in USD, EUR and GBP and
// checks that each card shows its prices in one currency: the visitor's choice, else the one the
// customer already pays in, else their country's, else the shop's default, and that the
// configure form starts on that currency.
func TestOrderCatalogShowsOnePriceInTheVisitorsCurrency(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	id := productID(t, st, "vps-2gb")
	if err := st.Store.SetProductPrices(ctx, id, []store.Price{
		{Cycle: "monthly", Currency: "USD", Amount: 800}, {Cycle: "annual", Currency: "USD", Amount: 8000},
		{Cycle: "monthly", Currency: "EUR", Amount: 750}, {Cycle: "annual", Currency: "EUR", Amount: 7500},
		{Cycle: "monthly", Currency: "GBP", Amount: 650}, {Cycle: "annual", Currency: "GBP", Amount: 6500},
	}); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"USD": "USD 8.00", "EUR": "EUR 7.50", "GBP": "GBP 6.50"}
	shows := func(who, body, want string) {
		t.Helper()
		card := orderCard(t, body, id)
		for cur, price := range all {
			if got := strings.Contains(card, price); got != (cur == want) {
				t.Errorf("%s: card shows %s = %v, want only %s:\n%s", who, price, got, want, card)
			}
		}
		if n := strings.Count(card, `data-testid="order-price"`); n != 2 {
			t.Errorf("%s: card lists %d prices, want 2 (monthly and annual in %s)", who, n, want)
		}
		if !strings.Contains(card, `href="/order/`+itoa(id)+`?currency=`+want+`"`) {
			t.Errorf("%s: the Configure link does not carry %s:\n%s", who, want, card)
		}
	}

	anon := newBrowser(t, st)
	r := anon.get("/order")
	if r.Status != http.StatusOK {
		t.Fatalf("catalog: status %d", r.Status)
	}
	shows("a visitor", r.Body, "USD")
	if !strings.Contains(r.Body, `<option value="GBP">GBP</option>`) || !strings.Contains(r.Body, `<option value="USD" selected>USD</option>`) {
		t.Errorf("the currency switch does not offer GBP with USD chosen")
	}
	shows("a visitor choosing GBP", anon.get("/order?currency=GBP").Body, "GBP")
	shows("a visitor choosing a currency not on sale", anon.get("/order?currency=XYZ").Body, "USD")

	for _, c := range []struct{ email, country, want string }{
		{"uk@example.com", "GB", "GBP"},
		{"de@example.com", "DE", "EUR"},
		{"us@example.com", "US", "USD"},
		{"br@example.com", "BR", "USD"}, // no currency on sale for Brazil: the shop's default
	} {
		createCustomerIn(t, st, c.email, c.country)
		b := newBrowser(t, st)
		b.login(c.email, "password 12345")
		shows("a customer in "+c.country, b.get("/order").Body, c.want)
		if c.country == "GB" {
			shows("a customer in GB choosing USD", b.get("/order?currency=USD").Body, "USD")
		}
		form := b.get("/order/" + itoa(id))
		if !strings.Contains(form.Body, `<option value="monthly/`+c.want+`" selected>`) {
			t.Errorf("a customer in %s: the configure form does not start on monthly %s", c.country, c.want)
		}
	}

	// A British customer who already pays in EUR keeps EUR.
	eu := createCustomerIn(t, st, "uk-eur@example.com", "GB")
	createOverdueInvoice(t, st, eu.ID, 750, "EUR", "uk-eur-1")
	b := newBrowser(t, st)
	b.login("uk-eur@example.com", "password 12345")
	shows("a customer in GB paying in EUR", b.get("/order").Body, "EUR")
}
