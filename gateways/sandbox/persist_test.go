package sandbox

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv/simstore/simstoretest"
	"github.com/ezscale/billing/gateways"
)

// restart stops the env's sandbox and serves in its place one opened on the simstore in schema
// with the same options, as a new run of `ezscale dev` on the same database would.
func (e *env) restart(dsn, schema string) {
	e.t.Helper()
	e.sb.Close()
	sb, err := Open(context.Background(), e.opts, simstoretest.Open(e.t, dsn, schema))
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.t.Cleanup(sb.Close)
	e.mu.Lock()
	e.sb, e.handler = sb, sb.Handler()
	e.mu.Unlock()
}

func TestSavedCardAndCheckoutSurviveARestart(t *testing.T) {
	ctx := context.Background()
	dsn, schema := simstoretest.Schema(t)
	e := newEnv(t)
	e.restart(dsn, schema) // from here on the sandbox keeps its state in PostgreSQL

	cus, pm := e.saveCard(cardSucceeds)
	first := gateways.ChargeRequest{InvoiceID: 50, CustomerRef: cus, PaymentMethodRef: pm, Amount: usd(500), IdempotencyKey: "renew-50"}
	charged, err := e.sb.ChargeSaved(ctx, first)
	if err != nil {
		t.Fatalf("charge before restart: %v", err)
	}
	_, open := e.checkout() // a page the customer has not paid yet

	e.restart(dsn, schema)

	if again, err := e.sb.EnsureCustomer(ctx, gateways.Customer{ID: 7, Email: "a@example.com"}); err != nil || again != cus {
		t.Fatalf("EnsureCustomer after restart: %q %v, want the same customer %q", again, err, cus)
	}
	pms, err := e.sb.PaymentMethods(ctx, cus)
	if err != nil || len(pms) != 1 || pms[0].Ref != pm || !pms[0].Default || pms[0].Last4 != "4242" {
		t.Fatalf("saved cards after restart: %+v %v, want the default 4242 card %s", pms, err, pm)
	}
	ch, err := e.sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: 51, CustomerRef: cus, Amount: usd(700), IdempotencyKey: "renew-51"})
	if err != nil || ch.Status != gateways.ChargeSucceeded {
		t.Fatalf("charging the saved card after restart: %+v %v", ch, err)
	}
	if replay, err := e.sb.ChargeSaved(ctx, first); err != nil || replay.Ref != charged.Ref {
		t.Fatalf("retry of a charge made before restart: %+v %v, want the same charge %s", replay, err, charged.Ref)
	}
	if n := e.sb.ChargesFor("renew-50"); n != 1 {
		t.Fatalf("renew-50 charged %d times, want 1", n)
	}
	if status, loc, _ := e.payWith(open.URL, cardSucceeds); status != http.StatusSeeOther || loc != successURL {
		t.Fatalf("paying a checkout started before restart: %d %q, want 303 to %s", status, loc, successURL)
	}
	if _, err := e.sb.Refund(ctx, gateways.RefundRequest{ChargeRef: charged.Ref, IdempotencyKey: "refund-50"}); err != nil {
		t.Fatalf("refunding a charge made before restart: %v", err)
	}
	txs, err := e.sb.Transactions(ctx, time.Time{}, time.Now().Add(24*365*time.Hour))
	if err != nil || len(txs) < 4 {
		t.Fatalf("transactions after restart: %d %v, want the 3 charges and the refund", len(txs), err)
	}
}

func TestQueuedWebhookRetryIsDeliveredAfterARestart(t *testing.T) {
	dsn, schema := simstoretest.Schema(t)
	rc := newReceiver(t, 1000) // the app is down
	e := newEnv(t, webhookTo(rc, time.Hour))
	rc.verifyWith(e.apiClient(testAPIKey))
	e.restart(dsn, schema)

	e.saveCard(cardSucceeds)
	waitFor(t, "the first, failed attempt", func() bool { n, _, _ := rc.snapshot(); return n == 1 })
	e.mu.Lock()
	notified := e.events[len(e.events)-1]
	e.mu.Unlock()

	rc.mu.Lock()
	rc.failFirst = 0 // the app is back; the sandbox would retry only in an hour
	rc.mu.Unlock()
	e.restart(dsn, schema)

	waitFor(t, "the delivery resumed after restart", func() bool { _, evs, _ := rc.snapshot(); return len(evs) == 1 })
	_, evs, rejected := rc.snapshot()
	if evs[0].ID != notified.ID || evs[0].PaymentRef != notified.PaymentRef || len(rejected) != 0 {
		t.Fatalf("delivered %+v (rejected %v), want the event %+v queued before restart", evs[0], rejected, notified)
	}
	// Delivered once, it is no longer pending: another restart sends nothing.
	e.restart(dsn, schema)
	time.Sleep(100 * time.Millisecond)
	if attempts, _, _ := rc.snapshot(); attempts != 2 {
		t.Fatalf("receiver got %d attempts, want 2 (one failed before restart, one delivered after)", attempts)
	}
}
