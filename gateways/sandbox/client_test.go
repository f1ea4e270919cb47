package sandbox

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// apiClient is a Client of the env's sandbox, over HTTP, sending key.
func (e *env) apiClient(key string) *Client {
	return NewClient(ClientOptions{BaseURL: e.srv.URL, APIKey: key, Secret: []byte(testSecret), Now: e.clock})
}

// saveCardVia starts a USD 12.34 checkout for customer 7 through c, pays it on the hosted page
// with number (approving when asked to authenticate), and returns the customer and the card
// saved, as c lists them.
func (e *env) saveCardVia(c *Client, number string) (customerRef, methodRef string) {
	e.t.Helper()
	ctx := context.Background()
	cus, err := c.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "a@example.com"})
	if err != nil {
		e.t.Fatalf("EnsureCustomer over the API: %v", err)
	}
	co, err := c.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: 42, CustomerRef: cus, Amount: usd(1234),
		Description: "Invoice #42", SuccessURL: successURL, IdempotencyKey: "checkout-" + number})
	if err != nil {
		e.t.Fatalf("StartCheckout over the API: %v", err)
	}
	status, loc, _ := e.payWith(co.URL, number)
	if status == http.StatusSeeOther && strings.HasSuffix(loc, "/authenticate") {
		status, loc, _ = e.do(http.MethodPost, e.srv.URL+loc, map[string][]string{"action": {"approve"}})
	}
	if status != http.StatusSeeOther || loc != successURL {
		e.t.Fatalf("paying %s on the hosted page: status %d location %q, want 303 to %s", number, status, loc, successURL)
	}
	pms, err := c.PaymentMethods(ctx, cus)
	if err != nil || len(pms) == 0 {
		e.t.Fatalf("PaymentMethods over the API after paying with %s: %+v, %v", number, pms, err)
	}
	return cus, pms[len(pms)-1].Ref
}

// attachDecliningCard saves a card that declines into the sandbox state directly. The hosted
// page never saves a declining card, but a saved card can start declining (a blocked card),
// and ChargeSaved answers that with a decline.
func (e *env) attachDecliningCard(customerRef string) string {
	e.t.Helper()
	e.sb.mu.Lock()
	defer e.sb.mu.Unlock()
	cus, ok := e.sb.customers[customerRef]
	if !ok {
		e.t.Fatalf("no customer %s to attach a declining card to", customerRef)
	}
	e.sb.saveCardLocked(cus, enteredCard{card: testCards["4000000000000002"], expMonth: 12, expYear: 2030})
	return cus.defaultRef
}

func TestClientJourneyCheckoutOnHostedPageThenRenewalCharge(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	ctx := context.Background()
	if c.Name() != "sandbox" {
		t.Fatalf("Name() = %q, want sandbox", c.Name())
	}

	cus, err := c.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "a@example.com"})
	if err != nil || !strings.HasPrefix(cus, "cus_sb_") {
		t.Fatalf("EnsureCustomer: %q, %v; want a cus_sb_ ref", cus, err)
	}
	if again, err := c.EnsureCustomer(ctx, gateways.Customer{ID: 7}); err != nil || again != cus {
		t.Fatalf("EnsureCustomer again: %q, %v; want the same customer %s", again, err, cus)
	}

	req := gateways.CheckoutRequest{InvoiceID: 42, CustomerRef: cus, Amount: usd(1234), Description: "Invoice #42",
		SuccessURL: successURL, CancelURL: "http://shop.test/invoices/42", IdempotencyKey: "checkout-42-1"}
	co, err := c.StartCheckout(ctx, req)
	if err != nil || co.URL != e.srv.URL+"/sandbox/checkout/"+co.Ref {
		t.Fatalf("StartCheckout: %+v, %v; want a page under %s/sandbox/checkout/", co, err, e.srv.URL)
	}
	if again, err := c.StartCheckout(ctx, req); err != nil || again != co {
		t.Fatalf("StartCheckout with the same key: %+v, %v; want the same page %+v", again, err, co)
	}

	status, _, body := e.do(http.MethodGet, co.URL, nil)
	if status != http.StatusOK || !strings.Contains(body, "USD 12.34") {
		t.Fatalf("GET the hosted page: status %d, want 200 showing USD 12.34", status)
	}
	if status, loc, _ := e.payWith(co.URL, cardSucceeds); status != http.StatusSeeOther || loc != successURL {
		t.Fatalf("pay with 4242: status %d location %q, want 303 to %s", status, loc, successURL)
	}

	pms, err := c.PaymentMethods(ctx, cus)
	if err != nil || len(pms) != 1 || pms[0].Last4 != "4242" || pms[0].Brand != "visa" || !pms[0].Default ||
		pms[0].ExpMonth != 12 || pms[0].ExpYear != 2030 {
		t.Fatalf("PaymentMethods = %+v, %v; want one default visa 4242 12/2030", pms, err)
	}

	// The renewal charges the default card when none is named.
	ch, err := c.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 43, CustomerRef: cus, Amount: usd(500),
		Description: "Invoice #43", IdempotencyKey: "renew-43-1"})
	if err != nil || ch.Status != gateways.ChargeSucceeded || ch.Amount != usd(500) || !strings.HasPrefix(ch.Ref, "ch_sb_") {
		t.Fatalf("ChargeSaved: %+v, %v; want succeeded USD 5.00 with a ch_sb_ ref", ch, err)
	}

	st, err := c.Stats(ctx)
	if err != nil || st.Charges != 2 || st.DoubleChargedKeys != 0 || len(st.ChargesPerDoubleChargedKey) != 0 {
		t.Fatalf("Stats = %+v, %v; want 2 charges (checkout and renewal) and no double charges", st, err)
	}
	want := []string{EventPaymentSucceeded, EventPaymentSucceeded}
	if got := e.eventTypes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestClientChargeSavedDecliningCardIsErrDeclined(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	cus, _ := e.saveCardVia(c, cardSucceeds)
	pm := e.attachDecliningCard(cus)
	before := e.sb.ChargeCount()
	req := gateways.ChargeRequest{InvoiceID: 44, CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(500), IdempotencyKey: "renew-44-1"}

	_, err := c.ChargeSaved(context.Background(), req)
	ge, ok := errors.AsType[*gateways.Error](err)
	if !errors.Is(err, gateways.ErrDeclined) || !ok {
		t.Fatalf("charge a declining card: %v, want a *gateways.Error that is ErrDeclined", err)
	}
	if ge.Gateway != "sandbox" || ge.Code != "card_declined" || ge.DeclineCode != "generic_decline" ||
		ge.HTTPStatus != http.StatusPaymentRequired || !strings.HasPrefix(ge.PaymentRef, "ch_sb_") || ge.Message == "" {
		t.Errorf("decline = %+v; want sandbox card_declined/generic_decline, 402, a payment ref and a message", *ge)
	}
	if gateways.Retryable(err) {
		t.Errorf("a decline is Retryable; dunning, not a retry, should handle it")
	}
	// A retry with the same key gets the same decline, not a second attempt.
	_, again := c.ChargeSaved(context.Background(), req)
	if g2, ok := errors.AsType[*gateways.Error](again); !ok || !errors.Is(again, gateways.ErrDeclined) || g2.PaymentRef != ge.PaymentRef {
		t.Errorf("retried decline: %v, want the same decline with payment ref %s", again, ge.PaymentRef)
	}
	if n := e.sb.ChargeCount() - before; n != 0 {
		t.Errorf("a declined card made %d charges, want 0", n)
	}
}

func TestClientChargeSavedAuthenticationCardIsErrAuthenticationRequired(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	cus, pm := e.saveCardVia(c, cardAuthenticate)
	before := e.sb.ChargeCount()

	_, err := c.ChargeSaved(context.Background(), gateways.ChargeRequest{InvoiceID: 45, CustomerRef: cus,
		PaymentMethodRef: pm, Amount: usd(500), IdempotencyKey: "renew-45-1"})
	ge, ok := errors.AsType[*gateways.Error](err)
	if !errors.Is(err, gateways.ErrAuthenticationRequired) || !ok || ge.Code != "authentication_required" ||
		ge.HTTPStatus != http.StatusPaymentRequired || !strings.HasPrefix(ge.PaymentRef, "ch_sb_") {
		t.Fatalf("charge saved 3155 off-session: %v, want ErrAuthenticationRequired (authentication_required, 402) with a payment ref", err)
	}
	if errors.Is(err, gateways.ErrDeclined) {
		t.Errorf("authentication required also matches ErrDeclined: %v", err)
	}
	if n := e.sb.ChargeCount() - before; n != 0 {
		t.Errorf("an unauthenticated charge made %d charges, want 0", n)
	}
}

func TestClientRefundPartialThenRestNeverMoreThanCharged(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	ctx := context.Background()
	cus, pm := e.saveCardVia(c, cardSucceeds)
	ch, err := c.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(1000), IdempotencyKey: "c"})
	if err != nil {
		t.Fatalf("ChargeSaved: %v", err)
	}
	refund := func(key string, amount billing.Money) (gateways.Refund, error) {
		return c.Refund(ctx, gateways.RefundRequest{InvoiceID: 46, ChargeRef: ch.Ref, Amount: amount, Reason: "downgrade", IdempotencyKey: key})
	}

	part, err := refund("r1", usd(400))
	if err != nil || part.Amount != usd(400) || part.Status != "succeeded" || !strings.HasPrefix(part.Ref, "re_sb_") {
		t.Fatalf("refund USD 4.00 of 10.00: %+v, %v; want a succeeded re_sb_ refund of USD 4.00", part, err)
	}
	if again, err := refund("r1", usd(400)); err != nil || again != part {
		t.Fatalf("refund retried with key r1: %+v, %v; want the same refund %+v", again, err, part)
	}
	_, err = refund("r2", usd(601))
	if ge, ok := errors.AsType[*gateways.Error](err); !errors.Is(err, gateways.ErrInvalidRequest) || !ok ||
		ge.HTTPStatus != http.StatusBadRequest || !strings.Contains(ge.Message, "USD 6.00") {
		t.Fatalf("refund USD 6.01 when 6.00 is left: %v, want ErrInvalidRequest (400) saying USD 6.00 is left", err)
	}
	rest, err := refund("r3", billing.Money{})
	if err != nil || rest.Amount != usd(600) {
		t.Fatalf("refund the rest: %+v, %v; want USD 6.00", rest, err)
	}
	if _, err := refund("r4", usd(1)); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Fatalf("refund of a fully refunded charge: %v, want ErrInvalidRequest", err)
	}
}

func TestClientChargeSavedWithOneKeyFrom100GoroutinesChargesOnce(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	cus, pm := e.saveCardVia(c, cardSucceeds)
	before := e.sb.ChargeCount()
	req := gateways.ChargeRequest{InvoiceID: 50, CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(999),
		Description: "Invoice #50", IdempotencyKey: "renew-50-1"}

	refs := make([]string, 100)
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() {
			ch, err := c.ChargeSaved(context.Background(), req)
			refs[i], errs[i] = ch.Ref, err
		})
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] == "" || refs[i] != refs[0] {
			t.Fatalf("call %d: ref %q err %v, want the same charge %q as call 0", i, refs[i], errs[i], refs[0])
		}
	}
	if n := e.sb.ChargeCount() - before; n != 1 {
		t.Fatalf("100 concurrent API calls with one key made %d charges, want 1", n)
	}
	st, err := c.Stats(context.Background())
	if err != nil || st.DoubleChargedKeys != 0 || st.Charges != before+1 {
		t.Fatalf("Stats = %+v, %v; want %d charges and no double-charged key", st, err, before+1)
	}
	req.Amount = usd(1000)
	if _, err := c.ChargeSaved(context.Background(), req); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("same key, different amount over the API: %v, want ErrInvalidRequest", err)
	}
}

func TestClientWithoutTheAPIKeyIsInvalidRequestAndChargesNothing(t *testing.T) {
	e := newEnv(t)
	cus, pm := e.saveCardVia(e.apiClient(testAPIKey), cardSucceeds)
	before := e.sb.ChargeCount()

	// A sandbox with no API key configured refuses every key.
	closed := New(Options{BaseURL: "http://unused.test", Secret: []byte(testSecret)})
	closedSrv := httptest.NewServer(closed.Handler())
	t.Cleanup(closedSrv.Close)

	cases := map[string]*Client{
		"missing key": e.apiClient(""),
		"wrong key":   e.apiClient("sk_sandbox_wrong"),
		"prefix key":  e.apiClient(testAPIKey[:len(testAPIKey)-1]),
		"API disabled": NewClient(ClientOptions{BaseURL: closedSrv.URL, APIKey: testAPIKey,
			Secret: []byte(testSecret)}),
	}
	for name, c := range cases {
		_, err := c.ChargeSaved(context.Background(), gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: pm,
			Amount: usd(500), IdempotencyKey: "unauthorized-" + name})
		ge, ok := errors.AsType[*gateways.Error](err)
		if !errors.Is(err, gateways.ErrInvalidRequest) || !ok || ge.HTTPStatus != http.StatusUnauthorized || ge.Code != "invalid_api_key" {
			t.Errorf("%s: ChargeSaved = %v, want ErrInvalidRequest (401 invalid_api_key)", name, err)
		}
		if gateways.Retryable(err) {
			t.Errorf("%s: a refused key is Retryable; retrying will not help", name)
		}
		if _, err := c.EnsureCustomer(context.Background(), gateways.Customer{ID: 99}); !errors.Is(err, gateways.ErrInvalidRequest) {
			t.Errorf("%s: EnsureCustomer = %v, want ErrInvalidRequest", name, err)
		}
		if n := e.sb.ChargesFor("unauthorized-" + name); n != 0 {
			t.Errorf("%s: ChargesFor = %d, want 0", name, n)
		}
	}
	if n := e.sb.ChargeCount() - before; n != 0 {
		t.Errorf("calls without the right key made %d charges, want 0", n)
	}
	if n := closed.ChargeCount(); n != 0 {
		t.Errorf("the sandbox with its API disabled made %d charges, want 0", n)
	}
	e.sb.mu.Lock()
	_, made := e.sb.customerByID[99]
	e.sb.mu.Unlock()
	if made {
		t.Errorf("EnsureCustomer without the right key created customer 99")
	}
}

func TestClientPaymentMethodsSetDefaultAndDetach(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	ctx := context.Background()
	cus, first := e.saveCardVia(c, cardSucceeds)
	_, second := e.saveCardVia(c, cardAuthenticate)

	pms, err := c.PaymentMethods(ctx, cus)
	if err != nil || len(pms) != 2 || pms[0].Ref != first || pms[1].Ref != second || pms[0].Default || !pms[1].Default {
		t.Fatalf("PaymentMethods = %+v, %v; want 4242 then 3155, the last saved (3155) default", pms, err)
	}
	if err := c.SetDefaultPaymentMethod(ctx, cus, first); err != nil {
		t.Fatalf("SetDefaultPaymentMethod: %v", err)
	}
	if pms, _ := c.PaymentMethods(ctx, cus); len(pms) != 2 || !pms[0].Default || pms[1].Default {
		t.Fatalf("after setting 4242 default: %+v, want 4242 default and 3155 not", pms)
	}
	if err := c.DetachPaymentMethod(ctx, second); err != nil {
		t.Fatalf("DetachPaymentMethod: %v", err)
	}
	if pms, _ := c.PaymentMethods(ctx, cus); len(pms) != 1 || pms[0].Ref != first || !pms[0].Default {
		t.Fatalf("after detaching 3155: %+v, want only %s, default", pms, first)
	}
	if err := c.DetachPaymentMethod(ctx, second); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("detaching twice: %v, want ErrInvalidRequest", err)
	}
	if err := c.SetDefaultPaymentMethod(ctx, cus, second); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("default to a detached card: %v, want ErrInvalidRequest", err)
	}
	if _, err := c.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: second, Amount: usd(1),
		IdempotencyKey: "k"}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("charging a detached card: %v, want ErrInvalidRequest", err)
	}
	if _, err := c.PaymentMethods(ctx, "cus_sb_nope"); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("payment methods of an unknown customer: %v, want ErrInvalidRequest", err)
	}
}

func TestClientMapsEveryAnswerToAGatewayErrorKind(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"declined", 402, `{"error":{"kind":"declined","code":"card_declined","decline_code":"insufficient_funds","payment_ref":"ch_1"}}`, gateways.ErrDeclined},
		{"authentication", 402, `{"error":{"kind":"authentication_required","code":"authentication_required"}}`, gateways.ErrAuthenticationRequired},
		{"invalid", 400, `{"error":{"kind":"invalid_request","code":"invalid_request","message":"no such customer"}}`, gateways.ErrInvalidRequest},
		{"temporary", 503, `{"error":{"kind":"temporary","code":"rate_limited"}}`, gateways.ErrTemporary},
		{"5xx whatever the body says", 500, `{"error":{"kind":"declined"}}`, gateways.ErrTemporary},
		{"bad gateway page", 502, `<html>Bad Gateway</html>`, gateways.ErrTemporary},
		{"rate limited without body", 429, ``, gateways.ErrTemporary},
		{"unknown route page", 404, `404 page not found`, gateways.ErrInvalidRequest},
		{"unknown kind", 400, `{"error":{"kind":"something_new"}}`, gateways.ErrInvalidRequest},
		{"garbled success", 200, `{"ref":`, gateways.ErrTemporary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: testAPIKey})
			_, err := c.ChargeSaved(context.Background(), gateways.ChargeRequest{CustomerRef: "cus_1", Amount: usd(1), IdempotencyKey: "k"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("answer %d %s: %v, want %v", tc.status, tc.body, err, tc.want)
			}
			ge, ok := errors.AsType[*gateways.Error](err)
			if !ok || ge.Gateway != "sandbox" || ge.HTTPStatus != tc.status {
				t.Fatalf("answer %d: %#v, want a sandbox *gateways.Error with HTTPStatus %d", tc.status, err, tc.status)
			}
			if tc.name == "declined" && (ge.DeclineCode != "insufficient_funds" || ge.PaymentRef != "ch_1") {
				t.Errorf("decline details lost: %+v", *ge)
			}
		})
	}
}

func TestClientNetworkFailureIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: testAPIKey})
	_, err := c.ChargeSaved(context.Background(), gateways.ChargeRequest{CustomerRef: "cus_1", Amount: usd(1), IdempotencyKey: "k"})
	if !errors.Is(err, gateways.ErrTemporary) || !gateways.Retryable(err) {
		t.Fatalf("call to a closed server: %v, want retryable ErrTemporary", err)
	}

	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release) // before Close, which waits for the handler
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c = NewClient(ClientOptions{BaseURL: hang.URL, APIKey: testAPIKey})
	_, err = c.Refund(ctx, gateways.RefundRequest{ChargeRef: "ch_1", IdempotencyKey: "r"})
	if !errors.Is(err, gateways.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past its deadline: %v, want ErrTemporary that also is context.DeadlineExceeded", err)
	}
}

func TestClientParseWebhookVerifiesLikeTheSandbox(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	ctx := context.Background()
	ev := gateways.Event{ID: "evt_sb_1", Type: EventRefundSucceeded, Created: e.clock(), InvoiceID: 42,
		PaymentRef: "ch_sb_1", CustomerRef: "cus_sb_1", Amount: usd(400)}
	body, header := e.sb.SignedEvent(ev)

	// Written without its kind or refund id: the type says it is a refund, the event id names it.
	want := ev
	want.Kind = gateways.EventRefund
	want.Refunds = []gateways.RefundState{{Ref: "evt_sb_1", Amount: usd(400), Status: gateways.RefundSucceeded}}
	if got, err := c.ParseWebhook(ctx, body, header); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("client ParseWebhook of a sandbox delivery: %+v, %v; want %+v", got, err, want)
	}
	other := NewClient(ClientOptions{BaseURL: e.srv.URL, Secret: []byte("another secret"), Now: e.clock})
	if _, err := other.ParseWebhook(ctx, body, header); !errors.Is(err, gateways.ErrInvalidWebhook) {
		t.Errorf("client with another secret: %v, want ErrInvalidWebhook", err)
	}
	if _, err := c.ParseWebhook(ctx, []byte(strings.Replace(string(body), "400", "4000", 1)), header); !errors.Is(err, gateways.ErrInvalidWebhook) {
		t.Errorf("tampered body: %v, want ErrInvalidWebhook", err)
	}
	e.advance(Tolerance + time.Second)
	if _, err := c.ParseWebhook(ctx, body, header); !errors.Is(err, gateways.ErrInvalidWebhook) {
		t.Errorf("delivery signed %s ago: %v, want ErrInvalidWebhook", Tolerance+time.Second, err)
	}
}

func TestClientStatsNameDoubleChargedKeys(t *testing.T) {
	e := newEnv(t)
	c := e.apiClient(testAPIKey)
	cus, pm := e.saveCardVia(c, cardSucceeds)
	if _, err := c.ChargeSaved(context.Background(), gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(100), IdempotencyKey: "once"}); err != nil {
		t.Fatalf("ChargeSaved: %v", err)
	}
	// Stand in for the bug crash tests look for: one key charged twice.
	e.sb.mu.Lock()
	e.sb.chargesPerKey["twice"] = 2
	e.sb.mu.Unlock()

	st, err := c.Stats(context.Background())
	if err != nil || st.Charges != 2 || st.DoubleChargedKeys != 1 || st.ChargesPerDoubleChargedKey["twice"] != 2 ||
		len(st.ChargesPerDoubleChargedKey) != 1 {
		t.Fatalf("Stats = %+v, %v; want 2 charges and only key \"twice\" double-charged (2)", st, err)
	}
	if local := e.sb.Stats(); local.Charges != st.Charges || local.DoubleChargedKeys != st.DoubleChargedKeys {
		t.Errorf("Stats over the API %+v differ from Sandbox.Stats %+v", st, local)
	}
}
