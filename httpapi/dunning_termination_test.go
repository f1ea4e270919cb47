package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// fastDunning makes a billing day 100 ms: the renewal is invoiced 1 s before its due date, the
// declined charge is retried a day after it, the subscription is suspended on day 3 and
// terminated on day 6.
func fastDunning() workflows.Timings {
	return workflows.Timings{Day: 100 * time.Millisecond, Period: 3 * time.Second, RenewalLeadDays: 10, FirstPaymentDays: 600,
		Dunning: workflows.DunningSchedule{RetryDays: []int{1}, ReminderDays: 2, SuspendDays: 3, TerminateDays: 6}}
}

// terminatedByDunning runs a subscription without a service (its product was never provisioned)
// whose renewal card declines, through dunning to termination, and returns it with the
// workflow's final state.
func terminatedByDunning(t *testing.T, st *testenv.Stack) (store.Subscription, workflows.SubscriptionState) {
	t.Helper()
	ctx := context.Background()
	sub := st.RenewingSubscription(t, 1, productID(t, st, "vps-2gb"), time.Now().Add(1500*time.Millisecond))
	if sub.ServiceID.Valid {
		t.Fatalf("subscription %d has service %d; the test needs one without", sub.ID, sub.ServiceID.Int64)
	}
	st.Sandbox.DeclineOffSession(true)
	run, err := st.Temporal.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(sub.ID, sub.CustomerID, testenv.TaskQueue),
		workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, Timings: st.Settings.Billing})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var final workflows.SubscriptionState
	if err := run.Get(wait, &final); err != nil {
		t.Fatalf("subscription workflow: %v", err)
	}
	if final.Status != billing.SubscriptionTerminated || !final.Suspended {
		t.Fatalf("the workflow ended %s (suspended %v), want terminated after a suspension", final.Status, final.Suspended)
	}
	sub = waitSubscription(t, st, sub.ID, "terminated", func(s store.Subscription) bool { return s.Status == billing.SubscriptionTerminated })
	return sub, final
}

// TestNoSuspensionMailForASubscriptionWithoutAService: dunning suspends a subscription whose
// service never existed. The customer is told the invoice is overdue, but not that a service
// was suspended.
func TestNoSuspensionMailForASubscriptionWithoutAService(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Billing: fastDunning()})
	sub, _ := terminatedByDunning(t, st)
	cust, err := st.Store.UserByID(context.Background(), sub.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.Sink.Wait(wait, func(m sink.Message) bool {
		return strings.HasSuffix(m.Subject, "is overdue") && !strings.HasPrefix(m.Subject, "Service suspended") && len(m.To) > 0 && m.To[0] == cust.Email
	}); err != nil {
		t.Fatalf("no overdue mail to %s: %v", cust.Email, err)
	}
	for _, m := range st.Sink.Messages() {
		if strings.HasPrefix(m.Subject, "Service suspended") {
			t.Errorf("mail %q went to %v about a service that never existed", m.Subject, m.To)
		}
	}
}

// TestTerminatedSubscriptionOffersNoStaffActions: a subscription dunning terminated keeps its
// suspended flag, but staff are offered neither Unsuspend nor any other action, and an
// unsuspend request changes nothing.
func TestTerminatedSubscriptionOffersNoStaffActions(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Billing: fastDunning()})
	sub, _ := terminatedByDunning(t, st)
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	page := "/admin/subscriptions/" + itoa(sub.ID)
	r := admin.get(page)
	if r.Status != http.StatusOK {
		t.Fatalf("admin subscription page: status %d", r.Status)
	}
	for _, action := range []string{"subscription-unsuspend", "subscription-suspend", "subscription-retry", "subscription-cancel"} {
		if strings.Contains(r.Body, `data-testid="`+action+`"`) {
			t.Errorf("the page of a terminated subscription offers %s", action)
		}
	}
	if r := admin.post(page+"/unsuspend", page, url.Values{"reason": {"try"}}); r.Status == http.StatusSeeOther {
		t.Errorf("unsuspending a terminated subscription answered %d to %q, want a refusal", r.Status, r.Location)
	}
	got, err := st.Store.SubscriptionByID(context.Background(), sub.ID)
	if err != nil || got.Status != billing.SubscriptionTerminated {
		t.Fatalf("after the unsuspend request the subscription is %q (%v), want terminated", got.Status, err)
	}
}
