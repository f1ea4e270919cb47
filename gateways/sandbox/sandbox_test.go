package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

const (
	cardSucceeds     = "4242 4242 4242 4242"
	cardDeclines     = "4000 0000 0000 0002"
	cardAuthenticate = "4000 0025 0000 3155"
	successURL       = "http://shop.test/invoices/42/paid"
	testSecret       = "whsec_test"
	testAPIKey       = "sk_sandbox_test"
)

// env is a sandbox mounted at /sandbox/ on a test server, with a settable clock and the
// events it emitted.
type env struct {
	t      *testing.T
	sb     *Sandbox
	srv    *httptest.Server
	client *http.Client
	opts   Options // as the sandbox was made, for restart

	mu      sync.Mutex
	handler http.Handler // sb's, swapped by restart
	now     time.Time
	events  []gateways.Event
	bodies  []string // every page rendered, to check no card number comes back
}

// newEnv starts the sandbox with the API key testAPIKey; opts adjust its Options further.
func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	o := Options{BaseURL: e.srv.URL, Secret: []byte(testSecret), Now: e.clock, APIKey: testAPIKey,
		Logger: slog.New(slog.DiscardHandler), Notify: func(ev gateways.Event) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.events = append(e.events, ev)
		}}
	for _, opt := range opts {
		opt(&o)
	}
	e.opts = o
	e.sb = New(o)
	t.Cleanup(e.sb.Close) // registered after srv.Close, so it runs first
	e.handler = e.sb.Handler()
	mux.HandleFunc("/sandbox/", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.handler
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	})
	e.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *env) eventTypes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var types []string
	for _, ev := range e.events {
		types = append(types, ev.Type)
	}
	return types
}

func usd(cents int64) billing.Money { return billing.Money{Amount: cents, Currency: "USD"} }

// checkout makes a customer and a checkout of USD 12.34 for invoice 42, returning both refs
// and the page URL.
func (e *env) checkout() (customerRef string, co gateways.Checkout) {
	e.t.Helper()
	ctx := context.Background()
	cus, err := e.sb.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "a@example.com"})
	if err != nil {
		e.t.Fatalf("EnsureCustomer: %v", err)
	}
	co, err = e.sb.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: 42, CustomerRef: cus, Amount: usd(1234),
		Description: "Invoice #42", SuccessURL: successURL, CancelURL: "http://shop.test/invoices/42",
		IdempotencyKey: "checkout-42-" + fmt.Sprint(time.Now().UnixNano())})
	if err != nil {
		e.t.Fatalf("StartCheckout: %v", err)
	}
	return cus, co
}

func (e *env) do(method, rawURL string, form url.Values) (status int, location, body string) {
	e.t.Helper()
	var req *http.Request
	var err error
	if form == nil {
		req, err = http.NewRequest(method, rawURL, nil)
	} else {
		req, err = http.NewRequest(method, rawURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	e.mu.Lock()
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (e *env) payWith(pageURL, number string) (status int, location, body string) {
	return e.do(http.MethodPost, pageURL, url.Values{"number": {number}, "expiry": {"12 / 30"}, "cvc": {"123"}})
}

// saveCard pays a fresh checkout with number (authenticating when asked) and returns the
// customer and the saved card's ref.
func (e *env) saveCard(number string) (customerRef, methodRef string) {
	e.t.Helper()
	cus, co := e.checkout()
	status, loc, _ := e.payWith(co.URL, number)
	if status == http.StatusSeeOther && strings.HasSuffix(loc, "/authenticate") {
		status, loc, _ = e.do(http.MethodPost, e.srv.URL+loc, url.Values{"action": {"approve"}})
	}
	if status != http.StatusSeeOther || loc != successURL {
		e.t.Fatalf("paying with %s: status %d location %q, want 303 to %s", number, status, loc, successURL)
	}
	pms, err := e.sb.PaymentMethods(context.Background(), cus)
	if err != nil || len(pms) == 0 {
		e.t.Fatalf("PaymentMethods after paying with %s: %v, %v", number, pms, err)
	}
	return cus, pms[len(pms)-1].Ref
}

func TestHostedCheckoutWithSucceedingCardPaysSavesCardAndRedirects(t *testing.T) {
	e := newEnv(t)
	cus, co := e.checkout()
	if want := e.srv.URL + "/sandbox/checkout/" + co.Ref; co.URL != want {
		t.Fatalf("checkout URL %q, want %q", co.URL, want)
	}

	status, _, body := e.do(http.MethodGet, co.URL, nil)
	if status != http.StatusOK || !strings.Contains(body, "USD 12.34") || !strings.Contains(body, "Invoice #42") {
		t.Fatalf("GET page: status %d, want 200 showing USD 12.34 and Invoice #42; body:\n%s", status, body)
	}
	for _, want := range []string{`<label for="number">`, `<label for="expiry">`, `<label for="cvc">`, `name="viewport"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}

	status, loc, _ := e.payWith(co.URL, cardSucceeds)
	if status != http.StatusSeeOther || loc != successURL {
		t.Fatalf("POST 4242: status %d location %q, want 303 to %s", status, loc, successURL)
	}
	if n := e.sb.ChargeCount(); n != 1 {
		t.Errorf("ChargeCount = %d after one paid checkout, want 1", n)
	}
	pms, err := e.sb.PaymentMethods(context.Background(), cus)
	if err != nil || len(pms) != 1 || pms[0].Brand != "visa" || pms[0].Last4 != "4242" || !pms[0].Default ||
		pms[0].ExpMonth != 12 || pms[0].ExpYear != 2030 {
		t.Fatalf("saved cards = %+v, %v; want one default visa 4242 12/2030", pms, err)
	}
	if got := e.eventTypes(); len(got) != 1 || got[0] != EventPaymentSucceeded {
		t.Fatalf("events = %v, want [%s]", got, EventPaymentSucceeded)
	}
	if ev := e.events[0]; ev.InvoiceID != 42 || ev.CustomerRef != cus || ev.Amount != usd(1234) || ev.PaymentRef == "" {
		t.Errorf("event = %+v, want invoice 42, customer %s, USD 12.34 and a payment ref", ev, cus)
	}

	// A paid page sends the customer on instead of charging again.
	if status, loc, _ := e.payWith(co.URL, cardSucceeds); status != http.StatusSeeOther || loc != successURL {
		t.Errorf("second POST on a paid checkout: status %d location %q, want 303 to success", status, loc)
	}
	if n := e.sb.ChargeCount(); n != 1 {
		t.Errorf("ChargeCount = %d after paying a paid checkout again, want still 1", n)
	}
}

func TestHostedCheckoutDeclineShowsErrorSavesNothingAndAllowsRetry(t *testing.T) {
	e := newEnv(t)
	cus, co := e.checkout()
	status, _, body := e.payWith(co.URL, cardDeclines)
	if status != http.StatusPaymentRequired || !strings.Contains(body, "declined") || !strings.Contains(body, `<form method="post"`) {
		t.Fatalf("POST 0002: status %d, want 402 with the decline and the form again; body:\n%s", status, body)
	}
	if pms, _ := e.sb.PaymentMethods(context.Background(), cus); len(pms) != 0 {
		t.Fatalf("a declined card was saved: %+v", pms)
	}
	if n := e.sb.ChargeCount(); n != 0 {
		t.Fatalf("ChargeCount = %d after a decline, want 0", n)
	}
	if got := e.eventTypes(); len(got) != 1 || got[0] != EventPaymentFailed {
		t.Fatalf("events = %v, want [%s]", got, EventPaymentFailed)
	}
	status, loc, _ := e.payWith(co.URL, cardSucceeds)
	if status != http.StatusSeeOther || loc != successURL {
		t.Fatalf("retry with 4242: status %d location %q, want 303 to success", status, loc)
	}
}

func TestHostedCheckoutRejectsUnknownCardAndBadExpiryWithoutCharging(t *testing.T) {
	e := newEnv(t)
	_, co := e.checkout()
	for _, form := range []url.Values{
		{"number": {"4111 1111 1111 1111"}, "expiry": {"12/30"}, "cvc": {"123"}},
		{"number": {cardSucceeds}, "expiry": {"10/26"}, "cvc": {"123"}}, // expired: the clock is November 2026
		{"number": {cardSucceeds}, "expiry": {"13/30"}, "cvc": {"123"}},
		{"number": {cardSucceeds}, "expiry": {"12/30"}, "cvc": {"12"}},
	} {
		status, _, body := e.do(http.MethodPost, co.URL, form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `class="error"`) {
			t.Errorf("POST %v: status %d, want 422 with an error", form, status)
		}
	}
	if n := e.sb.ChargeCount(); n != 0 {
		t.Fatalf("ChargeCount = %d after invalid input, want 0", n)
	}
}

func TestHostedCheckoutAuthenticationFailThenApprove(t *testing.T) {
	e := newEnv(t)
	cus, co := e.checkout()
	authURL := co.URL + "/authenticate"

	status, loc, _ := e.payWith(co.URL, cardAuthenticate)
	if status != http.StatusSeeOther || e.srv.URL+loc != authURL {
		t.Fatalf("POST 3155: status %d location %q, want 303 to the authentication step", status, loc)
	}
	status, _, body := e.do(http.MethodGet, authURL, nil)
	if status != http.StatusOK || !strings.Contains(body, "Approve") || !strings.Contains(body, "3155") {
		t.Fatalf("GET authentication: status %d, want 200 with Approve for card 3155; body:\n%s", status, body)
	}

	status, _, body = e.do(http.MethodPost, authURL, url.Values{"action": {"fail"}})
	if status != http.StatusPaymentRequired || !strings.Contains(body, "Authentication failed") {
		t.Fatalf("POST fail: status %d, want 402 with the failure on the form; body:\n%s", status, body)
	}
	if pms, _ := e.sb.PaymentMethods(context.Background(), cus); len(pms) != 0 || e.sb.ChargeCount() != 0 {
		t.Fatalf("failed authentication saved %+v and made %d charges, want none", pms, e.sb.ChargeCount())
	}
	// Without a pending card the step sends the customer back to the form.
	if status, loc, _ := e.do(http.MethodGet, authURL, nil); status != http.StatusSeeOther || e.srv.URL+loc != co.URL {
		t.Errorf("GET authentication with nothing pending: status %d location %q, want 303 to the form", status, loc)
	}

	e.payWith(co.URL, cardAuthenticate)
	status, loc, _ = e.do(http.MethodPost, authURL, url.Values{"action": {"approve"}})
	if status != http.StatusSeeOther || loc != successURL {
		t.Fatalf("POST approve: status %d location %q, want 303 to success", status, loc)
	}
	pms, _ := e.sb.PaymentMethods(context.Background(), cus)
	if len(pms) != 1 || pms[0].Last4 != "3155" || e.sb.ChargeCount() != 1 {
		t.Fatalf("after approval: cards %+v and %d charges, want card 3155 and 1 charge", pms, e.sb.ChargeCount())
	}
	want := []string{EventPaymentFailed, EventPaymentSucceeded}
	if got := e.eventTypes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestUnknownCheckoutIsNotFound(t *testing.T) {
	e := newEnv(t)
	if status, _, _ := e.do(http.MethodGet, e.srv.URL+"/sandbox/checkout/cs_sb_nope", nil); status != http.StatusNotFound {
		t.Fatalf("GET unknown checkout: status %d, want 404", status)
	}
}

func TestOffSessionChargeBySavedCardType(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, ok := e.saveCard(cardSucceeds)
	_, auth := e.saveCard(cardAuthenticate)

	ch, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 43, CustomerRef: cus, PaymentMethodRef: ok,
		Amount: usd(500), IdempotencyKey: "renew-43-1"})
	if err != nil || ch.Status != gateways.ChargeSucceeded || ch.Amount != usd(500) || ch.Ref == "" {
		t.Fatalf("charge saved 4242: %+v, %v; want succeeded USD 5.00", ch, err)
	}

	_, err = e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 44, CustomerRef: cus, PaymentMethodRef: auth,
		Amount: usd(500), IdempotencyKey: "renew-44-1"})
	var ge *gateways.Error
	if !errors.Is(err, gateways.ErrAuthenticationRequired) || !errors.As(err, &ge) || ge.PaymentRef == "" {
		t.Fatalf("charge saved 3155 off-session: %v, want ErrAuthenticationRequired with a payment ref", err)
	}
	if n := e.sb.ChargesFor("renew-44-1"); n != 0 {
		t.Errorf("ChargesFor(renew-44-1) = %d after an authentication failure, want 0", n)
	}
	// The default (the last card saved, 3155) is charged when no card is named.
	if _, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, Amount: usd(1), IdempotencyKey: "k-default"}); !errors.Is(err, gateways.ErrAuthenticationRequired) {
		t.Errorf("charge default 3155: %v, want ErrAuthenticationRequired", err)
	}
	if _, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: "pm_sb_nope", Amount: usd(1), IdempotencyKey: "k-x"}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("charge unknown card: %v, want ErrInvalidRequest", err)
	}
	if _, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: ok, Amount: usd(1)}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("charge without idempotency key: %v, want ErrInvalidRequest", err)
	}
}

func TestPaymentMethodsDefaultAndDetach(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, first := e.saveCard(cardSucceeds)
	_, second := e.saveCard(cardAuthenticate)
	if err := e.sb.SetDefaultPaymentMethod(ctx, cus, first); err != nil {
		t.Fatalf("SetDefaultPaymentMethod: %v", err)
	}
	pms, _ := e.sb.PaymentMethods(ctx, cus)
	if len(pms) != 2 || !pms[0].Default || pms[1].Default {
		t.Fatalf("cards = %+v, want 4242 default and 3155 not", pms)
	}
	if err := e.sb.DetachPaymentMethod(ctx, second); err != nil {
		t.Fatalf("DetachPaymentMethod: %v", err)
	}
	if pms, _ := e.sb.PaymentMethods(ctx, cus); len(pms) != 1 || pms[0].Ref != first {
		t.Fatalf("cards after detach = %+v, want only %s", pms, first)
	}
	if _, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: second, Amount: usd(1), IdempotencyKey: "k"}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("charging a detached card: %v, want ErrInvalidRequest", err)
	}
	if err := e.sb.SetDefaultPaymentMethod(ctx, cus, second); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("default to a detached card: %v, want ErrInvalidRequest", err)
	}
	if err := e.sb.DetachPaymentMethod(ctx, second); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("detaching twice: %v, want ErrInvalidRequest", err)
	}
}

func TestChargeSavedWithOneKeyFrom100GoroutinesChargesOnce(t *testing.T) {
	e := newEnv(t)
	cus, pm := e.saveCard(cardSucceeds)
	before := e.sb.ChargeCount()
	req := gateways.ChargeRequest{InvoiceID: 50, CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(999), IdempotencyKey: "renew-50-1"}

	refs := make([]string, 100)
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() {
			ch, err := e.sb.ChargeSaved(context.Background(), req)
			refs[i], errs[i] = ch.Ref, err
		})
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != refs[0] {
			t.Fatalf("call %d: ref %q err %v, want the same charge %q as call 0", i, refs[i], errs[i], refs[0])
		}
	}
	if n := e.sb.ChargesFor(req.IdempotencyKey); n != 1 {
		t.Fatalf("ChargesFor(%s) = %d after 100 concurrent calls, want 1", req.IdempotencyKey, n)
	}
	if n := e.sb.ChargeCount() - before; n != 1 {
		t.Fatalf("100 concurrent calls with one key made %d charges, want 1", n)
	}
	req.Amount = usd(1000)
	if _, err := e.sb.ChargeSaved(context.Background(), req); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("same key, different amount: %v, want ErrInvalidRequest", err)
	}
}

func TestRefundNeverExceedsChargedMinusRefunded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, pm := e.saveCard(cardSucceeds)
	ch, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(1000), IdempotencyKey: "c"})
	if err != nil {
		t.Fatal(err)
	}
	refund := func(key string, amount billing.Money) (gateways.Refund, error) {
		return e.sb.Refund(ctx, gateways.RefundRequest{ChargeRef: ch.Ref, Amount: amount, IdempotencyKey: key})
	}

	first, err := refund("r1", usd(400))
	if err != nil || first.Amount != usd(400) || first.Status != "succeeded" {
		t.Fatalf("refund 4.00 of 10.00: %+v, %v", first, err)
	}
	if again, err := refund("r1", usd(400)); err != nil || again.Ref != first.Ref {
		t.Fatalf("refund retried with key r1: %+v, %v; want the same refund %s", again, err, first.Ref)
	}
	if _, err := refund("r2", usd(601)); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Fatalf("refund 6.01 when 6.00 is left: %v, want ErrInvalidRequest", err)
	}
	for _, bad := range []billing.Money{usd(-1), {Amount: 100, Currency: "EUR"}} {
		if _, err := refund("r-bad-"+bad.String(), bad); !errors.Is(err, gateways.ErrInvalidRequest) {
			t.Errorf("refund %s: %v, want ErrInvalidRequest", bad, err)
		}
	}
	rest, err := refund("r3", billing.Money{})
	if err != nil || rest.Amount != usd(600) {
		t.Fatalf("refund the rest: %+v, %v; want USD 6.00", rest, err)
	}
	if _, err := refund("r4", billing.Money{}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Fatalf("refund of a fully refunded charge: %v, want ErrInvalidRequest", err)
	}
	if _, err := refund("r1", usd(300)); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("key r1 reused for another amount: %v, want ErrInvalidRequest", err)
	}
	if _, err := e.sb.Refund(ctx, gateways.RefundRequest{ChargeRef: "ch_sb_nope", IdempotencyKey: "r5"}); !errors.Is(err, gateways.ErrInvalidRequest) {
		t.Errorf("refund of an unknown charge: %v, want ErrInvalidRequest", err)
	}
}

func TestParseWebhookAcceptsOnlyFreshSandboxSignatures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := gateways.Event{ID: "evt_sb_1", Type: EventPaymentSucceeded, Created: e.clock(), InvoiceID: 42,
		PaymentRef: "ch_sb_1", CustomerRef: "cus_sb_1", Amount: usd(1234)}
	body, header := e.sb.SignedEvent(ev)

	want := ev
	want.Kind = gateways.EventPaymentSucceeded // an event signed without its kind: the type says it
	got, err := e.sb.ParseWebhook(ctx, body, header)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("valid delivery: %+v, %v; want %+v", got, err, want)
	}

	other := New(Options{Secret: []byte("another secret"), Now: e.clock})
	_, otherHeader := other.SignedEvent(ev)
	tampered := strings.Replace(string(body), "1234", "1", 1)
	cases := map[string]struct {
		body   []byte
		header http.Header
	}{
		"body changed":   {[]byte(tampered), header},
		"other secret":   {body, otherHeader},
		"no signature":   {body, http.Header{}},
		"garbage header": {body, http.Header{SignatureHeader: {"t=abc,v1=zz"}}},
		"signature only": {body, http.Header{SignatureHeader: {"v1=" + strings.Repeat("0", 64)}}},
		"another body":   {[]byte("{"), nil},
	}
	for name, c := range cases {
		h := c.header
		if h == nil {
			_, h = e.sb.SignedEvent(gateways.Event{}) // signs a different body
		}
		if _, err := e.sb.ParseWebhook(ctx, c.body, h); !errors.Is(err, gateways.ErrInvalidWebhook) {
			t.Errorf("%s: %v, want ErrInvalidWebhook", name, err)
		}
	}

	e.advance(5*time.Minute + time.Second)
	if _, err := e.sb.ParseWebhook(ctx, body, header); !errors.Is(err, gateways.ErrInvalidWebhook) {
		t.Fatalf("delivery signed 5m01s ago: %v, want ErrInvalidWebhook", err)
	}
	e.advance(-2 * time.Second)
	if _, err := e.sb.ParseWebhook(ctx, body, header); err != nil {
		t.Fatalf("delivery signed 4m59s ago: %v, want accepted", err)
	}
}

func TestNotifiedEventsVerifyAsWebhooks(t *testing.T) {
	e := newEnv(t)
	e.saveCard(cardSucceeds)
	for _, ev := range e.events {
		body, header := e.sb.SignedEvent(ev)
		if got, err := e.sb.ParseWebhook(context.Background(), body, header); err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %+v: %+v, %v", ev, got, err)
		}
	}
}

func TestFullCardNumberIsNeverStoredOrRendered(t *testing.T) {
	e := newEnv(t)
	e.saveCard(cardSucceeds)
	e.saveCard(cardAuthenticate)
	_, co := e.checkout()
	e.payWith(co.URL, cardDeclines)
	e.payWith(co.URL, "4111 1111 1111 1111")
	e.payWith(co.URL, cardAuthenticate) // left pending authentication
	e.do(http.MethodGet, co.URL+"/authenticate", nil)

	var stored []string
	e.sb.mu.Lock()
	for _, m := range e.sb.methods {
		stored = append(stored, fmt.Sprintf("%+v", *m))
	}
	for _, s := range e.sb.sessions {
		stored = append(stored, fmt.Sprintf("%+v", *s))
		if s.pending != nil {
			stored = append(stored, fmt.Sprintf("%+v", *s.pending))
		}
	}
	e.sb.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, number := range []string{cardSucceeds, cardDeclines, cardAuthenticate, "4111 1111 1111 1111"} {
		digits := strings.ReplaceAll(number, " ", "")
		for _, text := range append(stored, e.bodies...) {
			if strings.Contains(text, digits) || strings.Contains(text, number) {
				t.Fatalf("card number %s found in %.200q", number, text)
			}
		}
	}
	if len(e.bodies) < 5 {
		t.Fatalf("only %d pages rendered; the check saw too little", len(e.bodies))
	}
}

func TestCardThatFailsLaterPaysOnThePageThenDeclinesOffSession(t *testing.T) {
	e := newEnv(t)
	cus, method := e.saveCard("4000000000000341")
	if method == "" {
		t.Fatal("the 0341 card was not saved by the hosted page")
	}
	_, err := e.sb.ChargeSaved(context.Background(), gateways.ChargeRequest{InvoiceID: 9, CustomerRef: cus, PaymentMethodRef: method,
		Amount: usd(500), IdempotencyKey: "later-1"})
	if !errors.Is(err, gateways.ErrDeclined) {
		t.Fatalf("off-session charge of the 0341 card: %v, want ErrDeclined", err)
	}
}

func TestDeclineOffSessionSwitch(t *testing.T) {
	e := newEnv(t)
	cus, method := e.saveCard("4242424242424242")
	charge := func(key string) error {
		_, err := e.sb.ChargeSaved(context.Background(), gateways.ChargeRequest{InvoiceID: 9, CustomerRef: cus, PaymentMethodRef: method,
			Amount: usd(500), IdempotencyKey: key})
		return err
	}
	e.sb.DeclineOffSession(true)
	if err := charge("switch-1"); !errors.Is(err, gateways.ErrDeclined) {
		t.Fatalf("with the switch on: %v, want ErrDeclined", err)
	}
	e.sb.DeclineOffSession(false)
	if err := charge("switch-2"); err != nil {
		t.Fatalf("with the switch off: %v", err)
	}
	if n := e.sb.ChargeCount(); n != 2 { // the checkout's charge and switch-2
		t.Fatalf("charges = %d, want 2", n)
	}
}

func TestSetupSavesACardWithoutChargingAndMakesItTheDefault(t *testing.T) {
	e := newEnv(t)
	cus, first := e.saveCard("4242424242424242")
	before := e.sb.ChargeCount()
	co, err := e.sb.StartSetup(context.Background(), gateways.SetupRequest{CustomerRef: cus, Currency: "USD",
		SuccessURL: "https://shop.test/account/payment-methods?added=1", IdempotencyKey: "setup-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := e.sb.StartSetup(context.Background(), gateways.SetupRequest{CustomerRef: cus, Currency: "USD",
		SuccessURL: "https://shop.test/account/payment-methods?added=1", IdempotencyKey: "setup-1"})
	if again.Ref != co.Ref {
		t.Fatalf("same key gave page %s then %s", co.Ref, again.Ref)
	}
	if status, _, body := e.do(http.MethodGet, co.URL, nil); status != http.StatusOK || !strings.Contains(body, "Save card") || strings.Contains(body, "USD") {
		t.Fatalf("setup page: %d\n%s", status, body)
	}
	if status, loc, _ := e.payWith(co.URL, "4000000000000002"); status != http.StatusPaymentRequired || loc != "" {
		t.Fatalf("declining card on the setup page: %d %q", status, loc)
	}
	status, loc, _ := e.payWith(co.URL, "5555555555554444")
	if status == http.StatusSeeOther {
		t.Fatalf("an unknown card number was accepted (to %q)", loc)
	}
	if status, loc, _ := e.payWith(co.URL, "4000000000000341"); status != http.StatusSeeOther || loc != "https://shop.test/account/payment-methods?added=1" {
		t.Fatalf("saving the card: %d to %q", status, loc)
	}
	if n := e.sb.ChargeCount(); n != before {
		t.Fatalf("saving a card charged it: %d charges, want %d", n, before)
	}
	methods, err := e.sb.PaymentMethods(context.Background(), cus)
	if err != nil || len(methods) != 2 {
		t.Fatalf("methods %+v, %v", methods, err)
	}
	for _, m := range methods {
		if m.Default != (m.Last4 == "0341") || (m.Ref == first && m.Default) {
			t.Fatalf("the new card is not the default: %+v", methods)
		}
	}
}

// TestTheSameCardSavedAgainIsListedOnce: a customer who pays or saves with a card they already
// saved keeps one saved method for it, which becomes the default again.
func TestTheSameCardSavedAgainIsListedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, first := e.saveCard(cardSucceeds)
	co, err := e.sb.StartSetup(ctx, gateways.SetupRequest{CustomerRef: cus, Currency: "USD", SuccessURL: "https://shop.test/ok", IdempotencyKey: "setup-other"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.payWith(co.URL, "4000000000000341"); status != http.StatusSeeOther {
		t.Fatalf("saving another card: %d", status)
	}
	co, err = e.sb.StartSetup(ctx, gateways.SetupRequest{CustomerRef: cus, Currency: "USD", SuccessURL: "https://shop.test/ok", IdempotencyKey: "setup-same"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.payWith(co.URL, cardSucceeds); status != http.StatusSeeOther {
		t.Fatalf("saving the first card again: %d", status)
	}
	methods, err := e.sb.PaymentMethods(ctx, cus)
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) != 2 {
		t.Fatalf("saved methods %+v, want the two different cards once each", methods)
	}
	for _, m := range methods {
		if m.Default != (m.Ref == first) {
			t.Fatalf("saved methods %+v, want the card saved again (%s) to be the default", methods, first)
		}
	}
}
