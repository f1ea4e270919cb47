package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/connect"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/testenv/repo"
	"github.com/ezscale/billing/workflows"
)

// TestDevRestartBetweenRenewalInvoiceAndChargeKeepsTheFakeWorld runs the real `ezscale dev`
// (its own Temporal dev server, panel simulators and sandbox gateway, their state in the
// database's simulator schema) with billing days of a second. A customer orders a VPS and pays
// its first invoice with the 4242 card on the sandbox's hosted page, so the card is saved and
// the service is built on the VirtFusion simulator. Once the renewal invoice is issued, and
// before its charge is due, dev mode is stopped with Ctrl-C and started again on the same
// database: a new process, whose simulators listen on new ports (the panel registry follows them)
// and whose sandbox is a new object on the same site, all loaded from what the first run saved. The renewal must then be charged on the saved card exactly once, the service must still
// exist on the simulator and answer power calls, and the subscription must stay active.
// Without the saved state the second run's sandbox knows neither the customer nor the card (the
// renewal is declined) and the simulator no longer has the server.
func TestDevRestartBetweenRenewalInvoiceAndChargeKeepsTheFakeWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ezscale dev twice through a renewal: skipped with -short")
	}
	cli := repo.TemporalCLI(t)
	st, dsn := storetest.NewWithURL(t)
	bin := buildBinary(t)
	ctx := context.Background()
	work := t.TempDir()
	httpPort := freePort(t)
	site := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	temporalAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	const apiKey = "test-sandbox-api-key-restart"
	// A billing day lasts a second; the renewal invoice is issued 30 days (30 s) before the
	// cycle's end, which leaves time to restart dev mode before the charge is due.
	tm := workflows.Timings{Day: time.Second, Period: 60 * time.Second, RenewalLeadDays: 30, FirstPaymentDays: 300,
		Dunning: workflows.DunningSchedule{RetryDays: []int{1, 3}, ReminderDays: 2, SuspendDays: 50, TerminateDays: 300}}
	env := append(withoutVar(os.Environ(), "TEMPORAL_ADDRESS", "SMTP_URL", "APP_ENV", "DATABASE_URL", "APP_KEY"),
		"DATABASE_URL="+dsn,
		"DATA_DIR="+filepath.Join(work, "var"),
		"BIN_DIR="+filepath.Dir(cli),
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"BASE_URL="+site,
		"TEMPORAL_DEV_PORT="+temporalAddr[len("127.0.0.1:"):],
		"TEMPORAL_UI_PORT="+strconv.Itoa(freePort(t)),
		"APP_KEY="+testenv.AppKey,
		"SANDBOX_API_KEY="+apiKey,
		"SANDBOX_WEBHOOK_SECRET="+testenv.SandboxSecret,
		"BILLING_DAY=1s", "BILLING_PERIOD=60s", "RENEWAL_LEAD_DAYS=30", "FIRST_PAYMENT_DAYS=300",
		"DUNNING_RETRY_DAYS=1,3", "DUNNING_REMINDER_DAYS=2", "DUNNING_SUSPEND_DAYS=50", "DUNNING_TERMINATE_DAYS=300",
		"LOG_LEVEL=warn",
	)

	first := startDev(t, bin, env)
	took := first.waitReady(t, site, 3*time.Minute)
	t.Logf("first start ready in %s", took)

	box, err := secrets.NewBox([]byte(testenv.AppKey))
	if err != nil {
		t.Fatal(err)
	}
	gw := sandbox.NewClient(sandbox.ClientOptions{BaseURL: site, APIKey: apiKey, Secret: []byte(testenv.SandboxSecret)})
	tc, err := client.NewLazyClient(client.Options{HostPort: temporalAddr, Namespace: testenv.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	// The order, as the checkout places it, and its subscription workflow.
	cust, err := st.CreateUser(ctx, store.NewUser{Email: "restart@example.com", Name: "Restart Customer", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	productID := productBySlug(t, st, "vps-2gb")
	q, _, err := (&pricing.Pricer{Store: st, SellerCountry: "US"}).Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: productID,
		Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	vf, err := st.PanelServerByName(ctx, "dev-"+string(panels.VirtFusion))
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: "restart-order", ProductID: productID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: sandbox.Name, PanelServerID: vf.ID, Hostname: "restart.example.com", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tc.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(o.SubscriptionID, cust.ID, "ezscale"), workflows.Subscription,
		workflows.SubscriptionInput{SubscriptionID: o.SubscriptionID, CustomerID: cust.ID, FirstInvoiceID: o.InvoiceID, Timings: tm})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) { // the reconciler may have started it first
		t.Fatal(err)
	}

	// The first invoice paid on the sandbox's hosted page with 4242, which saves the card.
	ref, err := gw.EnsureCustomer(ctx, gateways.Customer{ID: cust.ID, Email: cust.Email, Name: cust.Name})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.Invoice(ctx, o.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	co, err := gw.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: inv.ID, CustomerRef: ref, Amount: inv.Totals.Due,
		SuccessURL: site + "/account", IdempotencyKey: fmt.Sprintf("checkout:invoice:%d", inv.ID)})
	if err != nil {
		t.Fatal(err)
	}
	testenv.PayWith4242(t, co.URL)

	var second *devRun
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		svcs, _ := st.CustomerServices(ctx, cust.ID)
		sub, _ := st.SubscriptionByID(ctx, o.SubscriptionID)
		invs, _ := st.SubscriptionInvoices(ctx, o.SubscriptionID)
		t.Logf("services %+v\nsubscription %+v", svcs, sub)
		for _, inv := range invs {
			t.Logf("invoice %s %s paid %s of %s", inv.Number, inv.Status, inv.Totals.Paid, inv.Totals.Total)
		}
		t.Logf("first run's stderr:\n%s", tail(first.stderr.String(), 6000))
		if second != nil {
			t.Logf("second run's stderr:\n%s", tail(second.stderr.String(), 6000))
		}
	})
	service := func() (store.Service, bool) {
		svcs, err := st.CustomerServices(ctx, cust.ID)
		if err != nil || len(svcs) != 1 {
			return store.Service{}, false
		}
		return svcs[0], true
	}
	waitFor(t, "the service built on the simulator and the subscription active", 2*time.Minute, func() bool {
		svc, ok := service()
		sub, err := st.SubscriptionByID(ctx, o.SubscriptionID)
		return ok && svc.Status == billing.ServiceActive && svc.PanelServiceID != "" && err == nil && sub.Status == billing.SubscriptionActive &&
			sub.PaymentMethodRef != ""
	})
	svc, _ := service()
	invoices := func() []store.Invoice {
		invs, err := st.SubscriptionInvoices(ctx, o.SubscriptionID)
		if err != nil {
			t.Fatal(err)
		}
		return invs
	}
	waitFor(t, "the renewal invoice", 90*time.Second, func() bool { return len(invoices()) == 2 })
	renewal := invoices()[0]
	if renewal.ID == o.InvoiceID {
		renewal = invoices()[1]
	}
	before, err := gw.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first.interrupt(t)
	stoppedAt := time.Now()
	if renewal, err = st.Invoice(ctx, renewal.ID); err != nil {
		t.Fatal(err)
	}
	if renewal.Paid() {
		t.Fatalf("renewal invoice %s was already paid before the restart: the timings leave no window", renewal.Number)
	}

	second = startDev(t, bin, env)
	took = second.waitReady(t, site, 2*time.Minute)
	t.Logf("stopped between the renewal invoice and its charge; second start ready in %s (%s after the stop)", took, time.Since(stoppedAt).Round(time.Millisecond))

	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if inv, err := st.Invoice(ctx, renewal.ID); err == nil && inv.Paid() {
			break
		}
	}
	if renewal, err = st.Invoice(ctx, renewal.ID); err != nil {
		t.Fatal(err)
	}
	if !renewal.Paid() {
		t.Fatalf("renewal invoice %s not paid 90 s after the restart (status %s, paid %s of %s): did the restarted sandbox lose the saved card?",
			renewal.Number, renewal.Status, renewal.Totals.Paid, renewal.Totals.Total)
	}
	pays, err := st.InvoicePayments(ctx, renewal.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) != 1 || renewal.Totals.Paid != renewal.Totals.Total {
		t.Errorf("renewal invoice %s: %d payments, paid %s of %s; want one payment of the total", renewal.Number, len(pays), renewal.Totals.Paid, renewal.Totals.Total)
	}
	after, err := gw.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Charges != before.Charges+1 || after.DoubleChargedKeys != 0 {
		t.Errorf("sandbox charges: %d before the restart, %d after (double-charged keys %v); want exactly one more", before.Charges, after.Charges, after.ChargesPerDoubleChargedKey)
	}

	// The service is still on the simulator the second run serves (the registry now points at
	// its new port) and answers.
	prov := &activities.Provisioning{Store: st, Panels: connect.NewRegistry(st, box), Secrets: box}
	c, err := prov.Panels.Open(ctx, svc.PanelServerID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Details(ctx, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra})
	if err != nil {
		t.Fatalf("the service's server %s on the restarted simulator: %v", svc.PanelServiceID, err)
	}
	if err := prov.Power(ctx, svc.ID, panels.PowerRestart); err != nil {
		t.Errorf("power restart of service %d after the restart: %v", svc.ID, err)
	}
	if svc2, ok := service(); !ok || svc2.Status != billing.ServiceActive {
		t.Errorf("service after the restart: %+v; want it active", svc2)
	}
	sub, err := st.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil || sub.Status != billing.SubscriptionActive {
		t.Errorf("subscription after the renewal: %s, %v; want active", sub.Status, err)
	}
	t.Logf("renewal %s charged once after the restart; server %s (%s) still on the simulator", renewal.Number, svc.PanelServiceID, d.State)
	second.interrupt(t)
}

func productBySlug(t *testing.T, st *store.Store, slug string) int64 {
	t.Helper()
	list, err := st.Products(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Slug == slug {
			return p.ID
		}
	}
	t.Fatalf("no product %s in the catalog", slug)
	return 0
}
