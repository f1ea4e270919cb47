package activities

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// WorkflowStarter is the part of the Temporal client the billing activities use to reach the
// provisioning workflow of a service.
type WorkflowStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// Billing holds the dependencies of the subscription and dunning workflows' activities.
type Billing struct {
	Store     *store.Store
	Pricer    *pricing.Pricer
	Gateways  gateways.Registry
	Mail      sender
	Workflows WorkflowStarter
	TaskQueue string
	BaseURL   string
	Seller    pdf.Party
	// ProvisionStepTimeout is given to provisioning workflows started for new services.
	ProvisionStepTimeout time.Duration
	// Payments records every payment, credit and cancellation the workflows make; built from
	// Store, Gateways and Workflows when nil.
	Payments *payments.Service
}

// payments is the one door for money.
func (b *Billing) payments() *payments.Service {
	if b.Payments == nil {
		sig, _ := b.Workflows.(payments.Workflows) // the Temporal client signals; a test double may not
		b.Payments = &payments.Service{Store: b.Store, Gateways: b.Gateways, Workflows: sig}
	}
	return b.Payments
}

// permanent marks an error that retrying cannot fix.
func permanent(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), workflows.BillingPermanentError, err)
}

// storeErr makes a missing row permanent and leaves other errors retryable.
func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvoiceState) {
		return permanent(err)
	}
	return err
}

// LoadSubscription returns the stored facts a subscription workflow starts from.
func (b *Billing) LoadSubscription(ctx context.Context, id int64) (workflows.SubscriptionFacts, error) {
	sub, err := b.Store.SubscriptionByID(ctx, id)
	if err != nil {
		return workflows.SubscriptionFacts{}, storeErr(err)
	}
	f := workflows.SubscriptionFacts{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, ServiceID: sub.ServiceID.Int64,
		ProductID: sub.ProductID, Cycle: sub.Cycle, Price: sub.Price(), Status: sub.Status,
		PeriodStart: sub.PeriodStart.Time, PeriodEnd: sub.PeriodEnd.Time, AnchorDay: int(sub.AnchorDay.Int64)}
	return f, nil
}

// InvoiceStatus says where an invoice stands.
func (b *Billing) InvoiceStatus(ctx context.Context, id int64) (workflows.InvoiceFacts, error) {
	inv, err := b.Store.Invoice(ctx, id)
	if err != nil {
		return workflows.InvoiceFacts{}, storeErr(err)
	}
	return invoiceFacts(inv), nil
}

func invoiceFacts(inv store.Invoice) workflows.InvoiceFacts {
	f := workflows.InvoiceFacts{InvoiceID: inv.ID, Number: inv.Number, Status: inv.Status, Paid: inv.Paid(),
		Total: inv.Totals.Total, Due: inv.Totals.Due, DueAt: inv.DueAt}
	for _, l := range inv.Lines {
		if l.Kind == billing.LineDiscount && l.CouponCode != "" && !slices.Contains(f.Coupons, l.CouponCode) {
			f.Coupons = append(f.Coupons, l.CouponCode)
		}
	}
	return f
}

// RecordSubscription writes a state change and its timeline entry once per key.
func (b *Billing) RecordSubscription(ctx context.Context, r workflows.SubscriptionRecord) error {
	c := store.SubscriptionChange{ID: r.SubscriptionID, Status: r.Status, PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd,
		AnchorDay: r.AnchorDay, ProductID: r.ProductID, Price: r.Price, CancelAtPeriodEnd: r.CancelAtEnd,
		CancelReason: r.CancelReason, Cancelled: r.Cancelled,
		Event: store.SubscriptionEvent{Kind: r.Kind, Message: r.Message, Actor: r.Actor, WorkflowID: r.WorkflowID,
			IdempotencyKey: sql.NullString{String: r.Key, Valid: r.Key != ""}}}
	if len(r.CountCoupons) > 0 {
		sub, err := b.Store.SubscriptionByID(ctx, r.SubscriptionID)
		if err != nil {
			return storeErr(err)
		}
		c.CouponCycles = map[string]int{}
		for k, v := range sub.CouponCycles {
			c.CouponCycles[k] = v
		}
		for _, code := range r.CountCoupons {
			c.CouponCycles[code]++
		}
	}
	return storeErr(b.Store.UpdateSubscription(ctx, c))
}

// SavePaymentMethod remembers the gateway, gateway customer and default payment method of the
// payment that paid an invoice, for later off-session renewals.
func (b *Billing) SavePaymentMethod(ctx context.Context, in workflows.PaymentMethodInput) error {
	inv, err := b.Store.Invoice(ctx, in.InvoiceID)
	if err != nil {
		return storeErr(err)
	}
	pays, err := b.Store.InvoicePayments(ctx, inv.ID)
	if err != nil {
		return err
	}
	var gw gateways.Gateway
	if len(pays) > 0 {
		gw, _ = b.Gateways.Get(pays[len(pays)-1].Gateway) // "manual" (marked paid by staff) is no gateway
	}
	if gw == nil { // paid by credit or by hand: renewals charge the customer's default method, if any
		sub, err := b.Store.SubscriptionByID(ctx, in.SubscriptionID)
		if err != nil {
			return storeErr(err)
		}
		_, _, err = b.renewalMethod(ctx, sub)
		return err
	}
	u, err := b.Store.UserByID(ctx, inv.CustomerID)
	if err != nil {
		return storeErr(err)
	}
	ref, err := gw.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		return gatewayErr(err)
	}
	methods, err := gw.PaymentMethods(ctx, ref)
	if err != nil {
		return gatewayErr(err)
	}
	method := ""
	for _, m := range methods {
		if m.Default || method == "" {
			method = m.Ref
		}
	}
	return storeErr(b.Store.SetSubscriptionPaymentMethod(ctx, in.SubscriptionID, gw.Name(), ref, method))
}

// gatewayErr keeps temporary gateway failures retryable and makes the rest permanent.
func gatewayErr(err error) error {
	if gateways.Retryable(err) {
		return err
	}
	return permanent(err)
}

// renewalKey is the idempotency key of the invoice for the period starting at start.
func renewalKey(subID int64, start time.Time) string {
	return fmt.Sprintf("%s:renewal:%d", workflows.SubscriptionID(subID), start.UTC().Unix())
}

// CreateRenewal issues the invoice for the next period, once per period.
func (b *Billing) CreateRenewal(ctx context.Context, in workflows.RenewalInput) (workflows.InvoiceFacts, error) {
	return b.issueRenewal(ctx, in, renewalKey(in.SubscriptionID, in.PeriodStart))
}

// ReissueRenewal replaces an unpaid renewal invoice after a plan change: it cancels the old one
// and invoices the period again at the new plan's price. A paid old invoice is a permanent
// error (the period is already paid on the old plan).
func (b *Billing) ReissueRenewal(ctx context.Context, in workflows.ReissueInput) (workflows.InvoiceFacts, error) {
	old, err := b.Store.Invoice(ctx, in.OldInvoiceID)
	if err != nil {
		return workflows.InvoiceFacts{}, storeErr(err)
	}
	if old.Paid() {
		return workflows.InvoiceFacts{}, permanent(fmt.Errorf("invoice %s is already paid", old.Number))
	}
	if err := b.CancelInvoice(ctx, old.ID); err != nil {
		return workflows.InvoiceFacts{}, err
	}
	return b.issueRenewal(ctx, in.RenewalInput, renewalKey(in.SubscriptionID, in.PeriodStart)+":"+in.Key)
}

// issueRenewal prices the period on the subscription's current plan and issues its invoice
// under key, taking the credit it applies.
func (b *Billing) issueRenewal(ctx context.Context, in workflows.RenewalInput, key string) (workflows.InvoiceFacts, error) {
	sub, err := b.Store.SubscriptionByID(ctx, in.SubscriptionID)
	if err != nil {
		return workflows.InvoiceFacts{}, storeErr(err)
	}
	q, err := b.Pricer.Renewal(ctx, sub, in.PeriodStart, in.PeriodEnd, in.Now)
	if err != nil {
		return workflows.InvoiceFacts{}, permanent(err)
	}
	inv, err := b.Store.CreateInvoice(ctx, store.NewInvoice{
		CustomerID: sub.CustomerID, Currency: sub.Currency, Lines: q.Invoice.Lines, ReverseCharge: q.Invoice.ReverseCharge,
		Notes: q.Invoice.Notes, DueAt: in.PeriodStart, IdempotencyKey: key,
		CreatedBy: in.WorkflowID, SubscriptionID: sub.ID, ServiceID: sub.ServiceID.Int64, CreditUsed: q.CreditUsed,
	})
	if err != nil {
		if errors.Is(err, billing.ErrInsufficientCredit) { // credit was spent meanwhile: price again
			return workflows.InvoiceFacts{}, err
		}
		return workflows.InvoiceFacts{}, storeErr(err)
	}
	return invoiceFacts(inv), nil
}

// PreviewRenewal prices the next renewal without saving anything.
func (b *Billing) PreviewRenewal(ctx context.Context, in workflows.RenewalInput) (workflows.NextInvoice, error) {
	sub, err := b.Store.SubscriptionByID(ctx, in.SubscriptionID)
	if err != nil {
		return workflows.NextInvoice{}, storeErr(err)
	}
	q, err := b.Pricer.Renewal(ctx, sub, in.PeriodStart, in.PeriodEnd, in.Now)
	if err != nil {
		return workflows.NextInvoice{}, permanent(err)
	}
	n := workflows.NextInvoice{Due: in.PeriodStart, Total: q.Total()}
	n.Subtotal, _ = q.Invoice.Subtotal()
	n.Discount, _ = q.Invoice.DiscountTotal()
	n.Tax, _ = q.Invoice.TaxTotal()
	return n, nil
}

// SendInvoiceMail mails the customer about an invoice with its PDF attached.
func (b *Billing) SendInvoiceMail(ctx context.Context, m workflows.InvoiceMail) error {
	inv, err := b.Store.Invoice(ctx, m.InvoiceID)
	if err != nil {
		return storeErr(err)
	}
	u, err := b.Store.UserByID(ctx, inv.CustomerID)
	if err != nil {
		return storeErr(err)
	}
	if m.Kind == workflows.InvoiceMailSuspended {
		live, err := b.serviceOnPanel(ctx, inv)
		if err != nil {
			return err
		}
		if !live {
			// Nothing was suspended: the subscription has no service on a panel (never
			// provisioned, or already gone). The overdue mails still tell the customer.
			activity.GetLogger(ctx).Info("No suspension mail: the invoice's service is not on a panel", "InvoiceID", inv.ID)
			return nil
		}
	}
	doc, err := pdf.ForInvoice(ctx, b.Store, inv, b.Seller)
	if err != nil {
		return permanent(err)
	}
	n := mail.InvoiceNotice{Kind: m.Kind, Number: inv.Number, Total: inv.Totals.Total.String(),
		Due: inv.DueAt.UTC().Format(time.DateOnly), Note: m.Note}
	if m.Kind == workflows.InvoiceMailReceipt {
		n.Total = inv.Totals.Paid.String()
	}
	if inv.SubscriptionID.Valid && m.Kind == workflows.InvoiceMailNew {
		if sub, err := b.Store.SubscriptionByID(ctx, inv.SubscriptionID.Int64); err == nil {
			// A gateway that cannot be asked now makes the mail say "pay in your account"; the
			// charge on the due date looks again.
			_, n.AutoCharge, _ = b.renewalMethod(ctx, sub)
		}
	}
	link := b.BaseURL + "/account/invoices/" + strconv.FormatInt(inv.ID, 10)
	if err := b.Mail.Send(ctx, mail.Invoice(u.Email, u.Name, link, n, doc)); err != nil {
		return fmt.Errorf("mail invoice %s (%s): %w", inv.Number, m.Kind, err)
	}
	return nil
}

// serviceOnPanel reports whether the invoice's service (its own, else its subscription's) exists
// on a control panel, so that suspending it means something.
func (b *Billing) serviceOnPanel(ctx context.Context, inv store.Invoice) (bool, error) {
	id := inv.ServiceID.Int64
	if id == 0 && inv.SubscriptionID.Valid {
		sub, err := b.Store.SubscriptionByID(ctx, inv.SubscriptionID.Int64)
		if err != nil {
			return false, storeErr(err)
		}
		id = sub.ServiceID.Int64
	}
	if id == 0 {
		return false, nil
	}
	svc, err := b.Store.ServiceByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeErr(err)
	}
	gone := svc.Status == billing.ServiceTerminated || svc.Status == billing.ServiceAbandoned
	return svc.PanelServiceID != "" && !gone, nil
}

// ChargeInvoice charges an invoice's amount due on the subscription's saved payment method and
// records the payment. A refused charge is an outcome, not an error; a temporary gateway
// failure is an error so the activity retries with the same idempotency key.
func (b *Billing) ChargeInvoice(ctx context.Context, in workflows.ChargeInput) (workflows.PaymentOutcome, error) {
	out := workflows.PaymentOutcome{InvoiceID: in.InvoiceID}
	inv, err := b.Store.Invoice(ctx, in.InvoiceID)
	if err != nil {
		return out, storeErr(err)
	}
	if inv.Paid() {
		out.Paid = true
		return out, nil
	}
	if inv.Status == billing.StatusCancelled {
		out.Failure = "the invoice is cancelled"
		return out, nil
	}
	sub, err := b.Store.SubscriptionByID(ctx, in.SubscriptionID)
	if err != nil {
		return out, storeErr(err)
	}
	method, ok, err := b.renewalMethod(ctx, sub)
	if err != nil {
		return out, err
	}
	if !ok { // nothing to charge: the customer pays the invoice in their account
		out.Failure, out.NoPaymentMethod = "no saved payment method", true
		return out, nil
	}
	res, err := b.payments().ChargeSaved(ctx, payments.Charge{InvoiceID: inv.ID, Gateway: method.Gateway.Name(),
		CustomerRef: method.CustomerRef, MethodRef: method.MethodRef, Key: in.IdempotencyKey, By: in.CreatedBy})
	if err != nil {
		if gateways.Retryable(err) {
			return out, err
		}
		return out, storeErr(err)
	}
	out.Paid, out.PaymentRef, out.Pending = res.Paid, res.Ref, res.Pending
	if !res.Paid {
		out.Failure = res.Failure
		if res.Err != nil {
			out.Failure = chargeFailure(res.Err)
		}
	}
	return out, nil
}

// chargeFailure is a short reason for a refused charge, for the timeline and the customer.
func chargeFailure(err error) string {
	var ge *gateways.Error
	switch {
	case errors.Is(err, gateways.ErrAuthenticationRequired):
		return "your bank asks you to confirm the payment; pay the invoice in your account"
	case errors.As(err, &ge) && ge.DeclineCode != "":
		return "declined (" + ge.DeclineCode + ")"
	case errors.Is(err, gateways.ErrDeclined):
		return "declined by the card issuer"
	}
	return err.Error()
}

// PlanChange prices a plan change; an upgrade gets an invoice for the difference, a downgrade
// credits the unused value to the account. Both are keyed so a retry does it once.
func (b *Billing) PlanChange(ctx context.Context, in workflows.PlanChangeInput) (workflows.PlanChangeResult, error) {
	sub, err := b.Store.SubscriptionByID(ctx, in.SubscriptionID)
	if err != nil {
		return workflows.PlanChangeResult{}, storeErr(err)
	}
	c, err := b.Pricer.PlanChange(ctx, sub, in.ProductID, in.At)
	if err != nil {
		return workflows.PlanChangeResult{}, permanent(err)
	}
	res := workflows.PlanChangeResult{ProductID: in.ProductID, Net: c.Proration.Net, NewPrice: c.NewPrice}
	switch {
	case c.Proration.Net.IsPositive():
		inv, err := b.Store.CreateInvoice(ctx, store.NewInvoice{CustomerID: sub.CustomerID, Currency: sub.Currency,
			Lines: c.Quote.Invoice.Lines, ReverseCharge: c.Quote.Invoice.ReverseCharge, Notes: c.Quote.Invoice.Notes,
			DueAt: in.At, IdempotencyKey: in.Key, CreatedBy: in.WorkflowID, SubscriptionID: sub.ID,
			ServiceID: sub.ServiceID.Int64, CreditUsed: c.Quote.CreditUsed})
		if err != nil {
			return res, storeErr(err)
		}
		res.InvoiceID = inv.ID
		if inv.Paid() { // covered by credit
			res.InvoiceID = 0
		}
	case c.CreditTotal.IsPositive():
		// The unused days as paid for (after discounts), with their tax, on a credit note.
		res.Net, _ = c.CreditTotal.Neg()
		if err := b.payments().CreditDowngrade(ctx, payments.Downgrade{SubscriptionID: sub.ID, CustomerID: sub.CustomerID,
			Currency: sub.Currency, PeriodInvoiceID: c.PeriodInvoiceID, Lines: c.CreditNote, Total: c.CreditTotal,
			Note: fmt.Sprintf("downgrade to %s: %d unused days", c.Product.Name, c.Proration.RemainingDays),
			Key:  in.Key, By: in.WorkflowID}); err != nil {
			return res, storeErr(err)
		}
	}
	return res, nil
}

// CancelInvoice withdraws an unpaid invoice; a paid one is left alone.
func (b *Billing) CancelInvoice(ctx context.Context, id int64) error {
	err := b.payments().CancelInvoice(ctx, id)
	if errors.Is(err, store.ErrInvoiceState) {
		return nil
	}
	return storeErr(err)
}

// RequestProvisioning starts the service's provisioning workflow (create) or sends it an
// operation. RequestID makes a retried request a no-op; a refused one is permanent.
func (b *Billing) RequestProvisioning(ctx context.Context, r workflows.ProvisioningRequest) error {
	if r.Op.Kind == workflows.OpCreate {
		svc, err := b.Store.ServiceByID(ctx, r.ServiceID)
		if err != nil {
			return storeErr(err)
		}
		opts := workflows.ProvisionStartOptions(svc.ID, svc.CustomerID, svc.PanelType, b.TaskQueue)
		_, err = b.Workflows.ExecuteWorkflow(ctx, opts, workflows.Provision, workflows.ProvisionInput{
			ServiceID: svc.ID, Queue: []workflows.ProvisionOp{r.Op}, StepTimeout: b.ProvisionStepTimeout})
		if err != nil {
			return fmt.Errorf("start %s: %w", workflows.ProvisionID(svc.ID), err)
		}
		return nil
	}
	h, err := b.Workflows.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ProvisionID(r.ServiceID), UpdateName: workflows.UpdateProvisionRequest,
		Args: []any{r.Op}, WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return b.noProvisioning(ctx, r, err)
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", r.Op.Kind, workflows.ProvisionID(r.ServiceID), err)
	}
	if err := h.Get(ctx, nil); err != nil {
		return permanent(fmt.Errorf("%s on %s: %w", r.Op.Kind, workflows.ProvisionID(r.ServiceID), err))
	}
	return nil
}

// noProvisioning answers an operation on a service whose provisioning workflow does not run. A
// service never provisioned (its order was cancelled before payment) is closed as abandoned when
// asked to terminate; otherwise the provisioning has ended and the request is refused.
func (b *Billing) noProvisioning(ctx context.Context, r workflows.ProvisioningRequest, cause error) error {
	svc, err := b.Store.ServiceByID(ctx, r.ServiceID)
	if err != nil {
		return storeErr(err)
	}
	if r.Op.Kind == workflows.OpTerminate && svc.Status == billing.ServicePending {
		return storeErr(b.Store.SetServiceStatus(ctx, svc.ID, billing.ServiceAbandoned, "", store.ServiceEvent{
			Kind: "abandoned", Message: "closed before provisioning: " + r.Op.Reason, Actor: r.Op.Actor}))
	}
	return permanent(fmt.Errorf("%s on %s: %w", r.Op.Kind, workflows.ProvisionID(r.ServiceID), cause))
}

// DunningPlan returns the customer's overrides of the suspension and termination days.
func (b *Billing) DunningPlan(ctx context.Context, customerID int64) (workflows.DunningSchedule, error) {
	p, err := b.Store.BillingProfileOf(ctx, customerID)
	if err != nil {
		return workflows.DunningSchedule{}, storeErr(err)
	}
	return workflows.DunningSchedule{SuspendDays: int(p.DunningSuspendDays.Int64), TerminateDays: int(p.DunningTerminateDays.Int64)}, nil
}
