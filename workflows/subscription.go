package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/billing"
)

// versionRecordWritesFirst is the workflow.GetVersion change id of applying a state change only
// after the database holds it, and of cancelling with the "cancelled" record before the invoices
// are withdrawn and the service terminated.
const versionRecordWritesFirst = "record-writes-first"

// maxTimeline is how many timeline entries a run keeps in memory and carries over.
const maxTimeline = 40

// Subscription owns one subscription for its whole life, one billing cycle per run:
//
//  1. (first run) wait for the order's invoice to be paid, save the payment method, activate
//     and ask the provisioning workflow to create the service;
//  2. issue the renewal invoice RenewalLeadDays before the due date and mail it with its PDF;
//  3. remind before the due date, charge the saved payment method on it;
//  4. if that fails, run dunning:<invoice-id> (retries, reminders, suspension, termination)
//     until the invoice is paid or the termination date passes;
//  5. once paid, start the next period (unsuspending a service dunning suspended) and continue
//     as new.
//
// Plan changes, cancellation, staff suspension and "retry payment now" arrive as Updates;
// payments as InvoicePaid signals (deduplicated by checking the invoice in the database).
func Subscription(ctx workflow.Context, in SubscriptionInput) (SubscriptionState, error) {
	s, err := newSubscriber(ctx, in)
	if err != nil {
		return SubscriptionState{}, err
	}
	if s.st.Status == billing.SubscriptionPending {
		if !s.awaitFirstPayment(ctx) {
			return s.finish(ctx)
		}
	}
	if s.st.Cycle == billing.OneTime {
		_ = workflow.Await(ctx, s.ended)
		return s.finish(ctx)
	}
	if !s.runCycle(ctx) {
		return s.finish(ctx)
	}
	return s.continueAsNew(ctx)
}

type subscriber struct {
	in    SubscriptionInput
	t     Timings
	st    SubscriptionState
	wfID  string
	seq   int // timeline entries written, for their idempotency keys
	paid  []int64
	steps []DunningStep
	// wake is set by updates and signals so the main loop re-checks its conditions.
	wake     bool
	next     NextInvoice
	reissued *InvoiceFacts // the renewal invoice that replaced the open one after a plan change
	charging bool          // the renewal is being charged on its due date
	// writeFirst: state changes are applied once the database holds them (runs started before
	// this version applied them first, and their histories must replay the same way).
	writeFirst bool
	changing   bool
	retrying   bool
}

// ended reports whether the subscription is over (cancelled now or terminated).
func (s *subscriber) ended() bool { return s.st.Ended() }

func newSubscriber(ctx workflow.Context, in SubscriptionInput) (*subscriber, error) {
	if in.SubscriptionID <= 0 {
		return nil, fmt.Errorf("subscription: invalid id %d", in.SubscriptionID)
	}
	s := &subscriber{in: in, t: in.Timings.withDefaults(), wfID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	s.writeFirst = workflow.GetVersion(ctx, versionRecordWritesFirst, workflow.DefaultVersion, 1) == 1
	if in.State != nil {
		s.st = *in.State
		s.seq = s.st.Seq
		if s.seq == 0 { // a state carried over before Seq was: start past every key it can have used
			s.seq = len(s.st.Timeline) + s.st.Cycles*1000
		}
	} else {
		var f SubscriptionFacts
		if err := workflow.ExecuteActivity(billingActivityCtx(ctx, "load subscription"), ActivityLoadSubscription, in.SubscriptionID).Get(ctx, &f); err != nil {
			return nil, fmt.Errorf("load subscription %d: %w", in.SubscriptionID, err)
		}
		s.st = SubscriptionState{SubscriptionID: f.SubscriptionID, CustomerID: f.CustomerID, ServiceID: f.ServiceID,
			Status: f.Status, ProductID: f.ProductID, Cycle: f.Cycle, Price: f.Price, PeriodStart: f.PeriodStart,
			PeriodEnd: f.PeriodEnd, AnchorDay: f.AnchorDay}
	}
	if err := s.register(ctx); err != nil {
		return nil, err
	}
	if s.st.ServiceID > 0 && in.State == nil {
		if err := workflow.UpsertTypedSearchAttributes(ctx, ServiceIDKey.ValueSet(strconv.FormatInt(s.st.ServiceID, 10))); err != nil {
			return nil, fmt.Errorf("set ServiceId: %w", err)
		}
	}
	workflow.Go(ctx, s.receiveSignals)
	return s, nil
}

func (s *subscriber) register(ctx workflow.Context) error {
	queries := map[string]any{
		QuerySubscriptionState:    func() (SubscriptionState, error) { return s.st, nil },
		QuerySubscriptionTimeline: func() ([]TimelineEntry, error) { return s.st.Timeline, nil },
		QueryNextInvoice:          func() (NextInvoice, error) { return s.next, nil },
	}
	for name, h := range queries {
		if err := workflow.SetQueryHandler(ctx, name, h); err != nil {
			return fmt.Errorf("register %s query: %w", name, err)
		}
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateChangePlan, s.changePlan, s.validateChangePlan},
		{UpdateCancel, s.cancel, s.validateCancel},
		{UpdateSuspend, s.suspendByStaff, s.validateSuspend},
		{UpdateUnsuspend, s.unsuspendByStaff, s.validateUnsuspend},
		{UpdateRetryPayment, s.retryPayment, s.validateRetry},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler,
			workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register %s update: %w", u.name, err)
		}
	}
	return nil
}

// receiveSignals turns signals into state the main loop waits on.
func (s *subscriber) receiveSignals(ctx workflow.Context) {
	paid := workflow.GetSignalChannel(ctx, SignalInvoicePaid)
	steps := workflow.GetSignalChannel(ctx, SignalDunningStep)
	for {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(paid, func(c workflow.ReceiveChannel, _ bool) {
			var p InvoicePaid
			c.Receive(ctx, &p)
			s.notePaid(p)
		})
		sel.AddReceive(steps, func(c workflow.ReceiveChannel, _ bool) {
			var d DunningStep
			c.Receive(ctx, &d)
			s.steps = append(s.steps, d)
			s.wake = true
		})
		sel.Select(ctx)
	}
}

func (s *subscriber) notePaid(p InvoicePaid) {
	if !slices.Contains(s.paid, p.InvoiceID) {
		s.paid = append(s.paid, p.InvoiceID)
	}
	s.wake = true
}

// drainSignals handles signals that arrived but were not received yet, before continue-as-new.
func (s *subscriber) drainSignals(ctx workflow.Context) {
	for {
		var p InvoicePaid
		if !workflow.GetSignalChannel(ctx, SignalInvoicePaid).ReceiveAsync(&p) {
			break
		}
		s.notePaid(p)
	}
	for {
		var d DunningStep
		if !workflow.GetSignalChannel(ctx, SignalDunningStep).ReceiveAsync(&d) {
			break
		}
		s.steps = append(s.steps, d)
	}
}

// awaitFirstPayment waits for the order's invoice, then activates and provisions. It returns
// false when the order was never paid (and is now cancelled) or the subscription was cancelled.
func (s *subscriber) awaitFirstPayment(ctx workflow.Context) bool {
	inv := s.in.FirstInvoiceID
	deadline := workflow.Now(ctx).Add(s.t.Days(s.t.FirstPaymentDays))
	// The payment may have been recorded before this workflow started: ask the database first.
	if !s.confirmPaid(ctx, inv) && !s.waitPaid(ctx, inv, deadline) {
		if s.ended() {
			return false
		}
		s.exec(ctx, "cancel unpaid order", ActivityCancelInvoice, inv, nil)
		s.record(ctx, SubscriptionRecord{Status: billing.SubscriptionCancelled, Cancelled: true, CancelReason: "first invoice unpaid",
			Kind: "order-expired", Message: fmt.Sprintf("order cancelled: invoice unpaid after %d days", s.t.FirstPaymentDays)})
		if s.st.ServiceID > 0 {
			s.provision(ctx, OpTerminate, "order never paid", "billing")
		}
		return false
	}
	s.exec(ctx, "save payment method", ActivitySavePaymentMethod, PaymentMethodInput{SubscriptionID: s.st.SubscriptionID, InvoiceID: inv}, nil)
	now := workflow.Now(ctx)
	s.st.PeriodStart, s.st.AnchorDay = now, now.Day()
	s.st.PeriodEnd = s.periodAfter(now)
	s.st.Cycles = 1
	msg := "first invoice paid; subscription active"
	if s.st.Cycle != billing.OneTime {
		msg += fmt.Sprintf(" until %s", s.st.PeriodEnd.UTC().Format(time.DateOnly))
	}
	s.record(ctx, SubscriptionRecord{Status: billing.SubscriptionActive, PeriodStart: s.st.PeriodStart, PeriodEnd: s.st.PeriodEnd,
		AnchorDay: s.st.AnchorDay, Kind: "activated", Message: msg})
	s.exec(ctx, "mail receipt", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv, Kind: InvoiceMailReceipt}, nil)
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpCreate, "first invoice paid", "billing")
	}
	return !s.ended()
}

func (s *subscriber) finish(ctx workflow.Context) (SubscriptionState, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return s.st, nil
}

func (s *subscriber) continueAsNew(ctx workflow.Context) (SubscriptionState, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	s.drainSignals(ctx)
	s.st.Seq = s.seq
	st := s.st
	return st, workflow.NewContinueAsNewError(ctx, Subscription, SubscriptionInput{
		SubscriptionID: s.in.SubscriptionID, CustomerID: s.in.CustomerID, FirstInvoiceID: s.in.FirstInvoiceID,
		Timings: s.in.Timings, State: &st,
	})
}
