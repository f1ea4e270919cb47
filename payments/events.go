package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

// HandleEvent applies a verified gateway event by its kind. A non-empty review means the event
// does not fit our records (amount, currency, unknown invoice): nothing was recorded and staff
// should look at it. ErrRetryLater means it arrived before what it depends on.
func (s *Service) HandleEvent(ctx context.Context, gateway string, ev gateways.Event) (review string, err error) {
	by := "webhook:" + gateway + ":" + ev.ID
	switch ev.Kind {
	case gateways.EventPaymentSucceeded:
		if ev.InvoiceID <= 0 || ev.PaymentRef == "" {
			return "", nil // not a payment of one of our invoices (another integration on the account)
		}
		res, err := s.Record(ctx, Payment{InvoiceID: ev.InvoiceID, Gateway: gateway, Ref: ev.PaymentRef, Amount: ev.Amount,
			By: by, Exact: true, CheckoutRef: ev.CheckoutRef, EventID: ev.ID})
		return res.Review, err
	case gateways.EventPaymentPending:
		if ev.InvoiceID <= 0 || ev.PaymentRef == "" {
			return "", nil
		}
		return "", s.Store.SetPendingPayment(ctx, ev.InvoiceID, gateway, ev.PaymentRef)
	case gateways.EventPaymentFailed:
		if ev.InvoiceID <= 0 || ev.PaymentRef == "" {
			return "", nil
		}
		_, err := s.Store.ClearPendingPayment(ctx, ev.InvoiceID, gateway, ev.PaymentRef)
		return "", err
	case gateways.EventRefund:
		return s.applyRefunds(ctx, gateway, by, ev)
	}
	return "", nil
}

// applyRefunds records each refund an event reports under the gateway's refund id, or its new
// state, so a refund staff made (recorded when it was made) and its events are one refund.
func (s *Service) applyRefunds(ctx context.Context, gateway, by string, ev gateways.Event) (string, error) {
	if ev.PaymentRef == "" || len(ev.Refunds) == 0 {
		return "", nil
	}
	pay, err := s.Store.PaymentByGatewayRef(ctx, gateway, ev.PaymentRef)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("refund of payment %s %s that is not recorded: %w", gateway, ev.PaymentRef, ErrRetryLater)
	}
	if err != nil {
		return "", err
	}
	var reviews []string
	for _, r := range ev.Refunds {
		if r.Ref == "" {
			continue
		}
		why, err := s.recordRefund(ctx, pay, store.Refund{PaymentID: pay.ID, GatewayRefundID: r.Ref, Amount: r.Amount,
			Status: refundStatus(string(r.Status)), Reason: "refunded at " + gateway, CreatedBy: by})
		if err != nil {
			return "", err
		}
		if why != "" {
			reviews = append(reviews, why)
		}
	}
	if len(reviews) > 0 {
		return fmt.Sprint(reviews), nil
	}
	return "", nil
}
