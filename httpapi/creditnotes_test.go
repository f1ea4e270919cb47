package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// issueTestCreditNote credits USD 5.00 of inv to the customer's account.
func issueTestCreditNote(t *testing.T, st *testenv.Stack, inv store.Invoice, key string) store.CreditNote {
	t.Helper()
	cn, err := st.Store.IssueCreditNote(context.Background(), store.NewCreditNote{
		CustomerID: inv.CustomerID, InvoiceID: inv.ID, Currency: "USD", Reason: billing.CreditNoteManual,
		Lines:        []billing.Line{{Kind: billing.LineProduct, Description: "Goodwill for downtime", Amount: billing.Money{Amount: 500, Currency: "USD"}}},
		CreditAmount: billing.Money{Amount: 500, Currency: "USD"}, IdempotencyKey: key, CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cn
}

func TestCustomerSeesOnlyOwnCreditNotes(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	bo := createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	mineInv := createTestInvoice(t, st, ana.ID, "test-ana-1")
	mine := issueTestCreditNote(t, st, mineInv, "cn-ana")
	theirs := issueTestCreditNote(t, st, createTestInvoice(t, st, bo.ID, "test-bo-1"), "cn-bo")

	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	list := c.get("/account/credit-notes")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, mine.Number) || strings.Contains(list.Body, `data-credit-note-id="`+itoa(theirs.ID)+`"`) {
		t.Fatalf("credit note list: status %d; want own %s only\n%s", list.Status, mine.Number, list.Body)
	}
	page := c.get("/account/credit-notes/" + itoa(mine.ID))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Goodwill for downtime") || !strings.Contains(page.Body, mineInv.Number) {
		t.Fatalf("credit note page: status %d; want its line and invoice %s\n%s", page.Status, mineInv.Number, page.Body)
	}
	doc := c.get("/account/credit-notes/" + itoa(mine.ID) + "/pdf")
	if doc.Status != http.StatusOK || !strings.HasPrefix(doc.Body, "%PDF") || !strings.Contains(doc.Header.Get("Content-Disposition"), mine.Number+".pdf") {
		t.Fatalf("credit note pdf: status %d, disposition %q", doc.Status, doc.Header.Get("Content-Disposition"))
	}
	if inv := c.get("/account/invoices/" + itoa(mineInv.ID)); !strings.Contains(inv.Body, "/account/credit-notes/"+itoa(mine.ID)) {
		t.Fatalf("invoice %s page does not link its credit note %s", mineInv.Number, mine.Number)
	}
	for _, p := range []string{"/account/credit-notes/" + itoa(theirs.ID), "/account/credit-notes/" + itoa(theirs.ID) + "/pdf"} {
		if r := c.get(p); r.Status != http.StatusNotFound {
			t.Fatalf("another customer's %s: status %d, want 404", p, r.Status)
		}
	}
}

func TestStaffSeeEveryCreditNoteLinkedFromTheInvoice(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "money@example.com", "password 12345", store.RoleBilling)
	inv := createTestInvoice(t, st, ana.ID, "test-ana-1")
	cn := issueTestCreditNote(t, st, inv, "cn-ana")

	admin := newBrowser(t, st)
	admin.login("money@example.com", "password 12345")
	if r := admin.get("/admin/credit-notes?customer=" + itoa(ana.ID)); r.Status != http.StatusOK || !strings.Contains(r.Body, cn.Number) || !strings.Contains(r.Body, "ana@example.com") {
		t.Fatalf("admin credit note list: status %d; want %s of ana@example.com\n%s", r.Status, cn.Number, r.Body)
	}
	if r := admin.get("/admin/credit-notes/" + itoa(cn.ID)); r.Status != http.StatusOK || !strings.Contains(r.Body, "Goodwill for downtime") {
		t.Fatalf("admin credit note page: status %d", r.Status)
	}
	if r := admin.get("/admin/credit-notes/" + itoa(cn.ID) + "/pdf"); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "%PDF") {
		t.Fatalf("admin credit note pdf: status %d", r.Status)
	}
	if r := admin.get("/admin/invoices/" + itoa(inv.ID)); !strings.Contains(r.Body, "/admin/credit-notes/"+itoa(cn.ID)) {
		t.Fatalf("admin invoice %s page does not link its credit note %s", inv.Number, cn.Number)
	}
}
