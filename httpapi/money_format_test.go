package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestMoneyIsShownWithThousandsSeparators opens the pages a customer and staff read an invoice
// of USD 70,228.68 and a JPY one on, and looks for the grouped amounts (and never the bare ones).
func TestMoneyIsShownWithThousandsSeparators(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	cust := createUser(t, st, "big@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	usd := createOverdueInvoice(t, st, cust.ID, 7022868, "USD", "big-usd")
	jpy := createOverdueInvoice(t, st, cust.ID, 1234567, "JPY", "big-jpy")

	c := newBrowser(t, st)
	c.login("big@example.com", "password 12345")
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	for _, p := range []struct {
		b    *browser
		path string
		want []string
	}{
		{c, "/account/invoices", []string{"USD 70,228.68", "JPY 1,234,567"}},
		{c, "/account/invoices/" + itoa(usd.ID), []string{"USD 70,228.68"}},
		{c, "/account/invoices/" + itoa(jpy.ID), []string{"JPY 1,234,567"}},
		{admin, "/admin/invoices", []string{"USD 70,228.68", "JPY 1,234,567"}},
		{admin, "/admin/invoices/" + itoa(usd.ID), []string{"USD 70,228.68"}},
		{admin, "/admin/customers/" + itoa(cust.ID), []string{"USD 70,228.68"}},
	} {
		r := p.b.get(p.path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: status %d", p.path, r.Status)
		}
		for _, want := range p.want {
			if !strings.Contains(r.Body, want) {
				t.Errorf("%s does not show %s", p.path, want)
			}
		}
		for _, bare := range []string{"70228.68", "JPY 1234567"} {
			if strings.Contains(r.Body, bare) {
				t.Errorf("%s shows %s without separators", p.path, bare)
			}
		}
	}
}
