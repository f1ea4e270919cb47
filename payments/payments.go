// Package payments is the one door money goes through. It records payments, refunds, account
// credit and cancellations through the store, checks each against what the invoice has due,
// returns overpayments, closes hosted pages an invoice no longer needs, and tells the workflows
// that own an invoice. Webhooks, the checkout return, staff and bulk actions and renewal charges
// all call it; no other package writes money or signals a workflow about it.
package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// Workflows is the part of the Temporal client payments uses: it signals an invoice's
// subscription and dunning workflows once the invoice is paid.
type Workflows interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Overpayment says what happens to money that arrives for an invoice with nothing due.
type Overpayment string

// The overpayment policies. Either way staff get an alert.
const (
	OverpaymentRefund Overpayment = "refund" // refunded through the gateway that took it (the default)
	OverpaymentCredit Overpayment = "credit" // kept as the customer's account credit
)

// ParseOverpayment reads the OVERPAYMENT setting; "" is OverpaymentRefund.
func ParseOverpayment(s string) (Overpayment, error) {
	switch Overpayment(s) {
	case "", OverpaymentRefund:
		return OverpaymentRefund, nil
	case OverpaymentCredit:
		return OverpaymentCredit, nil
	}
	return "", fmt.Errorf("overpayment policy %q: want refund or credit", s)
}

// ErrRetryLater means an event cannot be applied yet (a refund of a payment not recorded
// because events arrived out of order); the gateway's redelivery will apply it.
var ErrRetryLater = errors.New("retry later")

// Service records money. Its zero value is not usable: Store is required; Workflows may be nil
// where nothing runs (one-shot commands), Gateways where no gateway is configured.
type Service struct {
	Store       *store.Store
	Gateways    gateways.Registry
	Workflows   Workflows
	Log         *slog.Logger
	Overpayment Overpayment
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Payment is money received for an invoice.
type Payment struct {
	InvoiceID int64
	Gateway   string // registry name, or "manual" for money staff received outside a gateway
	Ref       string // the gateway's transaction id; with Gateway, the payment's identity
	Amount    billing.Money
	// By is who records it, kept on the row: "webhook:stripe:evt_1", "checkout:<token>",
	// "admin:3", or the workflow id of a renewal charge (that workflow is not signalled: it
	// learns the outcome from its own activity).
	By string
	// Exact is set for gateway reports (webhooks, the checkout return): on an invoice still
	// due the payment must be exactly the amount due, else it is left for review.
	Exact bool
	// Manual is set for money staff record by hand: refused while a saved-method charge of the
	// invoice is in flight (store.ErrChargeInFlight), so the two cannot both take the money.
	Manual bool
	// CheckoutRef is the hosted page the payment came from; the invoice's other open pages
	// are closed once it is paid.
	CheckoutRef string
	// EventID is the gateway event that reported it, passed on to the workflows' signal.
	EventID string
}

// Result is where a payment left the invoice.
type Result struct {
	store.PaymentResult
	// Review, when set, says why the payment does not fit our records (unknown invoice, wrong
	// currency or amount): nothing was recorded and staff should look at it.
	Review string
	// Returned says how an overpayment went back: "refunded" or "credited" ("" when none).
	Returned Overpayment
}

// Record records a payment once per (gateway, ref). On an invoice with nothing due
// (already paid, or cancelled) the money is still recorded, then returned by refund or as
// credit according to the policy, and staff are alerted; it is never kept silently. Once the
// invoice is paid its subscription and dunning workflows are signalled and its other open
// hosted pages closed. Every step is idempotent: calling it again for the same payment
// finishes what an interrupted call left undone and changes nothing twice.
func (s *Service) Record(ctx context.Context, p Payment) (Result, error) {
	res, err := s.Store.RecordPayment(ctx, store.Payment{InvoiceID: p.InvoiceID, Gateway: p.Gateway, GatewayTxnID: p.Ref,
		Amount: p.Amount, CreatedBy: p.By, ExactDue: p.Exact, RefuseWhileCharging: p.Manual})
	if errors.Is(err, store.ErrNotFound) && p.Exact {
		return Result{Review: fmt.Sprintf("invoice %d does not exist", p.InvoiceID)}, nil
	}
	if why, ok := refusal(err); ok && p.Exact {
		return Result{Review: why}, nil
	}
	if err != nil {
		return Result{}, err
	}
	out := Result{PaymentResult: res}
	if res.Overpaid.IsPositive() {
		if out.Returned, err = s.returnOverpayment(ctx, p, res); err != nil {
			return out, err
		}
	}
	if res.Status == billing.StatusPaid {
		if res.OpenCheckouts {
			s.closeCheckouts(ctx, p.InvoiceID, p.Gateway, p.CheckoutRef)
		}
		if res.SubscriptionID != 0 {
			msg := workflows.InvoicePaid{InvoiceID: p.InvoiceID, Gateway: p.Gateway, PaymentRef: p.Ref, EventID: p.EventID}
			if err := s.signalPaid(ctx, res.SubscriptionID, p.By, msg); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// returnOverpayment gives back the part of a payment the invoice did not need, under keys
// derived from the payment so a repeated call returns it once, and alerts staff.
func (s *Service) returnOverpayment(ctx context.Context, p Payment, res store.PaymentResult) (Overpayment, error) {
	key := fmt.Sprintf("overpayment:%d", res.Payment.ID)
	how := s.Overpayment
	if how == "" {
		how = OverpaymentRefund
	}
	gw, gwErr := s.Gateways.Get(p.Gateway)
	if gwErr != nil {
		how = OverpaymentCredit // money taken outside a configured gateway cannot be refunded from here
	}
	what := fmt.Sprintf("%s of %s %s", res.Overpaid, p.Gateway, p.Ref)
	if how == OverpaymentRefund {
		ref, err := gw.Refund(ctx, gateways.RefundRequest{InvoiceID: p.InvoiceID, ChargeRef: p.Ref, Amount: res.Overpaid,
			Reason: "overpayment: invoice " + res.InvoiceNumber + " had nothing due", IdempotencyKey: key})
		switch {
		case gateways.Retryable(err):
			return "", fmt.Errorf("refund overpayment %s: %w", what, err)
		case err != nil: // the gateway will not refund it: keep it for the customer as credit
			s.log().Warn("overpayment refund refused; crediting instead", "invoice", p.InvoiceID, "payment", res.Payment.ID, "err", err)
			how = OverpaymentCredit
		default:
			_, err := s.Store.RecordRefund(ctx, store.Refund{PaymentID: res.Payment.ID, GatewayRefundID: ref.Ref, Amount: ref.Amount,
				Status: refundStatus(ref.Status), Reason: "overpayment", CreatedBy: p.By})
			if err != nil {
				return "", fmt.Errorf("record overpayment refund %s: %w", ref.Ref, err)
			}
		}
	}
	if how == OverpaymentCredit {
		_, err := s.Store.AddCredit(ctx, store.CreditChange{CustomerID: res.CustomerID, Amount: res.Overpaid, InvoiceID: p.InvoiceID,
			Note: "overpayment of invoice " + res.InvoiceNumber + " (" + p.Gateway + " " + p.Ref + ")", CreatedBy: p.By, IdempotencyKey: key})
		if err != nil {
			return "", fmt.Errorf("credit overpayment %s: %w", what, err)
		}
	}
	verb := "refunded to the payer"
	if how == OverpaymentCredit {
		verb = "added to the customer's account credit"
	}
	err := s.Store.RaiseMoneyAlert(ctx, store.NewMoneyAlert{Kind: store.AlertOverpayment, CustomerID: res.CustomerID,
		InvoiceID: p.InvoiceID, PaymentID: res.Payment.ID, DedupeKey: key,
		Message: fmt.Sprintf("Invoice %s had nothing due when %s arrived; %s was %s.", res.InvoiceNumber, p.Gateway+" "+p.Ref, res.Overpaid, verb)})
	if err != nil {
		return "", err
	}
	return how, nil
}

// closeCheckouts closes the invoice's open hosted pages other than the one that paid, so a
// page left open in a browser tab cannot take a second payment. A failure is logged: the
// overpayment path returns anything such a page still takes.
func (s *Service) closeCheckouts(ctx context.Context, invoiceID int64, gateway, paidRef string) {
	open, err := s.Store.OpenCheckouts(ctx, invoiceID)
	if err != nil {
		s.log().Warn("open checkouts not listed", "invoice", invoiceID, "err", err)
		return
	}
	for _, c := range open {
		if c.Gateway != gateway || c.Ref != paidRef {
			gw, err := s.Gateways.Get(c.Gateway)
			if exp, ok := gw.(gateways.CheckoutExpirer); err == nil && ok {
				if err := exp.ExpireCheckout(ctx, c.Ref); err != nil {
					s.log().Warn("checkout not expired", "invoice", invoiceID, "gateway", c.Gateway, "checkout", c.Ref, "err", err)
					continue
				}
			}
		}
		if err := s.Store.CloseCheckout(ctx, c.ID); err != nil {
			s.log().Warn("checkout not closed", "invoice", invoiceID, "checkout", c.Ref, "err", err)
		}
	}
}

// signalPaid tells an invoice's subscription and dunning workflows it is paid, unless the
// subscription made the payment itself; the dunning that made one tells the subscription. A
// workflow that is not running has nothing to learn.
func (s *Service) signalPaid(ctx context.Context, subscriptionID int64, by string, msg workflows.InvoicePaid) error {
	if s.Workflows == nil || by == workflows.SubscriptionID(subscriptionID) {
		// The subscription charged it itself: it learns from its activity's result and ends
		// its own dunning child.
		return nil
	}
	for _, id := range []string{workflows.SubscriptionID(subscriptionID), workflows.DunningID(msg.InvoiceID)} {
		if id == by {
			continue
		}
		err := s.Workflows.SignalWorkflow(ctx, id, "", workflows.SignalInvoicePaid, msg)
		if _, notRunning := errors.AsType[*serviceerror.NotFound](err); notRunning {
			continue
		}
		if err != nil {
			return fmt.Errorf("signal %s that invoice %d is paid: %w", id, msg.InvoiceID, err)
		}
	}
	return nil
}

// refusal tells the store's refusals of money that does not fit the invoice (for review) from
// failures worth retrying.
func refusal(err error) (string, bool) {
	for _, r := range []error{billing.ErrCurrencyMismatch, billing.ErrRefundExceedsPaid, billing.ErrInvalidAmount,
		store.ErrInvoiceState, store.ErrConflict, store.ErrNotAmountDue} {
		if errors.Is(err, r) {
			return err.Error(), true
		}
	}
	return "", false
}

// refundStatus maps a gateway's refund state to the ledger's; anything unknown counts as
// pending until the gateway says more.
func refundStatus(st string) billing.RefundStatus {
	switch strings.ToLower(st) {
	case "succeeded", "completed", "":
		return billing.RefundSucceeded
	case "failed", "canceled", "cancelled":
		return billing.RefundFailed
	}
	return billing.RefundPending
}
