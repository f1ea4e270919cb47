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

func TestAdministratorManagesStaffButCannotDemoteTheLastAdministrator(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	root := createUser(t, st, "root@example.com", "password 12345", store.RoleAdmin)
	c := newBrowser(t, st)
	c.login("root@example.com", "password 12345")

	r := c.post("/admin/staff/"+itoa(root.ID)+"/role", "/admin/staff", url.Values{"role": {store.RoleBilling}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "is the only administrator") {
		t.Fatalf("demote the last administrator: status %d, want 409 with the reason\n%s", r.Status, r.Body)
	}
	if u, _ := st.Store.UserByID(ctx, root.ID); u.Role != store.RoleAdmin {
		t.Fatalf("after the refused demotion the role is %q, want admin", u.Role)
	}

	r = c.post("/admin/staff", "/admin/staff", url.Values{"name": {"Sam Support"}, "email": {"Sam@Example.com"}, "role": {store.RoleSupport}, "password": {"a long password"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create staff: status %d\n%s", r.Status, r.Body)
	}
	sam, err := st.Store.UserByEmail(ctx, "sam@example.com")
	if err != nil || sam.Role != store.RoleSupport || !sam.Verified() {
		t.Fatalf("created staff = %+v, %v; want verified support", sam, err)
	}
	if r := c.post("/admin/staff", "/admin/staff", url.Values{"name": {"Bad"}, "email": {"bad@example.com"}, "role": {store.RoleCustomer}, "password": {"a long password"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("create staff with the customer role: status %d, want 422", r.Status)
	}
	list := c.get("/admin/staff")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "sam@example.com") || strings.Contains(list.Body, "bad@example.com") {
		t.Fatalf("staff list: status %d\n%s", list.Status, list.Body)
	}

	// With a second administrator the first may step down; the new role applies at once.
	if r := c.post("/admin/staff/"+itoa(sam.ID)+"/role", "/admin/staff", url.Values{"role": {store.RoleAdmin}}); r.Status != http.StatusSeeOther {
		t.Fatalf("promote sam: status %d\n%s", r.Status, r.Body)
	}
	if r := c.post("/admin/staff/"+itoa(root.ID)+"/role", "/admin/staff", url.Values{"role": {store.RoleBilling}}); r.Status != http.StatusSeeOther {
		t.Fatalf("demote root with another administrator present: status %d\n%s", r.Status, r.Body)
	}
	if r := c.get("/admin/staff"); r.Status != http.StatusForbidden {
		t.Fatalf("/admin/staff as the now-billing user: status %d, want 403", r.Status)
	}
	changes, _, err := st.Store.SearchAudit(ctx, store.AuditFilter{ActionPrefix: "staff."})
	if err != nil || len(changes) != 3 {
		t.Fatalf("staff.* audit entries = %v, %v; want created, role_changed twice", actions(changes), err)
	}
}

func TestNavShowsOnlyWhatTheRoleMayUse(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	c := newBrowser(t, st)
	c.login("sup@example.com", "password 12345")
	page := c.get("/admin")
	if page.Status != http.StatusOK {
		t.Fatalf("/admin as support: status %d", page.Status)
	}
	for _, shown := range []string{"nav-admin-dashboard", "nav-admin-services", "nav-admin-invoices"} {
		if !strings.Contains(page.Body, `data-testid="`+shown+`"`) {
			t.Errorf("support's nav lacks %s", shown)
		}
	}
	for _, hidden := range []string{"nav-admin-panels", "nav-admin-catalog", "nav-admin-products", "nav-admin-audit", "nav-admin-staff", `data-testid="recent-audit"`} {
		if strings.Contains(page.Body, hidden) {
			t.Errorf("support's dashboard shows %s, which the role cannot use", hidden)
		}
	}
}
