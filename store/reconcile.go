package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/billing/billing"
)

// LedgerEntry is a payment or refund as the ledger holds it, for comparing with a gateway's own
// list of transactions (ezscale ops reconcile).
type LedgerEntry struct {
	ID         int64  // the payment's or refund's id
	Ref        string // payments: gateway_txn_id; refunds: gateway_refund_id
	PaymentRef string // refunds: the refunded payment's gateway_txn_id
	InvoiceID  int64
	Amount     billing.Money
	CreatedAt  time.Time
}

type ledgerRow struct {
	ID         int64     `db:"id"`
	Ref        string    `db:"ref"`
	PaymentRef string    `db:"payment_ref"`
	InvoiceID  int64     `db:"invoice_id"`
	Amount     int64     `db:"amount"`
	Currency   string    `db:"currency"`
	CreatedAt  time.Time `db:"created_at"`
}

// ReconcileLedger returns a gateway's payments and refunds recorded in [from, to), oldest first,
// together with any of them, whatever their date, whose ref is in refs. The refs are the ones the
// gateway listed for the same range: a charge made just before midnight may be recorded just
// after it, and must not look missing from either side.
func (s *Store) ReconcileLedger(ctx context.Context, gateway string, from, to time.Time, refs []string) (payments, refunds []LedgerEntry, err error) {
	if refs == nil {
		refs = []string{}
	}
	var prows, rrows []ledgerRow
	if err := s.db.SelectContext(ctx, &prows, `
		SELECT id, gateway_txn_id AS ref, '' AS payment_ref, invoice_id, amount, currency, created_at
		FROM payments
		WHERE gateway = $1 AND ((created_at >= $2 AND created_at < $3) OR gateway_txn_id = ANY($4))
		ORDER BY created_at, id`, gateway, from, to, refs); err != nil {
		return nil, nil, fmt.Errorf("payments of %s from %s to %s: %w", gateway, from, to, err)
	}
	if err := s.db.SelectContext(ctx, &rrows, `
		SELECT r.id, r.gateway_refund_id AS ref, p.gateway_txn_id AS payment_ref, p.invoice_id, r.amount, r.currency, r.created_at
		FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE r.gateway = $1 AND r.method = 'gateway' AND ((r.created_at >= $2 AND r.created_at < $3) OR r.gateway_refund_id = ANY($4))
		ORDER BY r.created_at, r.id`, gateway, from, to, refs); err != nil {
		return nil, nil, fmt.Errorf("refunds of %s from %s to %s: %w", gateway, from, to, err)
	}
	return ledgerEntries(prows), ledgerEntries(rrows), nil
}

func ledgerEntries(rows []ledgerRow) []LedgerEntry {
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{ID: r.ID, Ref: r.Ref, PaymentRef: r.PaymentRef, InvoiceID: r.InvoiceID,
			Amount: billing.Money{Amount: r.Amount, Currency: r.Currency}, CreatedAt: r.CreatedAt.UTC()}
	}
	return out
}
