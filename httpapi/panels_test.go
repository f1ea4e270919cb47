package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

func TestAdminManagesPanelRegistryWithSealedCredentials(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	pt := st.Panels.Get(panels.Pterodactyl).Config

	bad := admin.post("/admin/panels", "/admin/panels/new", url.Values{"name": {"pt-2"}, "type": {"pterodactyl"}, "base_url": {"not a url"}, "token": {""}, "capacity": {"-1"}, "extra": {"no equals sign"}})
	if bad.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid panel form: status %d, want 422", bad.Status)
	}
	r := admin.post("/admin/panels", "/admin/panels/new", url.Values{
		"name": {"pt-2"}, "type": {"pterodactyl"}, "base_url": {pt.BaseURL}, "token": {pt.Token},
		"capacity": {"25"}, "enabled": {"on"}, "extra": {"client_key=" + pt.Extra["client_key"]},
	})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add panel: status %d\n%s", r.Status, r.Body)
	}
	ps, err := st.Store.PanelServerByName(ctx, "pt-2")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ps.TokenSealed, []byte(pt.Token)) || bytes.Contains(ps.ExtraSealed, []byte(pt.Extra["client_key"])) {
		t.Fatal("panel credentials are stored in the clear")
	}
	edit := admin.get("/admin/panels/" + itoa(ps.ID))
	if edit.Status != 200 || strings.Contains(edit.Body, pt.Token) || strings.Contains(edit.Body, pt.Extra["client_key"]) {
		t.Fatalf("edit form: status %d; it must not show the token or the client key", edit.Status)
	}
	if r := admin.post("/admin/panels/"+itoa(ps.ID)+"/test", "/admin/panels", url.Values{}); r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "test=ok") {
		t.Fatalf("test connection: status %d location %q", r.Status, r.Location)
	}
	// Saving the edit form as shown (blank token, masked key) keeps the credentials.
	r = admin.post("/admin/panels/"+itoa(ps.ID), "/admin/panels/"+itoa(ps.ID), url.Values{
		"name": {"pt-2"}, "type": {"pterodactyl"}, "base_url": {pt.BaseURL}, "token": {""}, "capacity": {"30"},
		"extra": {"client_key=********"},
	})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("edit panel: status %d\n%s", r.Status, r.Body)
	}
	if r := admin.post("/admin/panels/"+itoa(ps.ID)+"/test", "/admin/panels", url.Values{}); !strings.Contains(r.Location, "test=ok") {
		t.Fatalf("test after an edit that kept the credentials: %q", r.Location)
	}
	after, _ := st.Store.PanelServerByID(ctx, ps.ID)
	if after.Capacity != 30 || after.Enabled {
		t.Fatalf("after edit: capacity %d enabled %v; want 30 and disabled (box unticked)", after.Capacity, after.Enabled)
	}
	// A wrong token fails the test with the panel's refusal.
	admin.post("/admin/panels/"+itoa(ps.ID), "/admin/panels/"+itoa(ps.ID), url.Values{
		"name": {"pt-2"}, "type": {"pterodactyl"}, "base_url": {pt.BaseURL}, "token": {"ptla_wrong"}, "capacity": {"30"}, "extra": {"client_key=********"},
	})
	if r := admin.post("/admin/panels/"+itoa(ps.ID)+"/test", "/admin/panels", url.Values{}); !strings.Contains(r.Location, "test=failed") {
		t.Fatalf("test with a wrong token: %q, want a failure", r.Location)
	}
	if list := admin.get("/admin/panels"); !strings.Contains(list.Body, "pt-2") || !strings.Contains(list.Body, "dev-virtfusion") {
		t.Fatal("panel list does not show the registry")
	}
	entries, _ := st.Store.AuditLog(ctx, 50)
	audited := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Target, "/admin/panels") {
			audited++
		}
	}
	if audited < 4 {
		t.Fatalf("panel registry writes audited: %d, want every one", audited)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestAdminMapsAProductOntoAPanel(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	id := productID(t, st, "vps-8gb")
	page := "/admin/products/" + itoa(id) + "/panel"
	if r := admin.post(page, page, url.Values{"panel_type": {"cpanel"}, "panel_plan_id": {""}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad mapping: status %d, want 422", r.Status)
	}
	if p, _ := st.Store.ProductByID(ctx, id); p.PanelPlanID != "3" {
		t.Fatalf("a refused form changed the mapping to %q", p.PanelPlanID)
	}
	r := admin.post(page, page, url.Values{"panel_type": {"virtfusion"}, "panel_plan_id": {"1"}, "panel_options": {"hypervisor_group=1\nos_template=2\n"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save mapping: status %d\n%s", r.Status, r.Body)
	}
	p, _ := st.Store.ProductByID(ctx, id)
	if p.PanelType.String != "virtfusion" || p.PanelPlanID != "1" || p.PanelOptions["os_template"] != "2" {
		t.Fatalf("mapping = %s %s %v", p.PanelType.String, p.PanelPlanID, p.PanelOptions)
	}
	if list := admin.get("/admin/products"); !strings.Contains(list.Body, "VPS 8 GB") {
		t.Fatal("products page does not list the product")
	}
	cust := newBrowser(t, st)
	createUser(t, st, "c@example.com", "password 12345", store.RoleCustomer)
	cust.login("c@example.com", "password 12345")
	if r := cust.get("/admin/products"); r.Status != http.StatusForbidden {
		t.Fatalf("customer on /admin/products: %d, want 403", r.Status)
	}
}
