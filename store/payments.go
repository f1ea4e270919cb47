package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// Payment is money received for an invoice, unique on (Gateway, GatewayTxnID).
type Payment struct {
	ID           int64
	InvoiceID    int64
	Gateway      string
	GatewayTxnID string
	Amount       billing.Money
	Overpaid     billing.Money // the part beyond what the invoice had due when it arrived
	CreatedBy    string        // workflow id, webhook event or request id that recorded it
	CreatedAt    time.Time
	// ExactDue, when recording, refuses (ErrNotAmountDue) a new payment that is not exactly the
	// invoice's amount due on an invoice still due, so a gateway event that does not fit is never
	// half-applied. A payment on an invoice with nothing due is recorded as an overpayment.
	ExactDue bool
	// RefuseWhileCharging refuses (ErrChargeInFlight) to record while a saved-method charge of
	// the invoice is in flight: staff marking an invoice paid wait for the charge's outcome.
	RefuseWhileCharging bool
}

// ErrChargeInFlight means a saved-method charge of the invoice is running right now.
var ErrChargeInFlight = errors.New("a charge of this invoice is in progress")

// chargeClaimTTL is how long a charge claim holds without being released: longer than any
// gateway call, so a worker that died mid-charge does not block the invoice for good.
const chargeClaimTTL = 10 * time.Minute

type paymentRow struct {
	ID           int64     `db:"id"`
	InvoiceID    int64     `db:"invoice_id"`
	Gateway      string    `db:"gateway"`
	GatewayTxnID string    `db:"gateway_txn_id"`
	Amount       int64     `db:"amount"`
	Currency     string    `db:"currency"`
	Overpaid     int64     `db:"overpaid"`
	CreatedBy    string    `db:"created_by"`
	CreatedAt    time.Time `db:"created_at"`
}

const paymentSelect = `SELECT id, invoice_id, gateway, gateway_txn_id, amount, currency, overpaid, created_by, created_at FROM payments`

func (r paymentRow) payment() Payment {
	return Payment{ID: r.ID, InvoiceID: r.InvoiceID, Gateway: r.Gateway, GatewayTxnID: r.GatewayTxnID,
		Amount: billing.Money{Amount: r.Amount, Currency: r.Currency}, Overpaid: billing.Money{Amount: r.Overpaid, Currency: r.Currency},
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
}

// PaymentResult is a recorded payment and where it left the invoice.
type PaymentResult struct {
	Payment         Payment
	AlreadyRecorded bool           // the gateway transaction was recorded before; nothing changed
	Status          billing.Status // the invoice's status afterwards
	SubscriptionID  int64          // the invoice's subscription, 0 when none
	CustomerID      int64
	InvoiceNumber   string
	// OpenCheckouts reports whether hosted payment pages were still open for the invoice when
	// the payment was recorded (always true for a payment recorded before, to be safe).
	OpenCheckouts bool
	// Overpaid is the part of this payment beyond what the invoice had due (all of it when the
	// invoice was already paid or cancelled). The caller returns it: refund or account credit.
	Overpaid billing.Money
}

// RecordPayment records a gateway payment and, in the same transaction, marks the invoice paid
// once payments cover its total. A transaction already recorded returns the stored payment with
// AlreadyRecorded (ErrConflict if it was for another invoice). A currency other than the
// invoice's gives billing.ErrCurrencyMismatch; a draft or cancelled invoice, ErrInvoiceState.
func (s *Store) RecordPayment(ctx context.Context, p Payment) (PaymentResult, error) {
	if p.Gateway == "" || p.GatewayTxnID == "" || p.CreatedBy == "" {
		return PaymentResult{}, fmt.Errorf("record payment on invoice %d: gateway, transaction id and creator are required", p.InvoiceID)
	}
	if !p.Amount.IsPositive() {
		return PaymentResult{}, fmt.Errorf("record payment %s on invoice %d: %w", p.Amount, p.InvoiceID, billing.ErrInvalidAmount)
	}
	var res PaymentResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		inv, pays, refunds, err := lockedInvoice(ctx, tx, p.InvoiceID)
		if err != nil {
			return err
		}
		// Checked under the invoice lock: a concurrent delivery of the same webhook has committed.
		var existing paymentRow
		err = tx.GetContext(ctx, &existing, paymentSelect+` WHERE gateway = $1 AND gateway_txn_id = $2`, p.Gateway, p.GatewayTxnID)
		if err == nil {
			if existing.InvoiceID != p.InvoiceID {
				return fmt.Errorf("payment %s %s is for invoice %d, not %d: %w", p.Gateway, p.GatewayTxnID, existing.InvoiceID, p.InvoiceID, ErrConflict)
			}
			res = PaymentResult{Payment: existing.payment(), AlreadyRecorded: true, Status: inv.Status,
				SubscriptionID: inv.SubscriptionID.Int64, CustomerID: inv.CustomerID, InvoiceNumber: inv.Number}
			res.Overpaid, res.OpenCheckouts = res.Payment.Overpaid, true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up payment %s %s: %w", p.Gateway, p.GatewayTxnID, err)
		}
		if p.Amount.Currency != inv.Currency {
			return fmt.Errorf("pay %s on %s invoice %s: %w", p.Amount, inv.Currency, inv.Number, billing.ErrCurrencyMismatch)
		}
		if inv.Status == billing.StatusDraft {
			return fmt.Errorf("pay %s on draft invoice %s: %w", p.Amount, inv.Number, ErrInvoiceState)
		}
		st, err := settlementOf(inv, pays, refunds)
		if err != nil {
			return err
		}
		due := st.AmountDue()
		if inv.Status == billing.StatusCancelled {
			due = billing.Money{Currency: inv.Currency}
		}
		// A gateway's report must be exactly what is due; on an invoice with nothing due it
		// must be a second payment of the whole invoice (another tab, a charge that raced a
		// manual payment), which is recorded and returned. Anything else is left for review.
		switch {
		case p.ExactDue && due.IsPositive() && p.Amount.Amount != due.Amount:
			return fmt.Errorf("pay %s on invoice %s due %s (%s): %w", p.Amount, inv.Number, due, inv.Status, ErrNotAmountDue)
		case p.ExactDue && due.IsZero() && p.Amount.Amount != st.Total().Amount:
			return fmt.Errorf("pay %s on invoice %s of %s with nothing due (%s): %w", p.Amount, inv.Number, st.Total(), inv.Status, ErrNotAmountDue)
		}
		if p.RefuseWhileCharging && inv.chargeInFlight() {
			return fmt.Errorf("pay invoice %s: %w", inv.Number, ErrChargeInFlight)
		}
		overpaid := max(0, p.Amount.Amount-due.Amount)
		var row paymentRow
		err = tx.GetContext(ctx, &row, `
			INSERT INTO payments (invoice_id, gateway, gateway_txn_id, amount, currency, overpaid, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id, invoice_id, gateway, gateway_txn_id, amount, currency, overpaid, created_by, created_at`,
			p.InvoiceID, p.Gateway, p.GatewayTxnID, p.Amount.Amount, p.Amount.Currency, overpaid, p.CreatedBy)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("payment %s %s recorded on another invoice: %w", p.Gateway, p.GatewayTxnID, ErrConflict)
			}
			return fmt.Errorf("record payment %s %s on invoice %s: %w", p.Gateway, p.GatewayTxnID, inv.Number, err)
		}
		res.Payment = row.payment()
		res.SubscriptionID, res.CustomerID, res.InvoiceNumber = inv.SubscriptionID.Int64, inv.CustomerID, inv.Number
		res.Overpaid = res.Payment.Overpaid
		if inv.Status == billing.StatusCancelled { // money for a withdrawn invoice: all of it goes back
			res.Status = inv.Status
			return nil
		}
		res.Status, res.OpenCheckouts, err = updateSettlementChecking(ctx, tx, inv, append(pays, res.Payment), refunds)
		return err
	})
	if err != nil {
		return PaymentResult{}, err
	}
	return res, nil
}

// Refund is money returned for a payment, unique on (Gateway, GatewayRefundID); Gateway is the payment's.
type Refund struct {
	ID              int64
	PaymentID       int64
	Gateway         string
	GatewayRefundID string
	Amount          billing.Money
	Status          billing.RefundStatus // "" is succeeded
	// ToCredit marks a refund given as account credit (on a credit note), not at the gateway.
	ToCredit  bool
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}

type refundRow struct {
	ID              int64     `db:"id"`
	PaymentID       int64     `db:"payment_id"`
	Gateway         string    `db:"gateway"`
	GatewayRefundID string    `db:"gateway_refund_id"`
	Amount          int64     `db:"amount"`
	Currency        string    `db:"currency"`
	Status          string    `db:"status"`
	Method          string    `db:"method"`
	Reason          string    `db:"reason"`
	CreatedBy       string    `db:"created_by"`
	CreatedAt       time.Time `db:"created_at"`
}

const refundSelect = `SELECT r.id, r.payment_id, r.gateway, r.gateway_refund_id, r.amount, r.currency, r.status, r.method, r.reason, r.created_by, r.created_at FROM refunds r`

func (r refundRow) refund() Refund {
	return Refund{ID: r.ID, PaymentID: r.PaymentID, Gateway: r.Gateway, GatewayRefundID: r.GatewayRefundID,
		Amount: billing.Money{Amount: r.Amount, Currency: r.Currency}, Status: billing.RefundStatus(r.Status), ToCredit: r.Method == "credit", Reason: r.Reason,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
}

// Counts reports whether the refund takes money from the payment: pending and succeeded
// refunds do, a failed one does not.
func (r Refund) Counts() bool { return r.Status != billing.RefundFailed }

// RefundResult is a recorded refund and where it left the invoice.
type RefundResult struct {
	Refund          Refund
	AlreadyRecorded bool // the gateway refund was recorded before; at most its state changed
	// Previous is the refund's state before this call when it was recorded before.
	Previous billing.RefundStatus
	Status   billing.Status // the invoice's
	// InvoiceID and CustomerID are the refunded payment's invoice and its customer.
	InvoiceID  int64
	CustomerID int64
}

// RecordRefund records a gateway refund of a payment, or a later state of one already recorded
// (pending → succeeded or failed), and derives the invoice's status in the same transaction.
// One gateway refund id is one row whoever reports it first. A payment is never refunded beyond
// what it paid minus its pending and succeeded refunds (billing.ErrRefundExceedsPaid); a failed
// refund stops counting. A refund id already recorded returns it with AlreadyRecorded.
func (s *Store) RecordRefund(ctx context.Context, r Refund) (RefundResult, error) {
	if r.GatewayRefundID == "" || r.CreatedBy == "" {
		return RefundResult{}, fmt.Errorf("record refund of payment %d: refund id and creator are required", r.PaymentID)
	}
	if !r.Amount.IsPositive() {
		return RefundResult{}, fmt.Errorf("refund %s of payment %d: %w", r.Amount, r.PaymentID, billing.ErrInvalidAmount)
	}
	var res RefundResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var pay paymentRow
		if err := tx.GetContext(ctx, &pay, paymentSelect+` WHERE id = $1`, r.PaymentID); err != nil {
			return notFound(err, fmt.Sprintf("payment %d", r.PaymentID))
		}
		inv, pays, refunds, err := lockedInvoice(ctx, tx, pay.InvoiceID)
		if err != nil {
			return err
		}
		var existing refundRow
		err = tx.GetContext(ctx, &existing, refundSelect+` WHERE r.gateway = $1 AND r.gateway_refund_id = $2`, pay.Gateway, r.GatewayRefundID)
		res.InvoiceID, res.CustomerID = inv.ID, inv.CustomerID
		if err == nil {
			if existing.PaymentID != r.PaymentID {
				return fmt.Errorf("refund %s %s is of payment %d, not %d: %w", pay.Gateway, r.GatewayRefundID, existing.PaymentID, r.PaymentID, ErrConflict)
			}
			res.Refund, res.AlreadyRecorded, res.Status = existing.refund(), true, inv.Status
			res.Previous = res.Refund.Status
			if r.Status == "" || r.Status == res.Refund.Status || res.Refund.Status == billing.RefundFailed {
				return nil // nothing new; a failed refund stays failed
			}
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = $2, updated_at = now() WHERE id = $1`, existing.ID, string(r.Status)); err != nil {
				return fmt.Errorf("refund %s %s is now %s: %w", pay.Gateway, r.GatewayRefundID, r.Status, err)
			}
			res.Refund.Status = r.Status
			for i := range refunds {
				if refunds[i].ID == existing.ID {
					refunds[i].Status = r.Status
				}
			}
			res.Status, err = updateSettlement(ctx, tx, inv, pays, refunds)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up refund %s %s: %w", pay.Gateway, r.GatewayRefundID, err)
		}
		if r.Amount.Currency != pay.Currency {
			return fmt.Errorf("refund %s of a %s payment: %w", r.Amount, pay.Currency, billing.ErrCurrencyMismatch)
		}
		if r.Status == "" {
			r.Status = billing.RefundSucceeded
		}
		left := pay.Amount
		for _, q := range refunds {
			if q.PaymentID == pay.ID && q.Counts() {
				left -= q.Amount.Amount
			}
		}
		if r.Status != billing.RefundFailed && r.Amount.Amount > left {
			return fmt.Errorf("refund %s of payment %d (%s %s) with %s left to refund: %w",
				r.Amount, pay.ID, pay.Gateway, pay.GatewayTxnID, billing.Money{Amount: left, Currency: pay.Currency}, billing.ErrRefundExceedsPaid)
		}
		var row refundRow
		err = tx.GetContext(ctx, &row, `
			INSERT INTO refunds AS r (payment_id, gateway, gateway_refund_id, amount, currency, status, method, reason, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			RETURNING r.id, r.payment_id, r.gateway, r.gateway_refund_id, r.amount, r.currency, r.status, r.method, r.reason, r.created_by, r.created_at`,
			pay.ID, pay.Gateway, r.GatewayRefundID, r.Amount.Amount, r.Amount.Currency, string(r.Status), refundMethod(r.ToCredit), r.Reason, r.CreatedBy)
		if err != nil {
			return fmt.Errorf("record refund %s %s of payment %d: %w", pay.Gateway, r.GatewayRefundID, pay.ID, err)
		}
		res.Refund = row.refund()
		res.Status, err = updateSettlement(ctx, tx, inv, pays, append(refunds, res.Refund))
		return err
	})
	if err != nil {
		return RefundResult{}, err
	}
	return res, nil
}

// InvoicePayments lists an invoice's payments, oldest first.
func (s *Store) InvoicePayments(ctx context.Context, invoiceID int64) ([]Payment, error) {
	var rows []paymentRow
	if err := s.db.SelectContext(ctx, &rows, paymentSelect+` WHERE invoice_id = $1 ORDER BY id`, invoiceID); err != nil {
		return nil, fmt.Errorf("payments of invoice %d: %w", invoiceID, err)
	}
	out := make([]Payment, len(rows))
	for i, r := range rows {
		out[i] = r.payment()
	}
	return out, nil
}

// InvoiceRefunds lists the refunds of an invoice's payments, oldest first.
func (s *Store) InvoiceRefunds(ctx context.Context, invoiceID int64) ([]Refund, error) {
	var rows []refundRow
	if err := s.db.SelectContext(ctx, &rows, refundSelect+` JOIN payments p ON p.id = r.payment_id
		WHERE p.invoice_id = $1 ORDER BY r.id`, invoiceID); err != nil {
		return nil, fmt.Errorf("refunds of invoice %d: %w", invoiceID, err)
	}
	out := make([]Refund, len(rows))
	for i, r := range rows {
		out[i] = r.refund()
	}
	return out, nil
}

// refundMethod is how a refund reached the customer: at the gateway, or as account credit.
func refundMethod(toCredit bool) string {
	if toCredit {
		return "credit"
	}
	return "gateway"
}
