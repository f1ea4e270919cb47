package paypal

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal/sim"
)

const verifyRoute = "POST /v1/notifications/verify-webhook-signature"

func TestWebhooksOfACheckoutVerifyAndCarryInvoiceOrderAndCapture(t *testing.T) {
	e := newEnv(t, sim.Options{})
	order := e.approvedOrder()
	charge, err := e.gw.Capture(context.Background(), order, "capture-"+order)
	if err != nil {
		t.Fatal(err)
	}
	refund, err := e.gw.Refund(context.Background(), gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, Amount: usd(250), IdempotencyKey: "refund-1"})
	if err != nil {
		t.Fatal(err)
	}
	ds := e.sim.Deliveries()
	want := []struct {
		typ string
		ref string
		amt billing.Money
	}{
		{EventOrderApproved, order, usd(1999)},
		{EventCaptureCompleted, charge.Ref, usd(1999)},
		{EventCaptureRefunded, charge.Ref, usd(250)}, // the refunded capture, not refund.Ref
	}
	if len(ds) != len(want) {
		t.Fatalf("simulator signed %d deliveries, want %d", len(ds), len(want))
	}
	for i, w := range want {
		ev, err := e.gw.ParseWebhook(context.Background(), ds[i].Body, ds[i].Header)
		if err != nil {
			t.Fatalf("ParseWebhook(%s): %v", ds[i].EventType, err)
		}
		if ev.Type != w.typ || ev.ID == "" || ev.InvoiceID != 42 || ev.PaymentRef != w.ref || ev.Amount != w.amt ||
			!ev.Created.Equal(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("event %d = %+v, want %s for invoice 42, ref %s, %s, created at the simulator's time", i, ev, w.typ, w.ref, w.amt)
		}
	}
	if refund.Ref == charge.Ref {
		t.Fatalf("refund and capture share id %s; the REFUNDED check above would prove nothing", refund.Ref)
	}
	if n := e.sim.Requests(verifyRoute); n != len(want) {
		t.Errorf("verify requests = %d, want one per delivery (%d)", n, len(want))
	}
}

func TestForgedWebhooksAreRejectedByPayPalVerification(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.captured()
	ds := e.sim.Deliveries()
	genuine, other := ds[len(ds)-1], ds[0] // PAYMENT.CAPTURE.COMPLETED, CHECKOUT.ORDER.APPROVED
	otherGateway, err := New(Options{ClientID: testClientID, Secret: testSecret, APIBase: e.sim.URL, WebhookID: "WH-SOMEONE-ELSE"})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		gw     *Gateway
		body   []byte
		header http.Header
	}{
		{"amount changed in body", e.gw, bytes.Replace(genuine.Body, []byte(`"19.99"`), []byte(`"1999.00"`), 1), genuine.Header},
		{"signature changed", e.gw, genuine.Body, withHeader(genuine.Header, HeaderTransmissionSig, "Zm9yZ2Vk")},
		{"unknown transmission id", e.gw, genuine.Body, withHeader(genuine.Header, HeaderTransmissionID, "b2f3e1a0-0000-0000-0000-000000000000")},
		{"another delivery's headers", e.gw, genuine.Body, other.Header},
		{"cert URL changed", e.gw, genuine.Body, withHeader(genuine.Header, HeaderCertURL, "https://evil.test/cert.pem")},
		{"sent to another webhook", otherGateway, genuine.Body, genuine.Header},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.sim.Requests(verifyRoute)
			_, err := c.gw.ParseWebhook(context.Background(), c.body, c.header)
			if !errors.Is(err, gateways.ErrInvalidWebhook) {
				t.Fatalf("ParseWebhook = %v, want ErrInvalidWebhook", err)
			}
			if errors.Is(err, gateways.ErrTemporary) {
				t.Errorf("a FAILURE verification is reported as temporary: %v", err)
			}
			if n := e.sim.Requests(verifyRoute) - before; n != 1 {
				t.Errorf("verify requests = %d, want 1 (the FAILURE must come from PayPal)", n)
			}
		})
	}
	if _, err := e.gw.ParseWebhook(context.Background(), genuine.Body, genuine.Header); err != nil {
		t.Fatalf("the genuine delivery no longer verifies: %v", err)
	}
}

func TestMalformedWebhooksAreRejectedWithoutAskingPayPal(t *testing.T) {
	e := newEnv(t, sim.Options{})
	d, err := e.sim.SignedEvent(EventCaptureCompleted, "capture", map[string]any{"id": "CAP1"})
	if err != nil {
		t.Fatal(err)
	}
	unconfigured, err := New(Options{ClientID: testClientID, Secret: testSecret, APIBase: e.sim.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		gw     *Gateway
		body   []byte
		header http.Header
	}{
		{"no transmission id", e.gw, d.Body, withHeader(d.Header, HeaderTransmissionID, "")},
		{"no signature", e.gw, d.Body, withHeader(d.Header, HeaderTransmissionSig, "")},
		{"no headers at all", e.gw, d.Body, http.Header{}},
		{"body is not JSON", e.gw, []byte("id=WH-1&event_type=PAYMENT.CAPTURE.COMPLETED"), d.Header},
		{"event without type", e.gw, []byte(`{"id":"WH-1"}`), d.Header},
		{"no webhook id configured", unconfigured, d.Body, d.Header},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.gw.ParseWebhook(context.Background(), c.body, c.header); !errors.Is(err, gateways.ErrInvalidWebhook) {
				t.Errorf("ParseWebhook = %v, want ErrInvalidWebhook", err)
			}
		})
	}
	if n := e.sim.Requests(verifyRoute); n != 0 {
		t.Errorf("verify requests = %d for deliveries that could not be verified, want 0", n)
	}
}

func TestWebhookVerifyOutageIsInvalidAndTemporary(t *testing.T) {
	e := newEnv(t, sim.Options{})
	d, err := e.sim.SignedEvent(EventCaptureCompleted, "capture", map[string]any{"id": "CAP1"})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.FailNext(1, http.StatusInternalServerError)
	_, err = e.gw.ParseWebhook(context.Background(), d.Body, d.Header)
	if !errors.Is(err, gateways.ErrInvalidWebhook) || !errors.Is(err, gateways.ErrTemporary) {
		t.Fatalf("ParseWebhook during a verify outage = %v, want both ErrInvalidWebhook and ErrTemporary", err)
	}
	if _, err := e.gw.ParseWebhook(context.Background(), d.Body, d.Header); err != nil {
		t.Fatalf("redelivery after the outage: %v", err)
	}
}

func TestWebhookEventMapping(t *testing.T) {
	capturesURL := "https://api-m.paypal.com/v2/payments/captures/"
	cases := []struct {
		name      string
		eventType string
		resource  map[string]any
		want      gateways.Event // ID, Type and Created are checked separately
	}{
		{"capture completed in USD", EventCaptureCompleted,
			map[string]any{"id": "3C679366HH908993F", "status": "COMPLETED", "custom_id": "42", "invoice_id": "42",
				"amount": map[string]string{"currency_code": "USD", "value": "19.99"}},
			gateways.Event{InvoiceID: 42, PaymentRef: "3C679366HH908993F", Amount: usd(1999)}},
		{"capture completed in JPY", EventCaptureCompleted,
			map[string]any{"id": "7TK53561YB803214S", "custom_id": "43", "amount": map[string]string{"currency_code": "JPY", "value": "500"}},
			gateways.Event{InvoiceID: 43, PaymentRef: "7TK53561YB803214S", Amount: billing.Money{Amount: 500, Currency: "JPY"}}},
		{"capture denied, invoice only in invoice_id", EventCaptureDenied,
			map[string]any{"id": "9XL12345AB678901C", "status": "DECLINED", "invoice_id": "44",
				"amount": map[string]string{"currency_code": "EUR", "value": "7.5"}},
			gateways.Event{InvoiceID: 44, PaymentRef: "9XL12345AB678901C", Amount: billing.Money{Amount: 750, Currency: "EUR"}}},
		{"capture refunded points at the capture", EventCaptureRefunded,
			map[string]any{"id": "1JU08902781691411", "status": "COMPLETED", "custom_id": "42",
				"amount": map[string]string{"currency_code": "USD", "value": "5.00"},
				"links": []map[string]string{{"href": "https://api-m.paypal.com/v2/payments/refunds/1JU08902781691411", "rel": "self"},
					{"href": capturesURL + "3C679366HH908993F", "rel": "up"}}},
			gateways.Event{InvoiceID: 42, PaymentRef: "3C679366HH908993F", Amount: usd(500)}},
		{"order approved carries the order id", EventOrderApproved,
			map[string]any{"id": "5O190127TN364715T", "status": "APPROVED",
				"purchase_units": []map[string]any{{"reference_id": "inv-45", "amount": map[string]string{"currency_code": "KWD", "value": "1.005"}}}},
			gateways.Event{InvoiceID: 45, PaymentRef: "5O190127TN364715T", Amount: billing.Money{Amount: 1005, Currency: "KWD"}}},
		{"another integration's custom_id", EventCaptureCompleted,
			map[string]any{"id": "CAPSVC", "custom_id": "svc-42", "amount": map[string]string{"currency_code": "USD", "value": "1.00"}},
			gateways.Event{PaymentRef: "CAPSVC", Amount: usd(100)}},
		{"subscription event keeps only id and type", "BILLING.SUBSCRIPTION.ACTIVATED",
			map[string]any{"id": "I-BW452GLLEP1G", "custom_id": "42"},
			gateways.Event{}},
	}
	e := newEnv(t, sim.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.sim.SignedEvent(c.eventType, "capture", c.resource)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.gw.ParseWebhook(context.Background(), d.Body, d.Header)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if got.ID == "" || got.Type != c.eventType || got.Created.IsZero() {
				t.Errorf("event id %q type %q created %v, want an id, %s and a time", got.ID, got.Type, got.Created, c.eventType)
			}
			if got.InvoiceID != c.want.InvoiceID || got.PaymentRef != c.want.PaymentRef || got.Amount != c.want.Amount {
				t.Errorf("event = invoice %d ref %q amount %s, want invoice %d ref %q amount %s",
					got.InvoiceID, got.PaymentRef, got.Amount, c.want.InvoiceID, c.want.PaymentRef, c.want.Amount)
			}
		})
	}
}

func TestVerifiedWebhookWithUnreadableAmountIsRejected(t *testing.T) {
	e := newEnv(t, sim.Options{})
	for _, value := range []string{"19.999", "19,99", "1e3"} {
		d, err := e.sim.SignedEvent(EventCaptureCompleted, "capture",
			map[string]any{"id": "CAP1", "custom_id": "42", "amount": map[string]string{"currency_code": "USD", "value": value}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.gw.ParseWebhook(context.Background(), d.Body, d.Header); !errors.Is(err, gateways.ErrInvalidWebhook) {
			t.Errorf("amount %q: ParseWebhook = %v, want ErrInvalidWebhook", value, err)
		}
	}
}

func TestWebhookWithoutCreateTimeUsesTheClock(t *testing.T) {
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	g := &Gateway{now: func() time.Time { return at }}
	for _, created := range []string{"", "yesterday"} {
		ev, err := g.event(envelope{ID: "WH-1", EventType: EventCaptureCompleted, CreateTime: created, Resource: []byte(`{"id":"CAP1"}`)})
		if err != nil || !ev.Created.Equal(at) || ev.PaymentRef != "CAP1" {
			t.Errorf("event with create_time %q = %+v, %v; want created %v and ref CAP1", created, ev, err, at)
		}
	}
}

// withHeader returns a copy of h with key set to v, or removed when v is "".
func withHeader(h http.Header, key, v string) http.Header {
	out := h.Clone()
	if v == "" {
		out.Del(key)
	} else {
		out.Set(key, v)
	}
	return out
}
