package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/billing"
)

// Subscription statuses as the workflow writes them (the same values as store.Subscription*).
const (
	SubPending    = "pending"
	SubActive     = "active"
	SubPastDue    = "past_due"
	SubSuspended  = "suspended"
	SubCancelled  = "cancelled"
	SubTerminated = "terminated"
)

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
	if s.st.Status == SubPending {
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
	changing bool
	retrying bool
}

// ended reports whether the subscription is over (cancelled now or terminated).
func (s *subscriber) ended() bool {
	return s.st.Status == SubCancelled || s.st.Status == SubTerminated
}

func newSubscriber(ctx workflow.Context, in SubscriptionInput) (*subscriber, error) {
	if in.SubscriptionID <= 0 {
		return nil, fmt.Errorf("subscription: invalid id %d", in.SubscriptionID)
	}
	s := &subscriber{in: in, t: in.Timings.withDefaults(), wfID: workflow.GetInfo(ctx).WorkflowExecution.ID}
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
		s.record(ctx, SubscriptionRecord{Status: SubCancelled, Cancelled: true, CancelReason: "first invoice unpaid",
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
	s.record(ctx, SubscriptionRecord{Status: SubActive, PeriodStart: s.st.PeriodStart, PeriodEnd: s.st.PeriodEnd,
		AnchorDay: s.st.AnchorDay, Kind: "activated", Message: msg})
	s.exec(ctx, "mail receipt", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv, Kind: InvoiceMailReceipt}, nil)
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpCreate, "first invoice paid", "billing")
	}
	return !s.ended()
}

// runCycle bills the period that starts at PeriodEnd. It returns true when the subscription
// renewed and false when it ended.
func (s *subscriber) runCycle(ctx workflow.Context) bool {
	due := s.st.PeriodEnd
	next := s.periodAfter(due)
	s.preview(ctx, due, next)
	issueAt := due.Add(-s.t.Days(s.t.RenewalLeadDays))
	if issueAt.Before(s.st.PeriodStart) {
		issueAt = s.st.PeriodStart
	}
	s.sleepUntil(ctx, issueAt, func() bool { return s.st.CancelAtPeriodEnd })
	if s.ended() {
		return false
	}
	if s.st.CancelAtPeriodEnd {
		return s.endAtPeriodEnd(ctx, due)
	}
	var inv InvoiceFacts
	err := s.exec(ctx, "create renewal invoice", ActivityCreateRenewal,
		RenewalInput{SubscriptionID: s.st.SubscriptionID, PeriodStart: due, PeriodEnd: next, Now: workflow.Now(ctx), WorkflowID: s.wfID}, &inv)
	if err != nil {
		s.note(ctx, "renewal-failed", "could not create the renewal invoice: "+err.Error())
		return s.endAtPeriodEnd(ctx, due) // cannot bill: stop at the end of what was paid
	}
	s.st.OpenInvoiceID = inv.InvoiceID
	s.note(ctx, "invoiced", fmt.Sprintf("renewal invoice %s for %s due %s", inv.Number, inv.Total, due.UTC().Format(time.DateOnly)))
	s.exec(ctx, "mail invoice", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv.InvoiceID, Kind: InvoiceMailNew}, nil)

	paid := inv.Paid
	if remindAt := due.Add(-s.t.Days(s.t.Dunning.ReminderDays)); !paid && remindAt.After(workflow.Now(ctx)) {
		for { // a plan change can replace the invoice while we wait: then wait for the new one
			paid = s.waitPaid(ctx, inv.InvoiceID, remindAt)
			if next := s.current(inv); next.InvoiceID != inv.InvoiceID {
				inv = next
				continue
			}
			break
		}
		if !paid && !s.ended() && !s.st.CancelAtPeriodEnd {
			s.exec(ctx, "mail reminder", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv.InvoiceID, Kind: InvoiceMailReminder}, nil)
		}
	}
	for !paid && !s.ended() && !s.st.CancelAtPeriodEnd {
		// Woken by a payment, the database confirms it; reaching the due date, the charge that
		// follows finds a paid invoice paid without charging, so no check is needed here.
		id := inv.InvoiceID
		paid = s.sleepUntil(ctx, due, func() bool {
			return slices.Contains(s.paid, id) || s.st.CancelAtPeriodEnd || s.st.OpenInvoiceID != id
		}) && !s.ended() && !s.st.CancelAtPeriodEnd && s.confirmPaid(ctx, id)
		if next := s.current(inv); next.InvoiceID != id {
			inv, paid = next, false
			continue
		}
		break
	}
	if s.ended() {
		return false
	}
	if !paid && s.st.CancelAtPeriodEnd {
		s.exec(ctx, "cancel renewal invoice", ActivityCancelInvoice, inv.InvoiceID, nil)
		return s.endAtPeriodEnd(ctx, due)
	}
	if !paid {
		s.charging = true // plan changes wait: the invoice being charged must not be replaced
		out := s.charge(ctx, inv.InvoiceID, "due")
		s.charging = false
		if paid = out.Paid; !paid && out.Failure != "" {
			mailInvoice(ctx, inv.InvoiceID, InvoiceMailOverdue, "The payment on the due date failed: "+out.Failure+
				". We will try again; you can also pay the invoice in your account.")
		}
	}
	if !paid {
		if paid = s.dun(ctx, inv, due); !paid {
			return false
		}
	}
	return s.renewed(ctx, inv, due, next)
}

// dun runs dunning:<invoice> as a child until the invoice is paid or the service terminated.
func (s *subscriber) dun(ctx workflow.Context, inv InvoiceFacts, due time.Time) bool {
	s.record(ctx, SubscriptionRecord{Status: SubPastDue, Kind: "past-due",
		Message: fmt.Sprintf("invoice %s unpaid on its due date; dunning started", inv.Number)})
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            DunningID(inv.InvoiceID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	})
	cctx, cancelChild := workflow.WithCancel(cctx)
	child := workflow.ExecuteChildWorkflow(cctx, Dunning, DunningInput{InvoiceID: inv.InvoiceID,
		SubscriptionID: s.st.SubscriptionID, CustomerID: s.st.CustomerID, DueAt: due, Timings: s.t})
	var result DunningResult
	done := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		if err := child.Get(gctx, &result); err != nil && !temporal.IsCanceledError(err) {
			s.note(gctx, "dunning-failed", "dunning stopped: "+err.Error())
		}
		done, s.wake = true, true
	})
	for {
		_ = workflow.Await(ctx, func() bool {
			return done || len(s.steps) > 0 || slices.Contains(s.paid, inv.InvoiceID) || s.ended()
		})
		for len(s.steps) > 0 {
			step := s.steps[0]
			s.steps = s.steps[1:]
			if step.Kind == DunningSuspend && step.InvoiceID == inv.InvoiceID && !s.st.Suspended {
				s.suspend(ctx, "dunning", fmt.Sprintf("invoice %s overdue", inv.Number))
			}
		}
		if s.ended() {
			cancelChild()
			return false
		}
		if slices.Contains(s.paid, inv.InvoiceID) && s.confirmPaid(ctx, inv.InvoiceID) {
			cancelChild()
			return true
		}
		if done {
			if result.Paid || s.confirmPaid(ctx, inv.InvoiceID) {
				return true
			}
			if result.Terminated {
				s.exec(ctx, "cancel overdue invoice", ActivityCancelInvoice, inv.InvoiceID, nil)
				s.record(ctx, SubscriptionRecord{Status: SubTerminated, Cancelled: true, CancelReason: "unpaid",
					Kind: "terminated", Message: fmt.Sprintf("terminated: invoice %s unpaid after %d days", inv.Number, s.t.Dunning.TerminateDays)})
				if s.st.ServiceID > 0 {
					s.provision(ctx, OpTerminate, "invoice "+inv.Number+" unpaid", "billing")
				}
				return false
			}
			return false
		}
	}
}

// renewed starts the period the paid invoice bought.
func (s *subscriber) renewed(ctx workflow.Context, inv InvoiceFacts, start, end time.Time) bool {
	s.st.OpenInvoiceID = 0
	if s.st.Suspended && s.st.SuspendedBy == "dunning" {
		s.unsuspend(ctx, "billing", "invoice "+inv.Number+" paid")
	}
	s.st.PeriodStart, s.st.PeriodEnd = start, end
	s.st.Cycles++
	status := SubActive
	if s.st.Suspended {
		status = SubSuspended
	}
	s.record(ctx, SubscriptionRecord{Status: status, PeriodStart: start, PeriodEnd: end, CountCoupons: inv.Coupons,
		Kind: "renewed", Message: fmt.Sprintf("invoice %s paid; renewed until %s", inv.Number, end.UTC().Format(time.DateOnly))})
	s.exec(ctx, "mail receipt", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv.InvoiceID, Kind: InvoiceMailReceipt}, nil)
	return true
}

// endAtPeriodEnd waits for the end of the paid period, then cancels and terminates the service.
func (s *subscriber) endAtPeriodEnd(ctx workflow.Context, end time.Time) bool {
	s.sleepUntil(ctx, end, func() bool { return false })
	if s.ended() {
		return false
	}
	reason := s.st.CancelReason
	if reason == "" {
		reason = "not renewed"
	}
	s.record(ctx, SubscriptionRecord{Status: SubCancelled, Cancelled: true, Kind: "cancelled",
		Message: "cancelled at the end of the period: " + reason})
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpTerminate, "subscription cancelled: "+reason, "billing")
	}
	return false
}

// charge tries the saved payment method once for an invoice's amount due.
func (s *subscriber) charge(ctx workflow.Context, invoiceID int64, attempt string) PaymentOutcome {
	var out PaymentOutcome
	key := fmt.Sprintf("%s:invoice:%d:attempt:%s", s.wfID, invoiceID, attempt)
	err := s.exec(ctx, "charge saved payment method", ActivityChargeInvoice,
		ChargeInput{InvoiceID: invoiceID, SubscriptionID: s.st.SubscriptionID, IdempotencyKey: key, CreatedBy: s.wfID}, &out)
	if err != nil {
		out = PaymentOutcome{InvoiceID: invoiceID, Failure: err.Error()}
	}
	if out.Paid { // the "renewed" (or "plan-changed") entry that follows says it was paid
		s.notePaid(InvoicePaid{InvoiceID: invoiceID, PaymentRef: out.PaymentRef})
	} else {
		s.note(ctx, "charge-failed", fmt.Sprintf("charge for invoice %d failed: %s", invoiceID, out.Failure))
	}
	return out
}

func (s *subscriber) suspend(ctx workflow.Context, by, reason string) {
	s.st.Suspended, s.st.SuspendedBy = true, by
	s.record(ctx, SubscriptionRecord{Status: SubSuspended, Kind: "suspended", Message: "suspended: " + reason, Actor: by})
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpSuspend, reason, by)
	}
}

func (s *subscriber) unsuspend(ctx workflow.Context, by, reason string) {
	s.st.Suspended, s.st.SuspendedBy = false, ""
	status := SubActive
	if s.st.OpenInvoiceID != 0 && s.st.Status == SubSuspended {
		status = SubPastDue
	}
	s.record(ctx, SubscriptionRecord{Status: status, Kind: "unsuspended", Message: "unsuspended: " + reason, Actor: by})
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpUnsuspend, reason, by)
	}
}

// provision asks provision:<service> for an operation; a refusal is noted, not fatal.
func (s *subscriber) provision(ctx workflow.Context, kind OpKind, reason, actor string) {
	s.seq++
	op := ProvisionOp{Kind: kind, Reason: reason, Actor: actor, RequestID: fmt.Sprintf("%s:op:%d", s.wfID, s.seq)}
	err := s.exec(ctx, "provisioning: "+string(kind), ActivityRequestProvisioning,
		ProvisioningRequest{ServiceID: s.st.ServiceID, CustomerID: s.st.CustomerID, Op: op}, nil)
	if err != nil {
		s.note(ctx, "provisioning-refused", fmt.Sprintf("%s refused by provisioning: %v", kind, err))
	}
}

// waitPaid waits until the invoice is paid or until, checking the database whenever a payment
// signal arrives and once at the deadline. It gives up early when the subscription ends or is
// set to cancel at the period end.
func (s *subscriber) waitPaid(ctx workflow.Context, invoiceID int64, until time.Time) bool {
	for {
		replaced := func() bool { return s.st.OpenInvoiceID != 0 && s.st.OpenInvoiceID != invoiceID }
		woken := s.sleepUntil(ctx, until, func() bool {
			return slices.Contains(s.paid, invoiceID) || s.st.CancelAtPeriodEnd || replaced()
		})
		if s.ended() {
			return false
		}
		if !woken {
			return s.confirmPaid(ctx, invoiceID)
		}
		if replaced() {
			return false
		}
		if s.confirmPaid(ctx, invoiceID) {
			return true
		}
		if s.st.CancelAtPeriodEnd && s.st.Status != SubPending {
			return false
		}
	}
}

// confirmPaid asks the database whether an invoice is paid, forgetting a payment signal it
// does not confirm (a partial payment, a refunded one).
func (s *subscriber) confirmPaid(ctx workflow.Context, invoiceID int64) bool {
	if invoicePaid(ctx, invoiceID) {
		return true
	}
	s.paid = slices.DeleteFunc(s.paid, func(id int64) bool { return id == invoiceID })
	return false
}

func (s *subscriber) preview(ctx workflow.Context, start, end time.Time) {
	var n NextInvoice
	in := RenewalInput{SubscriptionID: s.st.SubscriptionID, PeriodStart: start, PeriodEnd: end, Now: workflow.Now(ctx)}
	if err := localBilling(ctx, ActivityPreviewRenewal, in, &n); err == nil {
		s.next = n
	}
	s.next.Due, s.next.None = start, s.st.CancelAtPeriodEnd
}

// sleepUntil waits until t, or until stop() or the end of the subscription. It reports whether
// it was woken early.
func (s *subscriber) sleepUntil(ctx workflow.Context, t time.Time, stop func() bool) bool {
	for {
		if stop() || s.ended() {
			return true
		}
		d := t.Sub(workflow.Now(ctx))
		if d <= 0 {
			return false
		}
		s.wake = false
		ok, _ := workflow.AwaitWithTimeout(ctx, d, func() bool { return s.wake })
		if !ok {
			return false
		}
	}
}

// periodAfter is the due date one cycle after from (or one configured Period).
func (s *subscriber) periodAfter(from time.Time) time.Time {
	if s.t.Period > 0 {
		return from.Add(s.t.Period)
	}
	anchor := s.st.AnchorDay
	if anchor == 0 {
		anchor = from.Day()
	}
	return s.st.Cycle.NextDueAnchored(from, anchor)
}

// record writes a state change and its timeline entry, and keeps the search attributes current.
func (s *subscriber) record(ctx workflow.Context, r SubscriptionRecord) {
	if r.Status != "" && r.Status != s.st.Status {
		s.st.Status = r.Status
		_ = workflow.UpsertTypedSearchAttributes(ctx, SubscriptionStatusKey.ValueSet(r.Status))
	}
	if r.CancelReason != "" {
		s.st.CancelReason = r.CancelReason
	}
	s.seq++
	r.SubscriptionID, r.WorkflowID = s.st.SubscriptionID, s.wfID
	r.Key = fmt.Sprintf("%s:ev:%d", s.wfID, s.seq)
	if r.Actor == "" {
		r.Actor = "billing"
	}
	s.remember(ctx, r.Kind, r.Message)
	if err := localBilling(ctx, ActivityRecordSubscription, r, nil); err != nil {
		workflow.GetLogger(ctx).Error("record subscription change", "kind", r.Kind, "error", err)
	}
}

// note adds a timeline entry without a state change.
func (s *subscriber) note(ctx workflow.Context, kind, msg string) {
	s.record(ctx, SubscriptionRecord{Kind: kind, Message: msg})
}

func (s *subscriber) remember(ctx workflow.Context, kind, msg string) {
	s.st.Timeline = append(s.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Message: msg})
	if len(s.st.Timeline) > maxTimeline {
		s.st.Timeline = s.st.Timeline[len(s.st.Timeline)-maxTimeline:]
	}
}

// exec runs a billing activity with retries for temporary failures; BillingPermanent errors
// and gateway refusals come back at once.
func (s *subscriber) exec(ctx workflow.Context, summary, activity string, arg, result any) error {
	return workflow.ExecuteActivity(billingActivityCtx(ctx, summary), activity, arg).Get(ctx, result)
}

// localBilling runs a short, idempotent database step as a local activity: it runs in the
// worker that runs the workflow task, without a round trip through the server.
func localBilling(ctx workflow.Context, activity string, arg, result any) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{BillingPermanentError},
		},
	})
	return workflow.ExecuteLocalActivity(ctx, activity, arg).Get(ctx, result)
}

func billingActivityCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{BillingPermanentError},
		},
	})
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

// --- updates ---

func (s *subscriber) validateChangePlan(r PlanChangeRequest) error {
	switch {
	case s.st.Status != SubActive:
		return fmt.Errorf("the plan can change only while the subscription is active (it is %s)", s.st.Status)
	case r.ProductID <= 0:
		return errors.New("choose the product to change to")
	case r.ProductID == s.st.ProductID:
		return errors.New("the subscription is already on this product")
	case s.st.CancelAtPeriodEnd:
		return errors.New("the subscription is cancelling at the end of the period")
	case s.changing:
		return errors.New("a plan change is already in progress")
	case s.charging:
		return errors.New("the renewal is being charged right now; try again in a minute")
	}
	return nil
}

func (s *subscriber) changePlan(ctx workflow.Context, r PlanChangeRequest) (PlanChangeResult, error) {
	s.changing = true
	defer func() { s.changing = false }()
	if open := s.st.OpenInvoiceID; open != 0 && s.confirmPaid(ctx, open) {
		return PlanChangeResult{}, errors.New("the next period is already paid on the current plan; change the plan once it starts")
	}
	s.seq++
	key := fmt.Sprintf("%s:change:%d", s.wfID, s.seq)
	var res PlanChangeResult
	if err := s.exec(ctx, "price plan change", ActivityPlanChange, PlanChangeInput{SubscriptionID: s.st.SubscriptionID,
		ProductID: r.ProductID, At: workflow.Now(ctx), Key: key, WorkflowID: s.wfID}, &res); err != nil {
		return PlanChangeResult{}, fmt.Errorf("price the change: %w", err)
	}
	if res.InvoiceID != 0 {
		out := s.charge(ctx, res.InvoiceID, "change")
		if !out.Paid {
			s.exec(ctx, "cancel change invoice", ActivityCancelInvoice, res.InvoiceID, nil)
			return PlanChangeResult{}, fmt.Errorf("the payment for the change failed (%s); the plan is unchanged", out.Failure)
		}
	}
	price := res.NewPrice
	old := s.st.ProductID
	s.st.ProductID, s.st.Price = r.ProductID, price
	msg := fmt.Sprintf("plan changed from product %d to %d", old, r.ProductID)
	if res.Net.IsNegative() {
		neg, _ := res.Net.Neg()
		msg += fmt.Sprintf("; %s credited for the unused days", neg)
	} else if res.Net.IsPositive() {
		msg += fmt.Sprintf("; %s charged for the remaining days", res.Net)
	}
	s.record(ctx, SubscriptionRecord{ProductID: r.ProductID, Price: price, Kind: "plan-changed", Message: msg, Actor: r.Actor})
	if s.st.ServiceID > 0 {
		s.seq++
		op := ProvisionOp{Kind: OpChangePackage, ProductID: r.ProductID, Reason: "plan change", Actor: r.Actor,
			RequestID: fmt.Sprintf("%s:op:%d", s.wfID, s.seq)}
		if err := s.exec(ctx, "provisioning: change package", ActivityRequestProvisioning,
			ProvisioningRequest{ServiceID: s.st.ServiceID, CustomerID: s.st.CustomerID, Op: op}, nil); err != nil {
			s.note(ctx, "provisioning-refused", "package change refused by provisioning: "+err.Error())
		}
	}
	if open := s.st.OpenInvoiceID; open != 0 {
		s.reissue(ctx, open, key)
	}
	s.preview(ctx, s.st.PeriodEnd, s.periodAfter(s.st.PeriodEnd))
	res.ProductID = r.ProductID
	return res, nil
}

// reissue replaces the open renewal invoice, issued on the old plan, with one on the new plan;
// the main loop follows s.st.OpenInvoiceID to the new invoice.
func (s *subscriber) reissue(ctx workflow.Context, old int64, key string) {
	start := s.st.PeriodEnd
	var inv InvoiceFacts
	err := s.exec(ctx, "reissue renewal invoice", ActivityReissueRenewal, ReissueInput{OldInvoiceID: old, Key: key,
		RenewalInput: RenewalInput{SubscriptionID: s.st.SubscriptionID, PeriodStart: start, PeriodEnd: s.periodAfter(start),
			Now: workflow.Now(ctx), WorkflowID: s.wfID}}, &inv)
	if err != nil {
		s.note(ctx, "reissue-failed", "the renewal invoice stays on the old plan: "+err.Error())
		return
	}
	s.reissued, s.st.OpenInvoiceID, s.wake = &inv, inv.InvoiceID, true
	s.note(ctx, "invoiced", fmt.Sprintf("renewal invoice %s for %s replaces invoice %d after the plan change", inv.Number, inv.Total, old))
	s.exec(ctx, "mail invoice", ActivitySendInvoiceMail, InvoiceMail{InvoiceID: inv.InvoiceID, Kind: InvoiceMailNew}, nil)
}

// current is the renewal invoice the cycle waits on: inv, or its replacement after a plan change.
func (s *subscriber) current(inv InvoiceFacts) InvoiceFacts {
	if s.reissued != nil && s.reissued.InvoiceID == s.st.OpenInvoiceID {
		return *s.reissued
	}
	return inv
}

func (s *subscriber) validateCancel(r CancelRequest) error {
	if s.ended() {
		return fmt.Errorf("the subscription is already %s", s.st.Status)
	}
	if r.Reason == "" {
		return errors.New("give a reason for cancelling")
	}
	if r.AtPeriodEnd && s.st.CancelAtPeriodEnd {
		return errors.New("the subscription already cancels at the end of the period")
	}
	return nil
}

func (s *subscriber) cancel(ctx workflow.Context, r CancelRequest) (SubscriptionState, error) {
	s.st.CancelReason = r.Reason
	if r.AtPeriodEnd && s.st.Status != SubPending {
		s.st.CancelAtPeriodEnd = true
		yes := true
		s.record(ctx, SubscriptionRecord{CancelAtEnd: &yes, CancelReason: r.Reason, Kind: "cancel-requested",
			Message: fmt.Sprintf("will cancel on %s: %s", s.st.PeriodEnd.UTC().Format(time.DateOnly), r.Reason), Actor: r.Actor})
		s.next.None = true
		s.wake = true
		return s.st, nil
	}
	if s.st.OpenInvoiceID != 0 {
		s.exec(ctx, "cancel open invoice", ActivityCancelInvoice, s.st.OpenInvoiceID, nil)
	}
	if s.st.Status == SubPending && s.in.FirstInvoiceID != 0 {
		s.exec(ctx, "cancel order invoice", ActivityCancelInvoice, s.in.FirstInvoiceID, nil)
	}
	s.record(ctx, SubscriptionRecord{Status: SubCancelled, Cancelled: true, CancelReason: r.Reason, Kind: "cancelled",
		Message: "cancelled now: " + r.Reason, Actor: r.Actor})
	if s.st.ServiceID > 0 { // a service never provisioned is closed as abandoned
		s.provision(ctx, OpTerminate, "subscription cancelled: "+r.Reason, r.Actor)
	}
	s.wake = true
	return s.st, nil
}

func (s *subscriber) validateSuspend(a StaffAction) error {
	if s.st.Suspended || (s.st.Status != SubActive && s.st.Status != SubPastDue) {
		return fmt.Errorf("cannot suspend a %s subscription", s.st.Status)
	}
	return nil
}

func (s *subscriber) suspendByStaff(ctx workflow.Context, a StaffAction) (SubscriptionState, error) {
	s.suspend(ctx, a.Actor, nonEmpty(a.Reason, "by staff"))
	return s.st, nil
}

func (s *subscriber) validateUnsuspend(a StaffAction) error {
	if !s.st.Suspended {
		return fmt.Errorf("the subscription is not suspended (it is %s)", s.st.Status)
	}
	return nil
}

func (s *subscriber) unsuspendByStaff(ctx workflow.Context, a StaffAction) (SubscriptionState, error) {
	s.unsuspend(ctx, a.Actor, nonEmpty(a.Reason, "by staff"))
	return s.st, nil
}

func (s *subscriber) validateRetry(a StaffAction) error {
	if s.st.OpenInvoiceID == 0 {
		return errors.New("there is no open invoice to charge")
	}
	if s.retrying {
		return errors.New("a payment attempt is already running")
	}
	return nil
}

func (s *subscriber) retryPayment(ctx workflow.Context, a StaffAction) (PaymentOutcome, error) {
	s.retrying = true
	defer func() { s.retrying = false }()
	s.seq++
	out := s.charge(ctx, s.st.OpenInvoiceID, "manual-"+strconv.Itoa(s.seq))
	return out, nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
