package paypal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal/sim"
)

const (
	testClientID  = "sim-client"
	testSecret    = "sim-secret"
	testWebhookID = "WH-4KJ36219PM881574R"
	successURL    = "https://shop.test/invoices/42/paid?from=paypal"
	cancelURL     = "https://shop.test/invoices/42"
)

// env is a Gateway talking to a fresh simulator.
type env struct {
	t   *testing.T
	sim *sim.Server
	gw  *Gateway
}

func newEnv(t *testing.T, so sim.Options) *env {
	t.Helper()
	so.ClientID, so.Secret, so.WebhookID = testClientID, testSecret, testWebhookID
	so.Now = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) } // event times are predictable
	s := sim.New(so)
	t.Cleanup(s.Close)
	gw, err := New(Options{ClientID: testClientID, Secret: testSecret, APIBase: s.URL, WebhookID: testWebhookID, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{t: t, sim: s, gw: gw}
}

func usd(cents int64) billing.Money { return billing.Money{Amount: cents, Currency: "USD"} }

// checkout starts a checkout for an invoice with its own idempotency key.
func (e *env) checkout(invoiceID int64, amount billing.Money, key string) gateways.Checkout {
	e.t.Helper()
	co, err := e.gw.StartCheckout(context.Background(), gateways.CheckoutRequest{InvoiceID: invoiceID, CustomerRef: "customer-7",
		Amount: amount, Description: "Invoice #42", SuccessURL: successURL, CancelURL: cancelURL, IdempotencyKey: key})
	if err != nil {
		e.t.Fatalf("StartCheckout(invoice %d, %s): %v", invoiceID, amount, err)
	}
	return co
}

// approvedOrder is a checkout of USD 19.99 for invoice 42 the buyer approved.
func (e *env) approvedOrder() string {
	e.t.Helper()
	co := e.checkout(42, usd(1999), "checkout-42-1")
	if err := e.sim.Approve(co.Ref); err != nil {
		e.t.Fatalf("Approve(%s): %v", co.Ref, err)
	}
	return co.Ref
}

// captured is a captured USD 19.99 order for invoice 42.
func (e *env) captured() gateways.Charge {
	e.t.Helper()
	order := e.approvedOrder()
	charge, err := e.gw.Capture(context.Background(), order, "capture-"+order)
	if err != nil {
		e.t.Fatalf("Capture(%s): %v", order, err)
	}
	return charge
}

// gatewayError checks err is a *gateways.Error of kind and returns it.
func gatewayError(t *testing.T, err error, kind error) *gateways.Error {
	t.Helper()
	var ge *gateways.Error
	if !errors.As(err, &ge) || !errors.Is(err, kind) {
		t.Fatalf("err = %v, want a *gateways.Error of kind %q", err, kind)
	}
	if ge.Gateway != Name {
		t.Errorf("Error.Gateway = %q, want %q", ge.Gateway, Name)
	}
	return ge
}

// noRedirects is a browser that shows us each redirect instead of following it.
func noRedirects() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestCheckoutApproveOnPageThenCaptureChargesInvoiceOnce(t *testing.T) {
	e := newEnv(t, sim.Options{})
	co := e.checkout(42, usd(1999), "checkout-42-1")
	if want := e.sim.URL + "/checkoutnow?token=" + co.Ref; co.Ref == "" || co.URL != want {
		t.Fatalf("checkout = %+v, want an order id and URL %s", co, want)
	}

	browser := noRedirects()
	resp, err := browser.Get(co.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "USD 19.99") || !strings.Contains(string(page), ">Approve</button>") {
		t.Fatalf("approve page: status %d, want 200 showing USD 19.99 and an Approve button:\n%s", resp.StatusCode, page)
	}
	resp, err = browser.PostForm(e.sim.URL+"/checkoutnow", url.Values{"token": {co.Ref}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back.String(), "https://shop.test/invoices/42/paid?") ||
		back.Query().Get("token") != co.Ref || back.Query().Get("from") != "paypal" {
		t.Fatalf("approving: status %d Location %q, want 303 to the success URL with from=paypal and token=%s", resp.StatusCode, back, co.Ref)
	}
	if got := e.sim.OrderStatus(co.Ref); got != sim.OrderApproved {
		t.Fatalf("order status after approval = %q, want %q", got, sim.OrderApproved)
	}

	charge, err := e.gw.Capture(context.Background(), co.Ref, "capture-"+co.Ref)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	caps := e.sim.Captures()
	if len(caps) != 1 || caps[0].OrderID != co.Ref {
		t.Fatalf("simulator holds captures %+v, want exactly one of order %s", caps, co.Ref)
	}
	if charge.Ref != caps[0].ID || charge.Status != gateways.ChargeSucceeded || charge.Amount != usd(1999) || charge.InvoiceID != 42 {
		t.Errorf("charge = %+v, want ref %s, succeeded, USD 19.99, invoice 42", charge, caps[0].ID)
	}
	if got := e.sim.OrderStatus(co.Ref); got != sim.OrderCompleted {
		t.Errorf("order status after capture = %q, want %q", got, sim.OrderCompleted)
	}
}

func TestStartCheckoutSendsInvoiceIDAndDecimalAmount(t *testing.T) {
	e := newEnv(t, sim.Options{})
	co := e.checkout(42, usd(1999), "checkout-42-1")
	order, err := e.gw.client.GetOrder(context.Background(), co.Ref)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	if len(order.PurchaseUnits) != 1 {
		t.Fatalf("order has %d purchase units, want 1", len(order.PurchaseUnits))
	}
	u := order.PurchaseUnits[0]
	if u.ReferenceID != "inv-42" || u.CustomID != "42" || u.InvoiceID != "42" || u.Description != "Invoice #42" {
		t.Errorf("purchase unit ids = reference %q custom %q invoice %q description %q, want inv-42, 42, 42, Invoice #42",
			u.ReferenceID, u.CustomID, u.InvoiceID, u.Description)
	}
	if u.Amount == nil || u.Amount.Currency != "USD" || u.Amount.Value != "19.99" {
		t.Errorf("purchase unit amount = %+v, want USD \"19.99\"", u.Amount)
	}
}

func TestStartCheckoutWithSameKeyReturnsSameOrder(t *testing.T) {
	e := newEnv(t, sim.Options{})
	first := e.checkout(42, usd(1999), "checkout-42-1")
	again := e.checkout(42, usd(1999), "checkout-42-1")
	if again != first {
		t.Errorf("retried StartCheckout = %+v, want the first %+v", again, first)
	}
	if other := e.checkout(42, usd(1999), "checkout-42-2"); other.Ref == first.Ref {
		t.Errorf("a new key gave the same order %s, want a new one", other.Ref)
	}
	if n := e.sim.Requests("POST /v2/checkout/orders"); n != 3 {
		t.Errorf("create order requests = %d, want 3 (so the replay really went to the simulator)", n)
	}
}

func TestStartCheckoutRefusesBadRequestsWithoutCallingPayPal(t *testing.T) {
	e := newEnv(t, sim.Options{})
	for name, r := range map[string]gateways.CheckoutRequest{
		"zero amount":      {InvoiceID: 42, Amount: usd(0), SuccessURL: successURL, CancelURL: cancelURL},
		"unknown currency": {InvoiceID: 42, Amount: billing.Money{Amount: 100, Currency: "XXX"}, SuccessURL: successURL, CancelURL: cancelURL},
		"HUF with fillér":  {InvoiceID: 42, Amount: billing.Money{Amount: 50050, Currency: "HUF"}, SuccessURL: successURL, CancelURL: cancelURL},
		"no return URL":    {InvoiceID: 42, Amount: usd(100), CancelURL: cancelURL},
		"no invoice id":    {Amount: usd(100), SuccessURL: successURL, CancelURL: cancelURL},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.gw.StartCheckout(context.Background(), r)
			gatewayError(t, err, gateways.ErrInvalidRequest)
		})
	}
	if n := e.sim.Requests("POST /v1/oauth2/token") + e.sim.Requests("POST /v2/checkout/orders"); n != 0 {
		t.Errorf("%d requests reached PayPal for invalid checkouts, want 0", n)
	}
}

func TestCaptureRetriedWithSameKeyReturnsTheOneCapture(t *testing.T) {
	e := newEnv(t, sim.Options{})
	order := e.approvedOrder()
	first, err := e.gw.Capture(context.Background(), order, "capture-"+order)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	again, err := e.gw.Capture(context.Background(), order, "capture-"+order)
	if err != nil || again != first {
		t.Fatalf("retried Capture = %+v, %v; want the first %+v", again, err, first)
	}
	if caps := e.sim.Captures(); len(caps) != 1 {
		t.Fatalf("simulator holds %d captures after a retried capture, want 1", len(caps))
	}

	// A different key is a second capture attempt, which PayPal refuses.
	_, err = e.gw.Capture(context.Background(), order, "capture-other")
	ge := gatewayError(t, err, gateways.ErrInvalidRequest)
	if ge.DeclineCode != "ORDER_ALREADY_CAPTURED" || ge.HTTPStatus != http.StatusUnprocessableEntity {
		t.Errorf("second capture error = %+v, want 422 ORDER_ALREADY_CAPTURED", ge)
	}
}

func TestCaptureBeforeApprovalNeedsTheBuyerAndCanBeRetriedAfterwards(t *testing.T) {
	e := newEnv(t, sim.Options{})
	co := e.checkout(42, usd(1999), "checkout-42-1")
	_, err := e.gw.Capture(context.Background(), co.Ref, "capture-"+co.Ref)
	ge := gatewayError(t, err, gateways.ErrAuthenticationRequired)
	if ge.Code != "UNPROCESSABLE_ENTITY" || ge.DeclineCode != "ORDER_NOT_APPROVED" || ge.HTTPStatus != 422 ||
		!strings.Contains(ge.Message, "debug_id ") {
		t.Errorf("error = %+v, want UNPROCESSABLE_ENTITY/ORDER_NOT_APPROVED, 422 and the debug_id in the message", ge)
	}
	if caps := e.sim.Captures(); len(caps) != 0 {
		t.Fatalf("an unapproved order was captured: %+v", caps)
	}

	if err := e.sim.Approve(co.Ref); err != nil {
		t.Fatal(err)
	}
	if charge, err := e.gw.Capture(context.Background(), co.Ref, "capture-"+co.Ref); err != nil || charge.Status != gateways.ChargeSucceeded {
		t.Fatalf("Capture after approval with the same key = %+v, %v; want a succeeded charge", charge, err)
	}
}

func TestCaptureRefusedByPayPalMapsToDunningKinds(t *testing.T) {
	for issue, kind := range map[string]error{
		"INSTRUMENT_DECLINED":   gateways.ErrDeclined,
		"TRANSACTION_REFUSED":   gateways.ErrDeclined,
		"PAYER_ACTION_REQUIRED": gateways.ErrAuthenticationRequired,
	} {
		t.Run(issue, func(t *testing.T) {
			e := newEnv(t, sim.Options{})
			order := e.approvedOrder()
			e.sim.DeclineNextCapture(order, issue)
			_, err := e.gw.Capture(context.Background(), order, "capture-"+order)
			if ge := gatewayError(t, err, kind); ge.DeclineCode != issue {
				t.Errorf("DeclineCode = %q, want %q", ge.DeclineCode, issue)
			}
			if caps := e.sim.Captures(); len(caps) != 0 {
				t.Errorf("refused capture left captures %+v", caps)
			}
		})
	}
}

func TestCaptureReadsOrderWhenResponseListsNoCapture(t *testing.T) {
	e := newEnv(t, sim.Options{OmitCaptureDetails: true})
	order := e.approvedOrder()
	charge, err := e.gw.Capture(context.Background(), order, "capture-"+order)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	caps := e.sim.Captures()
	if len(caps) != 1 || charge.Ref != caps[0].ID || charge.Amount != usd(1999) {
		t.Fatalf("charge = %+v with simulator captures %+v, want the one capture of USD 19.99", charge, caps)
	}
	if n := e.sim.Requests("GET /v2/checkout/orders/{id}"); n != 1 {
		t.Errorf("GET order requests = %d, want 1 to find the capture", n)
	}
}

func TestCaptureOfSecondOrderForPaidInvoiceIsRefused(t *testing.T) {
	e := newEnv(t, sim.Options{})
	first := e.checkout(42, usd(1999), "checkout-42-1")
	second := e.checkout(42, usd(1999), "checkout-42-2") // the customer opened PayPal twice
	for _, id := range []string{first.Ref, second.Ref} {
		if err := e.sim.Approve(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.gw.Capture(context.Background(), first.Ref, "capture-"+first.Ref); err != nil {
		t.Fatalf("first Capture: %v", err)
	}
	_, err := e.gw.Capture(context.Background(), second.Ref, "capture-"+second.Ref)
	if ge := gatewayError(t, err, gateways.ErrInvalidRequest); ge.DeclineCode != "DUPLICATE_INVOICE_ID" {
		t.Errorf("DeclineCode = %q, want DUPLICATE_INVOICE_ID", ge.DeclineCode)
	}
	if caps := e.sim.Captures(); len(caps) != 1 {
		t.Errorf("invoice 42 was captured %d times, want 1", len(caps))
	}
}

func TestRefundsArePartialOrFullAndBoundedByTheCapture(t *testing.T) {
	e := newEnv(t, sim.Options{})
	charge := e.captured() // USD 19.99
	ctx := context.Background()
	refundState := func() sim.CaptureState {
		t.Helper()
		for _, c := range e.sim.Captures() {
			if c.ID == charge.Ref {
				return c
			}
		}
		t.Fatalf("capture %s is gone from the simulator", charge.Ref)
		return sim.CaptureState{}
	}

	partial, err := e.gw.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, Amount: usd(500), IdempotencyKey: "refund-42-1"})
	if err != nil || partial.Ref == "" || partial.Amount != usd(500) || partial.Status != "COMPLETED" {
		t.Fatalf("partial Refund = %+v, %v; want COMPLETED USD 5.00", partial, err)
	}
	again, err := e.gw.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, Amount: usd(500), IdempotencyKey: "refund-42-1"})
	if err != nil || again != partial {
		t.Fatalf("retried Refund = %+v, %v; want the first %+v", again, err, partial)
	}
	if st := refundState(); st.Refunded != usd(500) || st.Status != sim.CapturePartiallyRefunded {
		t.Fatalf("after USD 5.00 refunded (once, retried) the capture is %+v, want 5.00 refunded, PARTIALLY_REFUNDED", st)
	}

	_, err = e.gw.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, Amount: usd(1500), IdempotencyKey: "refund-42-2"})
	if ge := gatewayError(t, err, gateways.ErrInvalidRequest); ge.DeclineCode != "REFUND_AMOUNT_EXCEEDED" || ge.HTTPStatus != 422 {
		t.Errorf("over-refund (15.00 of 14.99 left) error = %+v, want 422 REFUND_AMOUNT_EXCEEDED", ge)
	}
	if st := refundState(); st.Refunded != usd(500) {
		t.Fatalf("a refused over-refund changed the refunded amount to %s, want USD 5.00", st.Refunded)
	}

	rest, err := e.gw.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, IdempotencyKey: "refund-42-3"})
	if err != nil || rest.Amount != usd(1499) {
		t.Fatalf("full Refund of the rest = %+v, %v; want USD 14.99", rest, err)
	}
	if st := refundState(); st.Refunded != usd(1999) || st.Status != sim.CaptureRefunded {
		t.Fatalf("after refunding everything the capture is %+v, want 19.99 refunded, REFUNDED", st)
	}
	_, err = e.gw.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: charge.Ref, IdempotencyKey: "refund-42-4"})
	if ge := gatewayError(t, err, gateways.ErrInvalidRequest); ge.DeclineCode != "CAPTURE_FULLY_REFUNDED" {
		t.Errorf("refunding a refunded capture: DeclineCode %q, want CAPTURE_FULLY_REFUNDED", ge.DeclineCode)
	}
}

func TestRefundOfUnknownCaptureIsInvalidRequest(t *testing.T) {
	e := newEnv(t, sim.Options{})
	_, err := e.gw.Refund(context.Background(), gateways.RefundRequest{ChargeRef: "NOSUCHCAPTURE", IdempotencyKey: "refund-x"})
	if ge := gatewayError(t, err, gateways.ErrInvalidRequest); ge.HTTPStatus != http.StatusNotFound || ge.Code != "RESOURCE_NOT_FOUND" {
		t.Errorf("error = %+v, want 404 RESOURCE_NOT_FOUND", ge)
	}
}

func TestOutagesAndRateLimitsAreTemporaryAndPass(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEnv(t, sim.Options{})
			e.checkout(41, usd(100), "warm-up") // fetches the token, so the fault hits the call itself
			e.sim.FailNext(1, status)
			_, err := e.gw.StartCheckout(context.Background(), gateways.CheckoutRequest{InvoiceID: 42, Amount: usd(1999),
				SuccessURL: successURL, CancelURL: cancelURL, IdempotencyKey: "checkout-42-1"})
			if ge := gatewayError(t, err, gateways.ErrTemporary); ge.HTTPStatus != status || !gateways.Retryable(err) {
				t.Errorf("error = %+v, want HTTP %d and retryable", ge, status)
			}
			e.checkout(42, usd(1999), "checkout-42-1") // the retry with the same key goes through
		})
	}
}

func TestTokenEndpointOutageIsTemporary(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.FailNext(1, http.StatusInternalServerError)
	_, err := e.gw.StartCheckout(context.Background(), gateways.CheckoutRequest{InvoiceID: 42, Amount: usd(1999),
		SuccessURL: successURL, CancelURL: cancelURL, IdempotencyKey: "checkout-42-1"})
	gatewayError(t, err, gateways.ErrTemporary)
	if n := e.sim.Requests("POST /v2/checkout/orders"); n != 0 {
		t.Errorf("an order was requested without a token (%d requests)", n)
	}
}

func TestUnreachablePayPalIsTemporary(t *testing.T) {
	s := sim.New(sim.Options{ClientID: testClientID, Secret: testSecret})
	base := s.URL
	s.Close()
	gw, err := New(Options{ClientID: testClientID, Secret: testSecret, APIBase: base, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.Capture(context.Background(), "5O190127TN364715T", "capture-1")
	if ge := gatewayError(t, err, gateways.ErrTemporary); ge.HTTPStatus != 0 {
		t.Errorf("HTTPStatus = %d for a network failure, want 0", ge.HTTPStatus)
	}
}

func TestWrongCredentialsAreInvalidRequest(t *testing.T) {
	e := newEnv(t, sim.Options{})
	gw, err := New(Options{ClientID: testClientID, Secret: "wrong", APIBase: e.sim.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.StartCheckout(context.Background(), gateways.CheckoutRequest{InvoiceID: 42, Amount: usd(1999),
		SuccessURL: successURL, CancelURL: cancelURL, IdempotencyKey: "checkout-42-1"})
	if ge := gatewayError(t, err, gateways.ErrInvalidRequest); ge.HTTPStatus != http.StatusUnauthorized {
		t.Errorf("HTTPStatus = %d, want 401", ge.HTTPStatus)
	}
}

func TestNoSavedPaymentMethodsAndNoCustomerObject(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	ref, err := e.gw.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "a@example.com"})
	again, err2 := e.gw.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "changed@example.com"})
	if err != nil || err2 != nil || ref != "customer-7" || again != ref {
		t.Errorf("EnsureCustomer = %q, %q (%v, %v); want customer-7 both times", ref, again, err, err2)
	}
	if _, err := e.gw.EnsureCustomer(ctx, gateways.Customer{}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("EnsureCustomer without id: %v, want ErrInvalidRequest", err)
	}

	_, err = e.gw.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 42, CustomerRef: ref, PaymentMethodRef: "pm", Amount: usd(1999), IdempotencyKey: "k"})
	ge := gatewayError(t, err, gateways.ErrInvalidRequest)
	if want := "off-session charges need a billing agreement; pay this invoice on PayPal"; !strings.Contains(err.Error(), want) ||
		!strings.HasPrefix(err.Error(), "paypal: ") || gateways.Retryable(ge) {
		t.Errorf("ChargeSaved error %q, want a non-retryable paypal error saying %q", err, want)
	}

	if pms, err := e.gw.PaymentMethods(ctx, ref); err != nil || len(pms) != 0 {
		t.Errorf("PaymentMethods = %+v, %v; want none", pms, err)
	}
	gatewayError(t, e.gw.SetDefaultPaymentMethod(ctx, ref, "pm"), gateways.ErrInvalidRequest)
	gatewayError(t, e.gw.DetachPaymentMethod(ctx, "pm"), gateways.ErrInvalidRequest)
	if n := e.sim.Requests("POST /v1/oauth2/token"); n != 0 {
		t.Errorf("%d token requests for calls that need no PayPal, want 0", n)
	}
}

func TestNewNeedsCredentials(t *testing.T) {
	if _, err := New(Options{ClientID: testClientID}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("New without secret: %v, want ErrInvalidRequest", err)
	}
}

func TestConcurrentCapturesWithOneKeyMakeOneCapture(t *testing.T) {
	e := newEnv(t, sim.Options{})
	order := e.approvedOrder()
	const n = 8
	refs := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			charge, err := e.gw.Capture(context.Background(), order, "capture-"+order)
			refs <- charge.Ref
			errs <- err
		}()
	}
	seen := map[string]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Capture: %v", err)
		}
		seen[<-refs] = true
	}
	if caps := e.sim.Captures(); len(caps) != 1 || len(seen) != 1 || !seen[caps[0].ID] {
		t.Fatalf("%d concurrent captures with one key gave refs %v and simulator captures %+v, want one capture for all", n, seen, caps)
	}
}
