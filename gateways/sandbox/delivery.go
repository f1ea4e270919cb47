package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ezscale/billing/gateways"
)

// Webhook delivery limits: a receiver that is down for a couple of minutes still gets the
// event, one that never answers 2xx does not keep a goroutine forever.
const (
	deliveryAttempts     = 10
	deliveryFirstRetry   = 500 * time.Millisecond
	deliveryMaxRetry     = 30 * time.Second
	deliveryTimeout      = 10 * time.Second
	deliveryResponseRead = 64 << 10 // bytes of a receiver's answer read before the connection is reused
)

// delivery posts emitted events to Options.WebhookURL in the background. Each event gets its own
// goroutine, so a failing delivery never holds up the next; receivers dedupe and tolerate
// reordering, as the gateways.Event contract requires of every gateway.
type delivery struct {
	url        string
	client     *http.Client
	firstRetry time.Duration
	signer     signer
	log        *slog.Logger
	done       func(eventID string) // told when an event needs no more attempts

	ctx    context.Context // canceled by close
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newDelivery(o Options, k signer, done func(eventID string)) *delivery {
	client := o.WebhookClient
	if client == nil {
		// A redirect counts as a failed attempt: following one would turn the POST into a GET.
		client = &http.Client{Timeout: deliveryTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	firstRetry := o.WebhookRetryDelay
	if firstRetry <= 0 {
		firstRetry = deliveryFirstRetry
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &delivery{url: o.WebhookURL, client: client, firstRetry: firstRetry, signer: k, log: log, done: done, ctx: ctx, cancel: cancel}
}

// send starts delivering e unless the delivery was closed.
func (d *delivery) send(e gateways.Event) {
	d.mu.Lock()
	defer d.mu.Unlock() // held across wg.Go so close never waits while a delivery is being added
	if d.closed {
		d.log.Warn("sandbox: webhook not delivered: the sandbox is closed", "event", e.ID, "type", e.Type)
		return
	}
	d.wg.Go(func() { d.deliver(e) })
}

// deliver posts e until the receiver answers 2xx, waiting longer after each failure. An event
// that was delivered or given up on is reported to done; one cut short by close is not, so a
// sandbox opened on saved state sends it again.
func (d *delivery) deliver(e gateways.Event) {
	wait := d.firstRetry
	for attempt := 1; ; attempt++ {
		err := d.post(e)
		if err == nil {
			d.done(e.ID)
			return
		}
		if d.ctx.Err() != nil {
			return // closed while posting
		}
		if attempt == deliveryAttempts {
			d.log.Warn("sandbox: webhook delivery abandoned", "event", e.ID, "type", e.Type, "attempts", attempt, "err", err)
			d.done(e.ID)
			return
		}
		d.log.Info("sandbox: webhook delivery failed, retrying", "event", e.ID, "type", e.Type,
			"attempt", attempt, "retry_in", wait, "err", err)
		timer := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		wait = min(2*wait, deliveryMaxRetry)
	}
}

// post makes one delivery attempt, signed afresh so a late retry is still within Tolerance.
func (d *delivery) post(e gateways.Event) error {
	body, header := d.signer.signedEvent(e)
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build webhook request for %s: %w", d.url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("post event %s to %s: %w", e.ID, d.url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, deliveryResponseRead))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post event %s to %s: status %d", e.ID, d.url, resp.StatusCode)
	}
	return nil
}

// close stops retries and in-flight posts, then waits for every delivery goroutine to end.
func (d *delivery) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
