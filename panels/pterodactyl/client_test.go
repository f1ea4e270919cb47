package pterodactyl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/pterodactyl/sim"
	"github.com/ezscale/billing/panels/simkit"
)

// clock is a settable time source for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sim   *sim.Sim
	srv   *httptest.Server
	c     *Client
	clock *clock
}

const buildDelay = 90 * time.Second

func newEnv(t *testing.T, o sim.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	if o.Now == nil {
		o.Now = clk.Now
	}
	if o.BuildDelay == 0 {
		o.BuildDelay = buildDelay
	}
	s := sim.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{sim: s, srv: srv, c: newClient(t, srv.URL, s.Token(), s.ClientKey()), clock: clk}
}

func newClient(t *testing.T, base, token, clientKey string) *Client {
	t.Helper()
	c, err := New(panels.Config{Type: panels.Pterodactyl, BaseURL: base, Token: token, Extra: map[string]string{"client_key": clientKey}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// paper is a Paper Minecraft package: egg 1 in nest 1, whose variable defaults are read.
func paper() panels.Package {
	return panels.Package{PlanID: "1", Options: map[string]string{
		"nest": "1", "memory": "2048", "disk": "10240", "cpu": "200",
		"databases": "1", "backups": "2", "location": "1", "port_range": "25565-25600",
		"env.MINECRAFT_VERSION": "1.20.4",
	}}
}

func customer(id int64) panels.Customer {
	return panels.Customer{ID: id, Email: "Jane.Doe+mc@example.com", FirstName: "Jane", LastName: "Doe"}
}

func (e *env) create(t *testing.T, serviceID int64, p panels.Package) (panels.Account, panels.Service) {
	t.Helper()
	ctx := context.Background()
	a, err := e.c.EnsureAccount(ctx, customer(7))
	if err != nil {
		t.Fatalf("EnsureAccount: %v", err)
	}
	s, err := e.c.CreateService(ctx, panels.CreateRequest{ServiceID: serviceID, Account: a, Hostname: "mc-" + strconv.FormatInt(serviceID, 10), Package: p})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return a, s
}

func (e *env) details(t *testing.T, s panels.Service) panels.Details {
	t.Helper()
	d, err := e.c.Details(context.Background(), s)
	if err != nil {
		t.Fatalf("Details: %v", err)
	}
	return d
}

// panelError asserts err is a *panels.Error of kind k and returns it.
func panelError(t *testing.T, err error, k panels.Kind) *panels.Error {
	t.Helper()
	var pe *panels.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *panels.Error of kind %s", err, err, k)
	}
	if pe.Kind != k {
		t.Fatalf("error kind %s, want %s: %v", pe.Kind, k, err)
	}
	if pe.Panel != panels.Pterodactyl || pe.Op == "" {
		t.Fatalf("error lacks panel or op: %+v", pe)
	}
	return pe
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	ok := map[string]string{"client_key": "ptlc_x"}
	cases := []struct {
		name string
		cfg  panels.Config
		want string
	}{
		{"no base url", panels.Config{Token: "ptla_x", Extra: ok}, "BaseURL"},
		{"not http", panels.Config{BaseURL: "ftp://panel", Token: "ptla_x", Extra: ok}, "BaseURL"},
		{"api path", panels.Config{BaseURL: "https://panel/api/application", Token: "ptla_x", Extra: ok}, "panel root"},
		{"no token", panels.Config{BaseURL: "https://panel", Extra: ok}, "Token"},
		{"no client key", panels.Config{BaseURL: "https://panel", Token: "ptla_x"}, "client_key"},
		{"application key as client key", panels.Config{BaseURL: "https://panel", Token: "ptla_x", Extra: map[string]string{"client_key": "ptla_y"}}, "ptlc_"},
		{"other panel", panels.Config{Type: panels.Enhance, BaseURL: "https://panel", Token: "ptla_x", Extra: ok}, "panel type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	c, err := New(panels.Config{BaseURL: "https://panel.example.com/", Token: "ptla_x", Extra: ok})
	if err != nil || c.base != "https://panel.example.com" || c.Type() != panels.Pterodactyl {
		t.Fatalf("valid config: %v, base %q", err, c.base)
	}
}

func TestTestChecksBothKeys(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	if err := e.c.Test(ctx); err != nil {
		t.Fatalf("Test with valid keys: %v", err)
	}
	wrong := newClient(t, e.srv.URL, "ptla_wrong", e.sim.ClientKey())
	pe := panelError(t, wrong.Test(ctx), panels.KindUnauthorized)
	if pe.Status != http.StatusUnauthorized || pe.Message != "Unauthenticated." {
		t.Fatalf("wrong application key: status %d message %q, want 401 Unauthenticated.", pe.Status, pe.Message)
	}

	a, err := e.c.EnsureAccount(ctx, customer(3))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.Atoi(a.ID)
	userKey, _ := e.sim.IssueClientKey(id)
	nonAdmin := newClient(t, e.srv.URL, e.sim.Token(), userKey)
	pe = panelError(t, nonAdmin.Test(ctx), panels.KindUnauthorized)
	if !strings.Contains(pe.Message, "not a root admin") {
		t.Fatalf("non-admin client key: message %q", pe.Message)
	}
}

func TestRedirectToLoginIsUnauthorized(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/auth/login", http.StatusFound)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "ptla_x", "ptlc_y")
	pe := panelError(t, c.Test(context.Background()), panels.KindUnauthorized)
	if pe.Status != http.StatusFound || !strings.Contains(pe.Message, "/auth/login") {
		t.Fatalf("redirect: status %d message %q", pe.Status, pe.Message)
	}
}

func TestEnsureAccountTwiceReturnsTheSameUser(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a1, err := e.c.EnsureAccount(ctx, customer(42))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.c.EnsureAccount(ctx, customer(42))
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID == "" || a1.ID != a2.ID {
		t.Fatalf("accounts %q and %q, want the same user", a1.ID, a2.ID)
	}
	if a1.Extra["username"] != "jane.doe_mc-42" || a1.Extra["uuid"] == "" {
		t.Fatalf("account extra %v", a1.Extra)
	}
	other, err := e.c.EnsureAccount(ctx, panels.Customer{ID: 43, Email: "sam@example.com"})
	if err != nil {
		t.Fatalf("customer without names: %v", err)
	}
	if other.ID == a1.ID {
		t.Fatalf("customer 43 got customer 42's user %s", a1.ID)
	}
}

// statusWriter records the status the wrapped handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func TestEnsureAccountLosingACreateRaceLooksUpAgain(t *testing.T) {
	s := sim.New(sim.Options{})
	var once sync.Once
	var createStatus atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/application/users" {
			s.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		once.Do(func() {
			// A concurrent EnsureAccount creates the same user between our lookup and create.
			rival := r.Clone(r.Context())
			rival.Body = io.NopCloser(bytes.NewReader(body))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, rival)
			if rec.Code != http.StatusCreated {
				t.Errorf("rival create answered %d: %s", rec.Code, rec.Body)
			}
		})
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		s.ServeHTTP(sw, r)
		createStatus.Store(int32(sw.status))
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, s.Token(), s.ClientKey())

	a, err := c.EnsureAccount(context.Background(), customer(42))
	if err != nil {
		t.Fatalf("EnsureAccount after losing the race: %v", err)
	}
	if createStatus.Load() != http.StatusUnprocessableEntity {
		t.Fatalf("our create answered %d, want 422 (the race did not happen)", createStatus.Load())
	}
	again, err := c.EnsureAccount(context.Background(), customer(42))
	if err != nil || again.ID != a.ID {
		t.Fatalf("user %q then %q (%v), want the rival's user both times", a.ID, again.ID, err)
	}
}

func TestConcurrentEnsureAccountsAgreeOnOneUser(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.c.EnsureAccount(context.Background(), customer(42))
			if err != nil {
				t.Errorf("EnsureAccount %d: %v", i, err)
			}
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("call %d got user %q, call 0 got %q", i, id, ids[0])
		}
	}
}

func TestCreatedServerBuildsThenBecomesActiveAfterBuildDelay(t *testing.T) {
	e := newEnv(t, sim.Options{})
	a, s := e.create(t, 101, paper())
	if s.ID == "" || len(s.Extra["identifier"]) != 8 || s.Extra["uuid"] == "" || s.Extra["allocation"] == "" {
		t.Fatalf("service %+v lacks id, identifier, uuid or allocation", s)
	}
	if !strings.HasPrefix(s.Extra["uuid"], s.Extra["identifier"]) {
		t.Fatalf("identifier %q is not the start of uuid %q", s.Extra["identifier"], s.Extra["uuid"])
	}
	if d := e.details(t, s); d.State != panels.StateBuilding {
		t.Fatalf("state right after create %q, want building", d.State)
	}
	e.clock.Add(buildDelay - time.Second)
	if d := e.details(t, s); d.State != panels.StateBuilding {
		t.Fatalf("state 1s before the build ends %q, want building", d.State)
	}
	e.clock.Add(time.Second)
	d := e.details(t, s)
	if d.State != panels.StateActive {
		t.Fatalf("state after BuildDelay %q, want active", d.State)
	}
	if d.Hostname != "mc-101" || d.MemoryMB != 2048 || d.DiskGB != 10 || d.CPU != 200 {
		t.Fatalf("details %+v, want mc-101 with 2048 MB, 10 GB, 200%% CPU", d)
	}
	if len(d.IPv4) != 1 || d.IPv4[0] != "10.0.0.11" {
		t.Fatalf("IPv4 %v, want [10.0.0.11]", d.IPv4)
	}
	found, ok, err := e.c.FindService(context.Background(), a, 101)
	if err != nil || !ok || found.ID != s.ID || found.Extra["identifier"] != s.Extra["identifier"] {
		t.Fatalf("FindService: %+v %v %v, want %+v", found, ok, err, s)
	}
	if e.sim.PowerState(s.Extra["identifier"]) != "running" {
		t.Fatalf("server did not start on completion: %q", e.sim.PowerState(s.Extra["identifier"]))
	}
}

func TestFailedInstallIsReportedFailed(t *testing.T) {
	e := newEnv(t, sim.Options{})
	_, s := e.create(t, 5, paper())
	if !e.sim.FailInstall("svc-5") {
		t.Fatal("sim has no server svc-5")
	}
	e.clock.Add(buildDelay)
	if d := e.details(t, s); d.State != panels.StateFailed || !strings.Contains(d.Message, "install_failed") {
		t.Fatalf("details %+v, want failed with install_failed", d)
	}
}

func TestFindServiceReportsAbsentServer(t *testing.T) {
	e := newEnv(t, sim.Options{})
	_, ok, err := e.c.FindService(context.Background(), panels.Account{ID: "1"}, 999)
	if err != nil || ok {
		t.Fatalf("FindService of nothing: found %v, err %v; want not found and no error", ok, err)
	}
}

func TestCreateWithLostResponseIsFoundAndNeverDuplicated(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a, err := e.c.EnsureAccount(ctx, customer(7))
	if err != nil {
		t.Fatal(err)
	}
	req := panels.CreateRequest{ServiceID: 42, Account: a, Hostname: "mc-42", Package: paper()}

	e.sim.Faults().LoseNextCreates(1)
	_, err = e.c.CreateService(ctx, req)
	pe := panelError(t, err, panels.KindTemporary)
	if !panels.Retryable(pe) {
		t.Fatal("a lost answer must be retryable")
	}
	if e.sim.Faults().Injected(simkit.FaultLoseCreate) != 1 {
		t.Fatal("the create's answer was not lost")
	}

	s, ok, err := e.c.FindService(ctx, a, 42)
	if err != nil || !ok {
		t.Fatalf("FindService after the lost answer: found %v, %v", ok, err)
	}
	if n := e.sim.ServicesFor("svc-42"); n != 1 {
		t.Fatalf("%d servers carry svc-42, want 1", n)
	}
	// A retry that skips FindService is answered 422 for the taken external_id and returns the
	// same server.
	again, err := e.c.CreateService(ctx, req)
	if err != nil || again.ID != s.ID {
		t.Fatalf("CreateService retry: %+v %v, want server %s", again, err, s.ID)
	}
	if n := e.sim.ServicesFor("42"); n != 1 || e.sim.ServiceCount() != 1 {
		t.Fatalf("%d servers for service 42 (%d in all), want exactly 1", n, e.sim.ServiceCount())
	}
}

func TestCreateValidationSurfacesThePanelsMessages(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a, err := e.c.EnsureAccount(ctx, customer(7))
	if err != nil {
		t.Fatal(err)
	}
	noNest := panels.Package{PlanID: "2", Options: map[string]string{
		"docker_image": "ghcr.io/pterodactyl/yolks:java_17", "startup": "java -jar {{SERVER_JARFILE}}",
		"memory": "1024", "disk": "5120", "location": "1", "env.VANILLA_VERSION": "1.20.4",
	}}
	badEgg := paper()
	badEgg.PlanID = "99"
	delete(badEgg.Options, "nest")
	badEgg.Options["docker_image"], badEgg.Options["startup"] = "img", "run"
	noMemory := paper()
	delete(noMemory.Options, "memory")
	cases := []struct {
		name string
		p    panels.Package
		want string
	}{
		{"unknown egg", badEgg, "The selected egg is invalid."},
		{"required variable without the nest's defaults", noNest, "The Server Jar File variable field is required."},
		{"no memory", noMemory, "The limits.memory field is required."},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateService(ctx, panels.CreateRequest{ServiceID: int64(500 + i), Account: a, Package: tc.p})
			pe := panelError(t, err, panels.KindValidation)
			if pe.Status != http.StatusUnprocessableEntity || !strings.Contains(pe.Message, tc.want) {
				t.Fatalf("status %d message %q, want 422 with %q", pe.Status, pe.Message, tc.want)
			}
		})
	}
	noNest.Options["env.SERVER_JARFILE"] = "server.jar"
	if _, err := e.c.CreateService(ctx, panels.CreateRequest{ServiceID: 600, Account: a, Package: noNest}); err != nil {
		t.Fatalf("create with every variable set: %v", err)
	}
	bad := paper()
	bad.Options["memory"] = "2GB"
	_, err = e.c.CreateService(ctx, panels.CreateRequest{ServiceID: 601, Account: a, Package: bad})
	if pe := panelError(t, err, panels.KindValidation); pe.Status != 0 || !strings.Contains(pe.Message, "memory") {
		t.Fatalf("malformed option: %+v, want a local validation error naming memory", pe)
	}
	if e.sim.ServiceCount() != 1 {
		t.Fatalf("%d servers exist, want only the valid one", e.sim.ServiceCount())
	}
}

func TestCreateWithoutFreeAllocationIsNoCapacity(t *testing.T) {
	e := newEnv(t, sim.Options{PortsPerNode: 1})
	ctx := context.Background()
	e.create(t, 1, paper())
	e.create(t, 2, paper())
	c, err := e.c.CheckCapacity(ctx, paper())
	if err != nil || c.Available || !strings.Contains(c.Reason, "port") {
		t.Fatalf("capacity with every port taken: %+v %v, want unavailable for want of a port", c, err)
	}
	a, _ := e.c.EnsureAccount(ctx, customer(7))
	_, err = e.c.CreateService(ctx, panels.CreateRequest{ServiceID: 3, Account: a, Package: paper()})
	pe := panelError(t, err, panels.KindNoCapacity)
	if pe.Status != http.StatusBadRequest || !strings.Contains(pe.Message, "No allocations satisfying") {
		t.Fatalf("no allocation: status %d message %q", pe.Status, pe.Message)
	}

	elsewhere := paper()
	elsewhere.Options["location"] = "9"
	_, err = e.c.CreateService(ctx, panels.CreateRequest{ServiceID: 4, Account: a, Package: elsewhere})
	if pe := panelError(t, err, panels.KindNoCapacity); !strings.Contains(pe.Message, "No nodes satisfying") {
		t.Fatalf("no node: %q", pe.Message)
	}
	if e.sim.ServiceCount() != 2 {
		t.Fatalf("%d servers, want 2", e.sim.ServiceCount())
	}
}

func TestCheckCapacity(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	huge := paper()
	huge.Options["memory"] = "40000"
	elsewhere := paper()
	elsewhere.Options["location"] = "9"
	highPorts := paper()
	highPorts.Options["port_range"] = "30000-30010"
	cases := []struct {
		name      string
		p         panels.Package
		available bool
		reason    string
	}{
		{"fits", paper(), true, ""},
		{"more memory than a node has", huge, false, "full"},
		{"location without nodes", elsewhere, false, "no servers"},
		{"no allocation in the port range", highPorts, false, "port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.c.CheckCapacity(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if c.Available != tc.available || !strings.Contains(c.Reason, tc.reason) {
				t.Fatalf("capacity %+v, want available=%v with reason containing %q", c, tc.available, tc.reason)
			}
		})
	}
}

func TestNoCapacityFaultReportsUnavailableAndRefusesCreates(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	e.sim.Faults().SetNoCapacity(true)
	c, err := e.c.CheckCapacity(ctx, paper())
	if err != nil || c.Available || c.Reason == "" {
		t.Fatalf("capacity under no-capacity fault: %+v %v, want unavailable with a reason", c, err)
	}
	a, _ := e.c.EnsureAccount(ctx, customer(7))
	_, err = e.c.CreateService(ctx, panels.CreateRequest{ServiceID: 1, Account: a, Package: paper()})
	if panels.Retryable(panelError(t, err, panels.KindNoCapacity)) {
		t.Fatal("no capacity must not be retried blindly")
	}
	e.sim.Faults().SetNoCapacity(false)
	if c, _ := e.c.CheckCapacity(ctx, paper()); !c.Available {
		t.Fatalf("capacity after the fault cleared: %+v", c)
	}
}

func TestSuspendUnsuspendAndPowerRules(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	_, s := e.create(t, 9, paper())

	pe := panelError(t, e.c.Power(ctx, s, panels.PowerStart), panels.KindConflict)
	if pe.Status != http.StatusConflict || !strings.Contains(pe.Message, "installation") {
		t.Fatalf("power while installing: %d %q", pe.Status, pe.Message)
	}
	e.clock.Add(buildDelay)
	ident := s.Extra["identifier"]
	if err := e.c.Power(ctx, s, panels.PowerStop); err != nil || e.sim.PowerState(ident) != "offline" {
		t.Fatalf("stop: %v, state %q", err, e.sim.PowerState(ident))
	}
	if err := e.c.Power(ctx, s, panels.PowerStart); err != nil || e.sim.PowerState(ident) != "running" {
		t.Fatalf("start: %v, state %q", err, e.sim.PowerState(ident))
	}
	// Without Extra the identifier is read from the panel.
	if err := e.c.Power(ctx, panels.Service{ID: s.ID}, panels.PowerRestart); err != nil {
		t.Fatalf("restart by server id only: %v", err)
	}
	panelError(t, e.c.Power(ctx, s, "hibernate"), panels.KindValidation)

	for range 2 { // suspending twice is not an error
		if err := e.c.Suspend(ctx, s, "unpaid invoice 12"); err != nil {
			t.Fatalf("Suspend: %v", err)
		}
	}
	if d := e.details(t, s); d.State != panels.StateSuspended {
		t.Fatalf("state after suspend %q", d.State)
	}
	pe = panelError(t, e.c.Power(ctx, s, panels.PowerStart), panels.KindConflict)
	if !strings.Contains(pe.Message, "suspended") {
		t.Fatalf("power while suspended: %q", pe.Message)
	}
	if err := e.c.Unsuspend(ctx, s); err != nil {
		t.Fatalf("Unsuspend: %v", err)
	}
	if d := e.details(t, s); d.State != panels.StateActive {
		t.Fatalf("state after unsuspend %q", d.State)
	}
	panelError(t, e.c.Suspend(ctx, panels.Service{ID: "9999"}, ""), panels.KindNotFound)
}

func TestPowerWithARefusedClientKeyIsUnauthorized(t *testing.T) {
	e := newEnv(t, sim.Options{})
	_, s := e.create(t, 1, paper())
	e.clock.Add(buildDelay)
	c := newClient(t, e.srv.URL, e.sim.Token(), "ptlc_revoked")
	panelError(t, c.Power(context.Background(), s, panels.PowerStart), panels.KindUnauthorized)
}

func TestTerminateIsDoneOnceGone(t *testing.T) {
	e := newEnv(t, sim.Options{PortsPerNode: 1})
	ctx := context.Background()
	_, s := e.create(t, 1, paper())
	if err := e.c.Terminate(ctx, s); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if e.sim.ServiceCount() != 0 || e.sim.FreeAllocations() != 2 {
		t.Fatalf("after terminate %d servers and %d free allocations, want 0 and 2", e.sim.ServiceCount(), e.sim.FreeAllocations())
	}
	if err := e.c.Terminate(ctx, s); err != nil {
		t.Fatalf("Terminate of a server already gone: %v, want nil", err)
	}
	_, err := e.c.Details(ctx, s)
	if pe := panelError(t, err, panels.KindNotFound); pe.Status != 404 || !strings.Contains(pe.Message, "could not be found") {
		t.Fatalf("details of a deleted server: %d %q", pe.Status, pe.Message)
	}
	if _, ok, err := e.c.FindService(ctx, panels.Account{}, 1); ok || err != nil {
		t.Fatalf("FindService after terminate: %v %v", ok, err)
	}
}

func TestTerminateForcesWhenTheDaemonIsUnreachable(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	_, s := e.create(t, 1, paper())
	e.sim.Faults().FailNext(1)
	panelError(t, e.c.Terminate(ctx, s), panels.KindTemporary)
	if e.sim.ServiceCount() != 1 {
		t.Fatal("a plain 5xx must not force the delete")
	}
	e.sim.SetDaemonDown(true)
	if err := e.c.Terminate(ctx, s); err != nil {
		t.Fatalf("Terminate with the daemon down: %v", err)
	}
	if e.sim.ServiceCount() != 0 {
		t.Fatal("server still exists after a forced delete")
	}
}

func TestChangePackageKeepsWhatThePackageLeavesOut(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	_, s := e.create(t, 1, paper())
	bigger := panels.Package{PlanID: "1", Options: map[string]string{"memory": "4096", "disk": "20480", "backups": "4"}}
	if err := e.c.ChangePackage(ctx, panels.Service{ID: s.ID}, bigger); err != nil {
		t.Fatalf("ChangePackage: %v", err)
	}
	d := e.details(t, s)
	if d.MemoryMB != 4096 || d.DiskGB != 20 || d.CPU != 200 {
		t.Fatalf("after change %+v, want 4096 MB, 20 GB and CPU kept at 200", d)
	}
	otherEgg := panels.Package{PlanID: "3", Options: map[string]string{"memory": "4096"}}
	panelError(t, e.c.ChangePackage(ctx, s, otherEgg), panels.KindUnsupported)
	tooSmallIO := panels.Package{PlanID: "1", Options: map[string]string{"io": "5"}}
	pe := panelError(t, e.c.ChangePackage(ctx, s, tooSmallIO), panels.KindValidation)
	if !strings.Contains(pe.Message, "limits.io") {
		t.Fatalf("io 5: %q", pe.Message)
	}
}

func TestResetPasswordSetsTheReturnedPanelPassword(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a, s := e.create(t, 1, paper())
	pw, err := e.c.ResetPassword(ctx, a, s)
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	id, _ := strconv.Atoi(a.ID)
	if len(pw) != 24 || !e.sim.CheckPassword(id, pw) {
		t.Fatalf("password %q (len %d) is not the user's password now", pw, len(pw))
	}
	pw2, err := e.c.ResetPassword(ctx, panels.Account{}, s) // the owner is read from the server
	if err != nil || pw2 == pw || !e.sim.CheckPassword(id, pw2) {
		t.Fatalf("second reset via the server: %q %v", pw2, err)
	}
}

func TestLoginURLIsTheServersPanelPage(t *testing.T) {
	e := newEnv(t, sim.Options{})
	a, s := e.create(t, 1, paper())
	u, err := e.c.LoginURL(context.Background(), a, panels.Service{ID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.srv.URL + "/server/" + s.Extra["identifier"]; u != want {
		t.Fatalf("LoginURL %q, want %q", u, want)
	}
}

func TestFaultsMapToKinds(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	_, s := e.create(t, 1, paper())

	e.sim.Faults().FailNext(1)
	_, err := e.c.Details(ctx, s)
	if pe := panelError(t, err, panels.KindTemporary); pe.Status != 500 || !strings.Contains(pe.Message, "unexpected error") {
		t.Fatalf("5xx: %d %q", pe.Status, pe.Message)
	}

	e.sim.Faults().RateLimitNext(1, 7*time.Second)
	_, err = e.c.Details(ctx, s)
	pe := panelError(t, err, panels.KindRateLimited)
	if pe.RetryAfter != 7*time.Second || pe.Message != "Too Many Attempts." || panels.RetryAfter(err) != 7*time.Second {
		t.Fatalf("429: retry after %v message %q, want 7s", pe.RetryAfter, pe.Message)
	}

	e.sim.Faults().LockNext(1)
	pe = panelError(t, e.c.Suspend(ctx, s, ""), panels.KindLocked)
	if pe.Status != http.StatusLocked || !panels.Retryable(pe) {
		t.Fatalf("423: status %d retryable %v", pe.Status, panels.Retryable(pe))
	}
	if d := e.details(t, s); d.State == panels.StateSuspended {
		t.Fatal("a locked suspend suspended the server")
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.Faults().SetLatency(5 * time.Second)
	defer e.sim.Faults().SetLatency(0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.c.EnsureAccount(ctx, customer(1))
	if took := time.Since(start); took > time.Second {
		t.Fatalf("EnsureAccount took %v after its context ended", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not wrap context.DeadlineExceeded", err)
	}
}

func TestUsernameFollowsThePanelsRule(t *testing.T) {
	cases := map[string]string{
		"Jane.Doe@example.com":  "jane.doe-42",
		"__x+tag@example.com":   "x_tag-42",
		"@example.com":          "customer-42",
		"über@example.com":      "ber-42",
		strings.Repeat("a", 60): strings.Repeat("a", 40) + "-42",
	}
	for email, want := range cases {
		if got := username(email, 42); got != want {
			t.Errorf("username(%q) = %q, want %q", email, got, want)
		}
	}
}
