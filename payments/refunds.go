package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

// The refund refusals a form shows.
var (
	// ErrNothingToRefund: every payment of the invoice is refunded already.
	ErrNothingToRefund = errors.New("nothing is left to refund on this invoice")
	// ErrGatewayMissing: the payment's gateway is not configured here.
	ErrGatewayMissing = errors.New("the payment's gateway is not configured here")
	// ErrGatewayRefused: the gateway refused the refund; the wrapped error says why.
	ErrGatewayRefused = errors.New("the gateway refused the refund")
)

// RefundRequest is staff returning money for an invoice.
type RefundRequest struct {
	InvoiceID int64
	Amount    billing.Money // zero: everything left of the latest refundable payment
	Reason    string
	// Key makes a resubmitted form the same refund: it becomes the gateway's idempotency key.
	Key string
	By  string // "admin:3"
}

// RefundResult is a refund made and recorded.
type RefundResult struct {
	store.RefundResult
	Payment store.Payment
}

// Refund returns money for an invoice's latest refundable payment through the gateway that
// took it (a manual payment gets a manual refund) and records it under the gateway's refund id
// in its real state (a pending refund stays pending until the gateway reports it).
func (s *Service) Refund(ctx context.Context, r RefundRequest) (RefundResult, error) {
	pays, err := s.Store.InvoicePayments(ctx, r.InvoiceID)
	if err != nil {
		return RefundResult{}, err
	}
	refunds, err := s.Store.InvoiceRefunds(ctx, r.InvoiceID)
	if err != nil {
		return RefundResult{}, err
	}
	pay, left, ok := RefundablePayment(pays, refunds)
	if !ok {
		return RefundResult{}, ErrNothingToRefund
	}
	amount := r.Amount
	if amount.IsZero() {
		amount = left
	}
	out := RefundResult{Payment: pay}
	ref, status := "manual-refund-"+r.Key, billing.RefundSucceeded
	gw, gwErr := s.Gateways.Get(pay.Gateway)
	switch {
	case gwErr == nil:
		// The bound (what is left of the payment) is checked by the gateway and by the store:
		// a resubmitted form must reach the gateway with its key and get its first answer.
		res, err := gw.Refund(ctx, gateways.RefundRequest{InvoiceID: r.InvoiceID, ChargeRef: pay.GatewayTxnID, Amount: amount,
			Reason: r.Reason, IdempotencyKey: fmt.Sprintf("refund:invoice:%d:%s", r.InvoiceID, r.Key)})
		switch {
		case errors.Is(err, gateways.ErrInvalidRequest) && amount.Amount > left.Amount:
			return out, fmt.Errorf("refund %s with %s left: %w", amount, left, billing.ErrRefundExceedsPaid)
		case err != nil:
			return out, fmt.Errorf("%w: %w", ErrGatewayRefused, err)
		}
		ref, amount, status = res.Ref, res.Amount, refundStatus(res.Status)
	case pay.Gateway != "manual":
		return out, fmt.Errorf("%s: %w", pay.Gateway, ErrGatewayMissing)
	}
	res, err := s.Store.RecordRefund(ctx, store.Refund{PaymentID: pay.ID, GatewayRefundID: ref, Amount: amount, Status: status,
		Reason: r.Reason, CreatedBy: r.By})
	if err != nil {
		return out, err
	}
	out.RefundResult = res
	return out, s.alertFailedRefund(ctx, pay, res)
}

// recordRefund records a refund or its new state and alerts staff when it failed. A refund that
// does not fit the payment is a review reason, not an error.
func (s *Service) recordRefund(ctx context.Context, pay store.Payment, r store.Refund) (string, error) {
	res, err := s.Store.RecordRefund(ctx, r)
	if why, ok := refusal(err); ok {
		return why, nil
	}
	if err != nil {
		return "", err
	}
	return "", s.alertFailedRefund(ctx, pay, res)
}

// alertFailedRefund tells staff, once, that a refund failed: the customer is owed the money again.
func (s *Service) alertFailedRefund(ctx context.Context, pay store.Payment, res store.RefundResult) error {
	if res.Refund.Status != billing.RefundFailed || res.Previous == billing.RefundFailed {
		return nil
	}
	return s.Store.RaiseMoneyAlert(ctx, store.NewMoneyAlert{Kind: store.AlertRefundFailed, CustomerID: res.CustomerID,
		InvoiceID: res.InvoiceID, PaymentID: pay.ID, DedupeKey: "refund-failed:" + pay.Gateway + ":" + res.Refund.GatewayRefundID,
		Message: fmt.Sprintf("Refund %s of %s (%s %s) failed at the gateway: the customer did not get the money; refund it again or as credit.",
			res.Refund.GatewayRefundID, res.Refund.Amount, pay.Gateway, pay.GatewayTxnID)})
}

// RefundablePayment is the latest payment with something left to refund, and how much; pending
// refunds count, failed ones do not.
func RefundablePayment(pays []store.Payment, refunds []store.Refund) (store.Payment, billing.Money, bool) {
	refunded := map[int64]int64{}
	for _, rf := range refunds {
		if rf.Counts() {
			refunded[rf.PaymentID] += rf.Amount.Amount
		}
	}
	for i := len(pays) - 1; i >= 0; i-- {
		if left := pays[i].Amount.Amount - refunded[pays[i].ID]; left > 0 {
			return pays[i], billing.Money{Amount: left, Currency: pays[i].Amount.Currency}, true
		}
	}
	return store.Payment{}, billing.Money{}, false
}
