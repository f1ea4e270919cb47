package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/pricing"
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

// renewingSubscription makes a customer with a card saved on the sandbox (paid on its hosted
// page) and an active subscription whose period ends at due, billed off-session on renewal.
func renewingSubscription(ctx context.Context, t *testing.T, st *testenv.Stack, n int, productID int64, due time.Time) store.Subscription {
	t.Helper()
	cust, err := st.Store.CreateUser(ctx, store.NewUser{Email: fmt.Sprintf("renew-%d@example.com", n), Name: "Renewing Customer", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: productID, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: fmt.Sprintf("renew-%d", n), ProductID: productID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	// The first payment on the hosted page saves the card; its webhook records the payment.
	ref, err := st.Sandbox.EnsureCustomer(ctx, gateways.Customer{ID: cust.ID, Email: cust.Email, Name: cust.Name})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.Store.Invoice(ctx, o.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	co, err := st.Sandbox.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: inv.ID, CustomerRef: ref, Amount: inv.Totals.Due,
		SuccessURL: st.URL("/account"), IdempotencyKey: fmt.Sprintf("checkout:invoice:%d", inv.ID)})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(co.URL, url.Values{"number": {"4242424242424242"}, "expiry": {"12 / 35"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	methods, err := st.Sandbox.PaymentMethods(ctx, ref)
	if err != nil || len(methods) != 1 {
		t.Fatalf("saved cards of customer %d: %v, %v", cust.ID, methods, err)
	}
	if err := st.Store.SetSubscriptionPaymentMethod(ctx, o.SubscriptionID, "sandbox", ref, methods[0].Ref); err != nil {
		t.Fatal(err)
	}
	start := due.AddDate(0, -1, 0)
	if err := st.Store.UpdateSubscription(ctx, store.SubscriptionChange{ID: o.SubscriptionID, Status: store.SubscriptionActive,
		PeriodStart: start, PeriodEnd: due, AnchorDay: start.Day()}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return sub
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
	product := demoProductWithoutPanel(t, st)

	const n = 100
	due := time.Now().Add(20 * time.Second)
	subs := make([]store.Subscription, n)
	for i := range subs {
		subs[i] = renewingSubscription(ctx, t, st, i, product, due)
	}
	firstCharges := st.Sandbox.Stats().Charges
	if firstCharges != n {
		t.Fatalf("%d first payments on the sandbox, want %d", firstCharges, n)
	}
	st.Sandbox.DelayChargeAnswers(time.Second)
	st.Sandbox.DropWebhooks(true) // only the workflows' own charges can record the renewals

	w := newWorkerProcess(t, bin, st)
	w.env = append(w.env, "SANDBOX_GATEWAY=true", "SANDBOX_API_KEY="+testenv.SandboxAPIKey, "SANDBOX_WEBHOOK_SECRET="+testenv.SandboxSecret)
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

// demoProductWithoutPanel is a monthly USD product that provisions nothing, so the test is about billing only.
func demoProductWithoutPanel(t *testing.T, st *testenv.Stack) int64 {
	t.Helper()
	ctx := context.Background()
	g, err := st.Store.CreateProductGroup(ctx, store.ProductGroup{Slug: "licences", Name: "Licences"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Store.CreateProduct(ctx, store.CatalogProduct{
		Product: store.Product{GroupID: g.ID, Slug: "panel-licence", Name: "Panel licence", Type: "web_hosting"},
		Prices:  []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}
