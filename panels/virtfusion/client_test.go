package virtfusion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/virtfusion"
	"github.com/ezscale/billing/panels/virtfusion/sim"
)

const buildDelay = 2 * time.Second

// clock is a time source tests step by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	t     *testing.T
	sim   *sim.Sim
	srv   *httptest.Server
	clock *clock
	c     *virtfusion.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{BuildDelay: buildDelay, Now: clk.Now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &env{t: t, sim: s, srv: srv, clock: clk}
	e.c = e.client(nil)
	return e
}

// client returns a client for the simulator, optionally with its own transport.
func (e *env) client(rt http.RoundTripper) *virtfusion.Client {
	e.t.Helper()
	cfg := panels.Config{
		Type: panels.VirtFusion, BaseURL: e.srv.URL + "/api/v1", Token: e.sim.Token(),
		Extra: map[string]string{"hypervisor_group": strconv.Itoa(sim.SeedGroupID)},
	}
	if rt != nil {
		cfg.HTTP = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	}
	c, err := virtfusion.New(cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return c
}

func (e *env) account(customerID int64) panels.Account {
	e.t.Helper()
	a, err := e.c.EnsureAccount(context.Background(), panels.Customer{
		ID: customerID, Email: "c" + strconv.FormatInt(customerID, 10) + "@example.com", FirstName: "Ada", LastName: "Lovelace",
	})
	if err != nil {
		e.t.Fatalf("EnsureAccount(%d): %v", customerID, err)
	}
	return a
}

func request(a panels.Account, serviceID int64, plan string) panels.CreateRequest {
	return panels.CreateRequest{
		ServiceID: serviceID, Account: a, Hostname: "vps" + strconv.FormatInt(serviceID, 10) + ".example.com",
		Package: panels.Package{PlanID: plan, Options: map[string]string{"os_template": strconv.Itoa(sim.SeedTemplateID)}},
	}
}

func (e *env) create(a panels.Account, serviceID int64, plan string) panels.Service {
	e.t.Helper()
	s, err := e.c.CreateService(context.Background(), request(a, serviceID, plan))
	if err != nil {
		e.t.Fatalf("CreateService(service %d, plan %s): %v", serviceID, plan, err)
	}
	return s
}

func (e *env) details(s panels.Service) panels.Details {
	e.t.Helper()
	d, err := e.c.Details(context.Background(), s)
	if err != nil {
		e.t.Fatalf("Details(%s): %v", s.ID, err)
	}
	return d
}

// active creates a service and lets its build finish.
func (e *env) active(a panels.Account, serviceID int64, plan string) panels.Service {
	e.t.Helper()
	s := e.create(a, serviceID, plan)
	e.clock.Advance(buildDelay)
	if d := e.details(s); d.State != panels.StateActive {
		e.t.Fatalf("service %d after the build delay: state %s, want active", serviceID, d.State)
	}
	return s
}

// panelErr asserts err is a *panels.Error of kind k and returns it.
func panelErr(t *testing.T, err error, k panels.Kind) *panels.Error {
	t.Helper()
	var pe *panels.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *panels.Error", err, err)
	}
	if pe.Kind != k {
		t.Fatalf("error kind %s, want %s: %v", pe.Kind, k, err)
	}
	if pe.Panel != panels.VirtFusion || pe.Op == "" {
		t.Fatalf("error lacks panel or op: %+v", pe)
	}
	return pe
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewRejectsIncompleteConfig(t *testing.T) {
	cases := map[string]panels.Config{
		"no base url":      {Token: "t"},
		"not http":         {BaseURL: "ftp://panel.example.com/api/v1", Token: "t"},
		"no api suffix":    {BaseURL: "https://panel.example.com", Token: "t"},
		"no token":         {BaseURL: "https://panel.example.com/api/v1"},
		"bad group":        {BaseURL: "https://panel.example.com/api/v1", Token: "t", Extra: map[string]string{"hypervisor_group": "eu"}},
		"query in the url": {BaseURL: "https://panel.example.com/api/v1?x=1", Token: "t"},
	}
	for name, cfg := range cases {
		if _, err := virtfusion.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := virtfusion.New(panels.Config{BaseURL: "https://panel.example.com/api/v1/", Token: "t"}); err != nil {
		t.Errorf("a trailing slash is fine: %v", err)
	}
}

func TestTestChecksCredentials(t *testing.T) {
	e := newEnv(t)
	if err := e.c.Test(context.Background()); err != nil {
		t.Fatalf("Test with the right token: %v", err)
	}
	bad, err := virtfusion.New(panels.Config{BaseURL: e.srv.URL + "/api/v1", Token: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	pe := panelErr(t, bad.Test(context.Background()), panels.KindUnauthorized)
	if pe.Status != 401 || pe.Message != "Unauthenticated." {
		t.Fatalf("got status %d message %q, want 401 Unauthenticated.", pe.Status, pe.Message)
	}
	_, err = bad.EnsureAccount(context.Background(), panels.Customer{ID: 1, Email: "a@example.com"})
	panelErr(t, err, panels.KindUnauthorized)
}

func TestEnsureAccountTwiceReturnsSameUser(t *testing.T) {
	e := newEnv(t)
	first, second := e.account(42), e.account(42)
	if first.ID == "" || first.ID != second.ID {
		t.Fatalf("EnsureAccount twice gave %q then %q, want the same user", first.ID, second.ID)
	}
	if got := first.Extra[virtfusion.ExtraExtRelationID]; got != "42" {
		t.Fatalf("Extra[%s] = %q, want 42", virtfusion.ExtraExtRelationID, got)
	}
	if other := e.account(43); other.ID == first.ID {
		t.Fatalf("customers 42 and 43 share user %s", other.ID)
	}
}

func TestEnsureAccountLosingCreateRaceReturnsWinnersUser(t *testing.T) {
	e := newEnv(t)
	var rivalID int
	var once sync.Once
	c := e.client(roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/users") {
			once.Do(func() { rivalID = e.rivalCreatesUser(42) })
		}
		return http.DefaultTransport.RoundTrip(r)
	}))
	a, err := c.EnsureAccount(context.Background(), panels.Customer{ID: 42, Email: "ada@example.com", FirstName: "Ada"})
	if err != nil {
		t.Fatalf("EnsureAccount after losing the race: %v", err)
	}
	if a.ID != strconv.Itoa(rivalID) {
		t.Fatalf("account %s, want the rival's user %d", a.ID, rivalID)
	}
}

// rivalCreatesUser is another worker creating the user for customer ext first.
func (e *env) rivalCreatesUser(ext int) int {
	body, _ := json.Marshal(map[string]any{"name": "Rival", "email": "rival@example.com", "extRelationId": ext})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/users", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.sim.Token())
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct{ Data struct{ ID int } }
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 201 {
		e.t.Fatalf("rival create: %d %v", res.StatusCode, err)
	}
	return got.Data.ID
}

func TestEnsureAccountSurfacesValidationMessages(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.EnsureAccount(context.Background(), panels.Customer{ID: 5, FirstName: "No", LastName: "Mail"})
	pe := panelErr(t, err, panels.KindValidation)
	if pe.Status != 422 || !strings.Contains(pe.Message, "The email field is required.") {
		t.Fatalf("got %d %q, want 422 with the panel's message", pe.Status, pe.Message)
	}
}

func TestCreateServiceBuildsAndIsActiveAfterBuildDelay(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	s := e.create(a, 7, "1")
	if s.ID == "" || s.Extra[virtfusion.ExtraUUID] == "" {
		t.Fatalf("service %+v lacks id or uuid", s)
	}
	d := e.details(s)
	if d.State != panels.StateBuilding {
		t.Fatalf("state right after create: %s, want building", d.State)
	}
	if d.Hostname != "vps7.example.com" || d.MemoryMB != 1024 || d.DiskGB != 20 || d.CPU != 1 {
		t.Fatalf("details %+v, want vps7.example.com with 1024 MB, 20 GB, 1 core", d)
	}
	if len(d.IPv4) != 1 || len(d.IPv6) != 1 || !strings.HasSuffix(d.IPv6[0], "/64") {
		t.Fatalf("addresses v4 %v v6 %v, want one of each, v6 a /64", d.IPv4, d.IPv6)
	}
	if d.Password == "" {
		t.Fatal("the root password from the build is not in Details while building")
	}
	password := d.Password

	e.clock.Advance(buildDelay - time.Millisecond)
	if d := e.details(s); d.State != panels.StateBuilding {
		t.Fatalf("state 1ms before the build delay: %s, want building", d.State)
	}
	e.clock.Advance(time.Millisecond)
	d = e.details(s)
	if d.State != panels.StateActive || d.Password != password {
		t.Fatalf("after the build delay: state %s password %q, want active and %q", d.State, d.Password, password)
	}
	if d := e.details(s); d.Password != "" {
		t.Fatalf("password still handed out after the build finished: %q", d.Password)
	}

	found, ok, err := e.c.FindService(context.Background(), a, 7)
	if err != nil || !ok || found.ID != s.ID {
		t.Fatalf("FindService(7) = %+v %v %v, want %s", found, ok, err, s.ID)
	}
	if n := e.sim.ServicesFor("7"); n != 1 {
		t.Fatalf("ServicesFor(7) = %d, want 1", n)
	}
}

func TestFindServiceMatchesOnlyItsOwnMarker(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	e.create(a, 1, "1")
	second := e.create(a, 2, "1")
	if _, ok, err := e.c.FindService(context.Background(), a, 3); err != nil || ok {
		t.Fatalf("FindService(3) found %v err %v, want nothing", ok, err)
	}
	got, ok, err := e.c.FindService(context.Background(), a, 2)
	if err != nil || !ok || got.ID != second.ID {
		t.Fatalf("FindService(2) = %+v %v %v, want %s", got, ok, err, second.ID)
	}
	other := e.account(2)
	if _, ok, err := e.c.FindService(context.Background(), other, 2); err != nil || ok {
		t.Fatalf("another customer's FindService(2) found %v err %v, want nothing", ok, err)
	}
}

func TestLostCreateAnswerLeavesOneOrphanThatAdoptBuildsOnce(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	e.sim.Faults().LoseNextCreates(1)
	req := request(a, 9, "1")
	_, err := e.c.CreateService(context.Background(), req)
	if !panels.Retryable(err) {
		t.Fatalf("lost create answer: %v, want a retryable error", err)
	}
	if n := e.sim.ServiceCount(); n != 1 {
		t.Fatalf("the lost create made %d servers, want 1", n)
	}
	if _, ok, err := e.c.FindService(context.Background(), a, 9); err != nil || ok {
		t.Fatalf("FindService sees an unbuilt orphan as the service (ok %v, err %v)", ok, err)
	}
	if other, err := e.c.Orphans(context.Background(), a, "2"); err != nil || len(other) != 0 {
		t.Fatalf("orphans of package 2: %v %v, want none", other, err)
	}
	orphans, err := e.c.Orphans(context.Background(), a, "1")
	if err != nil || len(orphans) != 1 {
		t.Fatalf("Orphans = %v %v, want exactly one", orphans, err)
	}
	adopted, err := e.c.Adopt(context.Background(), orphans[0], req)
	if err != nil || adopted.ID != orphans[0].ID {
		t.Fatalf("Adopt = %+v %v, want server %s", adopted, err, orphans[0].ID)
	}
	again, err := e.c.Adopt(context.Background(), orphans[0], req)
	if err != nil || again.ID != adopted.ID {
		t.Fatalf("repeated Adopt = %+v %v, want the same server, no error", again, err)
	}
	found, ok, err := e.c.FindService(context.Background(), a, 9)
	if err != nil || !ok || found.ID != adopted.ID {
		t.Fatalf("FindService after Adopt = %+v %v %v, want %s", found, ok, err, adopted.ID)
	}
	if n, total := e.sim.ServicesFor("9"), e.sim.ServiceCount(); n != 1 || total != 1 {
		t.Fatalf("ServicesFor(9) = %d, ServiceCount = %d, want 1 and 1", n, total)
	}
	if left, _ := e.c.Orphans(context.Background(), a, "1"); len(left) != 0 {
		t.Fatalf("orphans after adoption: %v", left)
	}
}

func TestLostBuildAnswerIsFoundByFindService(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	c := e.client(roundTrip(func(r *http.Request) (*http.Response, error) {
		res, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && strings.HasSuffix(r.URL.Path, "/build") {
			res.Body.Close()
			return nil, errors.New("connection reset after the build was accepted")
		}
		return res, err
	}))
	svc, err := c.CreateService(context.Background(), request(a, 11, "1"))
	var be *virtfusion.BuildError
	if !errors.As(err, &be) || be.Service.ID == "" || be.Service.ID != svc.ID {
		t.Fatalf("CreateService with a lost build answer: %+v %v, want a BuildError naming the server", svc, err)
	}
	panelErr(t, err, panels.KindTemporary)
	found, ok, err := c.FindService(context.Background(), a, 11)
	if err != nil || !ok || found.ID != svc.ID {
		t.Fatalf("FindService = %+v %v %v, want %s", found, ok, err, svc.ID)
	}
	if n := e.sim.ServicesFor("11"); n != 1 {
		t.Fatalf("ServicesFor(11) = %d, want 1", n)
	}
}

func TestFailedBuildCallReturnsCreatedServerForAdoption(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	req := request(a, 12, "1")
	req.Package.Options["os_template"] = "999"
	svc, err := e.c.CreateService(context.Background(), req)
	var be *virtfusion.BuildError
	if !errors.As(err, &be) || svc.ID == "" || be.Service.ID != svc.ID {
		t.Fatalf("CreateService with a bad template: %+v %v, want the created server and a BuildError", svc, err)
	}
	pe := panelErr(t, err, panels.KindValidation)
	if !strings.Contains(pe.Message, "The selected operating system id is invalid.") {
		t.Fatalf("message %q lacks the panel's words", pe.Message)
	}
	orphans, err := e.c.Orphans(context.Background(), a, "1")
	if err != nil || len(orphans) != 1 || orphans[0].ID != svc.ID {
		t.Fatalf("Orphans = %v %v, want [%s]", orphans, err, svc.ID)
	}
	req.Package.Options["os_template"] = "2"
	if _, err := e.c.Adopt(context.Background(), svc, req); err != nil {
		t.Fatalf("Adopt after fixing the template: %v", err)
	}
	if n, total := e.sim.ServicesFor("12"), e.sim.ServiceCount(); n != 1 || total != 1 {
		t.Fatalf("ServicesFor(12) = %d, ServiceCount = %d, want 1 and 1", n, total)
	}
}

func TestAdoptRefusesAServerBuiltForAnotherService(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	s := e.create(a, 1, "1")
	_, err := e.c.Adopt(context.Background(), s, request(a, 2, "1"))
	panelErr(t, err, panels.KindConflict)
	if n := e.sim.ServicesFor("2"); n != 0 {
		t.Fatalf("service 2 took over service 1's server (%d)", n)
	}
}

func TestCreateServiceChecksItsInputsBeforeCallingThePanel(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	noTemplate := request(a, 1, "1")
	delete(noTemplate.Package.Options, "os_template")
	noGroupClient, err := virtfusion.New(panels.Config{BaseURL: e.srv.URL + "/api/v1", Token: e.sim.Token()})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		c    *virtfusion.Client
		r    panels.CreateRequest
	}{
		{"no os template", e.c, noTemplate},
		{"no hypervisor group", noGroupClient, request(a, 1, "1")},
		{"plan is not an id", e.c, request(a, 1, "small")},
		{"no account", e.c, request(panels.Account{}, 1, "1")},
		{"no service id", e.c, request(a, 0, "1")},
	}
	for _, tc := range cases {
		_, err := tc.c.CreateService(context.Background(), tc.r)
		if pe := panelErr(t, err, panels.KindValidation); pe.Status != 0 {
			t.Errorf("%s: the panel was called (HTTP %d)", tc.name, pe.Status)
		}
	}
	if n := e.sim.ServiceCount(); n != 0 {
		t.Fatalf("%d servers created from invalid requests", n)
	}
}

func TestCreateServiceWithUnknownPackageIsValidation(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.CreateService(context.Background(), request(e.account(1), 1, "77"))
	pe := panelErr(t, err, panels.KindValidation)
	if pe.Status != 422 || !strings.Contains(pe.Message, "The selected package id is invalid.") {
		t.Fatalf("got %d %q, want 422 with the panel's message", pe.Status, pe.Message)
	}
	if n := e.sim.ServiceCount(); n != 0 {
		t.Fatalf("%d servers created for an unknown package", n)
	}
}

func TestFailedBuildIsReportedFailed(t *testing.T) {
	e := newEnv(t)
	e.sim.FailBuilds(true)
	s := e.create(e.account(1), 1, "1")
	e.clock.Advance(buildDelay)
	if d := e.details(s); d.State != panels.StateFailed || d.Message == "" {
		t.Fatalf("details after a failed build: %+v, want failed with a message", d)
	}
}

func TestSuspendAndUnsuspend(t *testing.T) {
	e := newEnv(t)
	s := e.active(e.account(1), 1, "1")
	if err := e.c.Suspend(context.Background(), s, "overdue"); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	if d := e.details(s); d.State != panels.StateSuspended {
		t.Fatalf("after Suspend: %s, want suspended", d.State)
	}
	if err := e.c.Unsuspend(context.Background(), s); err != nil {
		t.Fatalf("Unsuspend: %v", err)
	}
	if d := e.details(s); d.State != panels.StateActive {
		t.Fatalf("after Unsuspend: %s, want active", d.State)
	}
}

func TestSuspendDuringBuildIsLocked(t *testing.T) {
	e := newEnv(t)
	s := e.create(e.account(1), 1, "1")
	err := e.c.Suspend(context.Background(), s, "overdue")
	pe := panelErr(t, err, panels.KindLocked)
	if pe.Status != 423 || !strings.Contains(pe.Message, "locked") || !panels.Retryable(err) {
		t.Fatalf("got %d %q retryable %v, want a retryable 423 with the panel's message", pe.Status, pe.Message, panels.Retryable(err))
	}
}

func TestTerminateTwiceSucceedsAndServerIsGone(t *testing.T) {
	e := newEnv(t)
	s := e.active(e.account(1), 1, "1")
	if err := e.c.Terminate(context.Background(), s); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if n := e.sim.ServiceCount(); n != 0 {
		t.Fatalf("%d servers after Terminate with delay=0, want 0", n)
	}
	if err := e.c.Terminate(context.Background(), s); err != nil {
		t.Fatalf("Terminate of a server already gone: %v, want success", err)
	}
	_, err := e.c.Details(context.Background(), s)
	if pe := panelErr(t, err, panels.KindNotFound); pe.Message != "server not found" {
		t.Fatalf("Details of a deleted server: %q, want the panel's message", pe.Message)
	}
}

func TestActionsOnUnknownServerAreNotFound(t *testing.T) {
	e := newEnv(t)
	s := panels.Service{ID: "999"}
	for name, err := range map[string]error{
		"suspend":   e.c.Suspend(context.Background(), s, ""),
		"unsuspend": e.c.Unsuspend(context.Background(), s),
		"power":     e.c.Power(context.Background(), s, panels.PowerRestart),
	} {
		if pe := panelErr(t, err, panels.KindNotFound); pe.Status != 404 || pe.Message != "server not found" {
			t.Errorf("%s: %d %q, want 404 server not found", name, pe.Status, pe.Message)
		}
	}
}

func TestChangePackageAppliesTheNewPlan(t *testing.T) {
	e := newEnv(t)
	s := e.active(e.account(1), 1, "1")
	if err := e.c.ChangePackage(context.Background(), s, panels.Package{PlanID: "2"}); err != nil {
		t.Fatalf("ChangePackage: %v", err)
	}
	if d := e.details(s); d.MemoryMB != 2048 || d.DiskGB != 40 || d.CPU != 2 {
		t.Fatalf("after changing to package 2: %d MB %d GB %d cores, want 2048/40/2", d.MemoryMB, d.DiskGB, d.CPU)
	}
	err := e.c.ChangePackage(context.Background(), s, panels.Package{PlanID: "99"})
	if pe := panelErr(t, err, panels.KindValidation); !strings.Contains(pe.Message, "package id is invalid") {
		t.Fatalf("unknown package message %q", pe.Message)
	}
}

func TestPower(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	building := e.create(a, 2, "1")
	panelErr(t, e.c.Power(context.Background(), building, panels.PowerStart), panels.KindLocked)
	s := e.active(a, 1, "1")
	for _, act := range []panels.PowerAction{panels.PowerStart, panels.PowerStop, panels.PowerRestart} {
		if err := e.c.Power(context.Background(), s, act); err != nil {
			t.Errorf("Power(%s): %v", act, err)
		}
	}
	panelErr(t, e.c.Power(context.Background(), s, "hibernate"), panels.KindUnsupported)
}

func TestResetPasswordReturnsTheNewPassword(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	s := e.active(a, 1, "1")
	p1, err := e.c.ResetPassword(context.Background(), a, s)
	if err != nil || p1 == "" {
		t.Fatalf("ResetPassword = %q %v", p1, err)
	}
	p2, err := e.c.ResetPassword(context.Background(), a, s)
	if err != nil || p2 == "" || p2 == p1 {
		t.Fatalf("second ResetPassword = %q %v, want a new password other than %q", p2, err, p1)
	}
}

func TestLoginURLPointsAtThePanelHost(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	u, err := e.c.LoginURL(context.Background(), a, panels.Service{})
	if err != nil {
		t.Fatalf("LoginURL: %v", err)
	}
	if !strings.HasPrefix(u, e.srv.URL+"/token_authenticate/?") || !strings.Contains(u, "1=") || !strings.Contains(u, "2=") {
		t.Fatalf("login url %q, want %s/token_authenticate/?1=..&2=..", u, e.srv.URL)
	}
	_, err = e.c.LoginURL(context.Background(), panels.Account{ID: a.ID}, panels.Service{})
	panelErr(t, err, panels.KindValidation)
	_, err = e.c.LoginURL(context.Background(), panels.Account{ID: "9", Extra: map[string]string{"ext_relation_id": "404"}}, panels.Service{})
	panelErr(t, err, panels.KindNotFound)
}

func TestCapacityRunsOutAsServersAreCreated(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	big := panels.Package{PlanID: "3"} // 4 GB / 80 GB: the seed hypervisors hold three
	check := func() panels.Capacity {
		t.Helper()
		c, err := e.c.CheckCapacity(context.Background(), big)
		if err != nil {
			t.Fatalf("CheckCapacity: %v", err)
		}
		return c
	}
	var made []panels.Service
	for i := int64(1); i <= 3; i++ {
		if c := check(); !c.Available {
			t.Fatalf("before server %d: unavailable (%s)", i, c.Reason)
		}
		made = append(made, e.create(a, i, "3"))
	}
	if c := check(); c.Available || c.Reason == "" {
		t.Fatalf("with the group full: %+v, want unavailable with a reason", c)
	}
	_, err := e.c.CreateService(context.Background(), request(a, 4, "3"))
	if pe := panelErr(t, err, panels.KindNoCapacity); pe.Status != 422 {
		t.Fatalf("create in a full group: HTTP %d, want 422", pe.Status)
	}
	if err := e.c.Terminate(context.Background(), made[0]); err != nil {
		t.Fatal(err)
	}
	if c := check(); !c.Available {
		t.Fatalf("after a terminate freed room: unavailable (%s)", c.Reason)
	}
}

func TestNoCapacityFault(t *testing.T) {
	e := newEnv(t)
	a := e.account(1)
	e.sim.Faults().SetNoCapacity(true)
	c, err := e.c.CheckCapacity(context.Background(), panels.Package{PlanID: "1"})
	if err != nil || c.Available {
		t.Fatalf("CheckCapacity with no capacity: %+v %v, want unavailable", c, err)
	}
	_, err = e.c.CreateService(context.Background(), request(a, 1, "1"))
	pe := panelErr(t, err, panels.KindNoCapacity)
	if pe.Message != "No hypervisor in the group has enough resources" || panels.Retryable(err) {
		t.Fatalf("message %q retryable %v, want the panel's words and not retryable", pe.Message, panels.Retryable(err))
	}
}

func TestCheckCapacityOfDisabledOrUnknownPackage(t *testing.T) {
	e := newEnv(t)
	c, err := e.c.CheckCapacity(context.Background(), panels.Package{PlanID: "4"})
	if err != nil || c.Available {
		t.Fatalf("disabled package: %+v %v, want unavailable", c, err)
	}
	_, err = e.c.CheckCapacity(context.Background(), panels.Package{PlanID: "77"})
	panelErr(t, err, panels.KindNotFound)
}

func TestInjectedFaultsMapToKinds(t *testing.T) {
	e := newEnv(t)
	s := e.active(e.account(1), 1, "1")

	e.sim.Faults().RateLimitNext(1, 7*time.Second)
	err := e.c.Test(context.Background())
	if pe := panelErr(t, err, panels.KindRateLimited); pe.RetryAfter != 7*time.Second || pe.Status != 429 {
		t.Fatalf("rate limited: RetryAfter %s status %d, want 7s and 429", pe.RetryAfter, pe.Status)
	}
	if panels.RetryAfter(err) != 7*time.Second {
		t.Fatalf("panels.RetryAfter = %s, want 7s", panels.RetryAfter(err))
	}

	e.sim.Faults().FailNext(1)
	err = e.c.Test(context.Background())
	if pe := panelErr(t, err, panels.KindTemporary); pe.Status != 500 || !panels.Retryable(err) {
		t.Fatalf("server error: status %d retryable %v, want 500 and retryable", pe.Status, panels.Retryable(err))
	}

	e.sim.Faults().LockNext(1)
	err = e.c.Suspend(context.Background(), s, "")
	if pe := panelErr(t, err, panels.KindLocked); pe.Status != 423 || pe.Message == "" {
		t.Fatalf("locked: status %d message %q, want 423 with the panel's message", pe.Status, pe.Message)
	}
	if err := e.c.Suspend(context.Background(), s, ""); err != nil {
		t.Fatalf("suspend after the lock passed: %v", err)
	}
}

func TestContextCancellationReturnsPromptly(t *testing.T) {
	e := newEnv(t)
	e.sim.Faults().SetLatency(5 * time.Second)
	defer e.sim.Faults().SetLatency(0)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.c.Test(ctx)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a 50ms deadline took %s", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not wrap context.DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start = time.Now()
	_, err = e.c.EnsureAccount(ctx, panels.Customer{ID: 1, Email: "a@example.com"})
	if took := time.Since(start); took > time.Second || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: took %s, err %v; want prompt context.Canceled", took, err)
	}
}

func TestPanelErrorBodiesAreRead(t *testing.T) {
	// Shapes VirtFusion answers that the simulator does not produce: a Laravel validation object,
	// an HTML 502 from a proxy, 403, 409 and a 429 with an HTTP-date Retry-After.
	cases := []struct {
		status int
		header http.Header
		body   string
		kind   panels.Kind
		msg    string
		retry  time.Duration // at least this RetryAfter
	}{
		{422, nil, `{"message":"The given data was invalid.","errors":{"name":["The name field is required."]}}`, panels.KindValidation, "The name field is required.", 0},
		{422, nil, `{"errors":["Invalid or disabled firewall ruleset","Second"]}`, panels.KindValidation, "Invalid or disabled firewall ruleset; Second", 0},
		{502, nil, `<html>Bad Gateway</html>`, panels.KindTemporary, "", 0},
		{403, nil, `{"message":"This action is unauthorized."}`, panels.KindUnauthorized, "This action is unauthorized.", 0},
		{409, nil, `{"msg":"conflict"}`, panels.KindConflict, "conflict", 0},
		{429, http.Header{"Retry-After": {time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}},
			`{"message":"Too Many Attempts."}`, panels.KindRateLimited, "Too Many Attempts.", 50 * time.Second},
	}
	for _, tc := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tc.header {
				w.Header()[k] = v
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c, err := virtfusion.New(panels.Config{BaseURL: srv.URL + "/api/v1", Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		pe := panelErr(t, c.Test(context.Background()), tc.kind)
		if pe.Message != tc.msg || pe.Status != tc.status || pe.RetryAfter < tc.retry {
			t.Errorf("HTTP %d %s: message %q status %d retry after %s, want %q and at least %s",
				tc.status, tc.body, pe.Message, pe.Status, pe.RetryAfter, tc.msg, tc.retry)
		}
		srv.Close()
	}
}
