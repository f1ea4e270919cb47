package stripe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// mockURL is the running stripe-mock, started once by TestMain; "" when the binary is missing.
var mockURL string

func TestMain(m *testing.M) {
	stop, err := startStripeMock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stripe-mock:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startStripeMock runs ../../bin/stripe-mock on free ports (scripts/test.sh installs it).
func startStripeMock() (stop func(), err error) {
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "stripe-mock"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return func() {}, nil // tests that need it skip, or fail under CI
	}
	httpPort, httpsPort, err := freePort(), freePort(), nil
	if httpPort == 0 || httpsPort == 0 {
		return nil, errors.New("no free port")
	}
	cmd := exec.Command(bin, "-http-port", fmt.Sprint(httpPort), "-https-port", fmt.Sprint(httpsPort))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("not listening on %s after 30s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mockURL = "http://" + addr
	return stop, nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// mockGateway returns a Gateway pointed at stripe-mock, skipping locally (failing under CI)
// when the binary is not installed.
func mockGateway(t *testing.T) *Gateway {
	t.Helper()
	if mockURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("bin/stripe-mock is missing; scripts/test.sh installs it")
		}
		t.Skip("bin/stripe-mock is missing; run scripts/test.sh or GOBIN=$PWD/bin go install github.com/stripe/stripe-mock@v0.203.0")
	}
	return newGateway(t, mockURL)
}

// recorder is a transport that notes "METHOD /path" of every request it carries.
type recorder struct{ calls []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	return http.DefaultTransport.RoundTrip(req)
}

func newGateway(t *testing.T, baseURL string) *Gateway {
	t.Helper()
	// stripe-mock accepts only keys of exactly three "_" parts (docs/gateways.md).
	g, err := New(Config{SecretKey: "sk_test_123", WebhookSecret: "whsec_test", BaseURL: baseURL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func usd(t *testing.T, cents int64) billing.Money {
	t.Helper()
	m, err := billing.New(cents, "USD")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// stripe-mock validates every request against Stripe's OpenAPI spec, so a wrong parameter
// name or type in any call below fails with ErrInvalidRequest.
func TestStripeMockAcceptsEveryCallTheGatewayMakes(t *testing.T) {
	mockGateway(t)
	rec := &recorder{}
	g, err := New(Config{SecretKey: "sk_test_123", BaseURL: mockURL, HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	cus, err := g.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "ada@example.com", Name: "Ada Lovelace"})
	if err != nil {
		t.Fatalf("EnsureCustomer: %v", err)
	}
	if !strings.HasPrefix(cus, "cus_") {
		t.Errorf("EnsureCustomer = %q, want a cus_ id", cus)
	}

	co, err := g.StartCheckout(ctx, gateways.CheckoutRequest{
		InvoiceID: 42, CustomerRef: cus, Amount: usd(t, 1999), Description: "Invoice #42",
		SuccessURL: "https://billing.example/account/invoices/42?paid=1",
		CancelURL:  "https://billing.example/account/invoices/42", IdempotencyKey: "checkout-invoice-42",
	})
	if err != nil {
		t.Fatalf("StartCheckout: %v", err)
	}
	if !strings.HasPrefix(co.Ref, "cs_") {
		t.Errorf("StartCheckout ref = %q, want a cs_ id", co.Ref)
	}

	setup, err := g.StartSetup(ctx, gateways.SetupRequest{CustomerRef: cus, Currency: "USD",
		SuccessURL: "https://billing.example/account/payment-methods?added=1", CancelURL: "https://billing.example/account/payment-methods",
		IdempotencyKey: "setup-customer-7"})
	if err != nil {
		t.Fatalf("StartSetup: %v", err)
	}
	if !strings.HasPrefix(setup.Ref, "cs_") {
		t.Errorf("StartSetup ref = %q, want a cs_ id", setup.Ref)
	}

	// stripe-mock answers with a fixture PaymentIntent whose status it does not simulate, so
	// only "the request was valid" is asserted here; outcomes are tested against the fake below.
	ch, err := g.ChargeSaved(ctx, gateways.ChargeRequest{
		InvoiceID: 42, CustomerRef: cus, PaymentMethodRef: "pm_123", Amount: usd(t, 1999),
		Description: "Renewal of invoice 42", IdempotencyKey: "subscription:9-invoice:42-attempt:1",
	})
	if errors.Is(err, gateways.ErrInvalidRequest) || errors.Is(err, gateways.ErrTemporary) {
		t.Fatalf("ChargeSaved refused by stripe-mock: %v", err)
	}
	if !strings.HasPrefix(ch.Ref, "pi_") {
		t.Errorf("ChargeSaved ref = %q (err %v), want a pi_ id", ch.Ref, err)
	}
	if ch.Amount != usd(t, 1999) {
		t.Errorf("ChargeSaved amount = %v, want 19.99 USD echoed back", ch.Amount)
	}

	for _, amount := range []billing.Money{{}, usd(t, 500)} {
		re, err := g.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: "pi_123", Amount: amount,
			Reason: "customer asked", IdempotencyKey: "refund-invoice-42-" + amount.String()})
		if err != nil {
			t.Fatalf("Refund %v: %v", amount, err)
		}
		if !strings.HasPrefix(re.Ref, "re_") {
			t.Errorf("Refund ref = %q, want a re_ id", re.Ref)
		}
	}

	if err := g.SetDefaultPaymentMethod(ctx, cus, "pm_123"); err != nil {
		t.Fatalf("SetDefaultPaymentMethod: %v", err)
	}
	pms, err := g.PaymentMethods(ctx, cus)
	if err != nil {
		t.Fatalf("PaymentMethods: %v", err)
	}
	if len(pms) == 0 || !strings.HasPrefix(pms[0].Ref, "pm_") {
		t.Errorf("PaymentMethods = %+v, want stripe-mock's fixture card", pms)
	}
	if err := g.DetachPaymentMethod(ctx, "pm_123"); err != nil {
		t.Fatalf("DetachPaymentMethod: %v", err)
	}

	want := []string{
		"GET /v1/customers/search", "POST /v1/customers", "POST /v1/checkout/sessions", "POST /v1/checkout/sessions", "POST /v1/payment_intents",
		"POST /v1/refunds", "POST /v1/refunds", "POST /v1/customers/" + cus, "GET /v1/customers/" + cus,
		"GET /v1/payment_methods", "POST /v1/payment_methods/pm_123/detach",
	}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls to stripe-mock:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
}

// Guards the test above: stripe-mock really refuses a misspelled parameter, and the refusal
// maps to ErrInvalidRequest with Stripe's message kept.
func TestStripeMockRefusesUnknownParameterAsInvalidRequest(t *testing.T) {
	g := mockGateway(t)
	p := &stripe.PaymentIntentParams{Amount: stripe.Int64(1999), Currency: stripe.String("usd")}
	p.AddExtra("off_sesion", "true")
	_, err := g.api.PaymentIntents.New(p)
	err = mapError("charge", err)
	if !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Fatalf("misspelled off_sesion: err = %v, want ErrInvalidRequest", err)
	}
	var ge *gateways.Error
	if !errors.As(err, &ge) || ge.HTTPStatus != http.StatusBadRequest || ge.Message == "charge: " {
		t.Errorf("gateways.Error = %+v, want status 400 and stripe-mock's message", ge)
	}
}

// fakeStripe answers every request with status and body, and records the last request.
type fakeStripe struct {
	status int
	body   string
	last   *http.Request
	form   url.Values
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.last, f.form = r, r.PostForm
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func fakeGateway(t *testing.T, status int, body string) (*Gateway, *fakeStripe) {
	t.Helper()
	f := &fakeStripe{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return newGateway(t, srv.URL), f
}

func renewal(t *testing.T) gateways.ChargeRequest {
	return gateways.ChargeRequest{InvoiceID: 42, CustomerRef: "cus_1", PaymentMethodRef: "pm_1",
		Amount: usd(t, 1999), IdempotencyKey: "subscription:9-invoice:42-attempt:2"}
}

func TestChargeSavedMapsStripeErrorsToRetryOrDunning(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     error
		code     string
		message  string
		payRef   string
		retrying bool
	}{
		{"card declined goes to dunning", 402,
			`{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method"}}}`,
			gateways.ErrDeclined, "card_declined", "Your card has insufficient funds.", "pi_declined", false},
		{"authentication required asks the customer", 402,
			`{"error":{"type":"card_error","code":"authentication_required","message":"Your card was declined. This transaction requires authentication.","payment_intent":{"id":"pi_3ds","object":"payment_intent","status":"requires_action"}}}`,
			gateways.ErrAuthenticationRequired, "authentication_required", "This transaction requires authentication.", "pi_3ds", false},
		{"rate limit is retried", 429,
			`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`,
			gateways.ErrTemporary, "rate_limit", "Too many requests", "", true},
		{"stripe outage is retried", 500,
			`{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`,
			gateways.ErrTemporary, "", "Something went wrong", "", true},
		{"bad parameter is not retried", 400,
			`{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_1'"}}`,
			gateways.ErrInvalidRequest, "resource_missing", "No such PaymentMethod", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := fakeGateway(t, tt.status, tt.body)
			_, err := g.ChargeSaved(context.Background(), renewal(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("HTTP %d: err = %v, want %v", tt.status, err, tt.want)
			}
			var ge *gateways.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %T is not a *gateways.Error", err)
			}
			if ge.Code != tt.code || !strings.Contains(ge.Message, tt.message) || ge.PaymentRef != tt.payRef {
				t.Errorf("got code %q message %q payment %q, want code %q, message containing %q, payment %q",
					ge.Code, ge.Message, ge.PaymentRef, tt.code, tt.message, tt.payRef)
			}
			if gateways.Retryable(err) != tt.retrying {
				t.Errorf("Retryable = %v, want %v", gateways.Retryable(err), tt.retrying)
			}
		})
	}
}

func TestNetworkFailureIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	g := newGateway(t, srv.URL)
	_, err := g.ChargeSaved(context.Background(), renewal(t))
	if !errors.Is(err, gateways.ErrTemporary) {
		t.Fatalf("connection refused: err = %v, want ErrTemporary", err)
	}
}

func TestChargeSavedSendsAnOffSessionConfirmedIntentWithOurIdempotencyKey(t *testing.T) {
	g, f := fakeGateway(t, 200, `{"id":"pi_ok","object":"payment_intent","amount":1999,"currency":"usd","status":"succeeded"}`)
	ch, err := g.ChargeSaved(context.Background(), renewal(t))
	if err != nil {
		t.Fatalf("ChargeSaved: %v", err)
	}
	if ch != (gateways.Charge{Ref: "pi_ok", Status: gateways.ChargeSucceeded, Amount: usd(t, 1999)}) {
		t.Errorf("ChargeSaved = %+v, want pi_ok succeeded 19.99 USD", ch)
	}
	if got := f.last.Header.Get("Idempotency-Key"); got != "subscription:9-invoice:42-attempt:2" {
		t.Errorf("Idempotency-Key = %q, want the request's key", got)
	}
	want := map[string]string{"amount": "1999", "currency": "usd", "customer": "cus_1", "payment_method": "pm_1",
		"off_session": "true", "confirm": "true", "metadata[invoice_id]": "42"}
	for k, v := range want {
		if got := f.form.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
}

func TestChargeSavedTreatsUnfinishedIntentsAsDunningOutcomes(t *testing.T) {
	tests := []struct {
		status string
		want   error
	}{
		{"requires_action", gateways.ErrAuthenticationRequired},
		{"requires_payment_method", gateways.ErrDeclined},
	}
	for _, tt := range tests {
		g, _ := fakeGateway(t, 200, `{"id":"pi_x","object":"payment_intent","amount":1999,"currency":"usd","status":"`+tt.status+`"}`)
		ch, err := g.ChargeSaved(context.Background(), renewal(t))
		if !errors.Is(err, tt.want) || ch.Ref != "pi_x" {
			t.Errorf("status %s: ref %q err %v, want pi_x and %v", tt.status, ch.Ref, err, tt.want)
		}
	}
	g, _ := fakeGateway(t, 200, `{"id":"pi_p","object":"payment_intent","amount":1999,"currency":"usd","status":"processing"}`)
	if ch, err := g.ChargeSaved(context.Background(), renewal(t)); err != nil || ch.Status != gateways.ChargePending {
		t.Errorf("status processing: %+v, %v; want pending and no error", ch, err)
	}
}

func TestMoneyMovingCallsRequireAnIdempotencyKey(t *testing.T) {
	g, f := fakeGateway(t, 500, `{}`)
	req := renewal(t)
	req.IdempotencyKey = ""
	if _, err := g.ChargeSaved(context.Background(), req); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("charge without key: err = %v, want ErrInvalidRequest", err)
	}
	if _, err := g.Refund(context.Background(), gateways.RefundRequest{ChargeRef: "pi_1"}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("refund without key: err = %v, want ErrInvalidRequest", err)
	}
	if f.last != nil {
		t.Errorf("a request reached Stripe: %s %s", f.last.Method, f.last.URL)
	}
}

const paymentSucceeded = `{"id":"evt_1","object":"event","api_version":"2024-06-20","created":1718900000,"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":"subscription:9-invoice:42-attempt:2"},"type":"payment_intent.succeeded","data":{"object":{"id":"pi_ok","object":"payment_intent","amount":1999,"currency":"usd","customer":"cus_1","status":"succeeded","metadata":{"invoice_id":"42"}}}}`

func signed(body, secret string, at time.Time) http.Header {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at})
	h := http.Header{}
	h.Set(SignatureHeader, sp.Header)
	return h
}

func TestParseWebhookReturnsTheVerifiedEvent(t *testing.T) {
	g := newGateway(t, "http://127.0.0.1:1")
	ev, err := g.ParseWebhook(context.Background(), []byte(paymentSucceeded), signed(paymentSucceeded, "whsec_test", time.Now()))
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	want := gateways.Event{ID: "evt_1", Type: "payment_intent.succeeded", Kind: gateways.EventPaymentSucceeded,
		Created: time.Unix(1718900000, 0).UTC(), InvoiceID: 42, PaymentRef: "pi_ok", CustomerRef: "cus_1", Amount: usd(t, 1999)}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event = %+v\nwant    %+v", ev, want)
	}
}

func TestParseWebhookReadsCheckoutSessions(t *testing.T) {
	g := newGateway(t, "http://127.0.0.1:1")
	body := `{"id":"evt_2","object":"event","api_version":"2024-06-20","created":1718900000,"type":"checkout.session.completed","data":{"object":{"id":"cs_1","object":"checkout.session","amount_total":4999,"currency":"eur","customer":"cus_1","payment_intent":"pi_first","metadata":{"invoice_id":"43"}}}}`
	ev, err := g.ParseWebhook(context.Background(), []byte(body), signed(body, "whsec_test", time.Now()))
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	if ev.InvoiceID != 43 || ev.PaymentRef != "pi_first" || ev.Amount != (billing.Money{Amount: 4999, Currency: "EUR"}) {
		t.Errorf("event = %+v, want invoice 43, pi_first, 49.99 EUR", ev)
	}
}

func TestParseWebhookRejectsForgedStaleAndUnsignedDeliveries(t *testing.T) {
	g := newGateway(t, "http://127.0.0.1:1")
	tampered := strings.Replace(paymentSucceeded, `"amount":1999`, `"amount":1`, 1)
	tests := []struct {
		name   string
		body   string
		header http.Header
	}{
		{"signed with another secret", paymentSucceeded, signed(paymentSucceeded, "whsec_attacker", time.Now())},
		{"body changed after signing", tampered, signed(paymentSucceeded, "whsec_test", time.Now())},
		{"signed 10 minutes ago, tolerance 5", paymentSucceeded, signed(paymentSucceeded, "whsec_test", time.Now().Add(-10*time.Minute))},
		{"no signature header", paymentSucceeded, http.Header{}},
		{"garbage signature header", paymentSucceeded, http.Header{SignatureHeader: {"t=abc,v1=zz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := g.ParseWebhook(context.Background(), []byte(tt.body), tt.header)
			if !errors.Is(err, gateways.ErrInvalidWebhook) {
				t.Fatalf("err = %v (event %+v), want ErrInvalidWebhook", err, ev)
			}
		})
	}
}

func TestParseWebhookHonoursAConfiguredTolerance(t *testing.T) {
	g, err := New(Config{SecretKey: "sk_test_123", WebhookSecret: "whsec_test", WebhookTolerance: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hdr := signed(paymentSucceeded, "whsec_test", time.Now().Add(-10*time.Minute))
	if _, err := g.ParseWebhook(context.Background(), []byte(paymentSucceeded), hdr); err != nil {
		t.Errorf("signed 10 minutes ago with tolerance 15: %v, want accepted", err)
	}
}
