package workflows

// One billing cycle of a subscription: invoice the next period, remind, charge on the due date,
// dun when the charge fails, and renew once the invoice is paid.

import (
	"fmt"
	"slices"
	"time"

	"github.com/ezscale/billing/billing"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

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
		switch paid = out.Paid; {
		case !paid && out.Pending: // a bank debit on its way: dunning waits for it and charges nothing meanwhile
		case !paid && out.NoPaymentMethod:
			mailInvoice(ctx, inv.InvoiceID, InvoiceMailOverdue,
				"The invoice is due today. There is no saved payment method to charge: please pay it in your account.")
		case !paid && out.Failure != "":
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
	s.record(ctx, SubscriptionRecord{Status: billing.SubscriptionPastDue, Kind: "past-due",
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
				_ = s.suspend(ctx, s.recorded, "dunning", fmt.Sprintf("invoice %s overdue", inv.Number))
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
				s.record(ctx, SubscriptionRecord{Status: billing.SubscriptionTerminated, Cancelled: true, CancelReason: "unpaid",
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
		_ = s.unsuspend(ctx, s.recorded, "billing", "invoice "+inv.Number+" paid")
	}
	s.st.PeriodStart, s.st.PeriodEnd = start, end
	s.st.Cycles++
	status := billing.SubscriptionActive
	if s.st.Suspended {
		status = billing.SubscriptionSuspended
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
	s.record(ctx, SubscriptionRecord{Status: billing.SubscriptionCancelled, Cancelled: true, Kind: "cancelled",
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
		if s.st.CancelAtPeriodEnd && s.st.Status != billing.SubscriptionPending {
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
