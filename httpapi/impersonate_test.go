package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

func TestImpersonationIsAuditedUnderBothNamesAndExitReturnsToAdmin(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	sup := createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)

	c := newBrowser(t, st)
	c.login("sup@example.com", "password 12345")
	staffCookie := c.cookie("ezscale_session")
	start := c.post("/admin/customers/"+itoa(ana.ID)+"/impersonate", "/admin", url.Values{})
	if start.Status != http.StatusSeeOther || start.Location != "/account" {
		t.Fatalf("start impersonation: status %d, location %q\n%s", start.Status, start.Location, start.Body)
	}
	if c.cookie("ezscale_session") == staffCookie {
		t.Fatal("impersonation kept the staff session cookie; want a new session")
	}
	// The staff session is gone: its cookie no longer opens /admin.
	stolen := newBrowser(t, st)
	req, _ := http.NewRequest(http.MethodGet, st.URL("/admin"), nil)
	req.AddCookie(&http.Cookie{Name: "ezscale_session", Value: staffCookie})
	if r := stolen.do(req); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/login") {
		t.Fatalf("the staff session's old cookie on /admin: status %d, location %q; want a redirect to log in", r.Status, r.Location)
	}

	for _, page := range []string{"/account", "/account/profile", "/account/invoices"} {
		r := c.get(page)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="impersonation-banner"`) ||
			!strings.Contains(r.Body, "You are signed in as Test customer (ana@example.com) by Test support (sup@example.com)") ||
			!strings.Contains(r.Body, `action="/impersonation/exit"`) {
			t.Fatalf("%s while impersonating: status %d, banner missing\n%s", page, r.Status, r.Body)
		}
	}
	if r := c.get("/admin"); r.Status != http.StatusForbidden {
		t.Fatalf("/admin while impersonating: status %d, want 403", r.Status)
	}
	// Support may not edit a customer's profile in the admin panel, so not as the customer either;
	// the refused write is still audited under both names.
	if r := c.post("/account/profile", "/account/profile", url.Values{"name": {"Ana Changed"}, "country": {"PT"}}); r.Status != http.StatusForbidden {
		t.Fatalf("profile update by support while impersonating: status %d, want 403\n%s", r.Status, r.Body)
	}
	if r := c.post("/account/password", "/account/profile", url.Values{"current_password": {"password 12345"}, "password": {"new password 6789"}, "password_confirm": {"new password 6789"}}); r.Status != http.StatusForbidden {
		t.Fatalf("password change while impersonating: status %d, want 403", r.Status)
	}

	impersonated, _, err := st.Store.SearchAudit(ctx, store.AuditFilter{Impersonated: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AuditEntry{}
	for _, e := range impersonated {
		got[e.Action] = e
		if e.ActorID.Int64 != ana.ID || e.ImpersonatorID.Int64 != sup.ID || e.ImpersonatorEmail != "sup@example.com" {
			t.Errorf("impersonated entry %s: actor %d, impersonator %d %q; want actor %d (customer), impersonator %d (staff)",
				e.Action, e.ActorID.Int64, e.ImpersonatorID.Int64, e.ImpersonatorEmail, ana.ID, sup.ID)
		}
	}
	for _, action := range []string{"impersonation.start", "impersonated.POST", "impersonated.refused"} {
		if _, ok := got[action]; !ok {
			t.Errorf("no impersonated audit entry %s; have %v", action, actions(impersonated))
		}
	}
	if e := got["impersonated.POST"]; e.Target != "/account/profile" {
		t.Errorf("impersonated.POST target %q, want /account/profile", e.Target)
	}

	exit := c.post("/impersonation/exit", "/account", url.Values{})
	if exit.Status != http.StatusSeeOther || exit.Location != "/admin" {
		t.Fatalf("exit: status %d, location %q", exit.Status, exit.Location)
	}
	back := c.get("/admin")
	if back.Status != http.StatusOK || !strings.Contains(back.Body, "sup@example.com") {
		t.Fatalf("/admin after exit: status %d; want the support user's dashboard\n%s", back.Status, back.Body)
	}
	if r := c.get("/account"); strings.Contains(r.Body, "impersonation-banner") {
		t.Fatal("the banner is still shown after exit")
	}
	ended, _, err := st.Store.SearchAudit(ctx, store.AuditFilter{ActionPrefix: "impersonation.end"})
	if err != nil || len(ended) != 1 || ended[0].ActorID.Int64 != ana.ID || ended[0].ImpersonatorID.Int64 != sup.ID {
		t.Fatalf("impersonation.end entries = %+v, %v; want one naming customer %d and staff %d", ended, err, ana.ID, sup.ID)
	}

	// An administrator sees the impersonated entries, with the impersonator, on the audit page.
	createUser(t, st, "root@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("root@example.com", "password 12345")
	page := admin.get("/admin/audit?impersonated=on&action=impersonated.")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "impersonated.POST") || !strings.Contains(page.Body, "by sup@example.com") ||
		strings.Contains(page.Body, "auth.login") || strings.Contains(page.Body, "impersonation.start") {
		t.Fatalf("filtered audit page: status %d; want only impersonated.* entries with the impersonator\n%s", page.Status, page.Body)
	}
}

func TestOnlyStaffWithThePermissionCanImpersonateAndOnlyCustomers(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	bill := createUser(t, st, "bill@example.com", "password 12345", store.RoleBilling)
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	root := createUser(t, st, "root@example.com", "password 12345", store.RoleAdmin)

	cases := []struct {
		who, target string
		targetID    int64
		wantText    string
	}{
		{"bill@example.com", "a customer", ana.ID, "Not allowed for your role"},
		{"sup@example.com", "billing staff", bill.ID, "Staff cannot be impersonated"},
		{"sup@example.com", "an administrator", root.ID, "Staff cannot be impersonated"},
		{"root@example.com", "billing staff", bill.ID, "Staff cannot be impersonated"},
	}
	for _, c := range cases {
		b := newBrowser(t, st)
		b.login(c.who, "password 12345")
		before := b.cookie("ezscale_session")
		r := b.post("/admin/customers/"+itoa(c.targetID)+"/impersonate", "/admin", url.Values{})
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, c.wantText) {
			t.Errorf("%s impersonating %s: status %d (%s), want 403 %q", c.who, c.target, r.Status, pageTitle(r.Body), c.wantText)
		}
		if b.cookie("ezscale_session") != before {
			t.Errorf("%s impersonating %s: the session changed although it was refused", c.who, c.target)
		}
		if r := b.get("/admin"); r.Status != http.StatusOK || !strings.Contains(r.Body, c.who) {
			t.Errorf("%s after a refused impersonation: /admin status %d, want their own dashboard", c.who, r.Status)
		}
	}
}

func actions(es []store.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}
