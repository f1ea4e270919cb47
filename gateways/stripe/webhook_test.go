package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/gateways"
)

// routes is a fake Stripe answering "METHOD /path" with a status and body, recording every
// request as "METHOD /path?query".
type routes struct {
	mu      sync.Mutex
	answers map[string]answer
	calls   []string
}

type answer struct {
	status int
	body   string
}

func (f *routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.calls = append(f.calls, call)
	a, ok := f.answers[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if !ok {
		a = answer{404, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}`}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = fmt.Fprint(w, a.body)
}

func routedGateway(t *testing.T, answers map[string]answer) (*Gateway, *routes) {
	t.Helper()
	f := &routes{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return newGateway(t, srv.URL), f
}

// event wraps a data.object in a signed event of the given type.
func event(t *testing.T, g *Gateway, typ, object string) gateways.Event {
	t.Helper()
	body := `{"id":"evt_k","object":"event","api_version":"2024-06-20","created":1718900000,"type":"` + typ + `","data":{"object":` + object + `}}`
	ev, err := g.ParseWebhook(context.Background(), []byte(body), signed(body, "whsec_test", time.Now()))
	if err != nil {
		t.Fatalf("ParseWebhook %s: %v", typ, err)
	}
	return ev
}

func session(mode, paymentStatus string) string {
	return `{"id":"cs_1","object":"checkout.session","mode":"` + mode + `","payment_status":"` + paymentStatus +
		`","status":"complete","amount_total":4999,"currency":"eur","customer":"cus_1","payment_intent":"pi_first","metadata":{"invoice_id":"43"}}`
}

// The bug: a session completed with a delayed method (SEPA, ACH, Bacs) was counted as paid
// although Stripe had not collected anything yet.
func TestCheckoutSessionCompletedUnpaidIsPending(t *testing.T) {
	g := newGateway(t, "http://127.0.0.1:1")
	ev := event(t, g, "checkout.session.completed", session("payment", "unpaid"))
	if ev.Kind != gateways.EventPaymentPending {
		t.Fatalf("completed session with payment_status unpaid: Kind = %q, want %q", ev.Kind, gateways.EventPaymentPending)
	}
	if ev.CheckoutRef != "cs_1" || ev.PaymentRef != "pi_first" || ev.InvoiceID != 43 {
		t.Errorf("event = %+v, want checkout cs_1, payment pi_first, invoice 43", ev)
	}
}

func TestStripeEventsCarryTheirKind(t *testing.T) {
	pi := func(status string) string {
		return `{"id":"pi_1","object":"payment_intent","amount":1999,"currency":"usd","status":"` + status + `","metadata":{"invoice_id":"42"}}`
	}
	tests := []struct {
		typ, object string
		want        gateways.EventKind
	}{
		{"checkout.session.completed", session("payment", "paid"), gateways.EventPaymentSucceeded},
		{"checkout.session.completed", session("payment", "no_payment_required"), gateways.EventPaymentSucceeded},
		{"checkout.session.completed", session("payment", "unpaid"), gateways.EventPaymentPending},
		{"checkout.session.completed", session("setup", "no_payment_required"), gateways.EventOther},
		{"checkout.session.async_payment_succeeded", session("payment", "paid"), gateways.EventPaymentSucceeded},
		{"checkout.session.async_payment_failed", session("payment", "unpaid"), gateways.EventPaymentFailed},
		{"checkout.session.expired", session("payment", "unpaid"), gateways.EventOther},
		{"payment_intent.succeeded", pi("succeeded"), gateways.EventPaymentSucceeded},
		{"payment_intent.processing", pi("processing"), gateways.EventPaymentPending},
		{"payment_intent.payment_failed", pi("requires_payment_method"), gateways.EventPaymentFailed},
		{"payment_intent.created", pi("requires_payment_method"), gateways.EventOther},
		{"charge.succeeded", `{"id":"ch_1","object":"charge","amount":1999,"currency":"usd","payment_intent":"pi_1"}`, gateways.EventOther},
		{"invoice.paid", `{"id":"in_1","object":"invoice","currency":"usd"}`, gateways.EventOther},
	}
	g := newGateway(t, "http://127.0.0.1:1")
	for _, tt := range tests {
		name := tt.typ
		if strings.HasPrefix(tt.object, `{"id":"cs_1"`) {
			name += " " + tt.object[strings.Index(tt.object, `"mode"`):strings.Index(tt.object, `,"status"`)]
		}
		t.Run(name, func(t *testing.T) {
			ev := event(t, g, tt.typ, tt.object)
			if ev.Kind != tt.want {
				t.Errorf("Kind = %q, want %q", ev.Kind, tt.want)
			}
			if ev.Kind != gateways.EventOther && (ev.PaymentRef == "" || ev.InvoiceID == 0 || ev.Amount.IsZero()) {
				t.Errorf("event = %+v: a payment event needs its PaymentIntent, invoice and amount", ev)
			}
		})
	}
}

const refundsOfPI = `{"object":"list","url":"/v1/refunds","has_more":false,"data":[
 {"id":"re_1","object":"refund","amount":500,"currency":"usd","status":"succeeded","payment_intent":"pi_ok","charge":"ch_1"},
 {"id":"re_2","object":"refund","amount":300,"currency":"usd","status":"pending","payment_intent":"pi_ok","charge":"ch_1"}]}`

const chargeRefunded = `{"id":"ch_1","object":"charge","amount":1999,"amount_refunded":800,"currency":"usd","refunded":false,
 "payment_intent":"pi_ok","customer":"cus_1","metadata":{"invoice_id":"42"},"refunds":{"object":"list","data":[],"has_more":true}}`

// The bug: charge.refunded was recorded under the event id while staff recorded the same
// refund under its re_ id, so one refund counted twice. The event must name each refund.
func TestChargeRefundedListsEachRefundByItsID(t *testing.T) {
	g, f := routedGateway(t, map[string]answer{"GET /v1/refunds": {200, refundsOfPI}})
	ev := event(t, g, "charge.refunded", chargeRefunded)
	want := []gateways.RefundState{
		{Ref: "re_1", Amount: usd(t, 500), Status: gateways.RefundSucceeded},
		{Ref: "re_2", Amount: usd(t, 300), Status: gateways.RefundPending},
	}
	if ev.Kind != gateways.EventRefund || !reflect.DeepEqual(ev.Refunds, want) {
		t.Errorf("charge.refunded: Kind %q Refunds %+v\nwant %q %+v", ev.Kind, ev.Refunds, gateways.EventRefund, want)
	}
	if ev.PaymentRef != "pi_ok" || ev.InvoiceID != 42 {
		t.Errorf("PaymentRef %q invoice %d, want the PaymentIntent pi_ok (what payments record) and 42", ev.PaymentRef, ev.InvoiceID)
	}
	if len(f.calls) != 1 || !strings.HasPrefix(f.calls[0], "GET /v1/refunds?") || !strings.Contains(f.calls[0], "payment_intent=pi_ok") {
		t.Errorf("calls = %q, want one GET /v1/refunds?payment_intent=pi_ok", f.calls)
	}
}

func TestChargeRefundedWithoutPaymentIntentListsByCharge(t *testing.T) {
	g, f := routedGateway(t, map[string]answer{"GET /v1/refunds": {200, strings.ReplaceAll(refundsOfPI, `"payment_intent":"pi_ok",`, "")}})
	ev := event(t, g, "charge.refunded", strings.Replace(chargeRefunded, `"payment_intent":"pi_ok",`, "", 1))
	if len(ev.Refunds) != 2 || len(f.calls) != 1 || !strings.Contains(f.calls[0], "charge=ch_1") {
		t.Errorf("Refunds %+v after calls %q, want two refunds listed with charge=ch_1", ev.Refunds, f.calls)
	}
}

// A refund list Stripe cannot give now must make Stripe redeliver, not drop the event as forged.
func TestChargeRefundedFetchFailureIsTemporary(t *testing.T) {
	g, _ := routedGateway(t, map[string]answer{"GET /v1/refunds": {500, `{"error":{"type":"api_error","message":"boom"}}`}})
	body := `{"id":"evt_r","object":"event","api_version":"2024-06-20","created":1718900000,"type":"charge.refunded","data":{"object":` + chargeRefunded + `}}`
	_, err := g.ParseWebhook(context.Background(), []byte(body), signed(body, "whsec_test", time.Now()))
	if !errors.Is(err, gateways.ErrTemporary) || errors.Is(err, gateways.ErrInvalidWebhook) {
		t.Fatalf("err = %v, want ErrTemporary and not ErrInvalidWebhook", err)
	}
}

// stripe-mock checks the list request against Stripe's spec and answers a fixture refund.
func TestChargeRefundedListRequestIsValidAtStripeMock(t *testing.T) {
	mockGateway(t)
	g := newGateway(t, mockURL)
	ev := event(t, g, "charge.refunded", chargeRefunded)
	if len(ev.Refunds) == 0 || !strings.HasPrefix(ev.Refunds[0].Ref, "re_") || ev.Refunds[0].Status == "" {
		t.Errorf("Refunds = %+v, want stripe-mock's fixture refund with its re_ id and a status", ev.Refunds)
	}
}

func TestRefundEventsCarryThatRefundAndItsState(t *testing.T) {
	tests := []struct {
		typ, status string
		want        gateways.RefundStatus
	}{
		{"charge.refund.updated", "succeeded", gateways.RefundSucceeded},
		{"charge.refund.updated", "failed", gateways.RefundFailed},
		{"charge.refund.updated", "canceled", gateways.RefundFailed},
		{"refund.created", "pending", gateways.RefundPending},
		{"refund.updated", "requires_action", gateways.RefundPending},
		{"refund.updated", "succeeded", gateways.RefundSucceeded},
	}
	g := newGateway(t, "http://127.0.0.1:1")
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.status, func(t *testing.T) {
			ev := event(t, g, tt.typ, `{"id":"re_9","object":"refund","amount":700,"currency":"usd","status":"`+tt.status+
				`","payment_intent":"pi_ok","charge":"ch_1","metadata":{"invoice_id":"42"}}`)
			want := []gateways.RefundState{{Ref: "re_9", Amount: usd(t, 700), Status: tt.want}}
			if ev.Kind != gateways.EventRefund || ev.RefundRef != "re_9" || ev.PaymentRef != "pi_ok" || !reflect.DeepEqual(ev.Refunds, want) {
				t.Errorf("event = %+v\nwant Kind refund, RefundRef re_9, PaymentRef pi_ok, Refunds %+v", ev, want)
			}
		})
	}
}

func TestRefundReturnsStripesPendingStatus(t *testing.T) {
	g, _ := fakeGateway(t, 200, `{"id":"re_p","object":"refund","amount":500,"currency":"usd","status":"pending","payment_intent":"pi_1"}`)
	re, err := g.Refund(context.Background(), gateways.RefundRequest{InvoiceID: 42, ChargeRef: "pi_1", Amount: usd(t, 500), IdempotencyKey: "refund-1"})
	if err != nil || re.Status != "pending" || re.Ref != "re_p" {
		t.Errorf("Refund = %+v, %v; want re_p still pending", re, err)
	}
}

func TestChargeSavedProcessingIntentIsPending(t *testing.T) {
	g, _ := fakeGateway(t, 200, `{"id":"pi_sepa","object":"payment_intent","amount":1999,"currency":"eur","status":"processing"}`)
	ch, err := g.ChargeSaved(context.Background(), renewal(t))
	if err != nil || ch.Status != gateways.ChargePending || ch.Ref != "pi_sepa" {
		t.Errorf("processing PaymentIntent: %+v, %v; want pi_sepa pending and no error", ch, err)
	}
}

func TestExpireCheckoutToleratesSessionsAlreadyClosed(t *testing.T) {
	refused := answer{400, `{"error":{"type":"invalid_request_error","message":"Only Checkout Sessions with a status of open can be expired."}}`}
	tests := []struct {
		name    string
		answers map[string]answer
		wantErr error
	}{
		{"open session expires", map[string]answer{"POST /v1/checkout/sessions/cs_1/expire": {200, `{"id":"cs_1","object":"checkout.session","status":"expired"}`}}, nil},
		{"already expired", map[string]answer{"POST /v1/checkout/sessions/cs_1/expire": refused,
			"GET /v1/checkout/sessions/cs_1": {200, `{"id":"cs_1","object":"checkout.session","status":"expired"}`}}, nil},
		{"already complete", map[string]answer{"POST /v1/checkout/sessions/cs_1/expire": refused,
			"GET /v1/checkout/sessions/cs_1": {200, `{"id":"cs_1","object":"checkout.session","status":"complete"}`}}, nil},
		{"refused while still open", map[string]answer{"POST /v1/checkout/sessions/cs_1/expire": refused,
			"GET /v1/checkout/sessions/cs_1": {200, `{"id":"cs_1","object":"checkout.session","status":"open"}`}}, gateways.ErrInvalidRequest},
		{"stripe down", map[string]answer{"POST /v1/checkout/sessions/cs_1/expire": {503, `{"error":{"type":"api_error"}}`}}, gateways.ErrTemporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := routedGateway(t, tt.answers)
			err := g.ExpireCheckout(context.Background(), "cs_1")
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("ExpireCheckout = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestExpireCheckoutIsValidAtStripeMock(t *testing.T) {
	mockGateway(t)
	if err := newGateway(t, mockURL).ExpireCheckout(context.Background(), "cs_test_123"); err != nil {
		t.Errorf("ExpireCheckout at stripe-mock: %v", err)
	}
}

// stripe-mock answers fixtures, so this checks what we ask for (a created range on both lists)
// and that its answers decode into transactions.
func TestTransactionsListsPaymentIntentsAndRefundsCreatedInTheRange(t *testing.T) {
	mockGateway(t)
	rec := &queryRecorder{}
	g, err := New(Config{SecretKey: "sk_test_123", BaseURL: mockURL, HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	txns, err := g.Transactions(context.Background(), from, to)
	if err != nil {
		t.Fatalf("Transactions: %v", err)
	}
	var charges, refunds int
	for _, tx := range txns {
		switch {
		case tx.Kind == gateways.TransactionCharge && strings.HasPrefix(tx.Ref, "pi_") && tx.Status != "" && tx.Amount.Currency != "":
			charges++
		case tx.Kind == gateways.TransactionRefund && strings.HasPrefix(tx.Ref, "re_") && tx.Status != "":
			refunds++
		default:
			t.Errorf("transaction %+v is neither a decoded PaymentIntent nor a refund", tx)
		}
	}
	if charges == 0 || refunds == 0 {
		t.Errorf("got %d charges and %d refunds from stripe-mock's fixtures, want some of each", charges, refunds)
	}
	window := fmt.Sprintf("created[gte]=%d&created[lt]=%d", from.Unix(), to.Unix())
	for _, path := range []string{"/v1/payment_intents", "/v1/refunds"} {
		found := false
		for _, c := range rec.calls {
			found = found || (strings.HasPrefix(c, "GET "+path+"?") && strings.Contains(c, window))
		}
		if !found {
			t.Errorf("no GET %s with %s among %q", path, window, rec.calls)
		}
	}
}

// queryRecorder notes "METHOD /path?decoded-query" of every request it carries.
type queryRecorder struct{ calls []string }

func (r *queryRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	var parts []string
	for _, k := range []string{"created[gte]", "created[lt]"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	r.calls = append(r.calls, req.Method+" "+req.URL.Path+"?"+strings.Join(parts, "&"))
	return http.DefaultTransport.RoundTrip(req)
}
