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

func TestAdminCreatesAndRetiresCouponsWithValidationAtTheEdge(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "cat@example.com", "password 12345", store.RoleAdmin)
	a := newBrowser(t, st)
	a.login("cat@example.com", "password 12345")
	vps := productID(t, st, "vps-2gb")

	bad := []url.Values{
		{"code": {"X"}, "kind": {"percent"}, "percent": {"10"}, "duration": {"once"}},                          // code too short
		{"code": {"HALF"}, "kind": {"percent"}, "percent": {"150"}, "duration": {"once"}},                      // over 100%
		{"code": {"HALF"}, "kind": {"percent"}, "percent": {"50"}, "duration": {"repeating"}, "cycles": {"0"}}, // no cycles
		{"code": {"HALF"}, "kind": {"fixed"}, "amount": {"5.00"}, "currency": {"XYZ"}, "duration": {"once"}},   // unknown currency
		{"code": {"HALF"}, "kind": {"percent"}, "percent": {"50"}, "duration": {"once"}, "expires": {"soon"}},  // bad date
		{"code": {"HALF"}, "kind": {"percent"}, "percent": {"50"}, "duration": {"once"}, "products": {"a,b"}},  // bad product ids
	}
	for i, f := range bad {
		if r := a.post("/admin/coupons", "/admin/coupons", f); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("bad coupon form %d: status %d, want 422", i, r.Status)
		}
	}
	if cs, _ := st.Store.Coupons(ctx); len(cs) != 0 {
		t.Fatalf("refused forms created %d coupons", len(cs))
	}
	good := url.Values{"code": {"spring25"}, "kind": {"percent"}, "percent": {"25"}, "duration": {"repeating"}, "cycles": {"3"},
		"products": {itoa(vps)}, "expires": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "max_uses": {"100"}, "once_per_customer": {"on"}}
	if r := a.post("/admin/coupons", "/admin/coupons", good); r.Status != http.StatusSeeOther {
		t.Fatalf("create coupon: %d\n%s", r.Status, r.Body)
	}
	c, err := st.Store.CouponByCode(ctx, "SPRING25")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules
	if r.PercentBP != 2500 || r.Duration != billing.CouponRepeating || r.Cycles != 3 || len(r.ProductIDs) != 1 || r.ProductIDs[0] != vps ||
		r.MaxUses != 100 || !r.OncePerCustomer || r.ExpiresAt.IsZero() {
		t.Fatalf("stored coupon %+v", r)
	}
	if again := a.post("/admin/coupons", "/admin/coupons", good); again.Status != http.StatusConflict {
		t.Fatalf("duplicate code: %d", again.Status)
	}
	if r := a.post("/admin/coupons/"+itoa(c.ID)+"/retire", "/admin/coupons", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("retire: %d", r.Status)
	}
	if _, err := st.Store.CouponByCode(ctx, "SPRING25"); err == nil {
		t.Fatal("a retired coupon can still be looked up for checkout")
	}
}

func TestAdminTaxRulesAndInvoiceNumbering(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "tax@example.com", "password 12345", store.RoleAdmin)
	a := newBrowser(t, st)
	a.login("tax@example.com", "password 12345")

	for i, f := range []url.Values{
		{"level": {"3"}, "name": {"VAT"}, "rate": {"20"}},
		{"level": {"1"}, "name": {""}, "rate": {"20"}},
		{"level": {"1"}, "name": {"VAT"}, "country": {"Germany"}, "rate": {"20"}},
		{"level": {"1"}, "name": {"VAT"}, "rate": {"120"}},
		{"level": {"1"}, "name": {"GST"}, "rate": {"5"}, "compound": {"on"}},
	} {
		if r := a.post("/admin/billing/taxes", "/admin/billing", f); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("bad tax form %d: status %d", i, r.Status)
		}
	}
	if r := a.post("/admin/billing/taxes", "/admin/billing", url.Values{"level": {"2"}, "name": {"QST"}, "country": {"ca"}, "state": {"QC"}, "rate": {"9.975"}, "compound": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add tax rule: %d\n%s", r.Status, r.Body)
	}
	rules, _ := st.Store.TaxRules(ctx)
	if len(rules) != 1 || rules[0].Rule.RateMilliPercent != 9975 || rules[0].Rule.Country != "CA" || !rules[0].Rule.Compound {
		t.Fatalf("tax rules %+v", rules)
	}

	if r := a.post("/admin/billing/numbering", "/admin/billing", url.Values{"prefix": {"EZ-2026-"}, "next": {"5000"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("set numbering: %d", r.Status)
	}
	if r := a.post("/admin/billing/numbering", "/admin/billing", url.Values{"prefix": {"EZ-"}, "next": {"10"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("moving the number back: %d, want 422", r.Status)
	}
	cust := createUser(t, st, "numbered@example.com", "password 12345", store.RoleCustomer)
	inv, err := st.Store.CreateInvoice(ctx, store.NewInvoice{CustomerID: cust.ID, Currency: "USD", DueAt: time.Now(),
		Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "x", Amount: billing.Money{Amount: 100, Currency: "USD"}}},
		IdempotencyKey: "numbering", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Number != "EZ-2026-5000" {
		t.Fatalf("next invoice number %s, want EZ-2026-5000", inv.Number)
	}
	if body := a.get("/admin/billing").Body; !strings.Contains(body, "EZ-2026-5001") {
		t.Fatal("the settings page does not show the next number")
	}
}
