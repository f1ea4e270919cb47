package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

var (
	portalNextAmount = regexp.MustCompile(`data-testid="subscription-next-amount">([^<]+)<`)
	adminNext        = regexp.MustCompile(`data-testid="subscription-next">([^<]+) on `)
)

// TestAdminAndPortalShowTheSameTaxedNextInvoice: with a sales tax, the next invoice the admin
// shows for a subscription is the figure the customer sees in the portal, tax included.
func TestAdminAndPortalShowTheSameTaxedNextInvoice(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	if _, err := st.Store.CreateTaxRule(ctx, billing.TaxRule{Level: 1, Name: "Sales tax", RateMilliPercent: 10000}); err != nil {
		t.Fatal(err)
	}
	sub := st.RenewingSubscription(t, 1, productID(t, st, "vps-2gb"), time.Now().Add(10*24*time.Hour))
	h, err := auth.HashPassword("password 12345", auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.SetPassword(ctx, sub.CustomerID, h, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Temporal.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(sub.ID, sub.CustomerID, testenv.TaskQueue),
		workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, Timings: st.Settings.Billing}); err != nil {
		t.Fatal(err)
	}
	var next workflows.NextInvoice
	for deadline := time.Now().Add(30 * time.Second); next.Due.IsZero(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the workflow has not priced the next invoice after 30 s")
		}
		if v, err := st.Temporal.QueryWorkflow(ctx, workflows.SubscriptionID(sub.ID), "", workflows.QueryNextInvoice); err == nil {
			_ = v.Get(&next)
		}
	}
	if !next.Tax.IsPositive() {
		t.Fatalf("the next invoice %+v carries no tax; the test needs some", next)
	}
	// Only the figure is compared, not how it is formatted.
	taxed := next.Total.Decimal()

	cust, err := st.Store.UserByID(ctx, sub.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	c := newBrowser(t, st)
	c.login(cust.Email, "password 12345")
	portal := c.get("/account/subscriptions/" + itoa(sub.ID))
	m := portalNextAmount.FindStringSubmatch(portal.Body)
	if portal.Status != http.StatusOK || m == nil {
		t.Fatalf("portal subscription page: status %d, no next amount", portal.Status)
	}
	shown := strings.TrimSpace(m[1])
	if !strings.Contains(shown, taxed) {
		t.Errorf("the portal shows the next invoice as %q, want %s (tax included)", shown, taxed)
	}

	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	page := admin.get("/admin/subscriptions/" + itoa(sub.ID))
	m = adminNext.FindStringSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil {
		t.Fatalf("admin subscription page: status %d, no next invoice", page.Status)
	}
	if got := strings.TrimSpace(m[1]); got != shown || !strings.Contains(got, taxed) {
		t.Errorf("the admin shows the next invoice as %q, the portal %q: want the same taxed figure %s", got, shown, taxed)
	}
}
