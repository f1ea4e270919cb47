package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"
)

// dunningStep is one dated action of a dunning schedule.
type dunningStep struct {
	at      time.Time
	kind    string // "retry", "suspend", "terminate"
	attempt int
}

// Dunning chases one unpaid invoice from its due date: it charges the saved payment method again
// on the retry days and mails the customer after each failure, asks the subscription to suspend
// the service on the suspension day, and reports termination on the termination day. It ends at
// once when the invoice is paid (an InvoicePaid signal, checked against the database, or one of
// its own charges). Per-customer overrides of the suspension and termination days come from the
// customer's billing profile.
func Dunning(ctx workflow.Context, in DunningInput) (DunningResult, error) {
	t := in.Timings.withDefaults()
	var plan DunningSchedule
	if err := workflow.ExecuteActivity(billingActivityCtx(ctx, "load dunning plan"), ActivityDunningPlan, in.CustomerID).Get(ctx, &plan); err == nil {
		if plan.SuspendDays > 0 {
			t.Dunning.SuspendDays = plan.SuspendDays
		}
		if plan.TerminateDays > 0 {
			t.Dunning.TerminateDays = plan.TerminateDays
		}
	}
	paid := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		ch := workflow.GetSignalChannel(gctx, SignalInvoicePaid)
		for {
			var p InvoicePaid
			ch.Receive(gctx, &p)
			if p.InvoiceID == in.InvoiceID {
				paid = true
			}
		}
	})
	steps := dunningSteps(in.DueAt, t)
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	for _, step := range steps {
		if d := step.at.Sub(workflow.Now(ctx)); d > 0 {
			_, _ = workflow.AwaitWithTimeout(ctx, d, func() bool { return paid })
		}
		if paid && invoicePaid(ctx, in.InvoiceID) {
			return DunningResult{Paid: true}, nil
		}
		paid = false // a signal the database does not confirm (e.g. a partial payment)
		switch step.kind {
		case "retry":
			var out PaymentOutcome
			key := fmt.Sprintf("%s:invoice:%d:attempt:%d", DunningID(in.InvoiceID), in.InvoiceID, step.attempt)
			err := workflow.ExecuteActivity(billingActivityCtx(ctx, fmt.Sprintf("retry %d", step.attempt)), ActivityChargeInvoice,
				ChargeInput{InvoiceID: in.InvoiceID, SubscriptionID: in.SubscriptionID, IdempotencyKey: key,
					CreatedBy: DunningID(in.InvoiceID)}).Get(ctx, &out)
			if err == nil && out.Paid {
				return DunningResult{Paid: true}, nil
			}
			if err == nil && out.Pending { // a payment is on its way: no charge was made, nothing failed
				continue
			}
			if err != nil {
				out.Failure = err.Error()
			}
			note := fmt.Sprintf("Payment attempt %d failed: %s.", step.attempt, out.Failure)
			if out.NoPaymentMethod {
				note = "The invoice is still unpaid and there is no saved payment method to charge: please pay it in your account."
			}
			if step.at.Before(in.DueAt.Add(t.Days(t.Dunning.SuspendDays))) {
				note += fmt.Sprintf(" The service will be suspended on %s unless the invoice is paid.",
					in.DueAt.Add(t.Days(t.Dunning.SuspendDays)).UTC().Format(time.DateOnly))
			}
			mailInvoice(ctx, in.InvoiceID, InvoiceMailOverdue, note)
		case "suspend":
			if parent != nil {
				_ = workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalDunningStep,
					DunningStep{InvoiceID: in.InvoiceID, Kind: DunningSuspend}).Get(ctx, nil)
			}
			mailInvoice(ctx, in.InvoiceID, InvoiceMailSuspended, fmt.Sprintf("The service is suspended; it will be terminated on %s.",
				in.DueAt.Add(t.Days(t.Dunning.TerminateDays)).UTC().Format(time.DateOnly)))
		case "terminate":
			return DunningResult{Terminated: true}, nil
		}
	}
	return DunningResult{Terminated: true}, nil
}

// dunningSteps orders the schedule by time; on the same day a retry comes before the suspension.
func dunningSteps(due time.Time, t Timings) []dunningStep {
	var steps []dunningStep
	for i, d := range t.Dunning.RetryDays {
		if d < t.Dunning.TerminateDays {
			steps = append(steps, dunningStep{at: due.Add(t.Days(d)), kind: "retry", attempt: i + 1})
		}
	}
	if t.Dunning.SuspendDays < t.Dunning.TerminateDays {
		steps = append(steps, dunningStep{at: due.Add(t.Days(t.Dunning.SuspendDays)), kind: "suspend"})
	}
	steps = append(steps, dunningStep{at: due.Add(t.Days(t.Dunning.TerminateDays)), kind: "terminate"})
	order := map[string]int{"retry": 0, "suspend": 1, "terminate": 2}
	slices.SortStableFunc(steps, func(a, b dunningStep) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return order[a.kind] - order[b.kind]
	})
	return steps
}

func invoicePaid(ctx workflow.Context, invoiceID int64) bool {
	var f InvoiceFacts
	if err := localBilling(ctx, ActivityInvoiceStatus, invoiceID, &f); err != nil {
		return false
	}
	return f.Paid
}

func mailInvoice(ctx workflow.Context, invoiceID int64, kind, note string) {
	_ = workflow.ExecuteActivity(billingActivityCtx(ctx, "mail "+kind), ActivitySendInvoiceMail,
		InvoiceMail{InvoiceID: invoiceID, Kind: kind, Note: note}).Get(ctx, nil)
}
