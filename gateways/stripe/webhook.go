package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/ezscale/billing/gateways"
)

// SignatureHeader is the header Stripe signs webhook deliveries in.
const SignatureHeader = "Stripe-Signature"

// ParseWebhook verifies the Stripe-Signature of a raw webhook body against the endpoint secret
// and the configured tolerance, and reduces the event to what billing acts on. A missing,
// forged or stale signature gives an error wrapping gateways.ErrInvalidWebhook.
//
// The event's api_version is not checked: we read only id, type, metadata, payment_intent,
// customer and amounts, which are the same across API versions, so an endpoint left on an
// older version still works (reference §5.5).
func (g *Gateway) ParseWebhook(_ context.Context, body []byte, header http.Header) (gateways.Event, error) {
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
	if obj.Object == "payment_intent" {
		out.PaymentRef = obj.ID
	} else {
		out.PaymentRef = refID(obj.PaymentIntent)
	}
	out.CustomerRef = refID(obj.Customer)
	if amount := obj.amount(out.Type); amount != nil && obj.Currency != "" {
		out.Amount = money(*amount, stripe.Currency(obj.Currency))
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
}

// amount picks the amount the event is about: the session total, the refunded part of a charge
// on refund events, otherwise the object's amount.
func (o eventObject) amount(eventType string) *int64 {
	switch {
	case o.Object == "checkout.session":
		return o.AmountTotal
	case o.Object == "charge" && strings.HasPrefix(eventType, "charge.refund"):
		return o.AmountRefunded
	}
	return o.Amount
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
