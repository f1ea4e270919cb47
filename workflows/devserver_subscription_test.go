package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// fastBilling makes a billing day 100 ms and a cycle 3 s: the renewal invoice comes 1 s before
// the due date, dunning retries 100 and 300 ms after it, suspends after 500 ms.
func fastBilling() workflows.Timings {
	return workflows.Timings{Day: 100 * time.Millisecond, Period: 3 * time.Second, RenewalLeadDays: 10, FirstPaymentDays: 600,
		Dunning: workflows.DunningSchedule{RetryDays: []int{1, 3}, ReminderDays: 2, SuspendDays: 5, TerminateDays: 300}}
}

// subscriptionDriver orders, pays and acts on subscriptions as the portal does, without HTTP pages.
type subscriptionDriver struct {
	st *testenv.Stack
}

// order places an order for a demo product with its first invoice and starts subscription:<id>.
func (d subscriptionDriver) order(ctx context.Context, t *testing.T, email, slug string) (store.Order, client.WorkflowRun) {
	t.Helper()
	cust, err := d.st.Store.CreateUser(ctx, store.NewUser{Email: email, Name: "Sam Subscriber", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	prod := provisionDriver(d).product(ctx, t, slug)
	q, _, err := d.st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: prod.ID, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatalf("price %s: %v", slug, err)
	}
	panel, err := d.st.Store.PickPanelServer(ctx, prod.PanelType.String)
	if err != nil {
		t.Fatal(err)
	}
	o, err := d.st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: "form-" + email, ProductID: prod.ID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", PanelServerID: panel.ID, Hostname: "sub.example.com", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := d.st.Temporal.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(o.SubscriptionID, cust.ID, d.st.Settings.TaskQueue),
		workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: o.SubscriptionID, CustomerID: cust.ID,
			FirstInvoiceID: o.InvoiceID, Timings: d.st.Settings.Billing})
	if err != nil {
		t.Fatal(err)
	}
	return o, run
}

// payOnSandbox pays an invoice on the sandbox's hosted page with a test card, as a customer
// would; the sandbox then delivers its payment event to /webhooks/sandbox.
func (d subscriptionDriver) payOnSandbox(ctx context.Context, t *testing.T, invoiceID int64, card string) {
	t.Helper()
	inv, err := d.st.Store.Invoice(ctx, invoiceID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.st.Store.UserByID(ctx, inv.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := d.st.Sandbox.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		t.Fatal(err)
	}
	co, err := d.st.Sandbox.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: inv.ID, CustomerRef: ref, Amount: inv.Totals.Due,
		Description: "Invoice " + inv.Number, SuccessURL: d.st.URL("/account/invoices/" + fmt.Sprint(inv.ID)),
		CancelURL: d.st.URL("/account"), IdempotencyKey: fmt.Sprintf("checkout:invoice:%d", inv.ID)})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(co.URL, url.Values{"number": {card}, "expiry": {"12 / 35"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("sandbox checkout answered %d, want a redirect to the success page", resp.StatusCode)
	}
}

// waitSubscription polls the database until the subscription satisfies done.
func (d subscriptionDriver) waitSubscription(ctx context.Context, t *testing.T, id int64, want string, done func(store.Subscription) bool) store.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		sub, err := d.st.Store.SubscriptionByID(ctx, id)
		if err == nil && done(sub) {
			return sub
		}
		select {
		case <-ctx.Done():
			ev, _ := d.st.Store.SubscriptionEvents(context.Background(), id)
			t.Fatalf("subscription %d is %q, want %s (error %v); timeline: %+v", id, sub.Status, want, err, ev)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d subscriptionDriver) update(ctx context.Context, t *testing.T, subID int64, name string, arg, result any) error {
	t.Helper()
	h, err := d.st.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.SubscriptionID(subID),
		UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	return h.Get(ctx, result)
}

// currentRun is the latest run of a workflow, for recording histories after continue-as-new.
func currentRun(ctx context.Context, t *testing.T, c client.Client, id string) client.WorkflowRun {
	t.Helper()
	desc, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.GetWorkflow(ctx, id, desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId())
}

// waitClosed waits until a workflow run has closed (completed, continued as new, cancelled...),
// so its history is whole.
func waitClosed(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun) {
	t.Helper()
	for {
		desc, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s (run %s) is still running", run.GetID(), run.GetRunID())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestDevServerSubscriptionLifecycle runs a subscription through a real dev server, worker,
// database, sandbox gateway and panel simulator: order, payment on the hosted page, provisioning,
// two renewals charged off-session, a declined renewal with suspension and unsuspension after
// payment, then cancellation at the period end. Its histories are replayed (and recorded with
// EZSCALE_RECORD_HISTORY=1) so a change that breaks determinism fails CI.
func TestDevServerSubscriptionLifecycle(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 20 * time.Millisecond, Billing: fastBilling()})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := subscriptionDriver{st: st}

	o, first := d.order(ctx, t, "sam@example.com", "vps-2gb")
	d.payOnSandbox(ctx, t, o.InvoiceID, "4242424242424242")
	sub := d.waitSubscription(ctx, t, o.SubscriptionID, "active", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
	if sub.PaymentMethodRef == "" || sub.Gateway != "sandbox" {
		t.Fatalf("payment method not saved: %+v", sub)
	}
	provisionDriver{st: st}.waitStatus(ctx, t, o.ServiceID.Int64, billing.ServiceActive)

	// Two renewals charged off-session with the saved card.
	d.waitSubscription(ctx, t, o.SubscriptionID, "two renewals", func(s store.Subscription) bool {
		invs, _ := st.Store.SubscriptionInvoices(ctx, s.ID)
		paid := 0
		for _, inv := range invs {
			if inv.Paid() {
				paid++
			}
		}
		return paid >= 3
	})
	replayAndRecord(ctx, t, st.Temporal, first, "subscription_first.json", workflows.Subscription, workflows.Dunning)

	// The renewal invoice went to the customer with its PDF, and ops find the workflow by service.
	renewalMail := false
	for _, m := range st.Sink.Messages() {
		if slices.Contains(m.To, "sam@example.com") && strings.HasPrefix(m.Subject, "Invoice ") {
			for _, a := range m.Attachments {
				renewalMail = renewalMail || (a.ContentType == "application/pdf" && strings.HasPrefix(string(a.Data), "%PDF-"))
			}
		}
	}
	if !renewalMail {
		t.Error("no renewal invoice mail with its PDF attached reached the customer")
	}
	waitVisible(ctx, t, st.Temporal, fmt.Sprintf("ServiceId = '%d'", o.ServiceID.Int64), workflows.SubscriptionID(o.SubscriptionID))

	// The card is declined from now on: the next renewal goes to dunning and the service is suspended.
	if err := st.Sandbox.SetDefaultPaymentMethod(ctx, sub.GatewayCustomerRef, sub.PaymentMethodRef); err != nil {
		t.Fatal(err)
	}
	st.Sandbox.DeclineOffSession(true)
	d.waitSubscription(ctx, t, o.SubscriptionID, "suspended", func(s store.Subscription) bool { return s.Status == billing.SubscriptionSuspended })
	provisionDriver{st: st}.waitStatus(ctx, t, o.ServiceID.Int64, billing.ServiceSuspended)
	var open workflows.SubscriptionState
	if v, err := st.Temporal.QueryWorkflow(ctx, workflows.SubscriptionID(o.SubscriptionID), "", workflows.QuerySubscriptionState); err != nil {
		t.Fatal(err)
	} else if err := v.Get(&open); err != nil || open.OpenInvoiceID == 0 {
		t.Fatalf("state while suspended: %+v (%v)", open, err)
	}
	dunned := currentRun(ctx, t, st.Temporal, workflows.SubscriptionID(o.SubscriptionID))
	st.Sandbox.DeclineOffSession(false)
	d.payOnSandbox(ctx, t, open.OpenInvoiceID, "4242424242424242")
	d.waitSubscription(ctx, t, o.SubscriptionID, "active again", func(s store.Subscription) bool { return s.Status == billing.SubscriptionActive })
	provisionDriver{st: st}.waitStatus(ctx, t, o.ServiceID.Int64, billing.ServiceActive)
	// The run that went through dunning (failed charge, retries, suspension, payment) and the
	// dunning itself, once both are closed.
	waitClosed(ctx, t, st.Temporal, dunned)
	dunning := st.Temporal.GetWorkflow(ctx, workflows.DunningID(open.OpenInvoiceID), "")
	waitClosed(ctx, t, st.Temporal, dunning)
	replayAndRecord(ctx, t, st.Temporal, dunned, "subscription_dunning.json", workflows.Subscription, workflows.Dunning)
	replayAndRecord(ctx, t, st.Temporal, dunning, "dunning_paid.json", workflows.Subscription, workflows.Dunning)

	// Cancel at the period end.
	var state workflows.SubscriptionState
	if err := d.update(ctx, t, o.SubscriptionID, workflows.UpdateCancel, workflows.CancelRequest{AtPeriodEnd: true, Reason: "project finished", Actor: "customer:test"}, &state); err != nil {
		t.Fatal(err)
	}
	if !state.CancelAtPeriodEnd {
		t.Fatalf("after cancel: %+v", state)
	}
	last := currentRun(ctx, t, st.Temporal, workflows.SubscriptionID(o.SubscriptionID))
	var final workflows.SubscriptionState
	if err := last.Get(ctx, &final); err != nil {
		t.Fatal(err)
	}
	if final.Status != billing.SubscriptionCancelled {
		t.Fatalf("final state %+v", final)
	}
	provisionDriver{st: st}.waitStatus(ctx, t, o.ServiceID.Int64, billing.ServiceTerminated)
	replayAndRecord(ctx, t, st.Temporal, last, "subscription_cancel.json", workflows.Subscription, workflows.Dunning)

	// Every invoice was paid at most once, and the timeline tells the story.
	invs, err := st.Store.SubscriptionInvoices(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		if inv.Totals.Paid.Amount > inv.Totals.Total.Amount {
			t.Errorf("invoice %s paid %s of %s", inv.Number, inv.Totals.Paid, inv.Totals.Total)
		}
	}
	ev, err := st.Store.SubscriptionEvents(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	joined := strings.Join(kinds, ",")
	for _, k := range []string{"ordered", "activated", "invoiced", "renewed", "past-due", "suspended", "unsuspended", "cancel-requested", "cancelled"} {
		if !strings.Contains(joined, k) {
			t.Errorf("timeline lacks %q: %s", k, joined)
		}
	}
}
