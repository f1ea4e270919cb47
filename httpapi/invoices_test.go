package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

func createTestInvoice(t *testing.T, st *testenv.Stack, customerID int64, key string) store.Invoice {
	t.Helper()
	amount, err := billing.New(1200, "USD")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.Store.CreateInvoice(context.Background(), store.NewInvoice{
		CustomerID: customerID, Currency: "USD", DueAt: time.Now().Add(14 * 24 * time.Hour),
		Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "VPS 2 GB (monthly)", Amount: amount, Taxable: true}},
		IdempotencyKey: key, CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestCustomerSeesOnlyOwnInvoicesAndAdminSettlesThem(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	bo := createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	mine := createTestInvoice(t, st, ana.ID, "test-ana-1")
	theirs := createTestInvoice(t, st, bo.ID, "test-bo-1")

	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	list := c.get("/account/invoices")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, mine.Number) || strings.Contains(list.Body, `data-invoice-id="`+itoa(theirs.ID)+`"`) {
		t.Fatalf("invoice list: status %d; want own %s only\n%s", list.Status, mine.Number, list.Body)
	}
	page := c.get("/account/invoices/" + itoa(mine.ID))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "VPS 2 GB (monthly)") || !strings.Contains(page.Body, "/account/invoices/"+itoa(mine.ID)+"/pdf") {
		t.Fatalf("invoice page: status %d\n%s", page.Status, page.Body)
	}
	doc := c.get("/account/invoices/" + itoa(mine.ID) + "/pdf")
	if doc.Status != http.StatusOK || !strings.HasPrefix(doc.Body, "%PDF") || doc.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("invoice pdf: status %d, type %q, starts %q", doc.Status, doc.Header.Get("Content-Type"), doc.Body[:min(8, len(doc.Body))])
	}
	if cd := doc.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, mine.Number+".pdf") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	for _, p := range []string{"/account/invoices/" + itoa(theirs.ID), "/account/invoices/" + itoa(theirs.ID) + "/pdf"} {
		if r := c.get(p); r.Status != http.StatusNotFound {
			t.Fatalf("another customer's %s: status %d, want 404", p, r.Status)
		}
	}
	if r := c.get("/admin/invoices"); r.Status != http.StatusForbidden {
		t.Fatalf("customer on /admin/invoices: status %d, want 403", r.Status)
	}

	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	if r := admin.get("/admin/invoices?status=unpaid"); r.Status != http.StatusOK || !strings.Contains(r.Body, mine.Number) || !strings.Contains(r.Body, "bo@example.com") {
		t.Fatalf("admin list: status %d\n%s", r.Status, r.Body)
	}
	if r := admin.get("/admin/invoices/" + itoa(mine.ID) + "/pdf"); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "%PDF") {
		t.Fatalf("admin pdf: status %d", r.Status)
	}
	detail := "/admin/invoices/" + itoa(mine.ID)
	for i := range 2 {
		if r := admin.post(detail+"/mark-paid", detail, url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("mark paid #%d: status %d\n%s", i+1, r.Status, r.Body)
		}
	}
	paid, err := st.Store.Invoice(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != billing.StatusPaid || paid.Totals.Paid.Amount != 1200 {
		t.Fatalf("after marking paid twice: status %s, paid %s; want paid with one payment of 12.00", paid.Status, paid.Totals.Paid)
	}
	if r := admin.post(detail+"/cancel", detail, url.Values{}); r.Status != http.StatusConflict && r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("cancel a paid invoice: status %d, want 409 or 422", r.Status)
	}
	after, err := st.Store.Invoice(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != billing.StatusPaid || after.CancelledAt.Valid {
		t.Fatalf("refused cancel changed the invoice: status %s", after.Status)
	}

	// A cancelled invoice cannot be marked paid.
	other := "/admin/invoices/" + itoa(theirs.ID)
	if r := admin.post(other+"/cancel", other, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel unpaid: status %d", r.Status)
	}
	if r := admin.post(other+"/mark-paid", other, url.Values{}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "cancelled invoice cannot be paid") {
		t.Fatalf("mark a cancelled invoice paid: status %d", r.Status)
	}
}
