package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/gateways"
)

// The headers PayPal signs a webhook delivery with; all are needed to verify it (docs/gateways.md).
const (
	HeaderAuthAlgo         = "PAYPAL-AUTH-ALGO"
	HeaderCertURL          = "PAYPAL-CERT-URL"
	HeaderTransmissionID   = "PAYPAL-TRANSMISSION-ID"
	HeaderTransmissionSig  = "PAYPAL-TRANSMISSION-SIG"
	HeaderTransmissionTime = "PAYPAL-TRANSMISSION-TIME"
)

// Event types this gateway maps; others keep only their id, type and time.
const (
	EventCaptureCompleted = "PAYMENT.CAPTURE.COMPLETED"
	EventCapturePending   = "PAYMENT.CAPTURE.PENDING"
	EventCaptureDenied    = "PAYMENT.CAPTURE.DENIED"
	EventCaptureDeclined  = "PAYMENT.CAPTURE.DECLINED"
	EventCaptureRefunded  = "PAYMENT.CAPTURE.REFUNDED"
	EventCaptureReversed  = "PAYMENT.CAPTURE.REVERSED"
	EventOrderApproved    = "CHECKOUT.ORDER.APPROVED"
)

// ParseWebhook has PayPal verify a delivery (POST /v1/notifications/verify-webhook-signature
// with the transmission headers, our WebhookID and the raw event) and maps the event. PayPal
// signs with certificates, not a shared secret, so there is no offline check. Missing
// headers, a body that is not an event, and any answer but SUCCESS give an error wrapping
// gateways.ErrInvalidWebhook. When the verify call itself fails the error also wraps that
// failure's kind, so a handler can tell a PayPal outage (gateways.ErrTemporary) from a forgery;
// either way the delivery is refused and PayPal redelivers it later.
//
// Mapping (Type stays PayPal's event_type; docs/gateways.md, "PayPal events"):
//   - PAYMENT.CAPTURE.COMPLETED/PENDING/DENIED/DECLINED: EventPaymentSucceeded, Pending and
//     Failed; PaymentRef is the capture id, Amount the capture's amount.
//   - PAYMENT.CAPTURE.REFUNDED and REVERSED: EventRefund. The resource is the refund;
//     PaymentRef is the refunded capture's id (its "up" link), Amount the refunded amount, and
//     Refunds that one refund by its PayPal id with its status. A REVERSED event whose
//     resource is the capture itself (no "up" link to a capture) names the reversal
//     "<capture id>-REVERSED": a capture is reversed at most once, so the id is stable across
//     redeliveries.
//   - CHECKOUT.ORDER.APPROVED: PaymentRef is the order id to Capture, Amount the order's;
//     EventOther, since nothing is paid until we capture.
//
// InvoiceID comes from custom_id, then invoice_id, then reference_id "inv-<id>"; a value that
// is not one of our invoice ids (another integration's custom_id) leaves it 0.
func (g *Gateway) ParseWebhook(ctx context.Context, body []byte, header http.Header) (gateways.Event, error) {
	if g.webhookID == "" {
		return gateways.Event{}, fmt.Errorf("paypal: webhook id is not configured: %w", gateways.ErrInvalidWebhook)
	}
	for _, h := range []string{HeaderAuthAlgo, HeaderCertURL, HeaderTransmissionID, HeaderTransmissionSig, HeaderTransmissionTime} {
		if header.Get(h) == "" {
			return gateways.Event{}, fmt.Errorf("paypal: webhook without %s: %w", h, gateways.ErrInvalidWebhook)
		}
	}
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		return gateways.Event{}, fmt.Errorf("paypal: decode webhook: %v: %w", err, gateways.ErrInvalidWebhook)
	}
	if ev.ID == "" || ev.EventType == "" {
		return gateways.Event{}, fmt.Errorf("paypal: webhook without id or event_type: %w", gateways.ErrInvalidWebhook)
	}
	if err := g.verify(ctx, ev.ID, body, header); err != nil {
		return gateways.Event{}, err
	}
	return g.event(ev)
}

// verify asks PayPal whether it sent this delivery to our webhook.
func (g *Gateway) verify(ctx context.Context, eventID string, body []byte, header http.Header) error {
	op := "verify webhook " + eventID
	// plutov reads the headers and body from an *http.Request, as a handler would pass it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("paypal: %s: %v: %w", op, err, gateways.ErrInvalidWebhook)
	}
	req.Header = header.Clone()
	res, err := g.client.VerifyWebhookSignature(ctx, req, g.webhookID)
	if err != nil {
		return fmt.Errorf("paypal: %s: %w: %w", op, gateways.ErrInvalidWebhook, mapError(op, err))
	}
	if res.VerificationStatus != "SUCCESS" {
		return fmt.Errorf("paypal: %s: verification status %q: %w", op, res.VerificationStatus, gateways.ErrInvalidWebhook)
	}
	return nil
}

// envelope is a webhook event with its resource left raw. create_time is read as a string:
// decoding it into time.Time, as plutov's Event does, fails on an empty value.
type envelope struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	CreateTime string          `json:"create_time"`
	Resource   json.RawMessage `json:"resource"`
}

// resource holds the fields we read of a capture, refund or order resource.
type resource struct {
	ID            string        `json:"id"`
	Status        string        `json:"status"`
	Amount        *paypal.Money `json:"amount"`
	CustomID      string        `json:"custom_id"`
	InvoiceID     string        `json:"invoice_id"`
	Links         []paypal.Link `json:"links"`
	PurchaseUnits []struct {
		ReferenceID string        `json:"reference_id"`
		CustomID    string        `json:"custom_id"`
		InvoiceID   string        `json:"invoice_id"`
		Amount      *paypal.Money `json:"amount"`
	} `json:"purchase_units"`
}

// event maps a verified envelope to a gateways.Event.
func (g *Gateway) event(ev envelope) (gateways.Event, error) {
	out := gateways.Event{ID: ev.ID, Type: ev.EventType, Created: g.now().UTC()}
	if t, err := time.Parse(time.RFC3339, ev.CreateTime); err == nil {
		out.Created = t.UTC()
	}
	var res resource
	if len(ev.Resource) > 0 {
		if err := json.Unmarshal(ev.Resource, &res); err != nil {
			return gateways.Event{}, fmt.Errorf("paypal: webhook %s: decode resource: %v: %w", ev.ID, err, gateways.ErrInvalidWebhook)
		}
	}
	amount := res.Amount
	var refund *gateways.RefundState // the refund a refund event reports
	switch {
	case ev.EventType == EventCaptureRefunded || ev.EventType == EventCaptureReversed:
		out.Kind = gateways.EventRefund
		out.PaymentRef, out.RefundRef = capturedBy(res), res.ID
		status := refundStatus(res.Status)
		if out.PaymentRef == res.ID { // a reversed capture, not a refund resource
			out.RefundRef, status = res.ID+"-REVERSED", gateways.RefundSucceeded
		}
		out.InvoiceID = invoiceID(res.CustomID, res.InvoiceID, "")
		refund = &gateways.RefundState{Ref: out.RefundRef, Status: status}
	case strings.HasPrefix(ev.EventType, "PAYMENT.CAPTURE."):
		out.Kind = captureKinds[ev.EventType]
		out.PaymentRef = res.ID
		out.InvoiceID = invoiceID(res.CustomID, res.InvoiceID, "")
	case ev.EventType == EventOrderApproved:
		out.PaymentRef = res.ID
		if len(res.PurchaseUnits) > 0 {
			u := res.PurchaseUnits[0]
			out.InvoiceID = invoiceID(u.CustomID, u.InvoiceID, u.ReferenceID)
			amount = u.Amount
		}
	default:
		return out, nil
	}
	if amount != nil {
		m, err := money(amount)
		if err != nil {
			return gateways.Event{}, fmt.Errorf("paypal: webhook %s amount: %v: %w", ev.ID, err, gateways.ErrInvalidWebhook)
		}
		out.Amount = m
	}
	if refund != nil {
		refund.Amount = out.Amount
		out.Refunds = []gateways.RefundState{*refund}
	}
	return out, nil
}

// captureKinds are the capture events billing acts on. PayPal lists both DENIED and DECLINED
// (developer.paypal.com/api/rest/webhooks/event-names/); either means the capture failed.
var captureKinds = map[string]gateways.EventKind{
	EventCaptureCompleted: gateways.EventPaymentSucceeded,
	EventCapturePending:   gateways.EventPaymentPending,
	EventCaptureDenied:    gateways.EventPaymentFailed,
	EventCaptureDeclined:  gateways.EventPaymentFailed,
}

// refundStatus maps a PayPal refund status (COMPLETED, PENDING, FAILED, CANCELLED) to ours;
// an unknown or missing status is pending, which claims nothing either way.
func refundStatus(s string) gateways.RefundStatus {
	switch s {
	case "COMPLETED":
		return gateways.RefundSucceeded
	case "FAILED", "CANCELLED":
		return gateways.RefundFailed
	}
	return gateways.RefundPending
}

// capturedBy is the id of the capture a refund resource refunds, from its "up" link
// (.../v2/payments/captures/<id>); the refund's own id when that link is missing.
func capturedBy(refund resource) string {
	for _, l := range refund.Links {
		if l.Rel != "up" {
			continue
		}
		if _, id, ok := strings.Cut(l.Href, "/v2/payments/captures/"); ok && id != "" {
			return strings.Trim(id, "/")
		}
	}
	return refund.ID
}

// invoiceID reads our invoice id from the first field that holds one.
func invoiceID(customID, invoiceID, referenceID string) int64 {
	for _, v := range []string{customID, invoiceID, strings.TrimPrefix(referenceID, "inv-")} {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			return id
		}
	}
	return 0
}
