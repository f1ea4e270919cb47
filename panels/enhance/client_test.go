package enhance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/enhance/sim"
)

// clock is a settable time source for the simulator, so builds complete without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) step(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	sim   *sim.Sim
	srv   *httptest.Server
	c     *Client
	clock *clock
}

const buildDelay = 90 * time.Second

func newFixture(t *testing.T, plans ...sim.Plan) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{Token: "secret-token", BuildDelay: buildDelay, Now: clk.now, Plans: plans})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(panels.Config{Type: panels.Enhance, BaseURL: srv.URL + "/api/", Token: s.Token(),
		Extra: map[string]string{"org_id": s.OrgID()}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{sim: s, srv: srv, c: c, clock: clk}
}

// client returns another client on the same simulator with a different token or org.
func (f *fixture) client(t *testing.T, token, org string) *Client {
	t.Helper()
	c, err := New(panels.Config{BaseURL: f.srv.URL + "/api", Token: token, Extra: map[string]string{"org_id": org}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// raw calls the simulator directly, for setting up states the client would not make.
func (f *fixture) raw(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var in bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&in).Encode(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+"/api"+path, &in)
	req.Header.Set("Authorization", "Bearer "+f.sim.Token())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (f *fixture) customerCount(t *testing.T) int {
	t.Helper()
	_, out := f.raw(t, http.MethodGet, "/orgs/"+f.sim.OrgID()+"/customers?limit=1", nil)
	return int(out["total"].(float64))
}

func jane(id int64) panels.Customer {
	return panels.Customer{ID: id, Email: fmt.Sprintf("jane%d@example.com", id), FirstName: "Jane", LastName: "Doe"}
}

func (f *fixture) account(t *testing.T, id int64) panels.Account {
	t.Helper()
	a, err := f.c.EnsureAccount(context.Background(), jane(id))
	if err != nil {
		t.Fatalf("EnsureAccount(%d): %v", id, err)
	}
	return a
}

func request(a panels.Account, serviceID int64, plan string) panels.CreateRequest {
	return panels.CreateRequest{ServiceID: serviceID, Account: a, Hostname: fmt.Sprintf("site%d.example.com", serviceID),
		Package: panels.Package{PlanID: plan}}
}

func (f *fixture) service(t *testing.T, a panels.Account, serviceID int64) panels.Service {
	t.Helper()
	s, err := f.c.CreateService(context.Background(), request(a, serviceID, "1"))
	if err != nil {
		t.Fatalf("CreateService(%d): %v", serviceID, err)
	}
	return s
}

// panelErr asserts err is a *panels.Error of kind k and returns it.
func panelErr(t *testing.T, err error, k panels.Kind) *panels.Error {
	t.Helper()
	var e *panels.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *panels.Error", err, err)
	}
	if e.Kind != k {
		t.Fatalf("error kind %v, want %v: %v", e.Kind, k, err)
	}
	if e.Panel != panels.Enhance || e.Op == "" {
		t.Fatalf("error lacks panel or op: %+v", e)
	}
	return e
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	org := map[string]string{"org_id": sim.DefaultOrgID}
	cases := []struct {
		name string
		cfg  panels.Config
		want string
	}{
		{"no url", panels.Config{Token: "t", Extra: org}, "base URL"},
		{"relative url", panels.Config{BaseURL: "panel.example.com/api", Token: "t", Extra: org}, "base URL"},
		{"ftp url", panels.Config{BaseURL: "ftp://panel.example.com/api", Token: "t", Extra: org}, "base URL"},
		{"no token", panels.Config{BaseURL: "https://panel.example.com/api", Extra: org}, "token"},
		{"no org", panels.Config{BaseURL: "https://panel.example.com/api", Token: "t"}, "org_id"},
		{"org not uuid", panels.Config{BaseURL: "https://panel.example.com/api", Token: "t", Extra: map[string]string{"org_id": "42"}}, "not an org uuid"},
		{"other panel", panels.Config{Type: panels.VirtFusion, BaseURL: "https://panel.example.com/api", Token: "t", Extra: org}, "virtfusion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	c, err := New(panels.Config{BaseURL: "https://panel.example.com/api", Token: "t", Extra: org})
	if err != nil || c.Type() != panels.Enhance {
		t.Fatalf("valid config: %v, type %v", err, c.Type())
	}
}

func TestTestAcceptsGoodCredentialsAndReportsBadOnes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.c.Test(ctx); err != nil {
		t.Fatalf("Test with good credentials: %v", err)
	}
	e := panelErr(t, f.client(t, "wrong-token", f.sim.OrgID()).Test(ctx), panels.KindUnauthorized)
	if e.Status != http.StatusUnauthorized || !strings.Contains(e.Message, "invalid session") {
		t.Fatalf("wrong token: status %d message %q, want 401 invalid session", e.Status, e.Message)
	}
	panelErr(t, f.client(t, f.sim.Token(), "11111111-2222-4333-8444-555555555555").Test(ctx), panels.KindNotFound)
}

func TestEnsureAccountTwiceReturnsTheSameAccount(t *testing.T) {
	f := newFixture(t)
	first := f.account(t, 7)
	if first.ID == "" || first.Extra["login_id"] == "" || first.Extra["member_id"] == "" {
		t.Fatalf("account lacks ids: %+v", first)
	}
	second := f.account(t, 7)
	if second.ID != first.ID || second.Extra["login_id"] != first.Extra["login_id"] || second.Extra["member_id"] != first.Extra["member_id"] {
		t.Fatalf("second EnsureAccount %+v, want %+v", second, first)
	}
	if n := f.customerCount(t); n != 1 {
		t.Fatalf("%d customer orgs after two EnsureAccount calls, want 1", n)
	}
	// A customer whose id is a prefix of another's is a different account.
	if other := f.account(t, 70); other.ID == first.ID {
		t.Fatalf("customer 70 got customer 7's org %s", other.ID)
	}
}

func TestEnsureAccountFindsCustomerBeyondTheFirstPage(t *testing.T) {
	f := newFixture(t)
	for i := int64(1); i <= pageSize+5; i++ {
		status, _ := f.raw(t, http.MethodPost, "/orgs/"+f.sim.OrgID()+"/customers", map[string]string{"name": fmt.Sprintf("Filler %d [ezs-c%d]", i, 1000+i)})
		if status != http.StatusCreated {
			t.Fatalf("seed customer %d: %d", i, status)
		}
	}
	a := f.account(t, 1000+pageSize+3) // the org exists on page two; only the owner is missing
	if n := f.customerCount(t); n != pageSize+5 {
		t.Fatalf("%d customer orgs, want %d: EnsureAccount created an org instead of paging", n, pageSize+5)
	}
	if a.Extra["member_id"] == "" {
		t.Fatalf("owner not added to the existing org: %+v", a)
	}
}

func TestEnsureAccountCompletesAnOrgLeftWithoutOwner(t *testing.T) {
	f := newFixture(t)
	_, out := f.raw(t, http.MethodPost, "/orgs/"+f.sim.OrgID()+"/customers", map[string]string{"name": "Jane Doe [ezs-c9]"})
	orphan := out["id"].(string)
	a := f.account(t, 9)
	if a.ID != orphan {
		t.Fatalf("account org %s, want the org made before the crash %s", a.ID, orphan)
	}
	if n := f.customerCount(t); n != 1 {
		t.Fatalf("%d customer orgs, want 1", n)
	}
}

func TestEnsureAccountSettlesOnTheOldestOrgAfterACreateRace(t *testing.T) {
	f := newFixture(t)
	var orgs []string
	for range 2 { // what two racing creates leave behind
		_, out := f.raw(t, http.MethodPost, "/orgs/"+f.sim.OrgID()+"/customers", map[string]string{"name": "Jane Doe [ezs-c5]"})
		orgs = append(orgs, out["id"].(string))
		f.clock.step(time.Second)
	}
	for i := range 2 {
		if a := f.account(t, 5); a.ID != orgs[0] {
			t.Fatalf("call %d chose org %s, want the oldest %s", i, a.ID, orgs[0])
		}
	}
}

func TestEnsureAccountConcurrentCallsAgreeOnOneOrg(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	results := make([]panels.Account, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.c.EnsureAccount(context.Background(), jane(3))
		}()
	}
	wg.Wait()
	succeeded := 0
	for i, err := range errs {
		if err == nil {
			succeeded++
		}
		if err != nil && !errors.Is(err, panels.ErrConflict) {
			t.Fatalf("call %d: %v, want success or a login conflict", i, err)
		}
	}
	t.Logf("%d of %d concurrent calls succeeded", succeeded, len(errs))
	after := f.account(t, 3) // a later call always completes
	for i, a := range results {
		if errs[i] == nil && a.ID != after.ID {
			t.Fatalf("call %d returned org %s, later call %s", i, a.ID, after.ID)
		}
	}
}

func TestEnsureAccountRefusesAnEmailOwnedByAnotherOrg(t *testing.T) {
	f := newFixture(t)
	f.account(t, 1)
	other := jane(1)
	other.ID = 2
	_, err := f.c.EnsureAccount(context.Background(), other)
	e := panelErr(t, err, panels.KindConflict)
	if e.Status != http.StatusConflict || !strings.Contains(e.Message, other.Email) {
		t.Fatalf("conflict status %d message %q, want 409 naming %s", e.Status, e.Message, other.Email)
	}
}

func TestEnsureAccountInAnOrgThatIsNotAResellerIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, 1)
	_, err := f.client(t, f.sim.Token(), a.ID).EnsureAccount(context.Background(), jane(2))
	if e := panelErr(t, err, panels.KindUnauthorized); e.Status != http.StatusForbidden {
		t.Fatalf("status %d, want 403", e.Status)
	}
}

func TestCreateServiceBuildsThenBecomesActive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(t, 1)
	s := f.service(t, a, 41)
	if s.ID == "" || s.Extra["org_id"] != a.ID || s.Extra["website_id"] == "" {
		t.Fatalf("service lacks ids: %+v", s)
	}
	d, err := f.c.Details(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != panels.StateBuilding {
		t.Fatalf("state right after create %q, want building", d.State)
	}
	f.clock.step(buildDelay - time.Second)
	if d, _ = f.c.Details(ctx, s); d.State != panels.StateBuilding {
		t.Fatalf("state 1s before the build delay %q, want building", d.State)
	}
	f.clock.step(time.Second)
	d, err = f.c.Details(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := panels.Details{State: panels.StateActive, Hostname: "site41.example.com", DiskGB: 10, MemoryMB: 1024, CPU: 1}
	if d.State != want.State || d.Hostname != want.Hostname || d.DiskGB != want.DiskGB || d.MemoryMB != want.MemoryMB || d.CPU != want.CPU {
		t.Fatalf("details after build %+v, want %+v", d, want)
	}
	found, ok, err := f.c.FindService(ctx, a, 41)
	if err != nil || !ok || found.ID != s.ID || found.Extra["website_id"] != s.Extra["website_id"] {
		t.Fatalf("FindService = %+v %v %v, want %+v", found, ok, err, s)
	}
	if _, ok, _ := f.c.FindService(ctx, a, 4); ok {
		t.Fatal("FindService(4) found service 41")
	}
}

func TestCreateServiceTwiceMakesOneService(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, 1)
	first, second := f.service(t, a, 8), f.service(t, a, 8)
	if first.ID != second.ID || first.Extra["website_id"] != second.Extra["website_id"] {
		t.Fatalf("second create %+v, want %+v", second, first)
	}
	if n := f.sim.ServicesFor("8"); n != 1 {
		t.Fatalf("%d subscriptions for service 8, want 1", n)
	}
}

func TestLostSubscriptionAnswerIsFinishedNotRepeated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(t, 1)
	f.sim.Faults().LoseNextCreates(1)
	_, err := f.c.CreateService(ctx, request(a, 12, "1"))
	panelErr(t, err, panels.KindTemporary)
	if _, ok, err := f.c.FindService(ctx, a, 12); err != nil || ok {
		t.Fatalf("FindService with the website missing = %v, %v; want not found so CreateService runs", ok, err)
	}
	s, err := f.c.CreateService(ctx, request(a, 12, "1"))
	if err != nil {
		t.Fatalf("CreateService after the lost answer: %v", err)
	}
	if f.sim.ServicesFor("12") != 1 || f.sim.ServiceCount() != 1 || f.sim.WebsiteCount() != 1 {
		t.Fatalf("after retry: %d subscriptions for service 12, %d live, %d websites; want 1, 1, 1",
			f.sim.ServicesFor("12"), f.sim.ServiceCount(), f.sim.WebsiteCount())
	}
	if found, ok, err := f.c.FindService(ctx, a, 12); err != nil || !ok || found.ID != s.ID {
		t.Fatalf("FindService = %+v %v %v, want %s", found, ok, err, s.ID)
	}
}

func TestFindServiceFindsTheServiceWhoseCreateAnswerWasLost(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(t, 1)
	f.sim.Faults().LoseNextCreates(2) // the subscription's answer, then the website's
	for i := range 2 {
		if _, ok, err := f.c.FindService(ctx, a, 13); err != nil || ok {
			t.Fatalf("attempt %d: FindService before completion = %v, %v", i, ok, err)
		}
		if _, err := f.c.CreateService(ctx, request(a, 13, "1")); err == nil {
			t.Fatalf("attempt %d: create answered although its response was lost", i)
		}
	}
	s, ok, err := f.c.FindService(ctx, a, 13)
	if err != nil || !ok || s.Extra["website_id"] == "" {
		t.Fatalf("FindService after lost answers = %+v %v %v, want the created service", s, ok, err)
	}
	if f.sim.ServicesFor("ezs-13") != 1 || f.sim.WebsiteCount() != 1 {
		t.Fatalf("%d subscriptions and %d websites for service 13, want exactly 1 and 1", f.sim.ServicesFor("ezs-13"), f.sim.WebsiteCount())
	}
}

func TestSuspendUnsuspendTerminate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.service(t, f.account(t, 1), 20)
	f.clock.step(buildDelay)
	state := func() panels.State {
		t.Helper()
		d, err := f.c.Details(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}
	if err := f.c.Suspend(ctx, s, "unpaid"); err != nil {
		t.Fatal(err)
	}
	if st := state(); st != panels.StateSuspended {
		t.Fatalf("after suspend %q", st)
	}
	if err := f.c.Suspend(ctx, s, "unpaid"); err != nil {
		t.Fatalf("suspending twice: %v", err)
	}
	if err := f.c.Unsuspend(ctx, s); err != nil {
		t.Fatal(err)
	}
	if st := state(); st != panels.StateActive {
		t.Fatalf("after unsuspend %q", st)
	}
	if err := f.c.Terminate(ctx, s); err != nil {
		t.Fatal(err)
	}
	if f.sim.ServiceCount() != 0 || f.sim.WebsiteCount() != 0 {
		t.Fatalf("after terminate %d subscriptions and %d websites live", f.sim.ServiceCount(), f.sim.WebsiteCount())
	}
	if st := state(); st != panels.StateFailed {
		t.Fatalf("after terminate %q, want failed", st)
	}
	if err := f.c.Terminate(ctx, s); err != nil {
		t.Fatalf("terminating a service already gone: %v, want nil", err)
	}
	panelErr(t, f.c.Suspend(ctx, s, "late"), panels.KindNotFound)
}

func TestTerminateUnknownSubscriptionIsSuccess(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, 1)
	err := f.c.Terminate(context.Background(), panels.Service{ID: "999", Extra: map[string]string{"org_id": a.ID}})
	if err != nil {
		t.Fatalf("Terminate of an unknown subscription: %v, want nil", err)
	}
}

func TestChangePackage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.service(t, f.account(t, 1), 30)
	if err := f.c.ChangePackage(ctx, s, panels.Package{PlanID: "2"}); err != nil {
		t.Fatal(err)
	}
	if d, err := f.c.Details(ctx, s); err != nil || d.DiskGB != 50 {
		t.Fatalf("disk after change to plan 2: %d GB (%v), want 50", d.DiskGB, err)
	}
	e := panelErr(t, f.c.ChangePackage(ctx, s, panels.Package{PlanID: "99"}), panels.KindValidation)
	if e.Status != http.StatusNotFound || !strings.Contains(e.Message, "plan 99") {
		t.Fatalf("unknown plan: status %d message %q", e.Status, e.Message)
	}
	panelErr(t, f.c.ChangePackage(ctx, s, panels.Package{PlanID: "basic"}), panels.KindValidation)
	if err := f.c.Terminate(ctx, s); err != nil {
		t.Fatal(err)
	}
	panelErr(t, f.c.ChangePackage(ctx, s, panels.Package{PlanID: "2"}), panels.KindNotFound)
}

func TestCreateServiceValidationErrorsCarryThePanelsWords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(t, 1)
	_, err := f.c.CreateService(ctx, request(a, 50, "99"))
	e := panelErr(t, err, panels.KindValidation)
	if e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "plan 99 does not exist") {
		t.Fatalf("unknown plan: status %d message %q", e.Status, e.Message)
	}
	r := request(a, 51, "1")
	r.Hostname = "not a domain"
	_, err = f.c.CreateService(ctx, r)
	if e := panelErr(t, err, panels.KindValidation); !strings.Contains(e.Message, "not a valid domain") {
		t.Fatalf("bad domain message %q", e.Message)
	}
	r = request(a, 52, "1")
	r.Package.Options = map[string]string{"server_group": "00000000-0000-4000-8000-0000000000ff"}
	_, err = f.c.CreateService(ctx, r)
	if e := panelErr(t, err, panels.KindValidation); !strings.Contains(e.Message, "server group") {
		t.Fatalf("bad server group message %q", e.Message)
	}
	r.Package.Options["server_group"] = sim.DefaultServerGroupID
	if _, err := f.c.CreateService(ctx, r); err != nil {
		t.Fatalf("create in the default server group: %v", err)
	}
}

func TestCreateServiceOnADomainTakenElsewhereIsAConflict(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.service(t, f.account(t, 1), 60)
	r := request(f.account(t, 2), 61, "1")
	r.Hostname = "site60.example.com"
	_, err := f.c.CreateService(ctx, r)
	panelErr(t, err, panels.KindConflict)
}

func TestPowerAndResetPasswordAreUnsupported(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, 1)
	s := f.service(t, a, 70)
	panelErr(t, f.c.Power(context.Background(), s, panels.PowerRestart), panels.KindUnsupported)
	_, err := f.c.ResetPassword(context.Background(), a, s)
	if !errors.Is(err, panels.ErrUnsupported) {
		t.Fatalf("ResetPassword: %v, want unsupported", err)
	}
}

func TestLoginURLIsTheOwnersSSOLink(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, 1)
	s := f.service(t, a, 80)
	link, err := f.c.LoginURL(context.Background(), a, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, f.srv.URL+"/login/sso?token=") || !strings.Contains(link, a.Extra["login_id"]) {
		t.Fatalf("sso link %q is not the owner's one-time link", link)
	}
	again, _ := f.c.LoginURL(context.Background(), a, s)
	if again == link {
		t.Fatal("two sso links are the same; they must be one-time")
	}
}

func TestCheckCapacity(t *testing.T) {
	f := newFixture(t, sim.Plan{ID: 1, Name: "Solo", DiskBytes: 1 << 30, Quota: 1}, sim.Plan{ID: 2, Name: "Big", DiskBytes: 1 << 30})
	ctx := context.Background()
	check := func(plan string) panels.Capacity {
		t.Helper()
		c, err := f.c.CheckCapacity(ctx, panels.Package{PlanID: plan})
		if err != nil {
			t.Fatalf("CheckCapacity(%s): %v", plan, err)
		}
		return c
	}
	if c := check("1"); !c.Available {
		t.Fatalf("plan 1 with quota left: %+v", c)
	}
	if c := check("99"); c.Available || c.Reason == "" {
		t.Fatalf("plan 99 that is not offered: %+v", c)
	}
	a := f.account(t, 1)
	f.service(t, a, 1)
	if c := check("1"); c.Available || !strings.Contains(c.Reason, "sold out") {
		t.Fatalf("plan 1 with its quota of 1 used: %+v", c)
	}
	_, err := f.c.CreateService(ctx, request(a, 2, "1"))
	if e := panelErr(t, err, panels.KindNoCapacity); e.Status != http.StatusForbidden || !strings.Contains(e.Message, "quota exceeded") {
		t.Fatalf("create beyond quota: status %d message %q", e.Status, e.Message)
	}
	if c := check("2"); !c.Available {
		t.Fatalf("plan 2 before no-capacity: %+v", c)
	}
	f.sim.Faults().SetNoCapacity(true)
	if c := check("2"); c.Available {
		t.Fatalf("plan 2 with no capacity switched on: %+v", c)
	}
	_, err = f.c.CreateService(ctx, request(a, 3, "2"))
	panelErr(t, err, panels.KindNoCapacity)
	if n := f.sim.ServicesFor("3"); n != 0 {
		t.Fatalf("%d subscriptions made while out of capacity", n)
	}
	if _, err := f.c.CheckCapacity(ctx, panels.Package{PlanID: "x"}); !errors.Is(err, panels.ErrValidation) {
		t.Fatalf("non-numeric plan id: %v, want validation", err)
	}
}

func TestInjectedFaultsMapToKinds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.service(t, f.account(t, 1), 90)

	f.sim.Faults().LockNext(1)
	e := panelErr(t, f.c.Suspend(ctx, s, "x"), panels.KindLocked)
	if e.Status != http.StatusLocked || !panels.Retryable(e) {
		t.Fatalf("locked: status %d retryable %v", e.Status, panels.Retryable(e))
	}

	f.sim.Faults().RateLimitNext(1, 7*time.Second)
	_, err := f.c.Details(ctx, s)
	if e := panelErr(t, err, panels.KindRateLimited); e.RetryAfter != 7*time.Second || panels.RetryAfter(err) != 7*time.Second {
		t.Fatalf("rate limited: RetryAfter %v, want 7s", e.RetryAfter)
	}

	f.sim.Faults().FailNext(1)
	_, err = f.c.Details(ctx, s)
	if e := panelErr(t, err, panels.KindTemporary); e.Status != http.StatusServiceUnavailable || !panels.Retryable(err) {
		t.Fatalf("server error: status %d retryable %v", e.Status, panels.Retryable(err))
	}

	if _, err := f.c.Details(ctx, s); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

func TestContextCancellationReturnsPromptly(t *testing.T) {
	f := newFixture(t)
	f.sim.Faults().SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.c.Test(ctx)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Test took %v with a 50ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want it to wrap context.DeadlineExceeded", err)
	}
	panelErr(t, err, panels.KindTemporary)
	f.sim.Faults().SetLatency(0)
}

func TestFailureReadsEnhanceErrorBodies(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		kind    panels.Kind
		message string
	}{
		{"empty 404", 404, "", panels.KindNotFound, ""},
		{"http error", 400, `{"code":"invalid_input","detail":"domain is taken","message":"Bad Request"}`, panels.KindValidation, "Bad Request: domain is taken"},
		{"code only", 409, `{"code":"already_exists"}`, panels.KindConflict, "already_exists"},
		{"plain text 502", 502, "bad gateway", panels.KindTemporary, "bad gateway"},
		{"422 joined", 422, `{"message":"invalid input","detail":"planId is required"}`, panels.KindValidation, "invalid input: planId is required"},
		{"quota 403", 403, `{"code":"quota_exceeded","detail":"quota exceeded"}`, panels.KindNoCapacity, "quota exceeded"},
		{"quota 400", 400, `{"message":"Reseller quota exhausted"}`, panels.KindNoCapacity, "Reseller quota exhausted"},
		{"plain 403", 403, `{"message":"insufficient privileges"}`, panels.KindUnauthorized, "insufficient privileges"},
		{"401", 401, "", panels.KindUnauthorized, ""},
		{"423", 423, "", panels.KindLocked, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			e := failure("op", res, []byte(tc.body))
			if e.Kind != tc.kind || e.Message != tc.message || e.Status != tc.status {
				t.Fatalf("failure = kind %v message %q status %d; want %v %q %d", e.Kind, e.Message, e.Status, tc.kind, tc.message, tc.status)
			}
		})
	}
}
