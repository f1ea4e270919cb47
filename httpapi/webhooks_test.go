package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v79/webhook"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal"
	paypalsim "github.com/ezscale/billing/gateways/paypal/sim"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/gateways/stripe"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// webhookPost POSTs a delivery and returns the status and the answer's text.
func webhookPost(t testing.TB, url string, body []byte, header http.Header) (int, string) {
	t.Helper()
	status, text, err := tryWebhookPost(url, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return status, text
}

func tryWebhookPost(url string, body []byte, header http.Header) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(text)), nil
}

// webhookInvoice creates an issued invoice of amount minor units (USD) for a customer.
func webhookInvoice(t testing.TB, s *store.Store, customerID, amount int64, key string) store.Invoice {
	t.Helper()
	inv, err := s.CreateInvoice(context.Background(), store.NewInvoice{
		CustomerID: customerID, Currency: "USD", DueAt: time.Now().Add(14 * 24 * time.Hour),
		Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "VPS 2 GB (monthly)", Amount: billing.Money{Amount: amount, Currency: "USD"}}},
		IdempotencyKey: key, CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// webhookServer serves httpapi with the stack's store and Temporal but the given gateways, for
// gateways the stack does not register.
func webhookServer(t testing.TB, st *testenv.Stack, s *store.Store, gws gateways.Registry) *httptest.Server {
	t.Helper()
	pages, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Log: slog.New(slog.DiscardHandler), Store: s, Workflows: st.Temporal, Pages: pages,
		Gateways: gws, Settings: st.Settings,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func usdCents(n int64) billing.Money { return billing.Money{Amount: n, Currency: "USD"} }

func TestSignedSandboxWebhookPaysInvoiceOnce(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	inv := createTestInvoice(t, st, ana.ID, "webhook-pay-1")
	body, header := st.Sandbox.SignedEvent(gateways.Event{ID: "evt_pay_1", Type: sandbox.EventPaymentSucceeded, Created: time.Now(),
		InvoiceID: inv.ID, PaymentRef: "ch_pay_1", Amount: inv.Totals.Total})

	if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), body, header); status != http.StatusOK {
		t.Fatalf("signed payment event: status %d %q; want 200", status, text)
	}
	if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), body, header); status != http.StatusOK || text != "duplicate" {
		t.Fatalf("the same event again: status %d %q; want 200 duplicate", status, text)
	}
	got, err := st.Store.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != billing.StatusPaid || !got.Paid() {
		t.Fatalf("invoice %s after the payment event: status %s; want paid", got.Number, got.Status)
	}
	pays, _, err := st.Store.InvoiceLedger(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) != 1 || pays[0].Gateway != "sandbox" || pays[0].GatewayTxnID != "ch_pay_1" || pays[0].Amount != inv.Totals.Total ||
		pays[0].CreatedBy != "webhook:sandbox:evt_pay_1" {
		t.Fatalf("payments = %+v; want one sandbox ch_pay_1 of %s by webhook:sandbox:evt_pay_1", pays, inv.Totals.Total)
	}
	ev, err := st.Store.WebhookEvent(ctx, "sandbox", "evt_pay_1")
	if err != nil || !ev.Processed() || ev.Type != sandbox.EventPaymentSucceeded {
		t.Fatalf("stored event = %+v, %v; want a processed %s", ev, err, sandbox.EventPaymentSucceeded)
	}
}

func TestPaymentWebhookWithWrongAmountIsKeptForReviewAndRecordsNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	inv := createTestInvoice(t, st, ana.ID, "webhook-mismatch-1")
	for _, ev := range []gateways.Event{
		{ID: "evt_short", Type: sandbox.EventPaymentSucceeded, InvoiceID: inv.ID, PaymentRef: "ch_short", Amount: usdCents(inv.Totals.Total.Amount - 1)},
		{ID: "evt_eur", Type: sandbox.EventPaymentSucceeded, InvoiceID: inv.ID, PaymentRef: "ch_eur", Amount: billing.Money{Amount: inv.Totals.Total.Amount, Currency: "EUR"}},
		{ID: "evt_nowhere", Type: sandbox.EventPaymentSucceeded, InvoiceID: inv.ID + 1000, PaymentRef: "ch_nowhere", Amount: inv.Totals.Total},
	} {
		ev.Created = time.Now()
		body, header := st.Sandbox.SignedEvent(ev)
		if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), body, header); status != http.StatusOK {
			t.Fatalf("%s: status %d %q; want 200 so the gateway stops retrying", ev.ID, status, text)
		}
		stored, err := st.Store.WebhookEvent(ctx, "sandbox", ev.ID)
		if err != nil || stored.Processed() {
			t.Fatalf("%s stored as %+v, %v; want kept unprocessed for ops", ev.ID, stored, err)
		}
	}
	pays, _, err := st.Store.InvoiceLedger(ctx, inv.ID)
	if err != nil || len(pays) != 0 {
		t.Fatalf("payments after mismatched events: %+v, %v; want none", pays, err)
	}
}

func TestForgedStaleAndUnknownWebhooksAreRefusedWithNothingStored(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	inv := createTestInvoice(t, st, ana.ID, "webhook-forged-1")
	event := gateways.Event{ID: "evt_forged", Type: sandbox.EventPaymentSucceeded, Created: time.Now(),
		InvoiceID: inv.ID, PaymentRef: "ch_forged", Amount: inv.Totals.Total}

	forger := sandbox.New(sandbox.Options{Secret: []byte("not-the-secret")})
	wrongSecret, wrongHeader := forger.SignedEvent(event)
	stale := sandbox.New(sandbox.Options{Secret: []byte(testenv.SandboxSecret), Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
	staleBody, staleHeader := stale.SignedEvent(event)
	good, goodHeader := st.Sandbox.SignedEvent(event)
	tampered := bytes.Replace(good, []byte(`"ch_forged"`), []byte(`"ch_forgex"`), 1)
	unsigned := http.Header{}

	for _, c := range []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"wrong secret", wrongSecret, wrongHeader},
		{"tampered body", tampered, goodHeader},
		{"stale timestamp", staleBody, staleHeader},
		{"no signature", good, unsigned},
	} {
		if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), c.body, c.header); status != http.StatusBadRequest {
			t.Errorf("%s: status %d %q; want 400", c.name, status, text)
		}
	}
	if status, _ := webhookPost(t, st.URL("/webhooks/nosuchpay"), good, goodHeader); status != http.StatusNotFound {
		t.Errorf("unknown provider: status %d; want 404", status)
	}
	big := bytes.Repeat([]byte(" "), 2<<20)
	if status, _ := webhookPost(t, st.URL("/webhooks/sandbox"), big, goodHeader); status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: status %d; want 413", status)
	}

	events, err := st.Store.WebhookEvents(ctx, "")
	if err != nil || len(events) != 0 {
		t.Fatalf("webhook_events after refused deliveries: %d rows, %v; want none", len(events), err)
	}
	pays, _, err := st.Store.InvoiceLedger(ctx, inv.ID)
	if err != nil || len(pays) != 0 {
		t.Fatalf("payments after refused deliveries: %+v, %v; want none", pays, err)
	}
	if got, _ := st.Store.Invoice(ctx, inv.ID); got.Status != billing.StatusUnpaid {
		t.Fatalf("invoice after refused deliveries: %s; want unpaid", got.Status)
	}
}

func TestStripeWebhookWithBadSignatureIsRefusedAndAGoodOnePays(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	const secret = "whsec_test_webhooks"
	sg, err := stripe.New(stripe.Config{SecretKey: "sk_test_webhooks", WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := webhookServer(t, st, st.Store, gateways.Registry{sandbox.Name: st.Sandbox, "stripe": sg})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	inv := createTestInvoice(t, st, ana.ID, "webhook-stripe-1")
	payload := fmt.Appendf(nil, `{"id":"evt_stripe_1","object":"event","type":"payment_intent.succeeded","created":%d,"api_version":"2024-06-20",
		"data":{"object":{"id":"pi_stripe_1","object":"payment_intent","amount":%d,"currency":"usd","customer":"cus_1","metadata":{"invoice_id":"%d"}}}}`,
		time.Now().Unix(), inv.Totals.Total.Amount, inv.ID)
	sign := func(body []byte, secret string, at time.Time) http.Header {
		h := http.Header{}
		h.Set(stripe.SignatureHeader, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header)
		return h
	}

	for _, c := range []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"signed with another secret", payload, sign(payload, "whsec_forged", time.Now())},
		{"body changed after signing", bytes.Replace(payload, []byte(`"pi_stripe_1"`), []byte(`"pi_stripe_2"`), 1), sign(payload, secret, time.Now())},
		{"signed ten minutes ago", payload, sign(payload, secret, time.Now().Add(-10*time.Minute))},
	} {
		if status, text := webhookPost(t, srv.URL+"/webhooks/stripe", c.body, c.header); status != http.StatusBadRequest {
			t.Errorf("stripe delivery %s: status %d %q; want 400", c.name, status, text)
		}
	}
	if events, err := st.Store.WebhookEvents(ctx, "stripe"); err != nil || len(events) != 0 {
		t.Fatalf("stripe webhook_events after forged deliveries: %d, %v; want none", len(events), err)
	}
	if pays, _, _ := st.Store.InvoiceLedger(ctx, inv.ID); len(pays) != 0 {
		t.Fatalf("payments after forged stripe deliveries: %+v; want none", pays)
	}

	if status, text := webhookPost(t, srv.URL+"/webhooks/stripe", payload, sign(payload, secret, time.Now())); status != http.StatusOK {
		t.Fatalf("correctly signed stripe delivery: status %d %q; want 200", status, text)
	}
	if got, _ := st.Store.Invoice(ctx, inv.ID); got.Status != billing.StatusPaid {
		t.Fatalf("invoice after payment_intent.succeeded: %s; want paid", got.Status)
	}
	// Refunds are recorded by their re_ ids: two refunds, each reported twice and out of order
	// (charge.refund.updated carries the refund itself), add 3.00 + 2.00 once.
	for _, c := range []struct {
		id, refund string
		amount     int64
	}{{"evt_stripe_r2", "re_2", 200}, {"evt_stripe_r1", "re_1", 300}, {"evt_stripe_r1b", "re_1", 300}, {"evt_stripe_r2b", "re_2", 200}} {
		refund := fmt.Appendf(nil, `{"id":"%s","object":"event","type":"charge.refund.updated","created":%d,
			"data":{"object":{"id":"%s","object":"refund","amount":%d,"currency":"usd","status":"succeeded","charge":"ch_stripe_1","payment_intent":"pi_stripe_1"}}}`,
			c.id, time.Now().Unix(), c.refund, c.amount)
		if status, text := webhookPost(t, srv.URL+"/webhooks/stripe", refund, sign(refund, secret, time.Now())); status != http.StatusOK {
			t.Fatalf("charge.refund.updated %s: status %d %q; want 200", c.id, status, text)
		}
	}
	got, err := st.Store.Invoice(ctx, inv.ID)
	if err != nil || got.Status != billing.StatusPartiallyRefunded || got.Totals.Refunded.Amount != 500 {
		t.Fatalf("invoice after refunds: %s refunded %s, %v; want partially_refunded with 5.00 refunded", got.Status, got.Totals.Refunded, err)
	}
}

func TestPayPalWebhookThatFailsVerificationIsRefusedWithNothingStored(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	sim := paypalsim.New(paypalsim.Options{ClientID: "client-1", Secret: "secret-1", WebhookID: "WH-ours"})
	t.Cleanup(sim.Close)
	ours, err := paypal.New(paypal.Options{ClientID: "client-1", Secret: "secret-1", APIBase: sim.URL, WebhookID: "WH-ours"})
	if err != nil {
		t.Fatal(err)
	}
	srv := webhookServer(t, st, st.Store, gateways.Registry{sandbox.Name: st.Sandbox, "paypal": ours})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	inv := createTestInvoice(t, st, ana.ID, "webhook-paypal-1")
	capture := map[string]any{"id": "CAP-1", "status": "COMPLETED", "custom_id": strconv.FormatInt(inv.ID, 10),
		"amount": map[string]string{"currency_code": "USD", "value": inv.Totals.Total.Decimal()}}
	d, err := sim.SignedEvent(paypal.EventCaptureCompleted, "capture", capture)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(d.Body, []byte(`"CAP-1"`), []byte(`"CAP-2"`), 1)
	otherSig := d.Header.Clone()
	otherSig.Set(paypal.HeaderTransmissionSig, "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==")
	for _, c := range []struct {
		name   string
		body   []byte
		header http.Header
	}{{"body changed after signing", tampered, d.Header}, {"another transmission signature", d.Body, otherSig}} {
		if status, text := webhookPost(t, srv.URL+"/webhooks/paypal", c.body, c.header); status != http.StatusBadRequest {
			t.Errorf("paypal delivery %s: status %d %q; want 400", c.name, status, text)
		}
	}
	if events, err := st.Store.WebhookEvents(ctx, "paypal"); err != nil || len(events) != 0 {
		t.Fatalf("paypal webhook_events after failed verification: %d, %v; want none", len(events), err)
	}
	if pays, _, _ := st.Store.InvoiceLedger(ctx, inv.ID); len(pays) != 0 {
		t.Fatalf("payments after failed verification: %+v; want none", pays)
	}

	if err := sim.Deliver(ctx, srv.URL+"/webhooks/paypal", d); err != nil {
		t.Fatalf("verified paypal delivery: %v", err)
	}
	if got, _ := st.Store.Invoice(ctx, inv.ID); got.Status != billing.StatusPaid {
		t.Fatalf("invoice after PAYMENT.CAPTURE.COMPLETED: %s; want paid", got.Status)
	}
}

// awaitInvoicePaid stands in for a subscription or dunning workflow: it returns the first
// InvoicePaid signal it receives.
func awaitInvoicePaid(ctx workflow.Context) (workflows.InvoicePaid, error) {
	var paid workflows.InvoicePaid
	workflow.GetSignalChannel(ctx, workflows.SignalInvoicePaid).Receive(ctx, &paid)
	return paid, nil
}

func TestPaymentWebhookForSubscriptionInvoiceSignalsSubscriptionAndDunning(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	products, err := st.Store.Products(ctx)
	if err != nil || len(products) == 0 {
		t.Fatalf("seeded products: %d, %v", len(products), err)
	}
	p := products[0]
	price := usdCents(1250)
	order, err := st.Store.PlaceOrder(ctx, store.NewOrder{
		CustomerID: ana.ID, IdempotencyKey: "webhook-order-1", ProductID: p.ID, Cycle: billing.Monthly, Price: price,
		Gateway: sandbox.Name, CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", DueAt: time.Now(),
			Lines: []billing.Line{{Kind: billing.LineProduct, Description: p.Name, Amount: price, ProductID: p.ID}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	const queue = "webhook-signal-test"
	w := worker.New(st.Temporal, queue, worker.Options{})
	w.RegisterWorkflow(awaitInvoicePaid)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var runs []client.WorkflowRun
	for _, id := range []string{workflows.SubscriptionID(order.SubscriptionID), workflows.DunningID(order.InvoiceID)} {
		run, err := st.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, awaitInvoicePaid)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}

	body, header := st.Sandbox.SignedEvent(gateways.Event{ID: "evt_sub_1", Type: sandbox.EventPaymentSucceeded, Created: time.Now(),
		InvoiceID: order.InvoiceID, PaymentRef: "ch_sub_1", Amount: price})
	if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), body, header); status != http.StatusOK {
		t.Fatalf("payment event: status %d %q; want 200", status, text)
	}
	want := workflows.InvoicePaid{InvoiceID: order.InvoiceID, Gateway: sandbox.Name, PaymentRef: "ch_sub_1", EventID: "evt_sub_1"}
	for _, run := range runs {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		var got workflows.InvoicePaid
		err := run.Get(wctx, &got)
		cancel()
		if err != nil || got != want {
			t.Fatalf("%s received %+v, %v; want %+v", run.GetID(), got, err, want)
		}
	}
}

// ledgerEvent is one distinct gateway event of the shuffled-delivery test, about invoice
// number Invoice (an index into the test's invoices, so it can be made for any database).
type ledgerEvent struct {
	ID, Type, Ref string
	Invoice       int
	Amount        billing.Money
}

// ledgerEvents makes about 700 distinct sandbox events over n invoices of the given totals:
// per invoice a payment, failed attempts, partial refunds (never more than was paid), events
// nobody acts on, and events that cannot fit (wrong amount, wrong currency) which must record nothing.
func ledgerEvents(rng *rand.Rand, totals []int64) []ledgerEvent {
	var out []ledgerEvent
	id := 0
	next := func() string { id++; return fmt.Sprintf("evt_ledger_%04d", id) }
	for i, total := range totals {
		for f := range rng.IntN(4) {
			out = append(out, ledgerEvent{ID: next(), Type: sandbox.EventPaymentFailed, Ref: fmt.Sprintf("ch_fail_%d_%d", i, f), Invoice: i, Amount: usdCents(total)})
		}
		charge := fmt.Sprintf("ch_ledger_%d", i)
		out = append(out, ledgerEvent{ID: next(), Type: sandbox.EventPaymentSucceeded, Ref: charge, Invoice: i, Amount: usdCents(total)})
		left := total
		for range rng.IntN(7) {
			amount := min(left, 100*(1+rng.Int64N(total/300)))
			if amount <= 0 {
				break
			}
			left -= amount
			out = append(out, ledgerEvent{ID: next(), Type: sandbox.EventRefundSucceeded, Ref: charge, Invoice: i, Amount: usdCents(amount)})
		}
		for range rng.IntN(3) { // types nobody acts on are stored and marked processed
			out = append(out, ledgerEvent{ID: next(), Type: "customer.updated", Invoice: i})
		}
		switch rng.IntN(4) {
		case 0:
			out = append(out, ledgerEvent{ID: next(), Type: sandbox.EventPaymentSucceeded, Ref: charge + "_over", Invoice: i, Amount: usdCents(total + 1)})
		case 1:
			out = append(out, ledgerEvent{ID: next(), Type: sandbox.EventPaymentSucceeded, Ref: charge + "_eur", Invoice: i, Amount: billing.Money{Amount: total, Currency: "EUR"}})
		}
	}
	return out
}

// ledgerRow is one invoice's money as the test compares it: status, payments and refunds,
// without the database's own ids and times.
type ledgerRow struct {
	Status   billing.Status
	Paid     bool
	Payments []string
	Refunds  []string
}

// ledgerOf reads the ledger of invoices and the processed state of every stored event.
func ledgerOf(t testing.TB, s *store.Store, invoices []store.Invoice) ([]ledgerRow, []string) {
	t.Helper()
	ctx := context.Background()
	rows := make([]ledgerRow, len(invoices))
	for i, inv := range invoices {
		got, err := s.Invoice(ctx, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		pays, refunds, err := s.InvoiceLedger(ctx, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		row := ledgerRow{Status: got.Status, Paid: got.Paid()}
		refOf := map[int64]string{}
		for _, p := range pays {
			refOf[p.ID] = p.GatewayTxnID
			row.Payments = append(row.Payments, fmt.Sprintf("%s %s %s by %s", p.Gateway, p.GatewayTxnID, p.Amount, p.CreatedBy))
		}
		for _, r := range refunds {
			row.Refunds = append(row.Refunds, fmt.Sprintf("%s %s of %s by %s", r.GatewayRefundID, r.Amount, refOf[r.PaymentID], r.CreatedBy))
		}
		slices.Sort(row.Payments)
		slices.Sort(row.Refunds)
		rows[i] = row
	}
	events, err := s.WebhookEvents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range events {
		states = append(states, fmt.Sprintf("%s %s %s processed=%v", e.Provider, e.EventID, e.Type, e.Processed()))
	}
	slices.Sort(states)
	return rows, states
}

func TestShuffledDuplicateWebhooksLeaveTheLedgerOfOneCleanDelivery(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	clean := storetest.New(t)
	cleanSrv := webhookServer(t, st, clean, st.Gateways)
	ctx := context.Background()

	rng := rand.New(rand.NewPCG(4, 2026))
	const nInvoices = 100
	totals := make([]int64, nInvoices)
	for i := range totals {
		totals[i] = 600 + 100*rng.Int64N(40) // USD 6.00 to 45.00
	}
	setUp := func(s *store.Store) []store.Invoice {
		u, err := s.CreateUser(ctx, store.NewUser{Email: "ledger@example.com", Name: "Ledger", PasswordHash: "$argon2id$x", Role: store.RoleCustomer, Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]store.Invoice, nInvoices)
		for i, total := range totals {
			out[i] = webhookInvoice(t, s, u.ID, total, fmt.Sprintf("ledger-%03d", i))
		}
		return out
	}
	shuffledInvoices, cleanInvoices := setUp(st.Store), setUp(clean)
	events := ledgerEvents(rng, totals)
	if len(events) < 600 || len(events) > 800 {
		t.Fatalf("made %d distinct events; the test wants about 700", len(events))
	}
	signed := func(e ledgerEvent, invoices []store.Invoice) ([]byte, http.Header) {
		return st.Sandbox.SignedEvent(gateways.Event{ID: e.ID, Type: e.Type, Created: time.Now(),
			InvoiceID: invoices[e.Invoice].ID, PaymentRef: e.Ref, Amount: e.Amount})
	}

	// The clean ledger: every distinct event once, in the order it happened.
	for _, e := range events {
		body, header := signed(e, cleanInvoices)
		if status, text := webhookPost(t, cleanSrv.URL+"/webhooks/sandbox", body, header); status != http.StatusOK {
			t.Fatalf("clean delivery of %s %s: status %d %q; want 200", e.ID, e.Type, status, text)
		}
	}

	// 1,000 deliveries: each event once plus 30% duplicates, shuffled, 16 at a time. Like a
	// gateway, a worker redelivers what was not answered 2xx (a refund before its payment).
	type delivery struct {
		body     []byte
		header   http.Header
		attempts int
	}
	const total = 1000
	deliveries := make([]*delivery, 0, total)
	for i := range total {
		e := events[i%len(events)]
		if i >= len(events) {
			e = events[rng.IntN(len(events))]
		}
		body, header := signed(e, shuffledInvoices)
		deliveries = append(deliveries, &delivery{body: body, header: header})
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	queue := make(chan *delivery, total)
	for _, d := range deliveries {
		queue <- d
	}
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		failures []string
		pending  sync.WaitGroup
	)
	pending.Add(total)
	url := st.URL("/webhooks/sandbox")
	for range 16 {
		go func() {
			for d := range queue {
				status, text, err := tryWebhookPost(url, d.body, d.header)
				d.attempts++
				mu.Lock()
				statuses[status]++
				retry := status/100 != 2 && d.attempts < 50
				if status/100 != 2 && !retry {
					failures = append(failures, fmt.Sprintf("status %d %q err %v after %d attempts", status, text, err, d.attempts))
				}
				mu.Unlock()
				if retry {
					time.Sleep(20 * time.Millisecond)
					queue <- d
					continue
				}
				pending.Done()
			}
		}()
	}
	pending.Wait()
	close(queue)
	if len(failures) > 0 {
		t.Fatalf("%d deliveries never answered 2xx, e.g. %s", len(failures), failures[0])
	}
	t.Logf("%d deliveries of %d distinct events: answers by status %v", total, len(events), statuses)

	gotRows, gotEvents := ledgerOf(t, st.Store, shuffledInvoices)
	wantRows, wantEvents := ledgerOf(t, clean, cleanInvoices)
	for i := range wantRows {
		g, w := gotRows[i], wantRows[i]
		if g.Status != w.Status || g.Paid != w.Paid || !slices.Equal(g.Payments, w.Payments) || !slices.Equal(g.Refunds, w.Refunds) {
			t.Errorf("invoice %d (total %d) after shuffled deliveries:\n  status %s paid %v payments %q refunds %q\nafter one clean delivery:\n  status %s paid %v payments %q refunds %q",
				i, totals[i], g.Status, g.Paid, g.Payments, g.Refunds, w.Status, w.Paid, w.Payments, w.Refunds)
		}
	}
	if !slices.Equal(gotEvents, wantEvents) {
		t.Errorf("stored webhook events differ: %d shuffled vs %d clean", len(gotEvents), len(wantEvents))
		for i := range min(len(gotEvents), len(wantEvents)) {
			if gotEvents[i] != wantEvents[i] {
				t.Errorf("first difference: %q vs %q", gotEvents[i], wantEvents[i])
				break
			}
		}
	}
	var payments, refunds, paid, review int
	for _, r := range wantRows {
		payments += len(r.Payments)
		refunds += len(r.Refunds)
		if r.Paid {
			paid++
		}
	}
	for _, e := range wantEvents {
		if strings.HasSuffix(e, "processed=false") {
			review++
		}
	}
	if payments != nInvoices || paid != nInvoices || refunds == 0 || review == 0 {
		t.Fatalf("clean ledger: %d payments, %d paid invoices, %d refunds, %d events for review; want %d, %d, some, some",
			payments, paid, refunds, review, nInvoices, nInvoices)
	}
	t.Logf("ledger: %d invoices paid, %d payments, %d refunds, %d events left for review", paid, payments, refunds, review)
}
