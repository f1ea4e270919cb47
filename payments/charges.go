package payments

import (
	"context"
	"fmt"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

// Charge is an off-session charge of an invoice's amount due on a saved payment method.
type Charge struct {
	InvoiceID   int64
	Gateway     string
	CustomerRef string
	MethodRef   string
	// Key is the gateway idempotency key and the invoice's charge claim: a retried activity
	// reaches the gateway with the same key and gets the same charge.
	Key string
	By  string // the workflow id charging
}

// ChargeOutcome is where a charge ended. A refused charge is an outcome, not an error.
type ChargeOutcome struct {
	Paid    bool
	Pending bool   // the gateway accepted it and settles later, or another payment is on its way
	Ref     string // the gateway's transaction id when it charged
	Failure string // why not, for the timeline and the customer
	// Err is the gateway's refusal, kept for callers that word it for the customer.
	Err error
}

// ChargeSaved charges an invoice's amount due on a saved payment method. It first takes the
// invoice's charge claim under the invoice lock, re-checking that the invoice is unpaid and
// that no other payment is pending or being charged, so a renewal charge and a manual payment
// (or a second charge) cannot both take the money; a payment that still lands on a paid
// invoice is returned by Record. A temporary gateway failure is an error, so the
// activity retries with the same key.
func (s *Service) ChargeSaved(ctx context.Context, c Charge) (ChargeOutcome, error) {
	claim, err := s.Store.BeginCharge(ctx, c.InvoiceID, c.Key)
	if err != nil {
		return ChargeOutcome{}, err
	}
	switch {
	case claim.Why == "paid":
		return ChargeOutcome{Paid: true}, nil
	case claim.Invoice.PaymentPending():
		return ChargeOutcome{Pending: true, Failure: claim.Why}, nil
	case !claim.Claimed:
		return ChargeOutcome{Failure: claim.Why}, nil
	}
	release := true
	defer func() {
		if release {
			if err := s.Store.EndCharge(context.WithoutCancel(ctx), c.InvoiceID, c.Key); err != nil {
				s.log().Warn("charge claim not released", "invoice", c.InvoiceID, "err", err)
			}
		}
	}()
	gw, err := s.Gateways.Get(c.Gateway)
	if err != nil {
		return ChargeOutcome{Failure: err.Error(), Err: err}, nil
	}
	if err := gateways.CheckAmount(gw, claim.Due); err != nil {
		return ChargeOutcome{Failure: err.Error(), Err: err}, nil
	}
	ch, err := gw.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: c.InvoiceID, CustomerRef: c.CustomerRef,
		PaymentMethodRef: c.MethodRef, Amount: claim.Due, Description: "Invoice " + claim.Invoice.Number, IdempotencyKey: c.Key})
	switch {
	case gateways.Retryable(err):
		release = false // the retry takes the claim again with the same key
		return ChargeOutcome{}, err
	case err != nil:
		return ChargeOutcome{Failure: err.Error(), Err: err}, nil
	case ch.Status == gateways.ChargePending:
		if err := s.Store.SetPendingPayment(ctx, c.InvoiceID, gw.Name(), ch.Ref); err != nil {
			return ChargeOutcome{}, err
		}
		return ChargeOutcome{Pending: true, Ref: ch.Ref, Failure: "the payment is pending at the gateway"}, nil
	}
	res, err := s.Record(ctx, Payment{InvoiceID: c.InvoiceID, Gateway: gw.Name(), Ref: ch.Ref, Amount: ch.Amount, By: c.By})
	if err != nil {
		return ChargeOutcome{}, fmt.Errorf("record charge %s of invoice %d: %w", ch.Ref, c.InvoiceID, err)
	}
	release = res.Status == billing.StatusUnpaid // a settled invoice's claim went with the payment
	return ChargeOutcome{Paid: true, Ref: ch.Ref}, nil
}

// AddCredit grants a customer account credit (staff, goodwill); Key makes it idempotent.
func (s *Service) AddCredit(ctx context.Context, c store.CreditChange) (store.CreditEntry, error) {
	return s.Store.AddCredit(ctx, c)
}

// CancelInvoice withdraws an unpaid invoice (its applied credit comes back and its coupon
// redemptions are released by the store) and closes its open hosted pages. A paid invoice
// gives store.ErrInvoiceState.
func (s *Service) CancelInvoice(ctx context.Context, invoiceID int64) error {
	if err := s.Store.CancelInvoice(ctx, invoiceID); err != nil {
		return err
	}
	s.closeCheckouts(ctx, invoiceID, "", "")
	return nil
}
