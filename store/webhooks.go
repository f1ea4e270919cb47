package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WebhookEvent is a gateway webhook delivery as stored: once per (Provider, EventID).
// ProcessedAt stays NULL until the event has been acted on, so ops can find the ones that were
// not (an amount that did not match the invoice, a failure mid-way).
type WebhookEvent struct {
	ID          int64        `db:"id"`
	Provider    string       `db:"provider"`
	EventID     string       `db:"event_id"`
	Type        string       `db:"type"`
	Payload     []byte       `db:"payload"`
	ReceivedAt  time.Time    `db:"received_at"`
	ProcessedAt sql.NullTime `db:"processed_at"`
}

// Processed reports whether the event has been acted on.
func (e WebhookEvent) Processed() bool { return e.ProcessedAt.Valid }

const webhookEventSelect = `SELECT id, provider, event_id, type, payload, received_at, processed_at FROM webhook_events`

// WebhookEvent returns the stored event (provider, eventID), or ErrNotFound.
func (s *Store) WebhookEvent(ctx context.Context, provider, eventID string) (WebhookEvent, error) {
	var e WebhookEvent
	err := s.db.GetContext(ctx, &e, webhookEventSelect+` WHERE provider = $1 AND event_id = $2`, provider, eventID)
	if err != nil {
		return WebhookEvent{}, notFound(err, fmt.Sprintf("%s webhook event %s", provider, eventID))
	}
	return e, nil
}

// WebhookEvents lists the stored events of a provider ("" for every provider), oldest first.
func (s *Store) WebhookEvents(ctx context.Context, provider string) ([]WebhookEvent, error) {
	var out []WebhookEvent
	err := s.db.SelectContext(ctx, &out, webhookEventSelect+` WHERE $1 = '' OR provider = $1 ORDER BY id`, provider)
	if err != nil {
		return nil, fmt.Errorf("list webhook events of %q: %w", provider, err)
	}
	return out, nil
}

// PaymentByGatewayRef returns the payment recorded for a gateway transaction, or ErrNotFound.
func (s *Store) PaymentByGatewayRef(ctx context.Context, gateway, txnID string) (Payment, error) {
	var row paymentRow
	if err := s.db.GetContext(ctx, &row, paymentSelect+` WHERE gateway = $1 AND gateway_txn_id = $2`, gateway, txnID); err != nil {
		return Payment{}, notFound(err, fmt.Sprintf("payment %s %s", gateway, txnID))
	}
	return row.payment(), nil
}

// InvoiceLedger returns an invoice's payments and the refunds of those payments, each oldest
// first: the money side of the invoice, as reconciliations and tests compare it.
func (s *Store) InvoiceLedger(ctx context.Context, invoiceID int64) ([]Payment, []Refund, error) {
	var prows []paymentRow
	if err := s.db.SelectContext(ctx, &prows, paymentSelect+` WHERE invoice_id = $1 ORDER BY id`, invoiceID); err != nil {
		return nil, nil, fmt.Errorf("load payments of invoice %d: %w", invoiceID, err)
	}
	var rrows []refundRow
	if err := s.db.SelectContext(ctx, &rrows, refundSelect+` WHERE r.payment_id IN (SELECT id FROM payments WHERE invoice_id = $1) ORDER BY r.id`, invoiceID); err != nil {
		return nil, nil, fmt.Errorf("load refunds of invoice %d: %w", invoiceID, err)
	}
	pays := make([]Payment, len(prows))
	for i, p := range prows {
		pays[i] = p.payment()
	}
	refunds := make([]Refund, len(rrows))
	for i, r := range rrows {
		refunds[i] = r.refund()
	}
	return pays, refunds, nil
}

// RecordWebhookEvent stores a gateway webhook once: a delivery of an event already stored
// (same provider and event id) returns inserted=false so the caller skips it.
func (s *Store) RecordWebhookEvent(ctx context.Context, provider, eventID, eventType string, payload []byte) (inserted bool, err error) {
	var id int64
	err = s.db.GetContext(ctx, &id, `
		INSERT INTO webhook_events (provider, event_id, type, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, event_id) DO NOTHING RETURNING id`, provider, eventID, eventType, payload)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record %s webhook event %s: %w", provider, eventID, err)
	}
	return true, nil
}

// MarkWebhookProcessed stamps a stored webhook event as handled.
func (s *Store) MarkWebhookProcessed(ctx context.Context, provider, eventID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET processed_at = now() WHERE provider = $1 AND event_id = $2 AND processed_at IS NULL`, provider, eventID)
	if err != nil {
		return fmt.Errorf("mark %s webhook event %s processed: %w", provider, eventID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists bool
		if err := s.db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2)`, provider, eventID); err != nil {
			return fmt.Errorf("look up %s webhook event %s: %w", provider, eventID, err)
		}
		if !exists {
			return fmt.Errorf("%s webhook event %s: %w", provider, eventID, ErrNotFound)
		}
	}
	return nil
}

// optionalID is a nullable reference; 0 means none.
