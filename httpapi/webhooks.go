package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/store"
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
// payments package, which acts on what the gateway says it means (Event.Kind). Gateways post without cookies, so it sits outside the session and CSRF middleware;
// the gateway's signature is its authentication.
type webhookReceiver struct {
	log      *slog.Logger
	gateways gateways.Registry
	store    *store.Store
	payments *payments.Service
	received *prometheus.CounterVec
}

// webhooks builds the webhook handler and registers its metric.
func (s *server) webhooks() http.Handler {
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ezscale_webhooks_total", Help: "Payment gateway webhook deliveries by provider and outcome.",
	}, []string{"provider", "outcome"})
	s.Registry.MustRegister(received)
	return &webhookReceiver{
		log: s.Log, gateways: s.Gateways, store: s.Store, received: received, payments: s.Payments,
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

	review, err := h.payments.HandleEvent(ctx, g.Name(), ev)
	switch {
	case errors.Is(err, payments.ErrRetryLater):
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
