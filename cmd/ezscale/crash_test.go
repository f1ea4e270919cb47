package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/simkit"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// workerProcess runs `ezscale worker` against a test stack, as production runs it.
type workerProcess struct {
	t   *testing.T
	bin string
	env []string
	cmd *exec.Cmd
}

func newWorkerProcess(t *testing.T, bin string, st *testenv.Stack) *workerProcess {
	env := append(withoutVar(os.Environ(), "DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "SMTP_URL", "APP_KEY", "APP_ENV", "BASE_URL"),
		"APP_ENV=production",
		"DATABASE_URL="+st.DSN,
		"TEMPORAL_ADDRESS="+st.TemporalAddress,
		"TEMPORAL_NAMESPACE="+testenv.Namespace,
		"TEMPORAL_TASK_QUEUE="+testenv.TaskQueue,
		"SMTP_URL="+st.Sink.URL(),
		"APP_KEY="+testenv.AppKey,
		"BASE_URL="+st.Server.URL,
		"LOG_LEVEL=error",
	)
	w := &workerProcess{t: t, bin: bin, env: env}
	t.Cleanup(func() {
		if w.cmd != nil && w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
	})
	return w
}

func (w *workerProcess) start() {
	w.t.Helper()
	w.cmd = exec.Command(w.bin, "worker")
	w.cmd.Env = w.env
	w.cmd.Stderr = os.Stderr
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
}

// kill is a crash: SIGKILL, no chance to finish or report anything.
func (w *workerProcess) kill() {
	w.t.Helper()
	if err := w.cmd.Process.Kill(); err != nil {
		w.t.Fatal(err)
	}
	_ = w.cmd.Wait()
}

// startProvisioning creates a service row and starts its workflow, as the admin form does.
func startProvisioning(t *testing.T, st *testenv.Stack, customerID, productID int64, panelType string) int64 {
	t.Helper()
	ctx := context.Background()
	panel, err := st.Store.PickPanelServer(ctx, panelType)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.Store.CreateService(ctx, store.NewService{CustomerID: customerID, ProductID: productID, PanelServerID: panel.ID, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Temporal.ExecuteWorkflow(ctx, workflows.ProvisionStartOptions(svc.ID, customerID, panelType, testenv.TaskQueue), workflows.Provision, workflows.ProvisionInput{
		ServiceID: svc.ID, StepTimeout: 4 * time.Second,
		Queue: []workflows.ProvisionOp{{Kind: workflows.OpCreate, Actor: "test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc.ID
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func serviceStatus(t *testing.T, st *testenv.Stack, id int64) billing.ServiceStatus {
	svc, err := st.Store.ServiceByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return svc.Status
}

func customer(t *testing.T, st *testenv.Stack) store.User {
	t.Helper()
	u, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: "crash@example.com", Name: "Crash Test", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func demoProduct(t *testing.T, st *testenv.Stack, slug string) int64 {
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
	t.Fatalf("no product %s", slug)
	return 0
}

// TestWorkerCrashDuringLostCreateLeavesExactlyOneServer kills the worker process while it waits
// for the answer to a create that the panel performed but whose answer is lost, starts a new
// worker, and checks the service ends active with exactly one server on the panel.
func TestWorkerCrashDuringLostCreateLeavesExactlyOneServer(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	bin := buildBinary(t)
	sim := st.Panels.Get(panels.VirtFusion).Sim
	sim.Faults().LoseNextCreates(1)
	sim.Faults().SetLostResponseDelay(30 * time.Second)

	w := newWorkerProcess(t, bin, st)
	w.start()
	id := startProvisioning(t, st, customer(t, st).ID, demoProduct(t, st, "vps-2gb"), "virtfusion")

	waitFor(t, "the create to reach the panel", 60*time.Second, func() bool { return sim.ServiceCount() == 1 })
	w.kill() // mid-request: the panel made the server, the worker never hears about it
	w.start()

	waitFor(t, "the service to become active", 90*time.Second, func() bool { return serviceStatus(t, st, id) == "active" })
	if n := sim.ServiceCount(); n != 1 {
		t.Fatalf("servers on the panel: %d, want exactly 1", n)
	}
	if n := sim.ServicesFor(strconv.FormatInt(id, 10)); n != 1 {
		t.Fatalf("servers built for service %d: %d, want 1", id, n)
	}
	events, _ := st.Store.ServiceEvents(context.Background(), id)
	adopted := false
	for _, e := range events {
		adopted = adopted || strings.Contains(e.Message, "claimed unbuilt server")
	}
	if !adopted {
		t.Fatalf("the restarted worker did not adopt the server the lost create made: %+v", events)
	}
}

// TestWorkerCrashWithFiftyConcurrentCreatesMakesNoDuplicates starts 50 services at once, loses
// the answers of some creates, kills the worker mid-way, restarts it, and counts 50 servers.
func TestWorkerCrashWithFiftyConcurrentCreatesMakesNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("50 services: skipped with -short")
	}
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	bin := buildBinary(t)
	ctx := context.Background()
	// A small game server, so 50 fit on the simulator's two nodes.
	small, err := st.Store.UpsertCatalogEntry(ctx, store.CatalogEntry{
		Group:   store.ProductGroup{Slug: "game-servers", Name: "Game Servers"},
		Product: store.Product{Slug: "minecraft-1gb", Name: "Minecraft 1 GB", Type: "game_server"},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Store.SetProductPanel(ctx, small.ID, "pterodactyl", "1", map[string]string{
		"nest": "1", "memory": "1024", "disk": "2048", "cpu": "100", "io": "500", "databases": "0", "backups": "0", "allocations": "1", "location": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	sim := st.Panels.Get(panels.Pterodactyl).Sim
	sim.Faults().LoseNextCreates(15)
	sim.Faults().SetLostResponseDelay(30 * time.Second)

	w := newWorkerProcess(t, bin, st)
	w.start()
	cust := customer(t, st)
	ids := make([]int64, 50)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = startProvisioning(t, st, cust.ID, small.ID, "pterodactyl")
		}()
	}
	wg.Wait()

	waitFor(t, "20 creates on the panel", 120*time.Second, func() bool { return sim.ServiceCount() >= 20 })
	w.kill()
	w.start()

	for _, id := range ids {
		waitFor(t, "service "+strconv.FormatInt(id, 10)+" active", 180*time.Second, func() bool { return serviceStatus(t, st, id) == "active" })
	}
	if n := sim.ServiceCount(); n != 50 {
		t.Fatalf("servers on the panel: %d, want 50", n)
	}
	for _, id := range ids {
		if n := sim.ServicesFor("svc-" + strconv.FormatInt(id, 10)); n != 1 {
			t.Errorf("service %d has %d servers, want 1", id, n)
		}
	}
	if lost := sim.Faults().Injected(simkit.FaultLoseCreate); lost != 15 {
		t.Fatalf("lost create answers: %d, want 15", lost)
	}
}
