package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// switchable serves whichever handler was stored last, so a test can take Temporal away from
// the web layer and give it back while the same address keeps serving.
type switchable struct{ h atomic.Pointer[http.Handler] }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }
func (s *switchable) use(h http.Handler)                               { s.h.Store(&h) }

// withoutTemporal is the stack's web handler with a Temporal client that cannot reach any server.
func withoutTemporal(t *testing.T, st *testenv.Stack) http.Handler {
	t.Helper()
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Namespace: testenv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	pages, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.NewBox([]byte(testenv.AppKey))
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.New(httpapi.Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st.Store, Workflows: dead, Mail: st.Mail, Pages: pages,
		Sink: st.Sink, Settings: st.Settings, Control: st.Provisioning, Secrets: box, Gateways: st.Gateways, Pricer: st.Pricer,
		Sandbox: st.Sandbox.Handler(),
	})
}

// reconcile runs the subscriptions reconciler workflow once on a worker of its own, as the
// worker's schedule does.
func reconcile(ctx context.Context, t *testing.T, st *testenv.Stack) workflows.ReconcileResult {
	t.Helper()
	const queue = "reconcile-test"
	w := worker.New(st.Temporal, queue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	activities.Register(w, activities.Set{Reconciler: &activities.Reconciler{Store: st.Store, Temporal: st.Temporal,
		TaskQueue: testenv.TaskQueue, Timings: st.Settings.Billing}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := st.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ReconcileWorkflowID + "-test", TaskQueue: queue},
		workflows.WorkflowReconcileSubscriptions)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ReconcileResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return res
}

func TestOrderPlacedWhileTemporalIsUnreachableIsPaidAndActivatedByTheReconciler(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up := st.Server.Config.Handler
	sw := &switchable{}
	sw.use(up)
	st.Server.Config.Handler = sw // before any request

	cust := createUser(t, st, "outage@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("outage@example.com", "password 12345")
	id := productID(t, st, "vps-2gb")
	rev := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})

	sw.use(withoutTemporal(t, st)) // Temporal goes away while the order is placed
	placed := c.post("/order/"+itoa(id)+"/place", "", hiddenFields(rev.Body))
	sw.use(up) // and comes back
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("placing the order while Temporal is unreachable: status %d to %q, want the payment page\n%s", placed.Status, placed.Location, placed.Body)
	}
	subs, err := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: cust.ID})
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions of the customer: %d, %v; want the order saved", len(subs), err)
	}
	sub := subs[0]
	var notFound *serviceerror.NotFound
	if _, err := st.Temporal.DescribeWorkflow(ctx, workflows.SubscriptionID(sub.ID), ""); !errors.As(err, &notFound) {
		t.Fatalf("describe %s: %v; want no workflow (its start failed)", workflows.SubscriptionID(sub.ID), err)
	}

	// The customer pays; nothing would deliver the service without the reconciler.
	if r := c.post(strings.TrimPrefix(placed.Location, st.URL("")), "", url.Values{"number": {"4242424242424242"}, "expiry": {"12/40"}, "cvc": {"123"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pay on the hosted page: status %d", r.Status)
	}
	waitInvoicePaid(ctx, t, st, sub.ID)
	if s, _ := st.Store.SubscriptionByID(ctx, sub.ID); s.Status != billing.SubscriptionPending {
		t.Fatalf("subscription %s before reconciling, want pending", s.Status)
	}

	res := reconcile(ctx, t, st)
	if !slices.Contains(res.Started, sub.ID) || len(res.Failed) != 0 {
		t.Fatalf("reconcile result %+v, want subscription %d started", res, sub.ID)
	}
	active := waitSubscription(t, st, sub.ID, "active", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
	if active.PaymentMethodRef == "" {
		t.Errorf("the card paid on the hosted page was not saved for renewals: %+v", active)
	}
	if again := reconcile(ctx, t, st); len(again.Started) != 0 || again.Running < 1 {
		t.Fatalf("second reconcile %+v, want nothing started and the subscription running", again)
	}
}

// waitInvoicePaid waits until the webhook has recorded the payment of the order's invoice.
func waitInvoicePaid(ctx context.Context, t *testing.T, st *testenv.Stack, subID int64) {
	t.Helper()
	for {
		invs, err := st.Store.SubscriptionInvoices(ctx, subID)
		if err == nil && len(invs) == 1 && invs[0].Paid() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the order's invoice was never paid: %+v %v", invs, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The same outage with the Temporal server itself stopped while the order is placed and paid:
// the order is kept, the payment recorded (its webhook is delivered again once the workflows
// can be told), and when the server is back the reconciler starts the workflow, which finds the
// invoice paid and activates the subscription.
func TestOrderPlacedWhileTheTemporalServerIsStoppedIsActivatedByTheReconciler(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 20 * time.Millisecond, RestartableTemporal: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cust := createUser(t, st, "stopped@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("stopped@example.com", "password 12345")
	id := productID(t, st, "vps-2gb")
	rev := c.review(id, url.Values{"price": {"monthly/USD"}, "gateway": {"sandbox"}})

	st.StopTemporal(t)
	placed := c.post("/order/"+itoa(id)+"/place", "", hiddenFields(rev.Body))
	if placed.Status != http.StatusSeeOther || !strings.HasPrefix(placed.Location, st.URL("/sandbox/checkout/")) {
		t.Fatalf("placing the order with Temporal stopped: status %d to %q, want the payment page\n%s", placed.Status, placed.Location, placed.Body)
	}
	subs, err := st.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: cust.ID})
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions of the customer: %d, %v; want the order saved", len(subs), err)
	}
	sub := subs[0]
	if r := c.post(strings.TrimPrefix(placed.Location, st.URL("")), "", url.Values{"number": {"4242424242424242"}, "expiry": {"12/40"}, "cvc": {"123"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pay on the hosted page: status %d", r.Status)
	}
	waitInvoicePaid(ctx, t, st, sub.ID)

	st.StartTemporal(t)
	var notFound *serviceerror.NotFound
	if _, err := st.Temporal.DescribeWorkflow(ctx, workflows.SubscriptionID(sub.ID), ""); !errors.As(err, &notFound) {
		t.Fatalf("describe %s after the restart: %v; want no workflow (its start failed)", workflows.SubscriptionID(sub.ID), err)
	}
	res := reconcile(ctx, t, st)
	if !slices.Contains(res.Started, sub.ID) {
		t.Fatalf("reconcile result %+v, want subscription %d started", res, sub.ID)
	}
	waitSubscription(t, st, sub.ID, "active", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
}
