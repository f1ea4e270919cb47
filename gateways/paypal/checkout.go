package paypal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/gateways"
)

// requestIDHeader makes a POST idempotent: PayPal answers a repeat with the first result.
const requestIDHeader = "PayPal-Request-Id"

// maxDescription is PayPal's limit on purchase_units[].description.
const maxDescription = 127

// StartCheckout creates an Orders v2 order (intent CAPTURE) for one invoice and returns its id
// as Ref and its approve link as URL. Our invoice id goes in custom_id and invoice_id (and
// reference_id "inv-<id>"), which PayPal copies onto the capture, so capture webhooks carry
// it. PayPal refuses a second capture for an invoice_id it has already been paid for
// (DUPLICATE_INVOICE_ID), a guard against paying one invoice twice.
//
// The buyer comes back to SuccessURL with ?token=<order id> after approving; the order is not
// paid until Capture.
func (g *Gateway) StartCheckout(ctx context.Context, r gateways.CheckoutRequest) (gateways.Checkout, error) {
	op := fmt.Sprintf("start checkout for invoice %d", r.InvoiceID)
	amount, err := value(r.Amount)
	if err != nil {
		return gateways.Checkout{}, amountError(op, err)
	}
	if r.InvoiceID <= 0 || r.SuccessURL == "" || r.CancelURL == "" {
		return gateways.Checkout{}, invalid(op + ": invoice id, success and cancel URLs are required")
	}
	invoiceID := strconv.FormatInt(r.InvoiceID, 10)
	description := r.Description
	if description == "" {
		description = "Invoice " + invoiceID
	}
	if runes := []rune(description); len(runes) > maxDescription {
		description = string(runes[:maxDescription])
	}
	units := []paypal.PurchaseUnitRequest{{
		ReferenceID: "inv-" + invoiceID,
		CustomID:    invoiceID,
		InvoiceID:   invoiceID,
		Description: description,
		Amount:      &paypal.PurchaseUnitAmount{Currency: r.Amount.Currency, Value: amount},
	}}
	appCtx := &paypal.ApplicationContext{
		ReturnURL:          r.SuccessURL,
		CancelURL:          r.CancelURL,
		ShippingPreference: paypal.ShippingPreferenceNoShipping, // hosting has nothing to ship
		UserAction:         paypal.UserActionPayNow,
	}
	order, err := g.client.CreateOrderWithPaypalRequestID(ctx, paypal.OrderIntentCapture, units, nil, appCtx, r.IdempotencyKey)
	if err != nil {
		return gateways.Checkout{}, mapError(op, err)
	}
	link := approveLink(order.Links)
	if order.ID == "" || link == "" {
		return gateways.Checkout{}, &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, PaymentRef: order.ID,
			Message: fmt.Sprintf("%s: order %q (status %s) has no approve link", op, order.ID, order.Status)}
	}
	return gateways.Checkout{Ref: order.ID, URL: link}, nil
}

// approveLink is where the buyer approves the order: rel "approve", or "payer-action" when
// the order was created with a payment_source.
func approveLink(links []paypal.Link) string {
	for _, rel := range []string{"approve", "payer-action"} {
		for _, l := range links {
			if l.Rel == rel && l.Href != "" {
				return l.Href
			}
		}
	}
	return ""
}

// Capture takes the money of an order the buyer approved. The same idempotency key answers a
// retry with the first capture instead of failing or capturing twice. Charge.Ref is the
// capture id, which Refund takes and PAYMENT.CAPTURE.* webhooks report as PaymentRef.
//
// An order the buyer has not approved fails with gateways.ErrAuthenticationRequired (they must
// come back to PayPal), a refused funding source with gateways.ErrDeclined; a capture PayPal
// reports PENDING is ChargePending, settled later by PAYMENT.CAPTURE.COMPLETED or DENIED.
func (g *Gateway) Capture(ctx context.Context, orderID, idempotencyKey string) (gateways.Charge, error) {
	op := "capture order " + orderID
	if orderID == "" || idempotencyKey == "" {
		return gateways.Charge{}, invalid(op + ": order id and idempotency key are required")
	}
	res, err := g.captureOrder(ctx, orderID, idempotencyKey)
	if err != nil {
		return gateways.Charge{}, mapError(op, err)
	}
	capture, ok := firstCapture(capturedPayments(res.PurchaseUnits))
	if !ok {
		// Whether the minimal capture response lists the captures is unconfirmed (docs/gateways.md,
		// "Capturing a PayPal order"); the order itself always does once it is captured.
		order, err := g.client.GetOrder(ctx, orderID)
		if err != nil {
			return gateways.Charge{}, mapError(op+": read order after capture", err)
		}
		if capture, ok = firstCapture(orderPayments(order.PurchaseUnits)); !ok {
			if order.Status == "PAYER_ACTION_REQUIRED" {
				return gateways.Charge{}, &gateways.Error{Gateway: Name, Kind: gateways.ErrAuthenticationRequired,
					Code: order.Status, Message: op + ": the buyer has to act on PayPal first", PaymentRef: orderID}
			}
			return gateways.Charge{}, &gateways.Error{Gateway: Name, Kind: gateways.ErrTemporary,
				Message: fmt.Sprintf("%s: order status %s lists no capture yet", op, order.Status), PaymentRef: orderID}
		}
	}
	return chargeOf(op, capture)
}

// captureOrder posts the capture. It does not use plutov's CaptureOrderWithPaypalRequestId,
// which calls SetReturnRepresentation on every call: an unlocked write to the shared client
// that races with concurrent requests and turns on Prefer: return=representation for all of
// them. The request body is the one plutov sends ({"payment_source":null}).
func (g *Gateway) captureOrder(ctx context.Context, orderID, requestID string) (*paypal.CaptureOrderResponse, error) {
	endpoint := g.apiBase + "/v2/checkout/orders/" + url.PathEscape(orderID) + "/capture"
	req, err := g.client.NewRequest(ctx, http.MethodPost, endpoint, paypal.CaptureOrderRequest{})
	if err != nil {
		return nil, err
	}
	req.Header.Set(requestIDHeader, requestID)
	req.Header.Set("Prefer", "return=representation") // ask for the captures in the answer
	res := &paypal.CaptureOrderResponse{}
	if err := g.client.SendWithAuth(req, res); err != nil {
		return nil, err
	}
	return res, nil
}

func capturedPayments(units []paypal.CapturedPurchaseUnit) []*paypal.CapturedPayments {
	var out []*paypal.CapturedPayments
	for _, u := range units {
		out = append(out, u.Payments)
	}
	return out
}

func orderPayments(units []paypal.PurchaseUnit) []*paypal.CapturedPayments {
	var out []*paypal.CapturedPayments
	for _, u := range units {
		out = append(out, u.Payments)
	}
	return out
}

// firstCapture finds the capture of our single purchase unit.
func firstCapture(payments []*paypal.CapturedPayments) (paypal.CaptureAmount, bool) {
	for _, p := range payments {
		if p != nil && len(p.Captures) > 0 && p.Captures[0].ID != "" {
			return p.Captures[0], true
		}
	}
	return paypal.CaptureAmount{}, false
}

// chargeOf reports a capture as a Charge, or as an error when PayPal refused it.
func chargeOf(op string, c paypal.CaptureAmount) (gateways.Charge, error) {
	amount, err := unitMoney(c.Amount)
	if err != nil {
		// The money may have moved: keep the capture id so staff can look it up.
		return gateways.Charge{}, &gateways.Error{Gateway: Name, Kind: gateways.ErrTemporary, PaymentRef: c.ID,
			Message: fmt.Sprintf("%s: capture %s amount: %v", op, c.ID, err)}
	}
	charge := gateways.Charge{Ref: c.ID, Amount: amount, InvoiceID: invoiceID(c.CustomID, "", "")}
	switch c.Status {
	case "PENDING":
		charge.Status = gateways.ChargePending
	case "DECLINED", "FAILED":
		return charge, &gateways.Error{Gateway: Name, Kind: gateways.ErrDeclined, Code: c.Status,
			Message: fmt.Sprintf("%s: capture %s is %s", op, c.ID, c.Status), PaymentRef: c.ID}
	default: // COMPLETED, or PARTIALLY_REFUNDED/REFUNDED when a replay finds it refunded since
		charge.Status = gateways.ChargeSucceeded
	}
	return charge, nil
}
