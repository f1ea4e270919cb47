package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestACardSavedTwiceIsListedOnce: a customer who saves the same card twice on the gateway's
// hosted page (adding it again, or paying with it again) sees it once on the payment methods page.
func TestACardSavedTwiceIsListedOnce(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUser(t, st, "twice@example.com", "password 12345", store.RoleCustomer)
	ref, err := st.Sandbox.EnsureCustomer(ctx, gateways.Customer{ID: cust.ID, Email: cust.Email, Name: cust.Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"setup-a", "setup-b"} {
		co, err := st.Sandbox.StartSetup(ctx, gateways.SetupRequest{CustomerRef: ref, Currency: "USD", SuccessURL: st.URL("/account/payment-methods"), IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		testenv.PayWith4242(t, co.URL)
	}
	c := newBrowser(t, st)
	c.login(cust.Email, "password 12345")
	r := c.get("/account/payment-methods")
	if r.Status != http.StatusOK {
		t.Fatalf("payment methods: status %d", r.Status)
	}
	if n := strings.Count(r.Body, `data-testid="payment-method"`); n != 1 || !strings.Contains(r.Body, "•••• 4242") {
		t.Fatalf("the page lists %d saved payment methods for one card saved twice, want 1", n)
	}
}
