package workflows_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// renewalActivities is how many activities one renewal executes from its due date on: create the
// invoice, record it on the timeline, mail it, charge the saved card, record the renewal, mail the
// receipt, and preview the next invoice in the next run (the three short database steps are local
// activities). The baseline runs as many, so both do the same amount of Temporal work.
const renewalActivities = 7

// noopRenewal is the baseline: a workflow that waits until the due date and runs as many
// activities, one after another, as a renewal does, each doing nothing.
func noopRenewal(ctx workflow.Context, due time.Time) error {
	if d := due.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range renewalActivities {
		if err := workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

// BenchmarkRenewalRun measures N subscriptions falling due at once through the real dev server,
// worker, database and sandbox gateway (renewal invoice, off-session charge, receipt mail), and
// beside it N no-op workflows with the same number of activities on the same server. It reports
// both durations and their ratio (baseline / renewals; the goal is >= 0.8). N comes from
// EZSCALE_BENCH_RENEWALS (default 1,000). Run it with:
//
//	go test ./workflows -run '^$' -bench RenewalRun -benchtime 1x
func BenchmarkRenewalRun(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("EZSCALE_BENCH_RENEWALS")); err == nil && v > 0 {
		n = v
	}
	// A billing day of 1 ms puts the renewal invoice, the reminder and the charge all at the due
	// date, so the measured window holds the whole renewal.
	timings := workflows.Timings{Day: time.Millisecond, Period: 24 * time.Hour, RenewalLeadDays: 1, FirstPaymentDays: 300_000,
		Dunning: workflows.DunningSchedule{RetryDays: []int{60_000}, ReminderDays: 1, SuspendDays: 500_000, TerminateDays: 900_000}}
	st := testenv.NewStack(b, testenv.Options{Billing: timings})
	ctx := context.Background()
	product := st.ProductWithoutPanel(b)

	const queue = "renewal-baseline"
	bw := worker.New(st.Temporal, queue, worker.Options{})
	bw.RegisterWorkflow(noopRenewal)
	bw.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "Noop"})
	if err := bw.Start(); err != nil {
		b.Fatal(err)
	}
	defer bw.Stop()

	for b.Loop() {
		// The setup (customers with saved cards) is outside the measured window: each run measures
		// from the moment everything is due to the moment the last renewal is recorded.
		lead := time.Duration(n/20+15) * time.Second // time to create the subscriptions and start the workflows
		due := time.Now().Add(lead)
		subs := make([]store.Subscription, n)
		for i := range subs {
			subs[i] = st.RenewingSubscription(b, i, product, due)
		}
		startAll(b, n, func(i int) error {
			sub := subs[i]
			_, err := st.Temporal.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(sub.ID, sub.CustomerID, testenv.TaskQueue),
				workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, Timings: timings})
			return err
		})
		if wait := time.Until(due); wait < 0 {
			b.Fatalf("setup took %s longer than the lead time: raise it", -wait)
		}
		renewalTime := waitAllRenewed(ctx, b, st, subs, due)

		baseDue := time.Now().Add(time.Duration(n/50+5) * time.Second)
		runs := make([]client.WorkflowRun, n)
		startAll(b, n, func(i int) error {
			var err error
			runs[i], err = st.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "noop-renewal-" + strconv.Itoa(i) + "-" + strconv.FormatInt(baseDue.UnixNano(), 10),
				TaskQueue: queue}, noopRenewal, baseDue)
			return err
		})
		for _, r := range runs {
			if err := r.Get(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
		baseline := time.Since(baseDue)

		b.ReportMetric(renewalTime.Seconds(), "renewals-s")
		b.ReportMetric(baseline.Seconds(), "baseline-s")
		b.ReportMetric(baseline.Seconds()/renewalTime.Seconds(), "ratio")
		b.ReportMetric(float64(n)/renewalTime.Seconds(), "renewals/s")
		b.Logf("%d renewals due at once: %s; %d no-op workflows of %d activities: %s; ratio %.2f",
			n, renewalTime.Round(time.Millisecond), n, renewalActivities, baseline.Round(time.Millisecond), baseline.Seconds()/renewalTime.Seconds())
	}
}

// startAll runs start(i) for i in [0, n) with 32 goroutines.
func startAll(b *testing.B, n int, start func(int) error) {
	b.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if err := start(i); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// waitAllRenewed polls until every subscription's renewal invoice is paid and returns the time
// from due to the last one.
func waitAllRenewed(ctx context.Context, b *testing.B, st *testenv.Stack, subs []store.Subscription, due time.Time) time.Duration {
	b.Helper()
	deadline := time.Now().Add(30 * time.Minute)
	pending := map[int64]bool{}
	for _, s := range subs {
		pending[s.ID] = true
	}
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d renewals not paid after 30 minutes", len(pending))
		}
		for id := range pending {
			sub, err := st.Store.SubscriptionByID(ctx, id)
			if err == nil && sub.PeriodStart.Valid && !sub.PeriodStart.Time.Before(due.Add(-time.Second)) {
				delete(pending, id)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(due)
}
