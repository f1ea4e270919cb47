package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/billing"
)

func usd(a int64) billing.Money { return billing.Money{Amount: a, Currency: "USD"} }

// ledger stands in for activities.Billing under the same activity names: invoices, payments
// and a card that can be made to fail, with every call recorded at the workflow time it ran.
// It outlives one test environment, so a test can run run after run of continue-as-new.
type ledger struct {
	mu       sync.Mutex
	now      func() time.Time
	price    billing.Money
	invoices map[int64]*fakeInvoice
	byKey    map[string]int64
	nextID   int64
	charges  map[string]int // successful charges by idempotency key
	cardOK   bool           // the saved card pays off-session
	noMethod bool           // the customer has no payment method saved anywhere
	pending  bool           // a payment of the open invoice is on its way (a bank debit): charges take nothing
	notes    []string       // the notes of the mails, in order
	mails    []string       // "kind:invoiceID"
	ops      []string       // provisioning operations, "kind" in order
	events   map[string]SubscriptionRecord
	status   []billing.SubscriptionStatus // subscription statuses written, in order
	credit   billing.Money
	plan     DunningSchedule // the customer's dunning overrides
	// refuse, when set, makes the database refuse a record (the error it returns)
	refuse func(SubscriptionRecord) error
}

type fakeInvoice struct {
	id        int64
	total     billing.Money
	paid      bool
	cancelled bool
	dueAt     time.Time
}

func newLedger() *ledger {
	l := &ledger{price: usd(1000), invoices: map[int64]*fakeInvoice{}, byKey: map[string]int64{}, charges: map[string]int{},
		events: map[string]SubscriptionRecord{}, cardOK: true, credit: usd(0)}
	l.addInvoice("order", usd(1000), start) // the order's invoice, id 1
	return l
}

func (l *ledger) addInvoice(key string, total billing.Money, due time.Time) int64 {
	if id, ok := l.byKey[key]; ok {
		return id
	}
	l.nextID++
	l.invoices[l.nextID] = &fakeInvoice{id: l.nextID, total: total, dueAt: due}
	l.byKey[key] = l.nextID
	return l.nextID
}

// pay marks an invoice paid as a webhook would; it reports whether the invoice exists.
func (l *ledger) pay(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.invoices[id].paid = true
}

func (l *ledger) facts(inv *fakeInvoice) InvoiceFacts {
	st := billing.StatusUnpaid
	if inv.paid {
		st = billing.StatusPaid
	}
	return InvoiceFacts{InvoiceID: inv.id, Number: fmt.Sprintf("INV-%d", inv.id), Status: st, Paid: inv.paid, Total: inv.total, DueAt: inv.dueAt}
}

func (l *ledger) register(env *testsuite.TestWorkflowEnvironment) {
	l.now = env.Now
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActivityLoadSubscription, func(_ context.Context, id int64) (SubscriptionFacts, error) {
		return SubscriptionFacts{SubscriptionID: id, CustomerID: 9, ServiceID: 5, ProductID: 1, Cycle: billing.Monthly,
			Price: l.price, Status: billing.SubscriptionPending}, nil
	})
	reg(ActivityInvoiceStatus, func(_ context.Context, id int64) (InvoiceFacts, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.facts(l.invoices[id]), nil
	})
	reg(ActivityRecordSubscription, func(_ context.Context, r SubscriptionRecord) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.refuse != nil {
			if err := l.refuse(r); err != nil {
				return err
			}
		}
		if _, seen := l.events[r.Key]; seen {
			return nil
		}
		l.events[r.Key] = r
		if r.Status != "" {
			l.status = append(l.status, r.Status)
		}
		return nil
	})
	reg(ActivitySavePaymentMethod, func(context.Context, PaymentMethodInput) error { return nil })
	reg(ActivityCreateRenewal, func(_ context.Context, in RenewalInput) (InvoiceFacts, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		id := l.addInvoice(fmt.Sprintf("renewal:%d", in.PeriodStart.Unix()), l.price, in.PeriodStart)
		return l.facts(l.invoices[id]), nil
	})
	reg(ActivityPreviewRenewal, func(_ context.Context, in RenewalInput) (NextInvoice, error) {
		return NextInvoice{Due: in.PeriodStart, Total: l.price}, nil
	})
	reg(ActivitySendInvoiceMail, func(_ context.Context, m InvoiceMail) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.mails = append(l.mails, fmt.Sprintf("%s:%d", m.Kind, m.InvoiceID))
		l.notes = append(l.notes, m.Note)
		return nil
	})
	reg(ActivityChargeInvoice, func(_ context.Context, in ChargeInput) (PaymentOutcome, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		inv := l.invoices[in.InvoiceID]
		if inv.paid {
			return PaymentOutcome{InvoiceID: inv.id, Paid: true}, nil
		}
		if l.noMethod {
			return PaymentOutcome{InvoiceID: inv.id, Failure: "no saved payment method", NoPaymentMethod: true}, nil
		}
		if l.pending {
			return PaymentOutcome{InvoiceID: inv.id, Failure: "a payment is pending at the gateway", Pending: true}, nil
		}
		if !l.cardOK {
			return PaymentOutcome{InvoiceID: inv.id, Failure: "declined (insufficient_funds)"}, nil
		}
		l.charges[in.IdempotencyKey]++
		inv.paid = true
		return PaymentOutcome{InvoiceID: inv.id, Paid: true, PaymentRef: "ch_" + in.IdempotencyKey}, nil
	})
	reg(ActivityPlanChange, func(_ context.Context, in PlanChangeInput) (PlanChangeResult, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		// A fixed proration for the test: upgrade to product 2 (USD 25.00) costs USD 7.26.
		if in.ProductID == 2 {
			l.price = usd(2500) // renewals from now on are priced on the new plan
			id := l.addInvoice(in.Key, usd(726), in.At)
			return PlanChangeResult{ProductID: 2, Net: usd(726), InvoiceID: id, NewPrice: usd(2500)}, nil
		}
		l.credit, _ = l.credit.Add(usd(726))
		return PlanChangeResult{ProductID: in.ProductID, Net: usd(-726), NewPrice: usd(1000)}, nil
	})
	reg(ActivityCancelInvoice, func(_ context.Context, id int64) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if inv := l.invoices[id]; !inv.paid {
			inv.cancelled = true
		}
		return nil
	})
	reg(ActivityRequestProvisioning, func(_ context.Context, r ProvisioningRequest) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ops = append(l.ops, string(r.Op.Kind))
		return nil
	})
	reg(ActivityDunningPlan, func(context.Context, int64) (DunningSchedule, error) { return l.plan, nil })
	reg(ActivityReissueRenewal, func(_ context.Context, in ReissueInput) (InvoiceFacts, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.invoices[in.OldInvoiceID].cancelled = true
		id := l.addInvoice(fmt.Sprintf("renewal:%d:%s", in.PeriodStart.Unix(), in.Key), l.price, in.PeriodStart)
		return l.facts(l.invoices[id]), nil
	})
	env.RegisterWorkflow(Dunning)
}

func (l *ledger) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.mails {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func (l *ledger) opsString() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.ops, ",")
}

func newSubscriptionEnv(t *testing.T, l *ledger, at time.Time) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(at)
	env.SetTestTimeout(time.Minute)
	l.register(env)
	return env
}

func firstInput() SubscriptionInput {
	return SubscriptionInput{SubscriptionID: 7, CustomerID: 9, FirstInvoiceID: 1, Timings: DefaultTimings()}
}

// runUntilContinue runs one workflow run and returns the next run's input and end time; it
// fails the test if the run ended any other way.
func runUntilContinue(t *testing.T, env *testsuite.TestWorkflowEnvironment, in SubscriptionInput) SubscriptionInput {
	t.Helper()
	env.ExecuteWorkflow(Subscription, in)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	var next SubscriptionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestThreeYearsOfMonthlyRenewalsContinueAsNewEveryCycle(t *testing.T) {
	l := newLedger()
	l.pay(1)
	in := firstInput()
	clock := start
	var dueDates []string
	for cycle := range 36 {
		env := newSubscriptionEnv(t, l, clock)
		next := runUntilContinue(t, env, in)
		st := next.State
		if st == nil || st.Status != billing.SubscriptionActive || st.Cycles != cycle+2 {
			t.Fatalf("cycle %d: state %+v", cycle, st)
		}
		dueDates = append(dueDates, st.PeriodStart.Format(time.DateOnly))
		if cycle > 0 && st.Seq <= in.State.Seq {
			t.Fatalf("cycle %d: sequence %d did not move on from %d", cycle, st.Seq, in.State.Seq)
		}
		clock, in = env.Now(), next
	}
	// Anchored on the start day (the 2nd): every renewal is due on the 2nd.
	if dueDates[0] != "2026-04-02" || dueDates[35] != "2029-03-02" {
		t.Fatalf("first and last renewal due %s and %s", dueDates[0], dueDates[35])
	}
	for _, d := range dueDates {
		if !strings.HasSuffix(d, "-02") {
			t.Fatalf("renewal due on %s: anchor day lost", d)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Activated, then invoiced and renewed each cycle: a repeated idempotency key would have
	// swallowed a write.
	if len(l.events) != 1+2*36 {
		t.Fatalf("%d timeline entries written under distinct keys, want %d", len(l.events), 1+2*36)
	}
	if len(l.invoices) != 37 { // the order's invoice + 36 renewals
		t.Fatalf("%d invoices, want 37", len(l.invoices))
	}
	for key, n := range l.charges {
		if n != 1 {
			t.Fatalf("charge key %s used %d times", key, n)
		}
	}
	if len(l.charges) != 36 {
		t.Fatalf("%d renewal charges, want 36", len(l.charges))
	}
	if got := strings.Join(l.ops, ","); got != "create" {
		t.Fatalf("provisioning ops %q, want just the create", got)
	}
}

func TestRenewalInvoiceIsIssuedLeadDaysBeforeAndChargedOnTheDueDate(t *testing.T) {
	l := newLedger()
	l.pay(1)
	env := newSubscriptionEnv(t, l, start)
	var issuedAt, chargedAt time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		switch info.ActivityType.Name {
		case ActivityCreateRenewal:
			issuedAt = env.Now()
		case ActivityChargeInvoice:
			chargedAt = env.Now()
		}
	})
	runUntilContinue(t, env, firstInput())
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	if !issuedAt.Equal(due.Add(-14 * 24 * time.Hour)) {
		t.Fatalf("renewal invoice issued at %s, want 14 days before %s", issuedAt, due)
	}
	if !chargedAt.Equal(due) {
		t.Fatalf("charged at %s, want on the due date %s", chargedAt, due)
	}
	if l.count("new:2") != 1 || l.count("reminder:2") != 1 || l.count("receipt:") != 2 {
		t.Fatalf("mails %v", l.mails)
	}
}

func TestFailedRenewalRetriesSuspendsAndPaymentUnsuspends(t *testing.T) {
	l := newLedger()
	l.pay(1)
	in := firstInput()
	env := newSubscriptionEnv(t, l, start)
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	l.cardOK = false
	// Day 9 after due: the customer pays invoice 2 from the portal; the webhook router signals.
	env.RegisterDelayedCallback(func() {
		l.pay(2)
		env.SignalWorkflow(SignalInvoicePaid, InvoicePaid{InvoiceID: 2, Gateway: "sandbox", PaymentRef: "ch_portal", EventID: "evt_1"})
		env.SignalWorkflow(SignalInvoicePaid, InvoicePaid{InvoiceID: 2, Gateway: "sandbox", PaymentRef: "ch_portal", EventID: "evt_1"})
	}, due.Add(9*24*time.Hour).Sub(start))
	var suspendedAt time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == ActivityRequestProvisioning {
			var r ProvisioningRequest
			_ = args.Get(&r)
			if r.Op.Kind == OpSuspend {
				suspendedAt = env.Now()
			}
		}
	})
	next := runUntilContinue(t, env, in)
	if !suspendedAt.Equal(due.Add(7 * 24 * time.Hour)) {
		t.Fatalf("suspended at %s, want 7 days after due (%s)", suspendedAt, due)
	}
	if got := l.opsString(); got != "create,suspend,unsuspend" {
		t.Fatalf("provisioning ops %q", got)
	}
	// One failed charge on the due date, then retries on days 1, 3, 5 and 7, each with a mail.
	if n := l.count("overdue:2"); n != 5 {
		t.Fatalf("%d overdue mails, want 5 (due date, days 1, 3, 5, 7); mails %v", n, l.mails)
	}
	if l.count("suspended:2") != 1 {
		t.Fatalf("no suspension mail: %v", l.mails)
	}
	st := next.State
	if st.Status != billing.SubscriptionActive || st.Suspended || st.Cycles != 2 || !st.PeriodStart.Equal(due) {
		t.Fatalf("after payment: %+v", st)
	}
	want := []billing.SubscriptionStatus{billing.SubscriptionActive, billing.SubscriptionPastDue, billing.SubscriptionSuspended, billing.SubscriptionActive, billing.SubscriptionActive}
	if fmt.Sprint(l.status) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", l.status, want)
	}
}

func TestUnpaidRenewalIsTerminatedAfterThirtyDays(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.cardOK = false
	env := newSubscriptionEnv(t, l, start)
	env.ExecuteWorkflow(Subscription, firstInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st SubscriptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	if st.Status != billing.SubscriptionTerminated || !env.Now().Equal(due.Add(30*24*time.Hour)) {
		t.Fatalf("status %s at %s, want terminated 30 days after %s", st.Status, env.Now(), due)
	}
	if got := l.opsString(); got != "create,suspend,terminate" {
		t.Fatalf("provisioning ops %q", got)
	}
	if !l.invoices[2].cancelled {
		t.Fatal("the unpaid invoice was not cancelled at termination")
	}
}

func TestCancelAtPeriodEndStopsRenewalAndTerminatesOnTheDueDate(t *testing.T) {
	l := newLedger()
	l.pay(1)
	env := newSubscriptionEnv(t, l, start)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "c1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("cancel rejected: %v", err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("cancel failed: %v", err)
				}
			},
		}, CancelRequest{AtPeriodEnd: true, Reason: "moving to a dedicated server", Actor: "customer:9"})
	}, 3*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "c2", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) {},
			OnAccept:   func() { t.Error("a second cancel at period end was accepted") },
			OnComplete: func(any, error) {},
		}, CancelRequest{AtPeriodEnd: true, Reason: "again", Actor: "customer:9"})
	}, 4*24*time.Hour)
	env.ExecuteWorkflow(Subscription, firstInput())
	var st SubscriptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	if st.Status != billing.SubscriptionCancelled || !env.Now().Equal(due) || st.CancelReason != "moving to a dedicated server" {
		t.Fatalf("status %s reason %q at %s; want cancelled on %s", st.Status, st.CancelReason, env.Now(), due)
	}
	if len(l.invoices) != 1 {
		t.Fatalf("%d invoices: a renewal was issued for a cancelling subscription", len(l.invoices))
	}
	if got := l.opsString(); got != "create,terminate" {
		t.Fatalf("provisioning ops %q", got)
	}
}

func TestUpgradeMidCycleChargesTheProrationAndChangesThePackage(t *testing.T) {
	l := newLedger()
	l.pay(1)
	env := newSubscriptionEnv(t, l, start)
	var result PlanChangeResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateChangePlan, "up", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("upgrade rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("upgrade failed: %v", err)
					return
				}
				result = v.(PlanChangeResult)
			},
		}, PlanChangeRequest{ProductID: 2, Actor: "customer:9"})
	}, 15*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateChangePlan, "same", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) {},
			OnAccept:   func() { t.Error("a change to the current product was accepted") },
			OnComplete: func(any, error) {},
		}, PlanChangeRequest{ProductID: 2, Actor: "customer:9"})
	}, 16*24*time.Hour)
	next := runUntilContinue(t, env, firstInput())
	if result.Net != usd(726) || result.InvoiceID == 0 {
		t.Fatalf("upgrade result %+v", result)
	}
	if !l.invoices[result.InvoiceID].paid {
		t.Fatal("the proration invoice was not charged")
	}
	if got := l.opsString(); got != "create,change-package" {
		t.Fatalf("provisioning ops %q", got)
	}
	if next.State.ProductID != 2 || next.State.Price != usd(2500) {
		t.Fatalf("after upgrade: product %d price %s", next.State.ProductID, next.State.Price)
	}
}

func TestUnpaidOrderIsCancelledAfterTheFirstPaymentDeadline(t *testing.T) {
	l := newLedger()
	env := newSubscriptionEnv(t, l, start)
	env.ExecuteWorkflow(Subscription, firstInput())
	var st SubscriptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Status != billing.SubscriptionCancelled || !env.Now().Equal(start.Add(7*24*time.Hour)) || !l.invoices[1].cancelled {
		t.Fatalf("status %s at %s, invoice cancelled %v", st.Status, env.Now(), l.invoices[1].cancelled)
	}
	if got := l.opsString(); got != "terminate" {
		t.Fatalf("provisioning ops %q, want only the terminate of the never-created service", got)
	}
}

func TestFirstPaymentSignalActivatesAndProvisions(t *testing.T) {
	l := newLedger()
	env := newSubscriptionEnv(t, l, start)
	env.RegisterDelayedCallback(func() {
		l.pay(1)
		env.SignalWorkflow(SignalInvoicePaid, InvoicePaid{InvoiceID: 1, Gateway: "sandbox", EventID: "evt_a"})
	}, 2*time.Hour)
	var state SubscriptionState
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QuerySubscriptionState)
		if err != nil {
			t.Error(err)
			return
		}
		_ = v.Get(&state)
	}, 3*time.Hour)
	next := runUntilContinue(t, env, firstInput())
	if state.Status != billing.SubscriptionActive || !state.PeriodStart.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("state after the payment: %+v", state)
	}
	if next.State.Cycles != 2 || !strings.HasPrefix(l.opsString(), "create") {
		t.Fatalf("next %+v ops %q", next.State, l.opsString())
	}
}

func TestCancellingAnUnpaidOrderCancelsItsInvoiceAndClosesTheService(t *testing.T) {
	l := newLedger()
	env := newSubscriptionEnv(t, l, start)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "c", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("cancel rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, CancelRequest{AtPeriodEnd: true, Reason: "changed my mind", Actor: "customer:9"})
	}, time.Hour)
	env.ExecuteWorkflow(Subscription, firstInput())
	var st SubscriptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Status != billing.SubscriptionCancelled || !l.invoices[1].cancelled || !env.Now().Equal(start.Add(time.Hour)) {
		t.Fatalf("status %s, invoice cancelled %v, at %s", st.Status, l.invoices[1].cancelled, env.Now())
	}
	if got := l.opsString(); got != "terminate" {
		t.Fatalf("provisioning ops %q, want the terminate that closes the never-provisioned service", got)
	}
}

func TestUpgradeWhileTheRenewalInvoiceIsOpenReissuesItOnTheNewPlan(t *testing.T) {
	l := newLedger()
	l.pay(1)
	env := newSubscriptionEnv(t, l, start)
	var result PlanChangeResult
	env.RegisterDelayedCallback(func() { // day 20: the renewal invoice (day 17) is open
		env.UpdateWorkflow(UpdateChangePlan, "up", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("upgrade rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("upgrade failed: %v", err)
					return
				}
				result = v.(PlanChangeResult)
			},
		}, PlanChangeRequest{ProductID: 2, Actor: "customer:9"})
	}, 20*24*time.Hour)
	next := runUntilContinue(t, env, firstInput())
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.invoices[2].cancelled || l.invoices[2].paid {
		t.Fatalf("the renewal invoice issued on the old plan: %+v, want cancelled and unpaid", *l.invoices[2])
	}
	if result.InvoiceID != 3 || !l.invoices[3].paid {
		t.Fatalf("proration invoice %d paid %v", result.InvoiceID, l.invoices[result.InvoiceID] != nil && l.invoices[result.InvoiceID].paid)
	}
	reissued := l.invoices[4]
	if reissued == nil || reissued.total != usd(2500) || !reissued.paid {
		t.Fatalf("reissued renewal invoice %+v, want USD 25.00 charged on the due date", reissued)
	}
	if next.State.Price != usd(2500) || next.State.ProductID != 2 || next.State.OpenInvoiceID != 0 {
		t.Fatalf("next run state %+v", next.State)
	}
	var newMails int
	for _, m := range l.mails {
		if m == "new:4" {
			newMails++
		}
	}
	if newMails != 1 {
		t.Fatalf("mails %v, want the reissued invoice mailed once", l.mails)
	}
}

func TestACustomersDunningOverrideMovesSuspensionAndTermination(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.cardOK = false
	l.plan = DunningSchedule{SuspendDays: 3, TerminateDays: 10}
	env := newSubscriptionEnv(t, l, start)
	var suspendedAt time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var r ProvisioningRequest
		if info.ActivityType.Name == ActivityRequestProvisioning && args.Get(&r) == nil && r.Op.Kind == OpSuspend {
			suspendedAt = env.Now()
		}
	})
	env.ExecuteWorkflow(Subscription, firstInput())
	var st SubscriptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	if !suspendedAt.Equal(due.Add(3*24*time.Hour)) || st.Status != billing.SubscriptionTerminated || !env.Now().Equal(due.Add(10*24*time.Hour)) {
		t.Fatalf("suspended at %s, %s at %s; want suspension 3 days and termination 10 days after %s", suspendedAt, st.Status, env.Now(), due)
	}
	// Retries after the suspension day still run (days 5 and 7), before termination on day 10.
	if n := l.count("overdue:2"); n != 5 {
		t.Fatalf("%d overdue mails, want 5", n)
	}
}

// A payment on its way (a SEPA debit still processing) is neither paid nor failed: the due-date
// charge and dunning's retries charge nothing and mail no "payment failed"; when it settles and
// the webhook signals, the subscription renews.
func TestPendingPaymentIsWaitedForNotChargedAgainOrMailedAsFailed(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.pending = true
	env := newSubscriptionEnv(t, l, start)
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	env.RegisterDelayedCallback(func() { // the debit settles on day 4 after due
		l.mu.Lock()
		l.pending = false
		l.mu.Unlock()
		l.pay(2)
		env.SignalWorkflow(SignalInvoicePaid, InvoicePaid{InvoiceID: 2, Gateway: "stripe", PaymentRef: "pi_sepa", EventID: "evt_async"})
	}, due.Add(4*24*time.Hour).Sub(start))
	next := runUntilContinue(t, env, firstInput())
	if n := l.count("overdue:2"); n != 0 {
		t.Fatalf("%d overdue mails while the payment was pending, want none; mails %v", n, l.mails)
	}
	if len(l.charges) != 0 {
		t.Fatalf("charges %v; nothing is charged while a payment is pending", l.charges)
	}
	if st := next.State; st.Status != billing.SubscriptionActive || st.Cycles != 2 || !st.PeriodStart.Equal(due) {
		t.Fatalf("after the pending payment settled: %+v", st)
	}
}
