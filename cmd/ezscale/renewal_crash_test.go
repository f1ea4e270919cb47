package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// renewalTimings make every renewal in the test due a few seconds after the workflows start and
// put the next one an hour away, so each subscription renews exactly once.
func renewalTimings() workflows.Timings {
	return workflows.Timings{Day: 100 * time.Millisecond, Period: time.Hour, RenewalLeadDays: 10, FirstPaymentDays: 300,
		Dunning: workflows.DunningSchedule{RetryDays: []int{1, 3}, ReminderDays: 2, SuspendDays: 50, TerminateDays: 300}}
}

// TestWorkerCrashDuringOneHundredRenewalsChargesEachOnce kills `ezscale worker` with SIGKILL
// while 100 renewals are being charged (the sandbox holds each charge's answer for a second
// after taking the money, so some activities die between the charge and its answer, and its
// webhooks are dropped, so nothing else records them), restarts it, and shows exactly 100
// renewal charges on the sandbox and no invoice paid twice: the retried activities repeat
// their charges with the same idempotency keys.
func TestWorkerCrashDuringOneHundredRenewalsChargesEachOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("100 renewals: skipped with -short")
	}
	st := testenv.NewStack(t, testenv.Options{NoWorker: true, Billing: renewalTimings()})
	bin := buildBinary(t)
	ctx := context.Background()
	product := st.ProductWithoutPanel(t)

	const n = 100
	due := time.Now().Add(20 * time.Second)
	subs := make([]store.Subscription, n)
	for i := range subs {
		subs[i] = st.RenewingSubscription(t, i, product, due)
	}
	firstCharges := st.Sandbox.Stats().Charges
	if firstCharges != n {
		t.Fatalf("%d first payments on the sandbox, want %d", firstCharges, n)
	}
	st.Sandbox.DelayChargeAnswers(time.Second)
	st.Sandbox.DropWebhooks(true) // only the workflows' own charges can record the renewals

	w := newWorkerProcess(t, bin, st)
	// The sandbox gateway is refused in production, so this worker runs in development mode
	// (with the stack's database, Temporal and mail all given, nothing else changes).
	w.env = append(w.env, "APP_ENV=development", "SANDBOX_GATEWAY=true", "SANDBOX_API_KEY="+testenv.SandboxAPIKey, "SANDBOX_WEBHOOK_SECRET="+testenv.SandboxSecret)
	w.start()
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() {
			_, err := st.Temporal.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(sub.ID, sub.CustomerID, testenv.TaskQueue),
				workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, Timings: renewalTimings()})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	renewed := func() int {
		count := 0
		for _, sub := range subs {
			invs, err := st.Store.SubscriptionInvoices(ctx, sub.ID)
			if err == nil && len(invs) == 2 && invs[0].Paid() {
				count++
			}
		}
		return count
	}
	waitFor(t, "the first renewal charges", 120*time.Second, func() bool { return st.Sandbox.Stats().Charges >= firstCharges+20 })
	w.kill()
	killedAt := renewed()
	w.start()
	waitFor(t, "all 100 renewals paid", 240*time.Second, func() bool { return renewed() == n })

	stats := st.Sandbox.Stats()
	if got := stats.Charges - firstCharges; got != n {
		t.Fatalf("renewal charges on the sandbox: %d, want exactly %d", got, n)
	}
	if stats.DoubleChargedKeys != 0 {
		t.Fatalf("idempotency keys charged more than once: %v", stats.ChargesPerDoubleChargedKey)
	}
	for _, sub := range subs {
		invs, _ := st.Store.SubscriptionInvoices(ctx, sub.ID)
		for _, inv := range invs {
			pays, err := st.Store.InvoicePayments(ctx, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(pays) != 1 || inv.Totals.Paid != inv.Totals.Total {
				t.Errorf("invoice %s: %d payments, paid %s of %s", inv.Number, len(pays), inv.Totals.Paid, inv.Totals.Total)
			}
		}
	}
	t.Logf("worker killed with %d of %d renewals recorded; after the restart all %d were charged once", killedAt, n, n)
}
