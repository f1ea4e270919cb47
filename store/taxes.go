package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ezscale/billing/billing"
)

// TaxRule is a stored tax rule.
type TaxRule struct {
	ID   int64
	Rule billing.TaxRule
}

type taxRuleRow struct {
	ID       int64  `db:"id"`
	Level    int    `db:"level"`
	Name     string `db:"name"`
	Country  string `db:"country"`
	State    string `db:"state"`
	Rate     int64  `db:"rate_milli_percent"`
	Compound bool   `db:"compound"`
}

// TaxRules lists every tax rule by level and country.
func (s *Store) TaxRules(ctx context.Context) ([]TaxRule, error) {
	var rows []taxRuleRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, level, name, country, state, rate_milli_percent, compound
		FROM tax_rules ORDER BY level, country, state, id`); err != nil {
		return nil, fmt.Errorf("list tax rules: %w", err)
	}
	out := make([]TaxRule, len(rows))
	for i, r := range rows {
		out[i] = TaxRule{ID: r.ID, Rule: billing.TaxRule{Level: r.Level, Name: r.Name, Country: r.Country, State: r.State,
			RateMilliPercent: r.Rate, Compound: r.Compound}}
	}
	return out, nil
}

// CreateTaxRule stores a tax rule; billing checks level and rate.
func (s *Store) CreateTaxRule(ctx context.Context, r billing.TaxRule) (TaxRule, error) {
	if _, err := billing.ComputeTax(billing.Money{Currency: "USD"}, []billing.TaxRule{r}, billing.TaxContext{}); err != nil {
		return TaxRule{}, fmt.Errorf("tax rule %q: %v: %w", r.Name, err, ErrInvalid)
	}
	if r.Name == "" {
		return TaxRule{}, fmt.Errorf("tax rule without a name: %w", ErrInvalid)
	}
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO tax_rules (level, name, country, state, rate_milli_percent, compound)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, r.Level, r.Name, r.Country, r.State, r.RateMilliPercent, r.Compound)
	if err != nil {
		return TaxRule{}, fmt.Errorf("create tax rule %q: %w", r.Name, err)
	}
	return TaxRule{ID: id, Rule: r}, nil
}

// DeleteTaxRule removes a tax rule; invoices already issued keep their tax lines.
func (s *Store) DeleteTaxRule(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tax_rules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete tax rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("tax rule %d: %w", id, ErrNotFound)
	}
	return nil
}

// BillingProfile is what billing needs to know about a customer: where they are for tax,
// whether they are exempt, and their dunning overrides.
type BillingProfile struct {
	CustomerID           int64         `db:"user_id"`
	Email                string        `db:"email"`
	Name                 string        `db:"name"`
	Company              string        `db:"company"`
	Country              string        `db:"country"`
	State                string        `db:"state"`
	TaxExempt            bool          `db:"tax_exempt"`
	VATID                string        `db:"vat_id"`
	DunningSuspendDays   sql.NullInt64 `db:"dunning_suspend_days"`
	DunningTerminateDays sql.NullInt64 `db:"dunning_terminate_days"`
}

// Tax is the customer's side of billing.TaxContext; the caller adds the seller's country.
func (p BillingProfile) Tax() billing.TaxContext {
	return billing.TaxContext{Country: p.Country, State: p.State, Exempt: p.TaxExempt, VATID: p.VATID}
}

// BillingProfileOf loads a customer's billing profile.
func (s *Store) BillingProfileOf(ctx context.Context, customerID int64) (BillingProfile, error) {
	var p BillingProfile
	err := s.db.GetContext(ctx, &p, `
		SELECT u.id AS user_id, u.email, u.name, COALESCE(c.company, '') AS company, COALESCE(c.country, '') AS country,
		       COALESCE(c.state, '') AS state, COALESCE(c.tax_exempt, false) AS tax_exempt, COALESCE(c.vat_id, '') AS vat_id,
		       c.dunning_suspend_days, c.dunning_terminate_days
		FROM users u LEFT JOIN customer_profiles c ON c.user_id = u.id WHERE u.id = $1`, customerID)
	if err != nil {
		return BillingProfile{}, notFound(err, fmt.Sprintf("customer %d", customerID))
	}
	return p, nil
}
