package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/gateways"
)

// receiver is the app's webhook endpoint: it answers the first failFirst attempts with 500,
// then verifies each delivery with a Client (set by verifyWith), as a separate worker process
// would, and keeps its event.
type receiver struct {
	srv       *httptest.Server
	client    *Client
	failFirst int

	mu       sync.Mutex
	attempts int
	events   []gateways.Event
	rejected []error
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	rc := &receiver{failFirst: failFirst}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// verifyWith sets the client whose secret and clock check deliveries.
func (rc *receiver) verifyWith(c *Client) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.client = c
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.attempts <= rc.failFirst {
		http.Error(w, "down for a moment", http.StatusInternalServerError)
		return
	}
	ev, err := rc.client.ParseWebhook(r.Context(), body, r.Header)
	if err != nil {
		rc.rejected = append(rc.rejected, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) snapshot() (attempts int, events []gateways.Event, rejected []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts, append([]gateways.Event(nil), rc.events...), append([]error(nil), rc.rejected...)
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// webhookTo points the sandbox's deliveries at rc, retrying first after retry.
func webhookTo(rc *receiver, retry time.Duration) func(*Options) {
	return func(o *Options) {
		o.WebhookURL = rc.srv.URL + "/webhooks/sandbox"
		o.WebhookRetryDelay = retry
	}
}

func TestWebhookDeliveryRetriesAfterAFailedAttemptAndVerifies(t *testing.T) {
	rc := newReceiver(t, 1)
	e := newEnv(t, webhookTo(rc, 10*time.Millisecond))
	rc.verifyWith(e.apiClient(testAPIKey))

	e.saveCard(cardSucceeds)
	notified := e.events[0]
	waitFor(t, "the retried delivery", func() bool { _, evs, _ := rc.snapshot(); return len(evs) == 1 })

	attempts, evs, rejected := rc.snapshot()
	if attempts != 2 || len(rejected) != 0 {
		t.Fatalf("delivery took %d attempts with %d rejected (%v), want 2 (one 500, one accepted) and none rejected", attempts, len(rejected), rejected)
	}
	if !reflect.DeepEqual(evs[0], notified) {
		t.Fatalf("delivered event %+v, want the notified one %+v", evs[0], notified)
	}
	time.Sleep(50 * time.Millisecond)
	if attempts, _, _ := rc.snapshot(); attempts != 2 {
		t.Errorf("an accepted delivery was posted again: %d attempts, want 2", attempts)
	}
}

func TestWebhookDeliveryGivesUpAfterTenAttempts(t *testing.T) {
	rc := newReceiver(t, 1000)
	e := newEnv(t, webhookTo(rc, time.Millisecond))

	e.saveCard(cardSucceeds)
	waitFor(t, "ten attempts", func() bool { n, _, _ := rc.snapshot(); return n >= deliveryAttempts })
	time.Sleep(600 * time.Millisecond) // longer than the 10th retry delay would be (512ms)
	if n, _, _ := rc.snapshot(); n != deliveryAttempts {
		t.Fatalf("a receiver answering 500 got %d attempts, want exactly %d", n, deliveryAttempts)
	}
}

func TestCloseStopsWebhookRetriesAndLaterDeliveries(t *testing.T) {
	rc := newReceiver(t, 1000)
	e := newEnv(t, webhookTo(rc, time.Hour))

	e.saveCard(cardSucceeds)
	waitFor(t, "the first attempt", func() bool { n, _, _ := rc.snapshot(); return n == 1 })

	closed := make(chan struct{})
	go func() { e.sb.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatalf("Close did not return while a delivery waited an hour to retry")
	}

	cus, pm := e.saveCard(cardSucceeds)
	if _, err := e.sb.ChargeSaved(context.Background(), gateways.ChargeRequest{CustomerRef: cus, PaymentMethodRef: pm,
		Amount: usd(100), IdempotencyKey: "after-close"}); err != nil {
		t.Fatalf("ChargeSaved after Close: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n, _, _ := rc.snapshot(); n != 1 {
		t.Errorf("after Close the receiver got %d attempts, want still 1", n)
	}
	if got := len(e.eventTypes()); got != 3 {
		t.Errorf("Notify got %d events, want 3: Close stops webhooks only", got)
	}
}
