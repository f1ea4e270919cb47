package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ezscale/billing/billing"
)

// ChargeClaim is the answer to BeginCharge: whether the caller may charge the invoice now.
type ChargeClaim struct {
	Invoice Invoice
	// Due is what the charge must take: the invoice's amount due.
	Due billing.Money
	// Claimed means the caller holds the invoice's charge claim and may call the gateway.
	Claimed bool
	// Why tells why not: the invoice is paid, cancelled, a payment is pending at the gateway,
	// or another charge holds the claim.
	Why string
}

// BeginCharge takes an invoice's charge claim for a saved-method charge under key, checking in
// the same statement (which locks the invoice row) that the invoice is issued, unpaid, has no
// pending payment and no other charge in flight. The same key takes the claim again (a retried
// activity), so the retry reaches the gateway with the same idempotency key. EndCharge releases
// it, and so does a payment that settles the invoice; a claim left by a dead worker lapses after
// chargeClaimTTL. Due is what the charge must take: the invoice total less its payments.
func (s *Store) BeginCharge(ctx context.Context, invoiceID int64, key string) (ChargeClaim, error) {
	var row struct {
		Number   string `db:"number"`
		Currency string `db:"currency"`
		Due      int64  `db:"due"`
	}
	err := s.db.GetContext(ctx, &row, `
		UPDATE invoices i SET charging_key = $2, charging_since = now()
		WHERE i.id = $1 AND i.status = 'unpaid' AND i.paid_at IS NULL AND i.pending_payment_ref = ''
		  AND (i.charging_key IN ('', $2) OR i.charging_since < now() - make_interval(secs => $3))
		  AND (SELECT COALESCE(SUM(amount), 0) FROM invoice_lines WHERE invoice_id = i.id)
		      > (SELECT COALESCE(SUM(amount), 0) FROM payments WHERE invoice_id = i.id)
		RETURNING i.number, i.currency,
		  (SELECT COALESCE(SUM(amount), 0) FROM invoice_lines WHERE invoice_id = i.id)
		  - (SELECT COALESCE(SUM(amount), 0) FROM payments WHERE invoice_id = i.id) AS due`,
		invoiceID, key, chargeClaimTTL.Seconds())
	if err == nil {
		return ChargeClaim{Invoice: Invoice{ID: invoiceID, Number: row.Number, Currency: row.Currency, Status: billing.StatusUnpaid},
			Due: billing.Money{Amount: row.Due, Currency: row.Currency}, Claimed: true}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return ChargeClaim{}, fmt.Errorf("claim charge of invoice %d: %w", invoiceID, err)
	}
	// Not claimed: say why.
	inv, err := s.Invoice(ctx, invoiceID)
	if err != nil {
		return ChargeClaim{}, err
	}
	out := ChargeClaim{Invoice: inv, Due: inv.Totals.Due}
	switch {
	case inv.Paid():
		out.Why = "paid"
	case inv.Status == billing.StatusCancelled:
		out.Why = "the invoice is cancelled"
	case inv.PaymentPending():
		out.Why = fmt.Sprintf("a payment is pending at %s (%s)", inv.PendingGateway, inv.PendingRef)
	case inv.ChargingKey != "" && inv.ChargingKey != key:
		out.Why = "another charge of this invoice is in progress"
	case inv.Status != billing.StatusUnpaid:
		out.Why = "the invoice is " + string(inv.Status)
	default:
		out.Why = "nothing is due"
	}
	return out, nil
}

// EndCharge releases the charge claim taken under key; another key's claim is left alone.
func (s *Store) EndCharge(ctx context.Context, invoiceID int64, key string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE invoices SET charging_key = '', charging_since = NULL
		WHERE id = $1 AND charging_key = $2`, invoiceID, key); err != nil {
		return fmt.Errorf("release charge claim of invoice %d: %w", invoiceID, err)
	}
	return nil
}

// SetPendingPayment notes a payment the gateway accepted but has not settled, so no one
// charges the invoice again until ClearPendingPayment or the payment is recorded. An invoice
// already paid is left alone.
func (s *Store) SetPendingPayment(ctx context.Context, invoiceID int64, gateway, ref string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE invoices SET pending_payment_gateway = $2, pending_payment_ref = $3,
		pending_payment_since = COALESCE(pending_payment_since, now()) WHERE id = $1 AND paid_at IS NULL`, invoiceID, gateway, ref)
	if err != nil {
		return fmt.Errorf("note pending payment %s %s on invoice %d: %w", gateway, ref, invoiceID, err)
	}
	return nil
}

// ClearPendingPayment forgets a pending payment that failed; a different pending payment
// noted since is left alone. It reports whether one was cleared.
func (s *Store) ClearPendingPayment(ctx context.Context, invoiceID int64, gateway, ref string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE invoices SET pending_payment_gateway = '', pending_payment_ref = '',
		pending_payment_since = NULL WHERE id = $1 AND pending_payment_gateway = $2 AND pending_payment_ref = $3`, invoiceID, gateway, ref)
	if err != nil {
		return false, fmt.Errorf("clear pending payment %s %s on invoice %d: %w", gateway, ref, invoiceID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("clear pending payment on invoice %d: %w", invoiceID, err)
	}
	return n > 0, nil
}

// Checkout is a hosted payment page opened for an invoice.
type Checkout struct {
	ID        int64  `db:"id"`
	InvoiceID int64  `db:"invoice_id"`
	Gateway   string `db:"gateway"`
	Ref       string `db:"ref"`
}

// AddCheckout remembers a hosted page opened for an invoice; the same page twice is one row.
func (s *Store) AddCheckout(ctx context.Context, invoiceID int64, gateway, ref string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO checkouts (invoice_id, gateway, ref) VALUES ($1, $2, $3)
		ON CONFLICT (gateway, ref) DO NOTHING`, invoiceID, gateway, ref); err != nil {
		return fmt.Errorf("remember checkout %s %s of invoice %d: %w", gateway, ref, invoiceID, err)
	}
	return nil
}

// OpenCheckouts lists the hosted pages of an invoice not closed yet.
func (s *Store) OpenCheckouts(ctx context.Context, invoiceID int64) ([]Checkout, error) {
	var out []Checkout
	if err := s.db.SelectContext(ctx, &out, `SELECT id, invoice_id, gateway, ref FROM checkouts
		WHERE invoice_id = $1 AND closed_at IS NULL ORDER BY id`, invoiceID); err != nil {
		return nil, fmt.Errorf("open checkouts of invoice %d: %w", invoiceID, err)
	}
	return out, nil
}

// CloseCheckout stamps a hosted page closed.
func (s *Store) CloseCheckout(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE checkouts SET closed_at = now() WHERE id = $1 AND closed_at IS NULL`, id); err != nil {
		return fmt.Errorf("close checkout %d: %w", id, err)
	}
	return nil
}
