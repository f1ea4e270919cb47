package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

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

// BeginCharge takes an invoice's charge claim for a saved-method charge under key, after
// checking under the invoice lock that the invoice is issued, unpaid, has no pending payment
// and no other charge in flight. The same key takes the claim again (a retried activity), so
// the retry reaches the gateway with the same idempotency key. EndCharge releases it; a claim
// left by a dead worker lapses after chargeClaimTTL.
func (s *Store) BeginCharge(ctx context.Context, invoiceID int64, key string) (ChargeClaim, error) {
	var out ChargeClaim
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		inv, pays, refunds, err := lockedInvoice(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		out.Invoice = inv
		switch {
		case inv.Paid():
			out.Why = "paid"
			return nil
		case inv.Status == billing.StatusCancelled:
			out.Why = "the invoice is cancelled"
			return nil
		case inv.PaymentPending():
			out.Why = fmt.Sprintf("a payment is pending at %s (%s)", inv.PendingGateway, inv.PendingRef)
			return nil
		case inv.chargeInFlight() && inv.ChargingKey != key:
			out.Why = "another charge of this invoice is in progress"
			return nil
		}
		st, err := settlementOf(inv, pays, refunds)
		if err != nil {
			return err
		}
		out.Due = st.AmountDue()
		if !out.Due.IsPositive() {
			out.Why = "nothing is due"
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET charging_key = $2, charging_since = now() WHERE id = $1`, inv.ID, key); err != nil {
			return fmt.Errorf("claim charge of invoice %s: %w", inv.Number, err)
		}
		out.Claimed = true
		return nil
	})
	if err != nil {
		return ChargeClaim{}, err
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
