package workflows

// The Updates a subscription accepts while it runs: plan change, cancellation, staff suspension
// and "retry payment now". Each validator refuses a request before it is recorded in history.

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ezscale/billing/billing"
	"go.temporal.io/sdk/workflow"
)

func (s *subscriber) validateChangePlan(r PlanChangeRequest) error {
	switch {
	case s.st.Status != billing.SubscriptionActive:
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
	if err := CheckText("the reason", r.Reason); err != nil {
		return err
	}
	if r.AtPeriodEnd && s.st.CancelAtPeriodEnd {
		return errors.New("the subscription already cancels at the end of the period")
	}
	return nil
}

func (s *subscriber) cancel(ctx workflow.Context, r CancelRequest) (SubscriptionState, error) {
	if r.AtPeriodEnd && s.st.Status != billing.SubscriptionPending {
		return s.cancelAtPeriodEnd(ctx, r)
	}
	if !s.writeFirst {
		return s.cancelNowRecordingLast(ctx, r)
	}
	// The database says cancelled before anything follows from it: a refused write leaves the
	// invoices open and the service running, and the Update answers with the error.
	pending := s.st.Status == billing.SubscriptionPending
	if err := s.tryRecord(ctx, SubscriptionRecord{Status: billing.SubscriptionCancelled, Cancelled: true, CancelReason: r.Reason, Kind: "cancelled",
		Message: "cancelled now: " + r.Reason, Actor: r.Actor}); err != nil {
		return s.st, err
	}
	s.withdrawInvoices(ctx, pending)
	if s.st.ServiceID > 0 { // a service never provisioned is closed as abandoned
		s.provision(ctx, OpTerminate, "subscription cancelled: "+r.Reason, r.Actor)
	}
	s.wake = true
	return s.st, nil
}

func (s *subscriber) cancelAtPeriodEnd(ctx workflow.Context, r CancelRequest) (SubscriptionState, error) {
	if !s.writeFirst {
		s.st.CancelReason, s.st.CancelAtPeriodEnd = r.Reason, true
	}
	yes := true
	if err := s.tryRecord(ctx, SubscriptionRecord{CancelAtEnd: &yes, CancelReason: r.Reason, Kind: "cancel-requested",
		Message: fmt.Sprintf("will cancel on %s: %s", s.st.PeriodEnd.UTC().Format(time.DateOnly), r.Reason), Actor: r.Actor}); err != nil {
		return s.st, err
	}
	s.st.CancelReason, s.st.CancelAtPeriodEnd = r.Reason, true
	s.next.None = true
	s.wake = true
	return s.st, nil
}

// withdrawInvoices cancels the open renewal invoice and, before the first payment, the order's.
func (s *subscriber) withdrawInvoices(ctx workflow.Context, pending bool) {
	if s.st.OpenInvoiceID != 0 {
		s.exec(ctx, "cancel open invoice", ActivityCancelInvoice, s.st.OpenInvoiceID, nil)
	}
	if pending && s.in.FirstInvoiceID != 0 {
		s.exec(ctx, "cancel order invoice", ActivityCancelInvoice, s.in.FirstInvoiceID, nil)
	}
}

// cancelNowRecordingLast is how runs started before versionRecordWritesFirst cancel: invoices
// first, then the record. Kept so their histories replay; a refused write still stops the
// termination.
func (s *subscriber) cancelNowRecordingLast(ctx workflow.Context, r CancelRequest) (SubscriptionState, error) {
	s.st.CancelReason = r.Reason
	s.withdrawInvoices(ctx, s.st.Status == billing.SubscriptionPending)
	if err := s.tryRecord(ctx, SubscriptionRecord{Status: billing.SubscriptionCancelled, Cancelled: true, CancelReason: r.Reason, Kind: "cancelled",
		Message: "cancelled now: " + r.Reason, Actor: r.Actor}); err != nil {
		return s.st, err
	}
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpTerminate, "subscription cancelled: "+r.Reason, r.Actor)
	}
	s.wake = true
	return s.st, nil
}

func (s *subscriber) validateSuspend(a StaffAction) error {
	if err := CheckText("the reason", a.Reason); err != nil {
		return err
	}
	if !s.st.CanSuspend() {
		return fmt.Errorf("cannot suspend a %s subscription", s.st.Status)
	}
	return nil
}

func (s *subscriber) suspendByStaff(ctx workflow.Context, a StaffAction) (SubscriptionState, error) {
	err := s.suspend(ctx, s.tryRecord, a.Actor, nonEmpty(a.Reason, "by staff"))
	return s.st, err
}

func (s *subscriber) validateUnsuspend(a StaffAction) error {
	if err := CheckText("the reason", a.Reason); err != nil {
		return err
	}
	if s.st.Ended() {
		return fmt.Errorf("the subscription is %s", s.st.Status)
	}
	if !s.st.CanUnsuspend() {
		return fmt.Errorf("the subscription is not suspended (it is %s)", s.st.Status)
	}
	return nil
}

func (s *subscriber) unsuspendByStaff(ctx workflow.Context, a StaffAction) (SubscriptionState, error) {
	err := s.unsuspend(ctx, s.tryRecord, a.Actor, nonEmpty(a.Reason, "by staff"))
	return s.st, err
}

func (s *subscriber) validateRetry(a StaffAction) error {
	if !s.st.CanRetryPayment() {
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
