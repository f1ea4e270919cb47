package httpapi_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// BenchmarkProvisionCreateToActive measures how long a service takes from the request to create
// it (its provisioning workflow being started) to being active in the database, one service at
// a time, rotating through the four panel types. The simulators build in 1 ms, so the figures
// are the platform's own overhead: twelve Temporal task hand-offs from start to active, the
// activities' panel calls and database writes, and up to one benchPoll.
func BenchmarkProvisionCreateToActive(b *testing.B) {
	benchmarkCreateToActive(b, func(round int) []string { return []string{benchProducts[round%len(benchProducts)]} })
}

// BenchmarkProvisionCreateToActive50Parallel is BenchmarkProvisionCreateToActive with 50
// services of the four types requested at once per iteration; the figures are per service.
func BenchmarkProvisionCreateToActive50Parallel(b *testing.B) {
	var batch []string
	for slug, n := range parallelMix {
		for range n {
			batch = append(batch, slug)
		}
	}
	if len(batch) != 50 {
		b.Fatalf("parallelMix adds up to %d services, want 50", len(batch))
	}
	benchmarkCreateToActive(b, func(int) []string { return batch })
}

// benchProducts are the demo products provisioned in turn, one per panel type.
var benchProducts = []string{"vps-2gb", "e3-1240", "web-starter", "minecraft-4gb"}

// parallelMix is one batch of 50 that the simulators can hold at once: their seeds have three
// E3-1240 servers in inventory, 12 GB of VirtFusion hypervisor memory (six 2 GB VPS) and 2×32 GB
// of Pterodactyl node memory (sixteen 4 GB game servers); Enhance sells 50 per plan.
var parallelMix = map[string]int{"e3-1240": 3, "vps-2gb": 5, "minecraft-4gb": 14, "web-starter": 28}

// benchPoll is how often the database is asked which services are active.
const benchPoll = 10 * time.Millisecond

// benchRoundLimit bounds one round's provisioning, and its termination: generous, because 50
// workflows at once keep a dev server on a small machine busy for seconds.
const benchRoundLimit = 5 * time.Minute

// benchmarkCreateToActive runs b.N rounds, each starting the services of products(round)
// together, and reports the per-service create-to-active latency. Each round's services are
// terminated afterwards, outside the timer, so the simulators never run out of room however
// large b.N is.
func benchmarkCreateToActive(b *testing.B, products func(round int) []string) {
	st := testenv.NewStack(b, testenv.Options{BuildDelay: time.Millisecond})
	pb := &provisionBench{st: st, products: map[string]store.Product{}}
	list, err := st.Store.Products(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range list {
		pb.products[p.Slug] = p
	}
	var latencies []time.Duration
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		svcs := pb.prepare(b, products(round))
		b.StartTimer()
		runs, took := pb.provision(b, svcs)
		b.StopTimer()
		latencies = append(latencies, took...)
		pb.terminate(b, svcs, runs)
		b.StartTimer()
	}
	reportLatencies(b, latencies)
}

// provisionBench does, without HTTP, what creating a service on the admin pages does.
type provisionBench struct {
	st       *testenv.Stack
	products map[string]store.Product
	seq      int
}

const benchActor = "admin:bench"

// prepare creates a pending service of each product, each for a new customer.
func (pb *provisionBench) prepare(b *testing.B, slugs []string) []store.Service {
	b.Helper()
	ctx := context.Background()
	svcs := make([]store.Service, 0, len(slugs))
	for _, slug := range slugs {
		pb.seq++
		prod, ok := pb.products[slug]
		if !ok {
			b.Fatalf("no demo product %q", slug)
		}
		cust, err := pb.st.Store.CreateUser(ctx, store.NewUser{
			Email: fmt.Sprintf("bench%d@example.com", pb.seq), Name: "Bench Customer", PasswordHash: "x", Role: store.RoleCustomer,
		})
		if err != nil {
			b.Fatalf("create customer: %v", err)
		}
		panel, err := pb.st.Store.PickPanelServer(ctx, prod.PanelType.String)
		if err != nil {
			b.Fatalf("pick a %s panel for %s: %v", prod.PanelType.String, slug, err)
		}
		svc, err := pb.st.Store.CreateService(ctx, store.NewService{
			CustomerID: cust.ID, ProductID: prod.ID, PanelServerID: panel.ID, Hostname: fmt.Sprintf("bench%d.example.com", pb.seq), CreatedBy: benchActor,
		})
		if err != nil {
			b.Fatalf("create service: %v", err)
		}
		svcs = append(svcs, svc)
	}
	return svcs
}

// provision starts the provisioning of every service at once and returns, per service, the time
// from just before its start request to the first poll that saw it active.
func (pb *provisionBench) provision(b *testing.B, svcs []store.Service) ([]client.WorkflowRun, []time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchRoundLimit)
	defer cancel()
	requested := make([]time.Time, len(svcs))
	runs := make([]client.WorkflowRun, len(svcs))
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	for i, svc := range svcs {
		wg.Go(func() {
			requested[i] = time.Now()
			runs[i], errs[i] = pb.st.Temporal.ExecuteWorkflow(ctx, workflows.ProvisionStartOptions(svc.ID, svc.CustomerID, svc.PanelType, pb.st.Settings.TaskQueue), workflows.Provision, workflows.ProvisionInput{
				ServiceID:   svc.ID,
				Queue:       []workflows.ProvisionOp{{Kind: workflows.OpCreate, Actor: benchActor}},
				StepTimeout: pb.st.Settings.ProvisionStepTimeout,
			})
		})
	}
	active := pb.awaitActive(ctx, b, svcs)
	wg.Wait()
	took := make([]time.Duration, len(svcs))
	for i, svc := range svcs {
		if errs[i] != nil {
			b.Fatalf("start %s: %v", workflows.ProvisionID(svc.ID), errs[i])
		}
		took[i] = active[svc.ID].Sub(requested[i])
	}
	return runs, took
}

// awaitActive polls the database every benchPoll with one query until every service is active,
// and returns when each was first seen so.
func (pb *provisionBench) awaitActive(ctx context.Context, b *testing.B, svcs []store.Service) map[int64]time.Time {
	b.Helper()
	seen := make(map[int64]time.Time, len(svcs))
	want := make(map[int64]bool, len(svcs))
	for _, s := range svcs {
		want[s.ID] = true
	}
	tick := time.NewTicker(benchPoll)
	defer tick.Stop()
	for polls := 1; len(seen) < len(svcs); polls++ {
		list, err := pb.st.Store.Services(ctx, store.ServiceFilter{Status: billing.ServiceActive, Limit: 500})
		now := time.Now()
		if err != nil && ctx.Err() == nil {
			b.Fatalf("list active services: %v", err)
		}
		for _, s := range list {
			if _, done := seen[s.ID]; want[s.ID] && !done {
				seen[s.ID] = now
			}
		}
		if len(seen) == len(svcs) {
			break
		}
		if polls%50 == 0 { // twice a second, give up on services that wait for ops
			stuck, _ := pb.st.Store.Services(ctx, store.ServiceFilter{Status: billing.ServiceNeedsAttention, Limit: 500})
			for _, s := range stuck {
				if want[s.ID] {
					pb.explain(b, svcs, seen)
					b.Fatalf("service %d (%s) needs attention instead of becoming active", s.ID, s.ProductName)
				}
			}
		}
		select {
		case <-ctx.Done():
			pb.explain(b, svcs, seen)
			b.Fatalf("%d of %d services did not become active within %v", len(svcs)-len(seen), len(svcs), benchRoundLimit)
		case <-tick.C:
		}
	}
	return seen
}

// explain logs why services that are not active are not: their status, timeline and the
// workflow's pending activities.
func (pb *provisionBench) explain(b *testing.B, svcs []store.Service, active map[int64]time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range svcs {
		if _, ok := active[s.ID]; ok {
			continue
		}
		cur, _ := pb.st.Store.ServiceByID(ctx, s.ID)
		events, _ := pb.st.Store.ServiceEvents(ctx, s.ID)
		var timeline []string
		for _, e := range events {
			timeline = append(timeline, e.Message)
		}
		var pending []string
		if desc, err := pb.st.Temporal.DescribeWorkflow(ctx, workflows.ProvisionID(s.ID), ""); err == nil {
			for _, a := range desc.RawResponse.GetPendingActivities() {
				pending = append(pending, fmt.Sprintf("%s attempt %d (%s)", a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage()))
			}
		}
		b.Errorf("service %d (%s) is %q %s; timeline %q; pending activities %q", s.ID, s.ProductName, cur.Status, cur.Attention, timeline, pending)
	}
}

// terminate ends the services and waits for their workflows to complete.
func (pb *provisionBench) terminate(b *testing.B, svcs []store.Service, runs []client.WorkflowRun) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchRoundLimit)
	defer cancel()
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	for i, svc := range svcs {
		wg.Go(func() {
			h, err := pb.st.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: workflows.ProvisionID(svc.ID), UpdateName: workflows.UpdateProvisionRequest,
				Args:         []any{workflows.ProvisionOp{Kind: workflows.OpTerminate, Reason: "benchmark over", Actor: benchActor}},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			if err == nil {
				err = runs[i].Get(ctx, nil)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			pb.explain(b, svcs[i:i+1], nil)
			b.Fatalf("terminate service %d: %v", svcs[i].ID, err)
		}
	}
}

// reportLatencies reports the median, 95th percentile (nearest rank) and maximum in milliseconds.
func reportLatencies(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		b.Fatal("no services were measured")
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration { return d[max(0, int(math.Ceil(p*float64(len(d))))-1)] }
	ms := func(v time.Duration) float64 { return float64(v) / float64(time.Millisecond) }
	b.ReportMetric(ms(rank(0.50)), "p50-ms")
	b.ReportMetric(ms(rank(0.95)), "p95-ms")
	b.ReportMetric(ms(d[len(d)-1]), "max-ms")
}
