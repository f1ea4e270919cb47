package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestDashboardInvoicesCardListsTheCustomersInvoices: the portal dashboard's Invoices card says
// "no invoices yet" only to a customer who has none; otherwise it lists them with links.
func TestDashboardInvoicesCardListsTheCustomersInvoices(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	cust := createUser(t, st, "invoiced@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login(cust.Email, "password 12345")
	if r := c.get("/account"); r.Status != http.StatusOK || !strings.Contains(r.Body, "You have no invoices yet") {
		t.Fatalf("dashboard of a customer without invoices: status %d, want the empty state", r.Status)
	}

	inv := unpaidInvoice(t, st, cust.ID, productID(t, st, "vps-2gb"))
	r := c.get("/account")
	if r.Status != http.StatusOK {
		t.Fatalf("dashboard: status %d", r.Status)
	}
	if strings.Contains(r.Body, "You have no invoices yet") {
		t.Error("the dashboard says there are no invoices while the customer has one")
	}
	if !strings.Contains(r.Body, `href="/account/invoices/`+itoa(inv.ID)+`"`) || !strings.Contains(r.Body, inv.Number) {
		t.Errorf("the dashboard's Invoices card does not list invoice %s (id %d)", inv.Number, inv.ID)
	}
}
