package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// productID finds a demo product by slug.
func productID(t *testing.T, st *testenv.Stack, slug string) int64 {
	t.Helper()
	return st.ProductID(t, slug)
}

// createService submits the admin "create service" form and returns the new service's id.
func createService(t *testing.T, admin *browser, customerID, productID int64, hostname string) int64 {
	t.Helper()
	r := admin.post("/admin/services", "/admin/services/new", url.Values{
		"customer_id": {strconv.FormatInt(customerID, 10)}, "product_id": {strconv.FormatInt(productID, 10)}, "hostname": {hostname},
	})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/services/") {
		t.Fatalf("create service: status %d location %q\n%s", r.Status, r.Location, r.Body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.Location, "/admin/services/"), 10, 64)
	if err != nil {
		t.Fatalf("location %q: %v", r.Location, err)
	}
	return id
}

// waitStatus polls the database until the service has the status.
func waitStatus(t *testing.T, st *testenv.Stack, id int64, status billing.ServiceStatus) store.Service {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var svc store.Service
	for time.Now().Before(deadline) {
		var err error
		svc, err = st.Store.ServiceByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Status == status {
			return svc
		}
		time.Sleep(100 * time.Millisecond)
	}
	ev, _ := st.Store.ServiceEvents(context.Background(), id)
	t.Fatalf("service %d is %q (%s) after 60s, want %q; timeline: %+v", id, svc.Status, svc.Attention, status, ev)
	return svc
}

func TestAdminProvisionsOnEveryPanelAndRunsTheLifecycle(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "buyer@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "nosy@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")

	cases := []struct {
		slug   string
		panel  panels.Type
		wantIP bool
	}{
		{"vps-2gb", panels.VirtFusion, true},
		{"e3-1240", panels.SynergyCP, true},
		{"web-starter", panels.Enhance, false},
		{"minecraft-4gb", panels.Pterodactyl, true},
	}
	ids := map[panels.Type]int64{}
	for i, c := range cases {
		ids[c.panel] = createService(t, admin, cust.ID, productID(t, st, c.slug), "host"+strconv.Itoa(i)+".example.com")
	}
	for _, c := range cases {
		svc := waitStatus(t, st, ids[c.panel], "active")
		sim := st.Panels.Get(c.panel).Sim
		if n := sim.ServicesFor(strconv.FormatInt(svc.ID, 10)); n != 1 {
			t.Errorf("%s: %d panel resources carry service %d, want exactly 1", c.panel, n, svc.ID)
		}
		if c.wantIP && len(svc.IPv4) == 0 {
			t.Errorf("%s: active service has no IPv4 address saved", c.panel)
		}
		if svc.PanelServiceID == "" {
			t.Errorf("%s: no panel reference saved", c.panel)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m, err := st.Sink.Wait(ctx, func(m sink.Message) bool {
			return m.To[0] == cust.Email && strings.Contains(m.Subject, "is ready") && strings.Contains(m.Text, "/account/services/"+strconv.FormatInt(svc.ID, 10))
		})
		cancel()
		if err != nil {
			t.Errorf("%s: no service-ready mail: %v", c.panel, err)
		}
		if c.panel == panels.VirtFusion && (len(svc.PasswordSealed) == 0 || !strings.Contains(m.Text, "Password:")) {
			t.Errorf("VirtFusion: the root password from the build was not kept (sealed %d bytes) or not mailed:\n%s", len(svc.PasswordSealed), m.Text)
		}
	}

	vps := ids[panels.VirtFusion]
	path := "/admin/services/" + strconv.FormatInt(vps, 10)
	if r := admin.get(path); r.Status != 200 || !strings.Contains(r.Body, "provision:"+strconv.FormatInt(vps, 10)) {
		t.Fatalf("service page: status %d; want 200 with a Temporal UI link to provision:%d", r.Status, vps)
	}
	if r := admin.post(path+"/unsuspend", path, url.Values{}); r.Status != http.StatusConflict {
		t.Fatalf("unsuspend of an active service: status %d, want 409", r.Status)
	}
	if r := admin.post(path+"/suspend", path, url.Values{"reason": {"overdue invoice"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("suspend: status %d\n%s", r.Status, r.Body)
	}
	waitStatus(t, st, vps, "suspended")

	customer := newBrowser(t, st)
	customer.login(cust.Email, "password 12345")
	if r := customer.get("/account/services/" + strconv.FormatInt(vps, 10)); r.Status != 200 || !strings.Contains(strings.ToLower(r.Body), "suspended") {
		t.Fatalf("customer's service page: status %d; want 200 saying suspended", r.Status)
	}
	if r := customer.get("/account"); !strings.Contains(r.Body, "/account/services/"+strconv.FormatInt(vps, 10)) {
		t.Fatal("customer dashboard does not list the service")
	}
	nosy := newBrowser(t, st)
	nosy.login("nosy@example.com", "password 12345")
	if r := nosy.get("/account/services/" + strconv.FormatInt(vps, 10)); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's view of the service: status %d, want 404", r.Status)
	}
	if r := nosy.post("/account/services/"+strconv.FormatInt(vps, 10)+"/power", "/account", url.Values{"action": {"stop"}}); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's power button: status %d, want 404", r.Status)
	}

	admin.post(path+"/unsuspend", path, url.Values{})
	waitStatus(t, st, vps, "active")
	if r := customer.post("/account/services/"+strconv.FormatInt(vps, 10)+"/power", "/account/services/"+strconv.FormatInt(vps, 10), url.Values{"action": {"restart"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("customer restart: status %d\n%s", r.Status, r.Body)
	}
	bigger := productID(t, st, "vps-8gb")
	if r := admin.post(path+"/change-package", path, url.Values{"product_id": {strconv.FormatInt(bigger, 10)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("change package: status %d\n%s", r.Status, r.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		svc, _ := st.Store.ServiceByID(context.Background(), vps)
		if svc.ProductID == bigger {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("package change not recorded: product %d", svc.ProductID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := admin.post(path+"/terminate", path, url.Values{}); r.Status != http.StatusConflict {
		t.Fatalf("terminate without confirmation: status %d, want 409", r.Status)
	}
	before := st.Panels.Get(panels.VirtFusion).Sim.ServiceCount()
	admin.post(path+"/terminate", path, url.Values{"confirm": {"yes"}, "reason": {"customer left"}})
	waitStatus(t, st, vps, "terminated")
	if after := st.Panels.Get(panels.VirtFusion).Sim.ServiceCount(); after != before-1 {
		t.Fatalf("servers on the VirtFusion simulator: %d before terminate, %d after; want one fewer", before, after)
	}
	ev, _ := st.Store.ServiceEvents(context.Background(), vps)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Message)
	}
	joined := strings.Join(kinds, " | ")
	for _, want := range []string{"service created", "provisioning started", "service is active", "suspended: overdue invoice", "unsuspended", "package changed", "terminated: customer left"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline lacks %q:\n%s", want, joined)
		}
	}
}

func TestBadPackageNeedsAttentionAndOpsRetryRecovers(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "buyer@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")

	// The package exists (the capacity pre-check passes) but its OS template does not, so the
	// panel creates the server and refuses to build it.
	broken := productID(t, st, "vps-8gb")
	if err := st.Store.SetProductPanel(ctx, broken, "virtfusion", "3", map[string]string{"hypervisor_group": "1", "os_template": "999"}); err != nil {
		t.Fatal(err)
	}
	id := createService(t, admin, cust.ID, broken, "broken.example.com")
	svc := waitStatus(t, st, id, "needs_attention")
	if svc.Attention == "" {
		t.Fatal("needs_attention without a reason")
	}
	if r := admin.get("/admin/services?status=needs_attention"); !strings.Contains(r.Body, "/admin/services/"+strconv.FormatInt(id, 10)) {
		t.Fatal("the needs-attention queue does not list the service")
	}
	if err := st.Store.SetProductPanel(ctx, broken, "virtfusion", "3", map[string]string{"hypervisor_group": "1", "os_template": "1"}); err != nil {
		t.Fatal(err)
	}
	path := "/admin/services/" + strconv.FormatInt(id, 10)
	if r := admin.post(path+"/retry", path, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("retry: status %d\n%s", r.Status, r.Body)
	}
	waitStatus(t, st, id, "active")
	if n := st.Panels.Get(panels.VirtFusion).Sim.ServicesFor(strconv.FormatInt(id, 10)); n != 1 {
		t.Fatalf("servers for the service after the retry: %d, want 1", n)
	}
	if r := admin.post(path+"/retry", path, url.Values{}); r.Status != http.StatusConflict {
		t.Fatalf("retry of a healthy service: status %d, want 409", r.Status)
	}
}

func TestCapacityPreCheckRefusesBeforeCreating(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "buyer@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	st.Panels.Get(panels.Pterodactyl).Sim.Faults().SetNoCapacity(true)
	r := admin.post("/admin/services", "/admin/services/new", url.Values{
		"customer_id": {strconv.FormatInt(cust.ID, 10)}, "product_id": {strconv.FormatInt(productID(t, st, "minecraft-4gb"), 10)},
	})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "cannot place") {
		t.Fatalf("create without capacity: status %d; want 409 saying the panel cannot place it", r.Status)
	}
	if list, _ := st.Store.Services(context.Background(), store.ServiceFilter{}); len(list) != 0 {
		t.Fatalf("a service was created although the panel has no room: %+v", list)
	}
}

func TestCustomerResetsPasswordAndOpensThePanel(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "buyer@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	id := createService(t, admin, cust.ID, productID(t, st, "vps-2gb"), "reset.example.com")
	waitStatus(t, st, id, "active")

	b := newBrowser(t, st)
	b.login(cust.Email, "password 12345")
	page := "/account/services/" + strconv.FormatInt(id, 10)
	r := b.post(page+"/reset-password", page, url.Values{})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="new-password"`) {
		t.Fatalf("reset password: status %d; want the new password shown once", r.Status)
	}
	svc, _ := st.Store.ServiceByID(context.Background(), id)
	if len(svc.PasswordSealed) == 0 {
		t.Fatal("the new password was not kept (sealed)")
	}
	if again := b.get(page); strings.Contains(again.Body, `data-testid="new-password"`) {
		t.Fatal("the new password is shown again on a later visit")
	}
	login := b.post(page+"/login", page, url.Values{})
	vf := st.Panels.Get(panels.VirtFusion).Config.BaseURL
	host := strings.TrimSuffix(vf, "/api/v1")
	if login.Status != http.StatusSeeOther || !strings.HasPrefix(login.Location, host) {
		t.Fatalf("panel login: status %d location %q; want a redirect into the panel at %s", login.Status, login.Location, host)
	}
}
