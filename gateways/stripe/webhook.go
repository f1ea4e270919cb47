package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// SignatureHeader is the header Stripe signs webhook deliveries in.
const SignatureHeader = "Stripe-Signature"

// ParseWebhook verifies the Stripe-Signature of a raw webhook body against the endpoint secret
// and the configured tolerance, and reduces the event to what billing acts on. A missing,
// forged or stale signature gives an error wrapping gateways.ErrInvalidWebhook.
//
// The event's api_version is not checked: we read only fields that are the same across API
// versions, so an endpoint left on an older version still works (docs/gateways.md).
//
// Kinds (docs/gateways.md, "Stripe events"):
//   - checkout.session.completed: succeeded when payment_status is paid or
//     no_payment_required, pending when unpaid (SEPA, ACH, Bacs debits settle days later);
//     a setup-mode session moves no money and is EventOther.
//   - checkout.session.async_payment_succeeded/failed, payment_intent.succeeded/
//     payment_failed: succeeded/failed; payment_intent.processing: pending.
//   - charge.refunded: the webhook Charge no longer lists its refunds (API 2022-11-15), so they
//     are fetched from the API, each with its re_ id, amount and status. A failure to fetch
//     them is a gateways.ErrTemporary error, not ErrInvalidWebhook: Stripe redelivers.
//   - charge.refund.updated, refund.created, refund.updated, refund.failed: that one refund.
//
// PaymentRef is always the PaymentIntent id, which is what payments record.
func (g *Gateway) ParseWebhook(ctx context.Context, body []byte, header http.Header) (gateways.Event, error) {
	if g.webhookSecret == "" {
		return gateways.Event{}, fmt.Errorf("stripe: webhook secret is not configured: %w", gateways.ErrInvalidWebhook)
	}
	ev, err := webhook.ConstructEventWithOptions(body, header.Get(SignatureHeader), g.webhookSecret,
		webhook.ConstructEventOptions{Tolerance: g.webhookTolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return gateways.Event{}, fmt.Errorf("stripe: verify webhook: %v: %w", err, gateways.ErrInvalidWebhook)
	}
	out := gateways.Event{ID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC()}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return out, nil
	}
	var obj eventObject
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
		return gateways.Event{}, fmt.Errorf("stripe: webhook %s: decode data.object: %v: %w", ev.ID, err, gateways.ErrInvalidWebhook)
	}
	if v := obj.Metadata[metaInvoiceID]; v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return gateways.Event{}, fmt.Errorf("stripe: webhook %s: metadata invoice_id %q: %w", ev.ID, v, gateways.ErrInvalidWebhook)
		}
		out.InvoiceID = id
	}
	out.CustomerRef = refID(obj.Customer)
	switch obj.Object {
	case "payment_intent":
		out.PaymentRef = obj.ID
		out.Kind = paymentIntentKinds[out.Type]
		out.Amount = obj.money(obj.Amount)
	case "checkout.session":
		out.PaymentRef, out.CheckoutRef = refID(obj.PaymentIntent), obj.ID
		out.Kind = obj.checkoutKind(out.Type)
		out.Amount = obj.money(obj.AmountTotal)
	case "charge":
		out.PaymentRef = refID(obj.PaymentIntent)
		if out.Type == string(stripe.EventTypeChargeRefunded) {
			out.Kind = gateways.EventRefund
			out.Amount = obj.money(obj.AmountRefunded)
			if out.Refunds, err = g.chargeRefunds(ctx, obj.ID, out.PaymentRef); err != nil {
				return gateways.Event{}, fmt.Errorf("stripe: webhook %s: %w", ev.ID, err)
			}
			if len(out.Refunds) == 1 {
				out.RefundRef = out.Refunds[0].Ref
			}
		} else {
			out.Amount = obj.money(obj.Amount)
		}
	case "refund":
		out.PaymentRef = refID(obj.PaymentIntent)
		out.Amount = obj.money(obj.Amount)
		if refundEvents[out.Type] {
			out.Kind = gateways.EventRefund
			out.RefundRef = obj.ID
			out.Refunds = []gateways.RefundState{{Ref: obj.ID, Amount: out.Amount, Status: refundStatus(obj.Status)}}
		}
	default:
		out.PaymentRef = refID(obj.PaymentIntent)
		out.Amount = obj.money(obj.Amount)
	}
	return out, nil
}

// paymentIntentKinds are the payment_intent.* events billing acts on.
var paymentIntentKinds = map[string]gateways.EventKind{
	string(stripe.EventTypePaymentIntentSucceeded):     gateways.EventPaymentSucceeded,
	string(stripe.EventTypePaymentIntentProcessing):    gateways.EventPaymentPending,
	string(stripe.EventTypePaymentIntentPaymentFailed): gateways.EventPaymentFailed,
}

// refundEvents carry one Refund object. refund.failed does not exist under API 2024-06-20 but
// does later (docs.stripe.com/changelog/acacia/2024-10-28/refund-webhook-update); reading it
// costs nothing if an endpoint is ever moved on.
var refundEvents = map[string]bool{
	string(stripe.EventTypeChargeRefundUpdated): true,
	string(stripe.EventTypeRefundCreated):       true,
	string(stripe.EventTypeRefundUpdated):       true,
	"refund.failed":                             true,
}

// checkoutKind reads a checkout.session.* event. A completed session is paid only when its
// payment_status says so (docs.stripe.com/checkout/fulfillment): with a delayed method it
// completes unpaid, and the outcome comes later as async_payment_succeeded or _failed.
func (o eventObject) checkoutKind(eventType string) gateways.EventKind {
	if o.Mode == string(stripe.CheckoutSessionModeSetup) {
		return gateways.EventOther // saves a card, moves no money
	}
	switch eventType {
	case string(stripe.EventTypeCheckoutSessionCompleted):
		switch o.PaymentStatus {
		case string(stripe.CheckoutSessionPaymentStatusPaid), string(stripe.CheckoutSessionPaymentStatusNoPaymentRequired):
			return gateways.EventPaymentSucceeded
		case string(stripe.CheckoutSessionPaymentStatusUnpaid):
			return gateways.EventPaymentPending
		}
	case string(stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded):
		return gateways.EventPaymentSucceeded
	case string(stripe.EventTypeCheckoutSessionAsyncPaymentFailed):
		return gateways.EventPaymentFailed
	}
	return gateways.EventOther
}

// refundStatus maps Stripe's refund status to ours: requires_action waits on the customer, so
// it is still pending; a canceled refund never reached them, like a failed one.
func refundStatus(s string) gateways.RefundStatus {
	switch stripe.RefundStatus(s) {
	case stripe.RefundStatusSucceeded:
		return gateways.RefundSucceeded
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		return gateways.RefundFailed
	}
	return gateways.RefundPending // pending, requires_action, and anything new
}

// chargeRefunds lists every refund of a charge (by its PaymentIntent when it has one, which is
// the same set), since charge.refunded no longer carries them.
func (g *Gateway) chargeRefunds(ctx context.Context, chargeID, paymentIntentID string) ([]gateways.RefundState, error) {
	p := &stripe.RefundListParams{}
	p.Context = ctx
	op := "list refunds of " + chargeID
	if paymentIntentID != "" {
		p.PaymentIntent = stripe.String(paymentIntentID)
		op = "list refunds of " + paymentIntentID
	} else {
		p.Charge = stripe.String(chargeID)
	}
	var out []gateways.RefundState
	it := g.api.Refunds.List(p)
	for it.Next() {
		re := it.Refund()
		out = append(out, gateways.RefundState{Ref: re.ID, Amount: money(re.Amount, re.Currency), Status: refundStatus(string(re.Status))})
	}
	if err := it.Err(); err != nil {
		return nil, mapError(op, err)
	}
	return out, nil
}

// eventObject holds the fields of data.object we read, whatever the object is
// (payment_intent, checkout.session, charge, refund, invoice).
type eventObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Metadata       map[string]string `json:"metadata"`
	PaymentIntent  json.RawMessage   `json:"payment_intent"`
	Customer       json.RawMessage   `json:"customer"`
	Amount         *int64            `json:"amount"`
	AmountTotal    *int64            `json:"amount_total"`    // checkout.session
	AmountRefunded *int64            `json:"amount_refunded"` // charge
	Currency       string            `json:"currency"`
	Status         string            `json:"status"`         // refund, payment_intent
	PaymentStatus  string            `json:"payment_status"` // checkout.session
	Mode           string            `json:"mode"`           // checkout.session
}

// money is one of the object's amounts in its currency; zero when either is missing.
func (o eventObject) money(amount *int64) billing.Money {
	if amount == nil || o.Currency == "" {
		return billing.Money{}
	}
	return money(*amount, stripe.Currency(o.Currency))
}

// refID reads an id that Stripe sends either as a string or as an expanded object.
func refID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if id, ok := stripe.ParseID(raw); ok {
		return id
	}
	var expanded struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &expanded) == nil {
		return expanded.ID
	}
	return ""
}
