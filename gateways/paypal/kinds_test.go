package paypal

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal/sim"
)

func TestPayPalCaptureEventsCarryTheirKind(t *testing.T) {
	e := newEnv(t, sim.Options{})
	capture := map[string]any{"id": "3C679366HH908993F", "custom_id": "42", "amount": map[string]string{"currency_code": "USD", "value": "19.99"}}
	for _, tt := range []struct {
		typ  string
		want gateways.EventKind
	}{
		{EventCaptureCompleted, gateways.EventPaymentSucceeded},
		{EventCapturePending, gateways.EventPaymentPending},
		{EventCaptureDenied, gateways.EventPaymentFailed},
		{EventCaptureDeclined, gateways.EventPaymentFailed},
		{EventOrderApproved, gateways.EventOther}, // nothing is paid until we capture
		{"BILLING.SUBSCRIPTION.ACTIVATED", gateways.EventOther},
	} {
		d, err := e.sim.SignedEvent(tt.typ, "capture", capture)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.gw.ParseWebhook(context.Background(), d.Body, d.Header)
		if err != nil || ev.Kind != tt.want {
			t.Errorf("%s: Kind %q (err %v), want %q", tt.typ, ev.Kind, err, tt.want)
		}
	}
}

// A refund event must name the refund by PayPal's refund id, the Refund.Ref staff recorded, so
// the webhook and the staff action are one refund, not two.
func TestPayPalRefundEventsNameTheRefundWithItsState(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   sim.Options
		status string
		want   gateways.RefundStatus
	}{
		{"completed", sim.Options{}, "COMPLETED", gateways.RefundSucceeded},
		{"pending eCheck refund", sim.Options{PendingRefunds: true}, "PENDING", gateways.RefundPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			order := e.approvedOrder()
			charge, err := e.gw.Capture(context.Background(), order, "capture-"+order)
			if err != nil {
				t.Fatal(err)
			}
			refund, err := e.gw.Refund(context.Background(), gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, Amount: usd(250), IdempotencyKey: "refund-1"})
			if err != nil {
				t.Fatal(err)
			}
			if refund.Status != tt.status {
				t.Errorf("Refund.Status = %q, want PayPal's %q", refund.Status, tt.status)
			}
			ds := e.sim.Deliveries()
			last := ds[len(ds)-1]
			ev, err := e.gw.ParseWebhook(context.Background(), last.Body, last.Header)
			if err != nil {
				t.Fatal(err)
			}
			want := []gateways.RefundState{{Ref: refund.Ref, Amount: usd(250), Status: tt.want}}
			if ev.Kind != gateways.EventRefund || ev.RefundRef != refund.Ref || ev.PaymentRef != charge.Ref || !reflect.DeepEqual(ev.Refunds, want) {
				t.Errorf("%s event = %+v\nwant Kind refund, RefundRef %s, PaymentRef %s, Refunds %+v", last.EventType, ev, refund.Ref, charge.Ref, want)
			}
		})
	}
}

func TestPayPalReversedCaptureIsARefund(t *testing.T) {
	e := newEnv(t, sim.Options{})
	capturesURL := "https://api-m.paypal.com/v2/payments/captures/"
	for _, tt := range []struct {
		name     string
		resource map[string]any
		want     gateways.RefundState
	}{
		{"refund resource", map[string]any{"id": "09E71677NS257044M", "status": "COMPLETED", "custom_id": "42",
			"amount": map[string]string{"currency_code": "USD", "value": "19.99"},
			"links":  []map[string]string{{"href": capturesURL + "3C679366HH908993F", "rel": "up"}}},
			gateways.RefundState{Ref: "09E71677NS257044M", Amount: usd(1999), Status: gateways.RefundSucceeded}},
		{"capture resource", map[string]any{"id": "3C679366HH908993F", "status": "REVERSED", "custom_id": "42",
			"amount": map[string]string{"currency_code": "USD", "value": "19.99"}},
			gateways.RefundState{Ref: "3C679366HH908993F-REVERSED", Amount: usd(1999), Status: gateways.RefundSucceeded}},
	} {
		d, err := e.sim.SignedEvent(EventCaptureReversed, "refund", tt.resource)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.gw.ParseWebhook(context.Background(), d.Body, d.Header)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != gateways.EventRefund || ev.PaymentRef != "3C679366HH908993F" || !reflect.DeepEqual(ev.Refunds, []gateways.RefundState{tt.want}) {
			t.Errorf("%s: event %+v, want a refund of capture 3C679366HH908993F: %+v", tt.name, ev, tt.want)
		}
	}
}

func TestPayPalCheckAmountTakesHUFAndTWDInWholeUnitsOnly(t *testing.T) {
	g := &Gateway{}
	for _, tt := range []struct {
		m       billing.Money
		message string
	}{
		{billing.Money{Amount: 50000, Currency: "HUF"}, ""},
		{billing.Money{Amount: 50050, Currency: "HUF"}, "PayPal cannot charge HUF 500.50: amounts in HUF must be whole units"},
		{billing.Money{Amount: 12345, Currency: "TWD"}, "PayPal cannot charge TWD 123.45: amounts in TWD must be whole units"},
		{billing.Money{Amount: 1500, Currency: "JPY"}, ""},
		{billing.Money{Amount: 1999, Currency: "USD"}, ""},
		{billing.Money{Amount: 5125, Currency: "KWD"}, ""},
	} {
		err := gateways.CheckAmount(g, tt.m)
		switch {
		case tt.message == "" && err != nil:
			t.Errorf("CheckAmount(%s) = %v, want accepted", tt.m, err)
		case tt.message != "" && (!errors.Is(err, gateways.ErrUnsupportedAmount) || err.Error() != tt.message):
			t.Errorf("CheckAmount(%s) = %v, want ErrUnsupportedAmount saying %q", tt.m, err, tt.message)
		}
	}
}

func TestPayPalRefusesUnsupportedAmountsBeforeCallingPayPal(t *testing.T) {
	e := newEnv(t, sim.Options{})
	huf := billing.Money{Amount: 50050, Currency: "HUF"}
	_, err := e.gw.StartCheckout(context.Background(), gateways.CheckoutRequest{InvoiceID: 42, Amount: huf, SuccessURL: successURL, CancelURL: cancelURL})
	if !errors.Is(err, gateways.ErrUnsupportedAmount) {
		t.Errorf("StartCheckout HUF 500.50: %v, want ErrUnsupportedAmount", err)
	}
	_, err = e.gw.Refund(context.Background(), gateways.RefundRequest{InvoiceID: 42, ChargeRef: "CAP", Amount: huf, IdempotencyKey: "r"})
	if !errors.Is(err, gateways.ErrUnsupportedAmount) {
		t.Errorf("Refund HUF 500.50: %v, want ErrUnsupportedAmount", err)
	}
	if n := e.sim.Requests("POST /v1/oauth2/token"); n != 0 {
		t.Errorf("%d requests reached PayPal, want 0", n)
	}
}
