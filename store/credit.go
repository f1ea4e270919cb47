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

// CreditEntry is one stored movement of a customer's account credit; Amount is signed (uses
// are negative) and the balance is the sum of the entries.
type CreditEntry struct {
	ID             int64
	CustomerID     int64
	Kind           billing.CreditKind
	Amount         billing.Money
	InvoiceID      sql.NullInt64
	CreditNoteID   sql.NullInt64 // the credit note that gave it (kind credit_note)
	Note           string
	CreatedBy      string
	IdempotencyKey string
	CreatedAt      time.Time
	// AlreadyRecorded is set when the idempotency key was used before: the stored entry is
	// returned and nothing changed.
	AlreadyRecorded bool
}

// CreditChange is what adding or using credit needs. Amount is positive for AddCredit,
// UseCredit and RefundToCredit; AdjustCredit takes either sign.
type CreditChange struct {
	CustomerID     int64
	Amount         billing.Money
	InvoiceID      int64 // 0 when not tied to an invoice
	CreditNoteID   int64 // the credit note giving the credit; only for kind credit_note
	Note           string
	CreatedBy      string // required: workflow id, request id or "admin:3"
	IdempotencyKey string // required: a retry with the same key returns the first entry
}

type creditRow struct {
	ID             int64         `db:"id"`
	CustomerID     int64         `db:"customer_id"`
	Currency       string        `db:"currency"`
	Amount         int64         `db:"amount"`
	Kind           string        `db:"kind"`
	InvoiceID      sql.NullInt64 `db:"invoice_id"`
	CreditNoteID   sql.NullInt64 `db:"credit_note_id"`
	Note           string        `db:"note"`
	CreatedBy      string        `db:"created_by"`
	IdempotencyKey string        `db:"idempotency_key"`
	CreatedAt      time.Time     `db:"created_at"`
}

const creditColumns = `id, customer_id, currency, amount, kind, invoice_id, credit_note_id, note, created_by, idempotency_key, created_at`

func (r creditRow) entry() CreditEntry {
	return CreditEntry{ID: r.ID, CustomerID: r.CustomerID, Kind: billing.CreditKind(r.Kind),
		Amount: billing.Money{Amount: r.Amount, Currency: r.Currency}, InvoiceID: r.InvoiceID, CreditNoteID: r.CreditNoteID, Note: r.Note,
		CreatedBy: r.CreatedBy, IdempotencyKey: r.IdempotencyKey, CreatedAt: r.CreatedAt}
}

// AddCredit grants a customer credit (Amount > 0).
func (s *Store) AddCredit(ctx context.Context, c CreditChange) (CreditEntry, error) {
	return s.recordCredit(ctx, billing.CreditAdd, c, c.Amount)
}

// RefundToCredit returns a payment to the customer as credit (Amount > 0).
func (s *Store) RefundToCredit(ctx context.Context, c CreditChange) (CreditEntry, error) {
	return s.recordCredit(ctx, billing.CreditRefund, c, c.Amount)
}

// UseCredit takes credit (Amount > 0), for example to pay an invoice. Taking more than the
// balance gives billing.ErrInsufficientCredit, also when two uses race.
func (s *Store) UseCredit(ctx context.Context, c CreditChange) (CreditEntry, error) {
	neg, err := c.Amount.Neg()
	if err != nil {
		return CreditEntry{}, fmt.Errorf("use credit %s: %w", c.Amount, err)
	}
	return s.recordCredit(ctx, billing.CreditUse, c, neg)
}

// AdjustCredit is a staff correction of either sign; it cannot take the balance below zero.
func (s *Store) AdjustCredit(ctx context.Context, c CreditChange) (CreditEntry, error) {
	return s.recordCredit(ctx, billing.CreditAdjust, c, c.Amount)
}

// CreditBalance is the sum of a customer's credit entries in currency.
func (s *Store) CreditBalance(ctx context.Context, customerID int64, currency string) (billing.Money, error) {
	return creditBalance(ctx, s.db, customerID, currency)
}

// CreditEntries lists a customer's credit movements in currency, oldest first.
func (s *Store) CreditEntries(ctx context.Context, customerID int64, currency string) ([]CreditEntry, error) {
	var rows []creditRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+creditColumns+` FROM credit_ledger
		WHERE customer_id = $1 AND currency = $2 ORDER BY id`, customerID, currency); err != nil {
		return nil, fmt.Errorf("list credit of customer %d in %s: %w", customerID, currency, err)
	}
	out := make([]CreditEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

func creditBalance(ctx context.Context, q sqlx.QueryerContext, customerID int64, currency string) (billing.Money, error) {
	var sum int64
	if err := sqlx.GetContext(ctx, q, &sum, `SELECT COALESCE(SUM(amount), 0)::bigint FROM credit_ledger
		WHERE customer_id = $1 AND currency = $2`, customerID, currency); err != nil {
		return billing.Money{}, fmt.Errorf("credit balance of customer %d in %s: %w", customerID, currency, err)
	}
	return billing.Money{Amount: sum, Currency: currency}, nil
}

// recordCredit appends one ledger entry of kind with the signed amount. It holds a
// transaction-scoped advisory lock on (customer, currency) while it reads the balance and
// inserts, so concurrent uses are serialized and cannot overdraw; the balance itself stays a
// SUM over the ledger. billing.CreditLedger checks sign, currency and the non-negative balance.
func (s *Store) recordCredit(ctx context.Context, kind billing.CreditKind, c CreditChange, signed billing.Money) (CreditEntry, error) {
	var out CreditEntry
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = recordCreditTx(ctx, tx, kind, c, signed)
		return err
	})
	if err != nil {
		return CreditEntry{}, err
	}
	return out, nil
}

// recordCreditTx is recordCredit inside the caller's transaction.
func recordCreditTx(ctx context.Context, tx *sqlx.Tx, kind billing.CreditKind, c CreditChange, signed billing.Money) (CreditEntry, error) {
	if c.IdempotencyKey == "" || c.CreatedBy == "" {
		return CreditEntry{}, fmt.Errorf("credit %s for customer %d: idempotency key and creator are required", kind, c.CustomerID)
	}
	var out CreditEntry
	err := func() error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			fmt.Sprintf("credit:%d:%s", c.CustomerID, signed.Currency)); err != nil {
			return fmt.Errorf("lock credit of customer %d: %w", c.CustomerID, err)
		}
		var existing creditRow
		err := tx.GetContext(ctx, &existing, `SELECT `+creditColumns+` FROM credit_ledger WHERE idempotency_key = $1`, c.IdempotencyKey)
		if err == nil {
			if existing.CustomerID != c.CustomerID || existing.Kind != string(kind) || existing.Amount != signed.Amount || existing.Currency != signed.Currency {
				return fmt.Errorf("credit key %q was used for %s %d %s of customer %d: %w",
					c.IdempotencyKey, existing.Kind, existing.Amount, existing.Currency, existing.CustomerID, ErrConflict)
			}
			out = existing.entry()
			out.AlreadyRecorded = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up credit key %q: %w", c.IdempotencyKey, err)
		}
		balance, err := creditBalance(ctx, tx, c.CustomerID, signed.Currency)
		if err != nil {
			return err
		}
		ledger, err := billing.NewCreditLedger(signed.Currency)
		if err != nil {
			return fmt.Errorf("credit %s for customer %d: %w", kind, c.CustomerID, err)
		}
		if balance.IsPositive() {
			if err := ledger.Add(balance, "balance"); err != nil {
				return fmt.Errorf("credit balance of customer %d: %w", c.CustomerID, err)
			}
		}
		checked := kind
		if kind == billing.CreditNoteKind { // credit a credit note gives is a grant, checked as one
			checked = billing.CreditAdd
		}
		if err := ledger.Record(billing.CreditEntry{Kind: checked, Amount: signed, Note: c.Note}); err != nil {
			return fmt.Errorf("credit for customer %d: %w", c.CustomerID, err)
		}
		var row creditRow
		err = tx.GetContext(ctx, &row, `
			INSERT INTO credit_ledger (customer_id, currency, amount, kind, invoice_id, credit_note_id, note, created_by, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+creditColumns,
			c.CustomerID, signed.Currency, signed.Amount, string(kind), optionalID(c.InvoiceID), optionalID(c.CreditNoteID), c.Note,
			c.CreatedBy, c.IdempotencyKey)
		if isUniqueViolation(err) {
			return fmt.Errorf("credit key %q used for another customer or currency: %w", c.IdempotencyKey, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("record credit %s %s for customer %d: %w", kind, signed, c.CustomerID, err)
		}
		out = row.entry()
		return nil
	}()
	if err != nil {
		return CreditEntry{}, err
	}
	return out, nil
}
