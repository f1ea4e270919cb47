package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AlertKind is why money needs a person.
type AlertKind string

// The money alert kinds.
const (
	AlertOverpayment     AlertKind = "overpayment"     // a payment beyond what was due, returned by refund or credit
	AlertRefundFailed    AlertKind = "refund_failed"   // a refund the gateway could not complete
	AlertUnprovisionable AlertKind = "unprovisionable" // a paid order whose product has no panel to provision on
)

// MoneyAlert is something about money that staff must look at.
type MoneyAlert struct {
	ID         int64         `db:"id"`
	Kind       AlertKind     `db:"kind"`
	CustomerID sql.NullInt64 `db:"customer_id"`
	InvoiceID  sql.NullInt64 `db:"invoice_id"`
	PaymentID  sql.NullInt64 `db:"payment_id"`
	Message    string        `db:"message"`
	DedupeKey  string        `db:"dedupe_key"`
	CreatedAt  time.Time     `db:"created_at"`
	ResolvedAt sql.NullTime  `db:"resolved_at"`
	ResolvedBy string        `db:"resolved_by"`
}

// NewMoneyAlert is what raising an alert needs; DedupeKey makes raising it twice one alert.
type NewMoneyAlert struct {
	Kind       AlertKind
	CustomerID int64
	InvoiceID  int64
	PaymentID  int64
	Message    string
	DedupeKey  string
}

const moneyAlertColumns = `id, kind, customer_id, invoice_id, payment_id, message, dedupe_key, created_at, resolved_at, resolved_by`

// RaiseMoneyAlert records an alert once per DedupeKey.
func (s *Store) RaiseMoneyAlert(ctx context.Context, a NewMoneyAlert) error {
	if a.DedupeKey == "" || a.Message == "" {
		return fmt.Errorf("money alert %s: message and dedupe key are required", a.Kind)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO money_alerts (kind, customer_id, invoice_id, payment_id, message, dedupe_key)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING`,
		string(a.Kind), optionalID(a.CustomerID), optionalID(a.InvoiceID), optionalID(a.PaymentID), a.Message, a.DedupeKey)
	if err != nil {
		return fmt.Errorf("raise %s alert: %w", a.Kind, err)
	}
	return nil
}

// MoneyAlertFilter narrows the alert list.
type MoneyAlertFilter struct {
	InvoiceID int64 // 0 for all
	OpenOnly  bool
	Limit     int // 0 means 200
}

// MoneyAlerts lists alerts, newest first.
func (s *Store) MoneyAlerts(ctx context.Context, f MoneyAlertFilter) ([]MoneyAlert, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var out []MoneyAlert
	err := s.db.SelectContext(ctx, &out, `SELECT `+moneyAlertColumns+` FROM money_alerts
		WHERE ($1 = 0 OR invoice_id = $1) AND (NOT $2 OR resolved_at IS NULL) ORDER BY id DESC LIMIT $3`, f.InvoiceID, f.OpenOnly, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list money alerts: %w", err)
	}
	return out, nil
}

// ResolveMoneyAlert closes an alert; resolving it twice keeps the first resolution.
func (s *Store) ResolveMoneyAlert(ctx context.Context, id int64, by string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE money_alerts SET resolved_at = COALESCE(resolved_at, now()),
		resolved_by = CASE WHEN resolved_at IS NULL THEN $2 ELSE resolved_by END WHERE id = $1`, id, by)
	if err != nil {
		return fmt.Errorf("resolve money alert %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("money alert %d: %w", id, ErrNotFound)
	}
	return nil
}
