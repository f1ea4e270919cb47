package paypal

import (
	"context"
	"fmt"
	"strconv"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/gateways"
)

// Refund refunds a capture (RefundRequest.ChargeRef is Charge.Ref from Capture): all that is
// left of it when Amount is zero, otherwise Amount. Refunding more than is left fails with
// gateways.ErrInvalidRequest (REFUND_AMOUNT_EXCEEDED); a refund of the same capture still in
// progress with gateways.ErrTemporary. Status is PayPal's: COMPLETED, PENDING, FAILED, CANCELLED.
//
// Refund.Amount is PayPal's answer, or the requested amount when the answer has none (then
// zero for a full refund): the money has moved, so a missing amount is no reason to fail.
//
// Reason is not sent: PayPal refunds have no private metadata in plutov's request, and
// note_to_payer would show our internal reason to the buyer.
func (g *Gateway) Refund(ctx context.Context, r gateways.RefundRequest) (gateways.Refund, error) {
	op := fmt.Sprintf("refund capture %s for invoice %d", r.ChargeRef, r.InvoiceID)
	if r.ChargeRef == "" || r.IdempotencyKey == "" {
		return gateways.Refund{}, invalid(op + ": capture and idempotency key are required")
	}
	req := paypal.RefundCaptureRequest{}
	if r.InvoiceID > 0 {
		req.InvoiceID = strconv.FormatInt(r.InvoiceID, 10)
	}
	if !r.Amount.IsZero() {
		v, err := value(r.Amount)
		if err != nil {
			return gateways.Refund{}, amountError(op, err)
		}
		req.Amount = &paypal.Money{Currency: r.Amount.Currency, Value: v}
	}
	res, err := g.client.RefundCaptureWithPaypalRequestId(ctx, r.ChargeRef, req, r.IdempotencyKey)
	if err != nil {
		return gateways.Refund{}, mapError(op, err)
	}
	out := gateways.Refund{Ref: res.ID, Status: res.Status, Amount: r.Amount}
	if amount, err := unitMoney(res.Amount); err == nil {
		out.Amount = amount // what PayPal refunded, which a zero (full) request leaves us to learn
	}
	return out, nil
}
