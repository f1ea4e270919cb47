package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	stripeapi "github.com/stripe/stripe-go/v79"
	"go.temporal.io/api/serviceerror"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// maxWebhookBody bounds a webhook delivery; gateway events are a few kilobytes.
const maxWebhookBody = 1 << 20

// webhookProcessTimeout bounds acting on one event. Processing is detached from the request,
// so a gateway that hangs up early does not cut a step in half (every step is idempotent, but
// finishing is cheaper than redoing).
const webhookProcessTimeout = 30 * time.Second

// Outcomes of a delivery, as counted in ezscale_webhooks_total.
const (
	webhookProcessed       = "processed"        // acted on and marked processed
	webhookDuplicate       = "duplicate"        // an event already processed; nothing done
	webhookInvalid         = "invalid"          // forged, stale, malformed or too large: 4xx, nothing stored
	webhookUnknownProvider = "unknown_provider" // no gateway under that name: 404
	webhookReview          = "review"           // stored, answered 200, left unprocessed for ops
	webhookRetry           = "retry"            // answered 503 so the gateway redelivers later
	webhookError           = "error"            // answered 500
)

// webhookReceiver serves POST /webhooks/{provider} for every registered gateway: it verifies a
// delivery with the gateway, stores the event once per (provider, event id) and hands it to the
// eventRouter. Gateways post without cookies, so it sits outside the session and CSRF middleware;
// the gateway's signature is its authentication.
type webhookReceiver struct {
	log      *slog.Logger
	gateways gateways.Registry
	store    *store.Store
	router   *eventRouter
	received *prometheus.CounterVec
}

// webhooks builds the webhook handler and registers its metric.
func (s *server) webhooks() http.Handler {
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ezscale_webhooks_total", Help: "Payment gateway webhook deliveries by provider and outcome.",
	}, []string{"provider", "outcome"})
	s.Registry.MustRegister(received)
	return &webhookReceiver{
		log: s.Log, gateways: s.Gateways, store: s.Store, received: received,
		router: &eventRouter{log: s.Log, store: s.Store, workflows: s.Workflows},
	}
}

func (h *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider := chi.URLParam(r, "provider")
	g, ok := h.gateways[provider]
	if !ok {
		h.answer(w, "unknown", webhookUnknownProvider, http.StatusNotFound, "unknown provider")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			h.answer(w, provider, webhookInvalid, http.StatusRequestEntityTooLarge, "payload too large")
			return
		}
		h.answer(w, provider, webhookInvalid, http.StatusBadRequest, "unreadable body")
		return
	}
	ev, err := g.ParseWebhook(r.Context(), body, r.Header)
	switch {
	case err == nil:
	case errors.Is(err, gateways.ErrTemporary): // the gateway's verify API is down (PayPal); not a forgery
		h.log.Warn("webhook not verified: gateway unavailable", "provider", provider, "err", err)
		h.answer(w, provider, webhookRetry, http.StatusServiceUnavailable, "verification unavailable, retry later")
		return
	case errors.Is(err, gateways.ErrInvalidWebhook):
		h.log.Warn("webhook refused", "provider", provider, "ip", clientIP(r), "err", err)
		h.answer(w, provider, webhookInvalid, http.StatusBadRequest, "invalid webhook")
		return
	default:
		h.log.Error("webhook not verified", "provider", provider, "err", err)
		h.answer(w, provider, webhookError, http.StatusInternalServerError, "internal error")
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), webhookProcessTimeout)
	defer cancel()
	inserted, err := h.store.RecordWebhookEvent(ctx, provider, ev.ID, ev.Type, body)
	if err != nil {
		h.log.Error("webhook not stored", "provider", provider, "event", ev.ID, "err", err)
		h.answer(w, provider, webhookError, http.StatusInternalServerError, "internal error")
		return
	}
	if !inserted {
		// A redelivery. Act again only if the first delivery never finished: every step below
		// is idempotent, so a concurrent or repeated run changes nothing twice.
		stored, err := h.store.WebhookEvent(ctx, provider, ev.ID)
		if err != nil {
			h.log.Error("webhook duplicate not checked", "provider", provider, "event", ev.ID, "err", err)
			h.answer(w, provider, webhookError, http.StatusInternalServerError, "internal error")
			return
		}
		if stored.Processed() {
			h.answer(w, provider, webhookDuplicate, http.StatusOK, "duplicate")
			return
		}
	}

	review, err := h.router.route(ctx, g.Name(), provider, ev)
	switch {
	case errors.Is(err, errRetryLater):
		h.log.Info("webhook deferred", "provider", provider, "event", ev.ID, "type", ev.Type, "reason", err)
		h.answer(w, provider, webhookRetry, http.StatusServiceUnavailable, "retry later")
		return
	case err != nil:
		h.log.Error("webhook not processed", "provider", provider, "event", ev.ID, "type", ev.Type, "err", err)
		h.answer(w, provider, webhookError, http.StatusInternalServerError, "internal error")
		return
	case review != "":
		// 200 so the gateway stops retrying a delivery that will never fit; processed_at stays
		// NULL so ops find it (webhook_events_unprocessed_idx).
		h.log.Warn("webhook needs review", "provider", provider, "event", ev.ID, "type", ev.Type,
			"invoice", ev.InvoiceID, "payment_ref", ev.PaymentRef, "amount", ev.Amount.String(), "reason", review)
		h.answer(w, provider, webhookReview, http.StatusOK, "accepted for review")
		return
	}
	if err := h.store.MarkWebhookProcessed(ctx, provider, ev.ID); err != nil {
		h.log.Error("webhook not marked processed", "provider", provider, "event", ev.ID, "err", err)
		h.answer(w, provider, webhookError, http.StatusInternalServerError, "internal error")
		return
	}
	h.answer(w, provider, webhookProcessed, http.StatusOK, "ok")
}

// answer writes a short plain-text answer and counts the outcome.
func (h *webhookReceiver) answer(w http.ResponseWriter, provider, outcome string, status int, msg string) {
	h.received.WithLabelValues(provider, outcome).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// errRetryLater means the event cannot be applied yet (a refund whose payment is not recorded
// because the events arrived out of order); the gateway's redelivery will apply it.
var errRetryLater = errors.New("retry later")

// eventAction is what billing does with one kind of gateway event.
type eventAction int

const (
	actionNone             eventAction = iota // stored only
	actionPaymentSucceeded                    // Amount paid PaymentRef for InvoiceID
	actionRefund                              // Amount is this one refund of PaymentRef
	actionRefundedTotal                       // Amount is all refunded of PaymentRef so far
)

// eventActions maps gateway event types (unique across gateways) to what they mean. Failed
// payments (sandbox payment.failed, Stripe payment_intent.payment_failed, PayPal
// PAYMENT.CAPTURE.DENIED) are only stored: the workflows learn failures from their own charge
// attempts. Types not listed are stored and marked processed.
var eventActions = map[string]eventAction{
	sandbox.EventPaymentSucceeded: actionPaymentSucceeded,
	sandbox.EventRefundSucceeded:  actionRefund,

	string(stripeapi.EventTypePaymentIntentSucceeded):               actionPaymentSucceeded,
	string(stripeapi.EventTypeCheckoutSessionCompleted):             actionPaymentSucceeded,
	string(stripeapi.EventTypeCheckoutSessionAsyncPaymentSucceeded): actionPaymentSucceeded,
	// charge.refunded carries the charge's amount_refunded, a running total (reference §5).
	string(stripeapi.EventTypeChargeRefunded): actionRefundedTotal,

	paypal.EventCaptureCompleted: actionPaymentSucceeded,
	paypal.EventCaptureRefunded:  actionRefund,
}

// eventRouter applies verified gateway events to the ledger and tells the owning workflows.
// Every step is idempotent (payments on (gateway, ref), refunds on (gateway, refund id),
// workflows dedupe signals by event id), so an event applied twice changes nothing twice.
type eventRouter struct {
	log       *slog.Logger
	store     *store.Store
	workflows Workflows
}

// route applies ev from gateway. A non-empty review means the event does not fit our records
// (amount, currency, unknown invoice): nothing was recorded and ops should look at it.
func (e *eventRouter) route(ctx context.Context, gateway, provider string, ev gateways.Event) (review string, err error) {
	createdBy := "webhook:" + provider + ":" + ev.ID
	switch eventActions[ev.Type] {
	case actionPaymentSucceeded:
		return e.paymentSucceeded(ctx, gateway, createdBy, ev)
	case actionRefund:
		return e.refund(ctx, gateway, createdBy, ev)
	case actionRefundedTotal:
		return e.refundedTotal(ctx, gateway, createdBy, ev)
	}
	return "", nil
}

// paymentSucceeded records the payment of an invoice and, once the invoice is paid, signals its
// subscription and dunning workflows. The payment must be exactly what is due in the invoice's
// currency; anything else is left for review rather than guessed at.
func (e *eventRouter) paymentSucceeded(ctx context.Context, gateway, createdBy string, ev gateways.Event) (string, error) {
	if ev.InvoiceID <= 0 || ev.PaymentRef == "" {
		return "", nil // not a payment of one of our invoices (another integration on the account)
	}
	// One transaction checks and records: the invoice exists, the payment is exactly what is
	// due in its currency (or was recorded before, by a concurrent delivery of this event).
	res, err := e.store.RecordPayment(ctx, store.Payment{InvoiceID: ev.InvoiceID, Gateway: gateway, GatewayTxnID: ev.PaymentRef,
		Amount: ev.Amount, CreatedBy: createdBy, ExactDue: true})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Sprintf("invoice %d does not exist", ev.InvoiceID), nil
	}
	if why, ok := ledgerRefusal(err); ok {
		return why, nil
	}
	if err != nil {
		return "", err
	}
	if res.Status != billing.StatusPaid || res.SubscriptionID == 0 {
		return "", nil
	}
	msg := workflows.InvoicePaid{InvoiceID: ev.InvoiceID, Gateway: gateway, PaymentRef: ev.PaymentRef, EventID: ev.ID}
	return "", signalInvoicePaid(ctx, e.workflows, res.SubscriptionID, msg)
}

// signalInvoicePaid tells an invoice's subscription and its dunning that the invoice is paid; a
// workflow that is not running (never started, or finished) has nothing to learn.
func signalInvoicePaid(ctx context.Context, wf Workflows, subscriptionID int64, msg workflows.InvoicePaid) error {
	for _, id := range []string{workflows.SubscriptionID(subscriptionID), workflows.DunningID(msg.InvoiceID)} {
		err := wf.SignalWorkflow(ctx, id, "", workflows.SignalInvoicePaid, msg)
		if _, notRunning := errors.AsType[*serviceerror.NotFound](err); notRunning {
			continue
		}
		if err != nil {
			return fmt.Errorf("signal %s that invoice %d is paid: %w", id, msg.InvoiceID, err)
		}
	}
	return nil
}

// refund records one refund of a payment under the gateway's refund id, so a refund staff made
// (recorded when it was made) and its webhook are one refund. An event without a refund id
// falls back to the event id: the gateway sends one refund event per refund.
func (e *eventRouter) refund(ctx context.Context, gateway, createdBy string, ev gateways.Event) (string, error) {
	if ev.PaymentRef == "" {
		return "", nil
	}
	pay, err := e.paymentOf(ctx, gateway, ev)
	if err != nil {
		return "", err
	}
	refundID := ev.RefundRef
	if refundID == "" {
		refundID = ev.ID
	}
	_, err = e.store.RecordRefund(ctx, store.Refund{PaymentID: pay.ID, GatewayRefundID: refundID, Amount: ev.Amount,
		Reason: "refunded at " + gateway, CreatedBy: createdBy})
	if why, ok := ledgerRefusal(err); ok {
		return why, nil
	}
	return "", err
}

// refundedTotal brings the refunds recorded for a payment up to the total the gateway reports
// refunded, recording the difference. Refunds we made ourselves and recorded first, and
// running totals that arrive out of order, then add nothing.
func (e *eventRouter) refundedTotal(ctx context.Context, gateway, createdBy string, ev gateways.Event) (string, error) {
	if ev.PaymentRef == "" {
		return "", nil
	}
	pay, err := e.paymentOf(ctx, gateway, ev)
	if err != nil {
		return "", err
	}
	if ev.Amount.Currency != pay.Amount.Currency {
		return fmt.Sprintf("refunded %s of a %s payment", ev.Amount, pay.Amount), nil
	}
	for attempt := 0; ; attempt++ {
		_, refunds, err := e.store.InvoiceLedger(ctx, pay.InvoiceID)
		if err != nil {
			return "", err
		}
		missing := ev.Amount.Amount
		for _, r := range refunds {
			if r.PaymentID == pay.ID {
				missing -= r.Amount.Amount
			}
		}
		if missing <= 0 {
			return "", nil
		}
		_, err = e.store.RecordRefund(ctx, store.Refund{PaymentID: pay.ID, GatewayRefundID: ev.ID,
			Amount: billing.Money{Amount: missing, Currency: pay.Amount.Currency}, Reason: "refunded at " + gateway, CreatedBy: createdBy})
		if errors.Is(err, billing.ErrRefundExceedsPaid) && attempt == 0 {
			continue // another refund was recorded meanwhile; count again
		}
		if why, ok := ledgerRefusal(err); ok {
			return why, nil
		}
		return "", err
	}
}

// paymentOf finds the payment a refund event is about. When it is not recorded yet the payment
// event has not been processed (events arrive out of order), so the gateway should redeliver.
func (e *eventRouter) paymentOf(ctx context.Context, gateway string, ev gateways.Event) (store.Payment, error) {
	pay, err := e.store.PaymentByGatewayRef(ctx, gateway, ev.PaymentRef)
	if errors.Is(err, store.ErrNotFound) {
		return store.Payment{}, fmt.Errorf("refund of payment %s %s that is not recorded: %w", gateway, ev.PaymentRef, errRetryLater)
	}
	return pay, err
}

// ledgerRefusal tells the store's refusals of a payment or refund that does not fit the invoice
// (for review) from failures worth retrying.
func ledgerRefusal(err error) (string, bool) {
	for _, refusal := range []error{billing.ErrCurrencyMismatch, billing.ErrRefundExceedsPaid, billing.ErrInvalidAmount,
		store.ErrInvoiceState, store.ErrConflict, store.ErrNotAmountDue} {
		if errors.Is(err, refusal) {
			return err.Error(), true
		}
	}
	return "", false
}
