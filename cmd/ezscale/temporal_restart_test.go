package main

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/devenv"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/testenv/repo"
	"github.com/ezscale/billing/workflows"
)

// TestTemporalServerRestartMidProvisioningCompletesEveryOrder stops the Temporal server under a
// running `ezscale worker` while several services are being built, keeps it away for longer
// than every provisioning timeout (the step timeout, the build poll's heartbeat timeout, the
// worker's grace period for poll errors), starts it again with its state, and checks every
// service ends active with exactly one server on the panel, without ops.
func TestTemporalServerRestartMidProvisioningCompletesEveryOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps Temporal stopped for over two minutes: skipped with -short")
	}
	st := testenv.NewStack(t, testenv.Options{NoWorker: true, RestartableTemporal: true, BuildDelay: 5 * time.Second})
	bin := buildBinary(t)
	sim := st.Panels.Get(panels.VirtFusion).Sim

	w := newWorkerProcess(t, bin, st)
	w.start()
	cust := customer(t, st)
	prod := demoProduct(t, st, "vps-2gb")
	ids := make([]int64, 4)
	for i := range ids {
		ids[i] = startProvisioning(t, st, cust.ID, prod, "virtfusion")
	}
	// Mid-provisioning: every server is being built, none is finished.
	waitFor(t, "every create to reach the panel", 60*time.Second, func() bool { return sim.ServiceCount() == len(ids) })
	for _, id := range ids {
		if s := serviceStatus(t, st, id); s != billing.ServiceProvisioning {
			t.Fatalf("service %d is %s before Temporal stops, want provisioning", id, s)
		}
	}

	st.StopTemporal(t)
	time.Sleep(outage)
	st.StartTemporal(t)

	for _, id := range ids {
		waitFor(t, "service "+strconv.FormatInt(id, 10)+" to leave provisioning", 3*time.Minute, func() bool {
			s := serviceStatus(t, st, id)
			return s != billing.ServiceProvisioning && s != billing.ServicePending
		})
		svc, err := st.Store.ServiceByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Status != billing.ServiceActive {
			t.Errorf("service %d is %s after the Temporal restart (%q), want active", id, svc.Status, svc.Attention)
		}
		if n := sim.ServicesFor(strconv.FormatInt(id, 10)); n != 1 {
			t.Errorf("service %d has %d servers on the panel, want 1", id, n)
		}
	}
	if n := sim.ServiceCount(); n != len(ids) {
		t.Errorf("servers on the panel: %d, want %d", n, len(ids))
	}
	if !alive(w.cmd.Process.Pid) {
		t.Errorf("ezscale worker (pid %d) exited while Temporal was away", w.cmd.Process.Pid)
	}
}

// outage is how long the Temporal server stays stopped: longer than the provisioning step
// timeout the test workflows use (4 s), the build poll's heartbeat timeout (2 s), and the SDK's
// two-minute grace period after which a worker gives up on poll errors it thinks permanent.
const outage = 130 * time.Second

// TestDevStackSurvivesTheTemporalServerDying kills (SIGKILL) the Temporal dev server under a
// running `ezscale dev` while a service is being provisioned: dev mode must keep the web server
// and worker up, start Temporal again on its port with its state, and the service must finish
// active without ops. Dev mode used to exit when its Temporal child died.
func TestDevStackSurvivesTheTemporalServerDying(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole dev stack: skipped with -short")
	}
	cli := repo.TemporalCLI(t)
	_, dsn := storetest.NewWithURL(t)
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "var")
	httpPort := freePort(t)
	site := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	env := append(withoutVar(os.Environ(), "TEMPORAL_ADDRESS", "SMTP_URL", "APP_ENV", "DATABASE_URL", "TEMPORAL_NAMESPACE"),
		"DATABASE_URL="+dsn,
		"DATA_DIR="+dataDir,
		"BIN_DIR="+filepath.Dir(cli),
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"BASE_URL="+site,
		"TEMPORAL_DEV_PORT="+strconv.Itoa(freePort(t)),
		"TEMPORAL_UI_PORT="+strconv.Itoa(freePort(t)),
		"LOG_LEVEL=warn",
	)
	dev := startDev(t, bin, env)
	dev.waitReady(t, site, 4*time.Minute)
	ctx := t.Context()

	state, err := devenv.ReadState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, state.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: state.TemporalAddress, Namespace: state.TemporalNamespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	cust, err := s.CreateUser(ctx, store.NewUser{Email: "dies@example.com", Name: "Temporal Dies", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	var productID int64
	products, err := s.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		if p.Slug == "vps-2gb" {
			productID = p.ID
		}
	}
	panel, err := s.PickPanelServer(ctx, "virtfusion")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := s.CreateService(ctx, store.NewService{CustomerID: cust.ID, ProductID: productID, PanelServerID: panel.ID, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.ExecuteWorkflow(ctx, workflows.ProvisionStartOptions(svc.ID, cust.ID, "virtfusion", dev.taskQueue()), workflows.Provision,
		workflows.ProvisionInput{ServiceID: svc.ID, StepTimeout: 4 * time.Second, Queue: []workflows.ProvisionOp{{Kind: workflows.OpCreate, Actor: "test"}}}); err != nil {
		t.Fatal(err)
	}
	status := func() store.Service {
		got, err := s.ServiceByID(ctx, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	waitFor(t, "provisioning to start", time.Minute, func() bool { return status().Status == billing.ServiceProvisioning })

	pid := temporalChild(t, dev.cmd.Process.Pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the Temporal dev server (pid %d)", pid)
	time.Sleep(10 * time.Second) // longer than the build poll's heartbeat timeout (2 s) and a step (4 s)
	select {
	case err := <-dev.done:
		t.Fatalf("ezscale dev exited when its Temporal server died: %v\n%s", err, tail(dev.stderr.String(), 4000))
	default:
	}

	waitFor(t, "the service to leave provisioning", 3*time.Minute, func() bool { return status().Status != billing.ServiceProvisioning })
	if got := status(); got.Status != billing.ServiceActive {
		t.Fatalf("service %d is %s (%q) after the Temporal server came back, want active", svc.ID, got.Status, got.Attention)
	}
	if res, err := http.Get(site + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("readyz after the restart: %v %v", res, err)
	}
	dev.interrupt(t)
}

// taskQueue is dev mode's task queue (TEMPORAL_TASK_QUEUE's default).
func (r *devRun) taskQueue() string {
	cfg, err := config.Load(func(string) string { return "" }, "development")
	if err != nil {
		panic(err)
	}
	return cfg.TaskQueue
}

// temporalChild is the pid of the `temporal server start-dev` process under pid.
func temporalChild(t *testing.T, pid int) int {
	t.Helper()
	for _, k := range descendants(pid) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(k), "cmdline"))
		if strings.Contains(string(cmdline), "start-dev") {
			return k
		}
	}
	t.Fatalf("no Temporal dev server under ezscale dev (pid %d)", pid)
	return 0
}
