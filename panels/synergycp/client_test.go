package synergycp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/simkit"
	"github.com/ezscale/billing/panels/synergycp/sim"
)

const buildDelay = 2 * time.Second

// clock is a test clock the simulator's installs are timed by.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a client talking to a fresh simulator.
type fixture struct {
	sim   *sim.Sim
	http  *httptest.Server
	c     *Client
	clock *clock
}

// setup starts a simulator (behind wrap, when given) and a client with the panel settings extra.
func setup(t *testing.T, extra map[string]string, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{Token: "admin-key-123", BuildDelay: buildDelay, Now: clk.Now})
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(panels.Config{Type: panels.SynergyCP, BaseURL: srv.URL + "/", Token: s.Token(), Extra: extra})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{sim: s, http: srv, c: c, clock: clk}
}

// e3 is the package of the three seeded E3 servers.
func e3() panels.Package {
	return panels.Package{PlanID: "RAM-32GB", Options: map[string]string{
		"cpu_billing": "CPU-E3-1230", "disks_billing": "SSD-480GB", "ips_billing": "IP-29",
		"pxe_profile": "os-ubuntu-2404", "port_speed_billing": "speed-1000", "max_bandwidth": "20000GB",
	}}
}

// e5 is the package of the two seeded dual-E5 servers.
func e5() panels.Package {
	return panels.Package{PlanID: "RAM-64GB", Options: map[string]string{
		"cpu_billing": "CPU-2xE5-2620", "disks_billing": "HDD-2TB, HDD-2TB", "ips_billing": "IP-30",
		"pxe_profile": "os-debian-12",
	}}
}

func customer(id int64) panels.Customer {
	return panels.Customer{ID: id, Email: "c" + strconv.FormatInt(id, 10) + "@example.com", FirstName: "Ada", LastName: "Lovelace"}
}

// account ensures the panel client of customer id.
func (f *fixture) account(t *testing.T, id int64) panels.Account {
	t.Helper()
	a, err := f.c.EnsureAccount(context.Background(), customer(id))
	if err != nil {
		t.Fatalf("EnsureAccount(%d): %v", id, err)
	}
	return a
}

// create provisions service serviceID with package p for customer 7.
func (f *fixture) create(t *testing.T, serviceID int64, p panels.Package) panels.Service {
	t.Helper()
	svc, err := f.c.CreateService(context.Background(), f.request(t, serviceID, p))
	if err != nil {
		t.Fatalf("CreateService(%d): %v", serviceID, err)
	}
	return svc
}

func (f *fixture) request(t *testing.T, serviceID int64, p panels.Package) panels.CreateRequest {
	return panels.CreateRequest{ServiceID: serviceID, Account: f.account(t, 7), Hostname: "web" + strconv.FormatInt(serviceID, 10) + ".example.com",
		Package: p, Password: "s3cret-Root"}
}

func (f *fixture) details(t *testing.T, svc panels.Service) panels.Details {
	t.Helper()
	d, err := f.c.Details(context.Background(), svc)
	if err != nil {
		t.Fatalf("Details(%s): %v", svc.ID, err)
	}
	return d
}

// panelErr asserts err is a panels.Error of kind k and returns it.
func panelErr(t *testing.T, err error, k panels.Kind) *panels.Error {
	t.Helper()
	var e *panels.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *panels.Error", err, err)
	}
	if e.Kind != k {
		t.Fatalf("error kind = %v, want %v (%v)", e.Kind, k, err)
	}
	if e.Panel != panels.SynergyCP || e.Op == "" {
		t.Fatalf("error lacks panel or op: %+v", e)
	}
	return e
}

func serverID(t *testing.T, svc panels.Service) int {
	t.Helper()
	n, err := strconv.Atoi(svc.ID)
	if err != nil {
		t.Fatalf("service id %q is not the server's integer id", svc.ID)
	}
	return n
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	cases := map[string]panels.Config{
		"no base URL":       {Token: "k"},
		"no scheme":         {BaseURL: "api.example.com", Token: "k"},
		"query in base URL": {BaseURL: "https://api.example.com/?key=x", Token: "k"},
		"no token":          {BaseURL: "https://api.example.com"},
		"other panel type":  {Type: panels.VirtFusion, BaseURL: "https://api.example.com", Token: "k"},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	c, err := New(panels.Config{BaseURL: " https://api.example.com/ ", Token: "k"})
	if err != nil || c.base != "https://api.example.com" || c.Type() != panels.SynergyCP {
		t.Fatalf("New with a trailing slash: base %q, err %v", c.base, err)
	}
}

func TestTestAcceptsTheKeyAndReportsAWrongOneAsUnauthorized(t *testing.T) {
	f := setup(t, nil, nil)
	if err := f.c.Test(context.Background()); err != nil {
		t.Fatalf("Test with the right key: %v", err)
	}
	bad, _ := New(panels.Config{BaseURL: f.http.URL, Token: "wrong"})
	e := panelErr(t, bad.Test(context.Background()), panels.KindUnauthorized)
	if e.Status != http.StatusUnauthorized || e.Message != "Unauthenticated." {
		t.Fatalf("wrong key: status %d message %q, want 401 Unauthenticated.", e.Status, e.Message)
	}
}

func TestEnsureAccountTwiceReturnsTheSameClient(t *testing.T) {
	f := setup(t, nil, nil)
	first := f.account(t, 42)
	second := f.account(t, 42)
	if first.ID == "" || first.ID != second.ID {
		t.Fatalf("EnsureAccount twice gave %q then %q, want the same client", first.ID, second.ID)
	}
	if other := f.account(t, 43); other.ID == first.ID {
		t.Fatalf("customers 42 and 43 share client %q", other.ID)
	}
}

func TestEnsureAccountThatLosesTheCreateRaceFindsTheWinner(t *testing.T) {
	var once sync.Once
	f := setup(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/client" {
				body, _ := io.ReadAll(r.Body)
				once.Do(func() { // another worker creates the same client first
					rival := httptest.NewRequest(http.MethodPost, r.URL.String(), bytes.NewReader(body))
					h.ServeHTTP(httptest.NewRecorder(), rival)
				})
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			h.ServeHTTP(w, r)
		})
	})
	a := f.account(t, 42)
	again := f.account(t, 42)
	if a.ID == "" || a.ID != again.ID {
		t.Fatalf("after losing the race got client %q, later lookup %q", a.ID, again.ID)
	}
}

func TestEnsureAccountSurfacesThePanelsValidationMessage(t *testing.T) {
	f := setup(t, nil, nil)
	_, err := f.c.EnsureAccount(context.Background(), panels.Customer{ID: 5, Email: "not-an-email"})
	e := panelErr(t, err, panels.KindValidation)
	if e.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Message, "The email must be a valid email address.") {
		t.Fatalf("status %d message %q, want 422 with the panel's message", e.Status, e.Message)
	}
}

func TestCreateServiceProvisionsInstallsAndBecomesActiveAfterBuildDelay(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	a := f.account(t, 7)
	if _, found, err := f.c.FindService(ctx, a, 1001); err != nil || found {
		t.Fatalf("FindService before create: found %v err %v", found, err)
	}
	svc := f.create(t, 1001, e3())
	for _, k := range []string{"access_id", "srv_id", "client_id", "billing_id"} {
		if svc.Extra[k] == "" {
			t.Errorf("Service.Extra[%q] is empty: %v", k, svc.Extra)
		}
	}
	if svc.Extra["client_id"] != a.ID || svc.Extra["billing_id"] != "1001" {
		t.Errorf("Extra client_id %q billing_id %q, want %q and 1001", svc.Extra["client_id"], svc.Extra["billing_id"], a.ID)
	}
	if got := f.sim.ServicesFor("1001"); got != 1 {
		t.Fatalf("ServicesFor(1001) = %d, want 1", got)
	}
	if got := f.sim.InventoryCount(); got != 4 {
		t.Fatalf("inventory after one create = %d, want 4 of 5", got)
	}

	d := f.details(t, svc)
	if d.State != panels.StateBuilding {
		t.Fatalf("state right after create = %q, want building", d.State)
	}
	if d.Hostname != "web1001.example.com" || len(d.IPv4) != 1 || len(d.IPv6) != 1 || d.CPU != 4 || d.MemoryMB != 32768 || d.DiskGB != 480 {
		t.Fatalf("details = %+v, want hostname, one IPv4, one IPv6, 4 cores, 32768 MB, 480 GB", d)
	}
	f.clock.Advance(buildDelay - time.Second)
	if d := f.details(t, svc); d.State != panels.StateBuilding {
		t.Fatalf("state 1s before the install ends = %q, want building", d.State)
	}
	f.clock.Advance(time.Second)
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("state after BuildDelay = %q, want active", d.State)
	}

	found, ok, err := f.c.FindService(ctx, a, 1001)
	if err != nil || !ok || found.ID != svc.ID || found.Extra["access_id"] != svc.Extra["access_id"] {
		t.Fatalf("FindService after create = %+v, %v, %v; want %+v", found, ok, err, svc)
	}
}

func TestCreateWhoseResponseIsLostIsFoundOnceAndNotProvisionedAgain(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	req := f.request(t, 2002, e3())
	f.sim.Faults().LoseNextCreates(1)
	_, err := f.c.CreateService(ctx, req)
	if e := panelErr(t, err, panels.KindTemporary); !panels.Retryable(e) {
		t.Fatalf("a lost answer must be retryable: %v", err)
	}
	if f.sim.Faults().Injected(simkit.FaultLoseCreate) != 1 {
		t.Fatal("the lost-create fault was not injected")
	}
	svc, found, err := f.c.FindService(ctx, req.Account, 2002)
	if err != nil || !found {
		t.Fatalf("FindService after the lost create: found %v err %v", found, err)
	}
	if n := f.sim.ServicesFor("2002"); n != 1 {
		t.Fatalf("ServicesFor(2002) = %d, want exactly 1", n)
	}
	// Even a caller that calls CreateService again gets the same server, not a second one.
	again, err := f.c.CreateService(ctx, req)
	if err != nil || again.ID != svc.ID {
		t.Fatalf("CreateService after the lost create = %q, %v; want server %q", again.ID, err, svc.ID)
	}
	if n := f.sim.ServicesFor("2002"); n != 1 || f.sim.ServiceCount() != 1 {
		t.Fatalf("after a second create: ServicesFor %d, ServiceCount %d; want 1 and 1", n, f.sim.ServiceCount())
	}
	f.clock.Advance(buildDelay)
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("state = %q, want active: the lost create's install still ran", d.State)
	}
}

func TestPreInstallRunsBeforeTheOSAndAnInterruptedCreateResumes(t *testing.T) {
	var failInstall sync.Once
	f := setup(t, map[string]string{"pre_install_profile": "format-quick"}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/install") {
				failed := false
				failInstall.Do(func() {
					failed = true
					w.WriteHeader(http.StatusServiceUnavailable)
				})
				if failed {
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	req := f.request(t, 3003, e3())
	_, err := f.c.CreateService(ctx, req)
	panelErr(t, err, panels.KindTemporary)

	if _, found, err := f.c.FindService(ctx, req.Account, 3003); err != nil || found {
		t.Fatalf("FindService with only the pre-install queued: found %v err %v; want not found so the create resumes", found, err)
	}
	svc, err := f.c.CreateService(ctx, req)
	if err != nil {
		t.Fatalf("resumed CreateService: %v", err)
	}
	if n := f.sim.ServicesFor("3003"); n != 1 || f.sim.InventoryCount() != 4 {
		t.Fatalf("after resuming: ServicesFor %d, inventory %d; want 1 and 4", n, f.sim.InventoryCount())
	}
	if _, found, err := f.c.FindService(ctx, req.Account, 3003); err != nil || !found {
		t.Fatalf("FindService after the OS install was queued: found %v err %v", found, err)
	}
	f.clock.Advance(buildDelay)
	if d := f.details(t, svc); d.State != panels.StateBuilding {
		t.Fatalf("state after the format = %q, want building while the OS installs", d.State)
	}
	f.clock.Advance(buildDelay)
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("state after format and OS = %q, want active", d.State)
	}
}

func TestNoCapacityIsReportedByCreateAndCheckCapacity(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	if c, err := f.c.CheckCapacity(ctx, e3()); err != nil || !c.Available {
		t.Fatalf("CheckCapacity with stock = %+v, %v; want available", c, err)
	}
	f.sim.Faults().SetNoCapacity(true)
	c, err := f.c.CheckCapacity(ctx, e3())
	if err != nil || c.Available || c.Reason == "" {
		t.Fatalf("CheckCapacity with no capacity = %+v, %v; want unavailable with a reason", c, err)
	}
	_, err = f.c.CreateService(ctx, f.request(t, 4004, e3()))
	if e := panelErr(t, err, panels.KindNoCapacity); panels.Retryable(e) {
		t.Fatal("no capacity must not be retried blindly")
	}
	if n := f.sim.ServiceCount(); n != 0 {
		t.Fatalf("ServiceCount = %d after a no-capacity create, want 0", n)
	}
}

func TestInventoryRunsOutAndTerminateReturnsTheServer(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	first := f.create(t, 5001, e5())
	f.create(t, 5002, e5())
	_, err := f.c.CreateService(ctx, f.request(t, 5003, e5()))
	panelErr(t, err, panels.KindNoCapacity)
	if c, err := f.c.CheckCapacity(ctx, e5()); err != nil || c.Available {
		t.Fatalf("CheckCapacity with both E5 servers sold = %+v, %v; want unavailable", c, err)
	}
	if c, err := f.c.CheckCapacity(ctx, e3()); err != nil || !c.Available {
		t.Fatalf("the E3 servers are untouched, CheckCapacity = %+v, %v", c, err)
	}
	if err := f.c.Terminate(ctx, first); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if c, err := f.c.CheckCapacity(ctx, e5()); err != nil || !c.Available {
		t.Fatalf("after wiping one E5, CheckCapacity = %+v, %v; want available", c, err)
	}
	if f.sim.ServicesFor("5001") != 0 || f.sim.InventoryCount() != 4 {
		t.Fatalf("after terminate: ServicesFor(5001) %d inventory %d; want 0 and 4", f.sim.ServicesFor("5001"), f.sim.InventoryCount())
	}
	if svc := f.create(t, 5003, e5()); svc.ID != first.ID {
		t.Fatalf("the wiped server %s should be sold again, got %s", first.ID, svc.ID)
	}
}

func TestServerTakenBetweenQueryAndProvisionIsRetryableThenNoCapacity(t *testing.T) {
	steal := 0
	var mu sync.Mutex
	f := setup(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			stealing := steal > 0 && r.Method == http.MethodPost && r.URL.Path == "/server/provision"
			if stealing {
				steal--
			}
			mu.Unlock()
			if stealing { // another order provisions the very server first
				body, _ := io.ReadAll(r.Body)
				var in map[string]any
				_ = json.Unmarshal(body, &in)
				in["billing"] = map[string]any{"id": 9999}
				rival, _ := json.Marshal(in)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, r.URL.String(), bytes.NewReader(rival)))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	req := f.request(t, 6001, e5())
	steal = 1
	_, err := f.c.CreateService(ctx, req)
	e := panelErr(t, err, panels.KindTemporary)
	if !strings.Contains(e.Message, "The selected server is not available.") || !strings.Contains(e.Message, "taken by another order") {
		t.Fatalf("message %q should carry the panel's words and the explanation", e.Message)
	}
	steal = 1 // the last E5 goes the same way
	_, err = f.c.CreateService(ctx, req)
	panelErr(t, err, panels.KindNoCapacity)
	if f.sim.ServicesFor("6001") != 0 || f.sim.ServicesFor("9999") != 2 {
		t.Fatalf("ServicesFor(6001) %d ServicesFor(9999) %d; want 0 and 2", f.sim.ServicesFor("6001"), f.sim.ServicesFor("9999"))
	}
}

func TestUnknownBillingIDsAreValidationErrorsWithThePanelsMessage(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	p := e3()
	p.Options["pxe_profile"] = "os-templeos"
	_, err := f.c.CreateService(ctx, f.request(t, 7001, p))
	e := panelErr(t, err, panels.KindValidation)
	if e.Status != http.StatusUnprocessableEntity || e.Message != "The selected pxe profile billing is invalid." {
		t.Fatalf("status %d message %q, want 422 and the panel's message", e.Status, e.Message)
	}
	if f.sim.ServiceCount() != 0 {
		t.Fatalf("a refused provision left %d servers provisioned", f.sim.ServiceCount())
	}
	_, err = f.c.CheckCapacity(ctx, panels.Package{PlanID: "RAM-1TB"})
	if e := panelErr(t, err, panels.KindValidation); !strings.Contains(e.Message, "mem billing is invalid") {
		t.Fatalf("unknown memory billing id: message %q", e.Message)
	}
	_, err = f.c.CreateService(ctx, f.request(t, 7002, panels.Package{PlanID: "RAM-32GB"}))
	if e := panelErr(t, err, panels.KindValidation); e.Status != 0 || !strings.Contains(e.Message, "pxe_profile") {
		t.Fatalf("a package without pxe_profile must be refused before calling the panel: %+v", e)
	}
}

func TestSuspendAndUnsuspendFlipTheAccess(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 8001, e3())
	f.clock.Advance(buildDelay)
	if err := f.c.Suspend(ctx, svc, "overdue invoice 17"); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	if d := f.details(t, svc); d.State != panels.StateSuspended {
		t.Fatalf("state after suspend = %q", d.State)
	}
	if err := f.c.Suspend(ctx, svc, "again"); err != nil {
		t.Fatalf("Suspend twice: %v", err)
	}
	// A Service saved without the access id still works: the access is looked up.
	bare := panels.Service{ID: svc.ID, Extra: map[string]string{"billing_id": "8001"}}
	if err := f.c.Unsuspend(ctx, bare); err != nil {
		t.Fatalf("Unsuspend: %v", err)
	}
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("state after unsuspend = %q", d.State)
	}
}

func TestVIPClientRefusalIsPendingManualReview(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 8101, e3())
	if !f.sim.SetVIP("7", true) {
		t.Fatal("SetVIP found no client with billing id 7")
	}
	e := panelErr(t, f.c.Suspend(ctx, svc, "overdue"), panels.KindConflict)
	if e.Status != http.StatusOK || !strings.HasPrefix(e.Message, "pending manual review") || !strings.Contains(e.Message, "VIP") {
		t.Fatalf("VIP suspend: status %d message %q; want an HTTP 200 refusal reported as pending manual review", e.Status, e.Message)
	}
	if d := f.details(t, svc); d.State == panels.StateSuspended {
		t.Fatal("the VIP's server was suspended anyway")
	}
	panelErr(t, f.c.Terminate(ctx, svc), panels.KindConflict)
	if f.sim.ServicesFor("8101") != 1 {
		t.Fatal("the VIP's server was wiped anyway")
	}
}

func TestTerminateIsIdempotentAndNeverWipesAResoldServer(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	old := f.create(t, 9001, e3())
	if err := f.c.Terminate(ctx, old); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if err := f.c.Terminate(ctx, old); err != nil {
		t.Fatalf("Terminate of a wiped server: %v, want nil (already gone)", err)
	}
	if err := f.c.Terminate(ctx, panels.Service{ID: "4040"}); err != nil {
		t.Fatalf("Terminate of an unknown server: %v, want nil (already gone)", err)
	}
	resold := f.create(t, 9002, e3())
	if resold.ID != old.ID {
		t.Fatalf("expected the wiped server %s to be resold, got %s", old.ID, resold.ID)
	}
	if err := f.c.Terminate(ctx, old); err != nil {
		t.Fatalf("a late Terminate of the old service: %v", err)
	}
	if f.sim.ServicesFor("9002") != 1 {
		t.Fatal("terminating the old service wiped the new customer's server")
	}
	_, err := f.c.Details(ctx, old)
	panelErr(t, err, panels.KindNotFound)
}

func TestDetailsReportsAFailedInstall(t *testing.T) {
	f := setup(t, nil, nil)
	svc := f.create(t, 9101, e3())
	if !f.sim.FailInstall(serverID(t, svc)) {
		t.Fatal("FailInstall found no install")
	}
	if d := f.details(t, svc); d.State != panels.StateFailed || d.Message == "" {
		t.Fatalf("details = %+v, want failed with a message", d)
	}
}

func TestChangePackageAndResetPasswordAreUnsupported(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 9201, e3())
	if err := f.c.ChangePackage(ctx, svc, e5()); !errors.Is(err, panels.ErrUnsupported) || !strings.Contains(err.Error(), "new server") {
		t.Fatalf("ChangePackage = %v, want unsupported explaining a new server is needed", err)
	}
	if pw, err := f.c.ResetPassword(ctx, panels.Account{ID: svc.Extra["client_id"]}, svc); !errors.Is(err, panels.ErrUnsupported) || pw != "" {
		t.Fatalf("ResetPassword = %q, %v; want unsupported", pw, err)
	}
}

func TestPowerCommandsGoThroughTheClientsKey(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 9301, e3())
	id := serverID(t, svc)
	steps := []struct {
		action panels.PowerAction
		want   string
	}{{panels.PowerStart, "on"}, {panels.PowerStop, "off"}, {panels.PowerRestart, "on"}}
	for _, s := range steps {
		if err := f.c.Power(ctx, svc, s.action); err != nil {
			t.Fatalf("Power %s: %v", s.action, err)
		}
		if got := f.sim.PowerState(id); got != s.want {
			t.Fatalf("after %s the server is %q, want %q", s.action, got, s.want)
		}
	}
	panelErr(t, f.c.Power(ctx, svc, "hibernate"), panels.KindValidation)
	if err := f.c.Suspend(ctx, svc, "overdue"); err != nil {
		t.Fatal(err)
	}
	panelErr(t, f.c.Power(ctx, svc, panels.PowerStart), panels.KindConflict)
}

func TestLoginURLSignsInAsTheClient(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 9401, e3())
	link, err := f.c.LoginURL(ctx, panels.Account{ID: svc.Extra["client_id"]}, svc)
	if err != nil {
		t.Fatalf("LoginURL: %v", err)
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, f.http.URL+"/auth/sso?") {
		t.Fatalf("login URL %q is not <base>/auth/sso?...", link)
	}
	q := u.Query()
	if q.Get("key") == "" || q.Get("key") == f.sim.Token() || q.Get("view_type") != "server" || q.Get("view_id") != svc.ID {
		t.Fatalf("login URL query %v: want a client key (not the admin key), view_type=server, view_id=%s", q, svc.ID)
	}
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("following the login URL: HTTP %d", res.StatusCode)
	}
}

func TestInjectedFaultsMapToKinds(t *testing.T) {
	f := setup(t, nil, nil)
	ctx := context.Background()
	svc := f.create(t, 9501, e3())

	f.sim.Faults().FailNext(3) // answered as 500 JSON, 502 HTML from the proxy, 503 JSON
	for i := 0; i < 3; i++ {
		_, err := f.c.Details(ctx, svc)
		if e := panelErr(t, err, panels.KindTemporary); e.Status < 500 || !panels.Retryable(e) {
			t.Fatalf("server error %d: %+v", i, e)
		}
	}

	f.sim.Faults().RateLimitNext(1, 7*time.Second)
	_, err := f.c.Details(ctx, svc)
	e := panelErr(t, err, panels.KindRateLimited)
	if e.Status != http.StatusTooManyRequests || e.RetryAfter != 7*time.Second || panels.RetryAfter(err) != 7*time.Second {
		t.Fatalf("rate limit: status %d RetryAfter %v, want 429 and 7s", e.Status, e.RetryAfter)
	}

	f.sim.Faults().LockNext(1)
	e = panelErr(t, f.c.Suspend(ctx, svc, "overdue"), panels.KindLocked)
	if e.Status != http.StatusLocked || !errors.Is(e, panels.ErrLocked) || !panels.Retryable(e) {
		t.Fatalf("locked: %+v", e)
	}
	if d := f.details(t, svc); d.State == panels.StateSuspended {
		t.Fatal("a locked suspend suspended the server")
	}
}

func TestAnswersOutsideTheEnvelopeAreFailures(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   panels.Kind
		msg    string
	}{
		{"error true with HTTP 200", 200, `{"error":true,"messages":[{"text":"Nope."},{"text":"Really."}],"data":null}`, panels.KindValidation, "Nope.; Really."},
		{"no error field", 200, `{"data":[]}`, panels.KindValidation, "OK"},
		{"HTML page with HTTP 200", 200, `<html>admin login</html>`, panels.KindUnauthorized, "api. host"},
		{"HTML 404 from a proxy", 404, `<html>not here</html>`, panels.KindTemporary, "check the base URL"},
		{"JSON 404", 404, `{"error":true,"messages":[{"text":"Server not found."}],"data":null}`, panels.KindNotFound, "Server not found."},
		{"403", 403, `{"error":true,"messages":[{"text":"This action is unauthorized."}],"data":null}`, panels.KindUnauthorized, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, _ := New(panels.Config{BaseURL: srv.URL, Token: "k"})
			e := panelErr(t, c.Test(context.Background()), tc.kind)
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", e.Message, tc.msg)
			}
		})
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	f := setup(t, nil, nil)
	f.sim.Faults().SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.c.Test(ctx)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Test took %v with a 50ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v should wrap context.DeadlineExceeded", err)
	}
	f.sim.Faults().SetLatency(0)
}

func TestTransportErrorsDoNotLeakTheKey(t *testing.T) {
	f := setup(t, nil, nil)
	f.http.Close()
	err := f.c.Test(context.Background())
	panelErr(t, err, panels.KindTemporary)
	if strings.Contains(err.Error(), f.sim.Token()) {
		t.Fatalf("error %q contains the API key", err)
	}
}

func TestInstallStatusMapsToStates(t *testing.T) {
	cases := map[string]panels.State{
		"pending": panels.StateBuilding, "running": panels.StateBuilding, "Queued": panels.StateBuilding,
		"done": panels.StateActive, "completed": panels.StateActive,
		"failed": panels.StateFailed, "cancelled": panels.StateFailed,
	}
	for status, want := range cases {
		if got, known := installState(status); got != want || !known {
			t.Errorf("installState(%q) = %q, %v; want %q, known", status, got, known, want)
		}
	}
	if got, known := installState("mystery"); got != panels.StateBuilding || known {
		t.Errorf("an unknown status = %q, known %v; want building and reported as unknown", got, known)
	}
}

func TestTolerantDecoding(t *testing.T) {
	var s server
	if err := json.Unmarshal([]byte(`{"id":"101","client":7,"billing":{"id":1001},"cpu":"weird","mem":{"size_mb":1024}}`), &s); err != nil {
		t.Fatalf("decode a server with odd shapes: %v", err)
	}
	cores, mem, _ := s.resources()
	if s.ID != "101" || s.clientID() != "7" || s.billingID() != "1001" || cores != 0 || mem != 1024 {
		t.Fatalf("decoded %+v (cores %d mem %d)", s, cores, mem)
	}
	var a access
	if err := json.Unmarshal([]byte(`{"id":3,"is_active":"0","is_primary":1}`), &a); err != nil || a.IsActive || !a.IsPrimary {
		t.Fatalf("decoded access %+v, %v", a, err)
	}
}

func TestSimAnswersAuthAndUnknownRoutesInThePanelsShape(t *testing.T) {
	f := setup(t, nil, nil)
	for path, want := range map[string]int{
		"/client":                           http.StatusUnauthorized,
		"/client?key=nope":                  http.StatusUnauthorized,
		"/nowhere?key=" + f.sim.Token():     http.StatusNotFound,
		"/server/4040?key=" + f.sim.Token(): http.StatusNotFound,
	} {
		res, err := http.Get(f.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Error    bool `json:"error"`
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		err = json.NewDecoder(res.Body).Decode(&env)
		res.Body.Close()
		if res.StatusCode != want || err != nil || !env.Error || len(env.Messages) == 0 || env.Messages[0].Text == "" {
			t.Errorf("GET %s: HTTP %d %+v (%v); want %d with the error envelope", path, res.StatusCode, env, err, want)
		}
	}
}
