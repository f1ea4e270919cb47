package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestOpsProvisioningListRetryAbandon drives `ezscale ops provisioning` against a whole stack:
// list names a service that needs attention and why, retry recovers it once the product mapping
// is fixed, abandon closes another one and removes its half-built server, and requests that do
// not apply are refused.
func TestOpsProvisioningListRetryAbandon(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	admin := newOpsAdmin(t, st)
	cust := opsUser(t, st, "buyer@example.com", store.RoleCustomer)
	env := map[string]string{"DATABASE_URL": st.DSN, "TEMPORAL_ADDRESS": st.TemporalAddress, "TEMPORAL_NAMESPACE": testenv.Namespace}
	ezscale := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
		t.Logf("ezscale %s: err=%v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		return stdout.String(), err
	}

	// The package exists (the capacity pre-check passes) but its OS template does not, so the
	// panel creates the server and refuses to build it.
	prod, err := st.Store.ProductByID(ctx, opsProductID(t, st, "vps-8gb"))
	if err != nil {
		t.Fatal(err)
	}
	broken := maps.Clone(prod.PanelOptions)
	broken["os_template"] = "999"
	mapProduct := func(options map[string]string) {
		t.Helper()
		if err := st.Store.SetProductPanel(ctx, prod.ID, prod.PanelType.String, prod.PanelPlanID, options); err != nil {
			t.Fatal(err)
		}
	}
	vf := st.Panels.Get(panels.VirtFusion).Sim

	mapProduct(broken)
	first := admin.createService(cust.ID, prod.ID, "first.example.com")
	stuck := opsWaitStatus(t, st, first, billing.ServiceNeedsAttention)
	if stuck.Attention == "" {
		t.Fatalf("service %d needs attention without a reason", first)
	}
	out, err := ezscale("ops", "provisioning", "list")
	if err != nil {
		t.Fatalf("ops provisioning list: %v", err)
	}
	if row := opsRow(out, first); !strings.Contains(row, string(billing.ServiceNeedsAttention)) || !strings.Contains(row, stuck.Attention) {
		t.Fatalf("ops provisioning list shows service %d as %q; want it needing attention with the reason %q\n%s", first, row, stuck.Attention, out)
	}

	mapProduct(prod.PanelOptions)
	if _, err := ezscale("ops", "provisioning", "retry", strconv.FormatInt(first, 10)); err != nil {
		t.Fatalf("ops provisioning retry %d: %v", first, err)
	}
	opsWaitStatus(t, st, first, billing.ServiceActive)
	// The retry must build the server the failed attempt made, not leave it behind and make another.
	if n, all := vf.ServicesFor(strconv.FormatInt(first, 10)), vf.ServiceCount(); n != 1 || all != 1 {
		t.Fatalf("after the retry the VirtFusion simulator has %d servers for service %d and %d in all, want 1 and 1", n, first, all)
	}

	// The simulator marks a server as ours only once it is built, so the half-built server of
	// the second service shows only in the total.
	mapProduct(broken)
	second := admin.createService(cust.ID, prod.ID, "second.example.com")
	half := opsWaitStatus(t, st, second, billing.ServiceNeedsAttention)
	if all := vf.ServiceCount(); half.PanelServiceID == "" || all != 2 {
		t.Fatalf("service %d needs attention with panel server %q and %d servers on the simulator; want its half-built server recorded and 2 in all", second, half.PanelServiceID, all)
	}
	if _, err := ezscale("ops", "provisioning", "abandon", strconv.FormatInt(second, 10), "customer refunded"); err != nil {
		t.Fatalf("ops provisioning abandon %d: %v", second, err)
	}
	opsWaitStatus(t, st, second, billing.ServiceAbandoned)
	if all := vf.ServiceCount(); all != 1 {
		t.Fatalf("servers on the simulator after abandoning service %d: %d, want 1 (only service %d's): its half-built server %s was left behind", second, all, first, half.PanelServiceID)
	}
	if !opsTimelineHas(t, st, second, "customer refunded") {
		t.Errorf("timeline of service %d does not carry the abandon note %q", second, "customer refunded")
	}
	if out, err := ezscale("ops", "provisioning", "list"); err != nil || strings.TrimSpace(out) != "no services" {
		t.Errorf("ops provisioning list once both are resolved: %q (err %v), want %q", out, err, "no services")
	}

	out, err = ezscale("ops", "provisioning", "retry", strconv.FormatInt(first, 10))
	var usage usageError
	if err == nil || errors.As(err, &usage) {
		t.Fatalf("retry of healthy service %d: error %v, output %q; want the workflow's refusal as an error", first, err, strings.TrimSpace(out))
	}
	if svc, _ := st.Store.ServiceByID(ctx, first); svc.Status != billing.ServiceActive {
		t.Fatalf("service %d is %q after a refused retry, want it still active", first, svc.Status)
	}
	if _, err := ezscale("ops", "provisioning", "retry", "notanumber"); !errors.As(err, &usage) {
		t.Fatalf("retry notanumber: error %v (%T), want a usage error", err, err)
	}
}

// opsAdmin is a staff member's web session, used to create services through the admin form.
type opsAdmin struct {
	t  *testing.T
	st *testenv.Stack
	c  *http.Client
}

// newOpsAdmin creates an admin and logs in through the login form.
func newOpsAdmin(t *testing.T, st *testenv.Stack) *opsAdmin {
	t.Helper()
	u := opsUser(t, st, "ops@example.com", store.RoleAdmin)
	jar, _ := cookiejar.New(nil)
	a := &opsAdmin{t: t, st: st, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res := a.post("/login", "/login", url.Values{"email": {u.Email}, "password": {opsPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin login: status %d, want 303", res.StatusCode)
	}
	return a
}

var opsCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form with the CSRF token of formPage and returns the (unfollowed) response.
func (a *opsAdmin) post(path, formPage string, form url.Values) *http.Response {
	a.t.Helper()
	res, err := a.c.Get(a.st.URL(formPage))
	if err != nil {
		a.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := opsCSRF.FindSubmatch(body)
	if m == nil {
		a.t.Fatalf("no CSRF field on %s (status %d)", formPage, res.StatusCode)
	}
	form.Set("csrf", string(m[1]))
	res, err = a.c.PostForm(a.st.URL(path), form)
	if err != nil {
		a.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// createService submits the admin "create service" form, which starts provisioning, and returns
// the new service's id.
func (a *opsAdmin) createService(customerID, productID int64, hostname string) int64 {
	a.t.Helper()
	res := a.post("/admin/services", "/admin/services/new", url.Values{
		"customer_id": {strconv.FormatInt(customerID, 10)}, "product_id": {strconv.FormatInt(productID, 10)}, "hostname": {hostname},
	})
	loc := res.Header.Get("Location")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/admin/services/"), 10, 64)
	if res.StatusCode != http.StatusSeeOther || err != nil {
		a.t.Fatalf("create service: status %d location %q, want 303 to /admin/services/<id>", res.StatusCode, loc)
	}
	return id
}

const opsPassword = "password 12345"

// opsUser makes a verified account directly in the store.
func opsUser(t *testing.T, st *testenv.Stack, email, role string) store.User {
	t.Helper()
	h, err := auth.HashPassword(opsPassword, auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Test " + role, PasswordHash: h, Role: role, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func opsProductID(t *testing.T, st *testenv.Stack, slug string) int64 {
	t.Helper()
	list, err := st.Store.Products(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Slug == slug {
			return p.ID
		}
	}
	t.Fatalf("no product %q", slug)
	return 0
}

// opsWaitStatus polls the database until the service has the status, for up to 60 s.
func opsWaitStatus(t *testing.T, st *testenv.Stack, id int64, status billing.ServiceStatus) store.Service {
	t.Helper()
	var svc store.Service
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if svc, err = st.Store.ServiceByID(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if svc.Status == status {
			return svc
		}
	}
	t.Fatalf("service %d is %q (%s) after 60 s, want %q", id, svc.Status, svc.Attention, status)
	return svc
}

// opsRow is the line of `ops provisioning list` output for the service, or "".
func opsRow(out string, id int64) string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == strconv.FormatInt(id, 10) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func opsTimelineHas(t *testing.T, st *testenv.Stack, id int64, text string) bool {
	t.Helper()
	events, err := st.Store.ServiceEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
