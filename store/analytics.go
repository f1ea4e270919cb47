package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/billing"
)

// The analytics reads: the facts package analytics computes metrics from (docs/analytics.md).
// Every query aggregates in SQL or reads only the customers that changed, so the dashboard costs
// a handful of indexed queries whatever the number of customers. Days are UTC.

// countingStatuses is analytics.Counts as SQL: the statuses that count for MRR and active customers.
const countingStatuses = `('active', 'past_due')`

// readOnly runs fn in one read-only REPEATABLE READ transaction, so the queries of a report see
// one snapshot of the database.
func (s *Store) readOnly(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// affectedCustomers are the customers with a subscription change after $1: only their
// subscriptions are reconstructed from the history; everyone else is the same at both ends.
const affectedCustomers = `affected AS (SELECT DISTINCT customer_id FROM subscription_history WHERE at > $1)`

// AnalyticsPeriod reads the facts for the metrics of the period from `from` to `to`: the state at
// each end (the last subscription_history entry at or before it) of every subscription of the
// customers whose subscriptions changed after from, and an aggregate of all other customers,
// whose current state is their state at both ends. A point in time is the period from t to t.
// Two queries in one snapshot: the history rows of the changed customers (replayed here), and
// one aggregate pass over everyone else.
func (s *Store) AnalyticsPeriod(ctx context.Context, from, to time.Time) (analytics.Period, error) {
	p := analytics.Period{HadMRRBefore: map[analytics.CustomerCurrency]bool{}}
	p.Unchanged.CustomersByCurrency = map[string]int{}
	err := s.readOnly(ctx, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryContext(ctx, `WITH `+affectedCustomers+`
			SELECT h.subscription_id, h.customer_id, h.at <= $1, h.status, h.product_id, h.cycle, h.currency, h.price
			FROM subscription_history h JOIN affected USING (customer_id)
			WHERE h.at <= $2
			ORDER BY h.subscription_id, h.at, h.id`, from, to)
		if err != nil {
			return fmt.Errorf("history of customers changed since %s: %w", from.Format(time.RFC3339), err)
		}
		defer rows.Close()
		var cur *analytics.Change
		for rows.Next() {
			var st analytics.State
			var beforeStart bool
			var cycle string
			if err := rows.Scan(&st.SubscriptionID, &st.CustomerID, &beforeStart, &st.Status, &st.ProductID, &cycle,
				&st.Price.Currency, &st.Price.Amount); err != nil {
				return fmt.Errorf("read subscription history: %w", err)
			}
			st.Cycle = billing.Cycle(cycle)
			if cur == nil || cur.End.SubscriptionID != st.SubscriptionID {
				p.Changed = append(p.Changed, analytics.Change{})
				cur = &p.Changed[len(p.Changed)-1]
			}
			if beforeStart {
				cur.Start = st
				if st.MRR() > 0 {
					p.HadMRRBefore[analytics.CustomerCurrency{CustomerID: st.CustomerID, Currency: st.Price.Currency}] = true
				}
			}
			cur.End = st
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read subscription history: %w", err)
		}

		var groups []struct {
			Currency  sql.NullString `db:"currency"`
			Cycle     sql.NullString `db:"cycle"`
			Price     sql.NullInt64  `db:"price"`
			N         int64          `db:"n"`
			Customers int            `db:"customers"`
		}
		err = tx.SelectContext(ctx, &groups, `WITH `+affectedCustomers+`
			SELECT currency, cycle, price, count(*) AS n, count(DISTINCT customer_id) AS customers FROM subscriptions s
			WHERE status IN `+countingStatuses+` AND cycle <> 'onetime'
			  AND NOT EXISTS (SELECT 1 FROM affected a WHERE a.customer_id = s.customer_id)
			GROUP BY GROUPING SETS ((currency, cycle, price), (currency), ())`, from)
		if err != nil {
			return fmt.Errorf("MRR of unchanged customers: %w", err)
		}
		for _, g := range groups {
			switch {
			case g.Price.Valid:
				p.Unchanged.PricePoints = append(p.Unchanged.PricePoints,
					analytics.PricePoint{Currency: g.Currency.String, Cycle: billing.Cycle(g.Cycle.String), Price: g.Price.Int64, Count: g.N})
			case g.Currency.Valid:
				p.Unchanged.CustomersByCurrency[g.Currency.String] = g.Customers
			default:
				p.Unchanged.Customers = g.Customers
			}
		}
		return nil
	})
	if err != nil {
		return analytics.Period{}, err
	}
	return p, nil
}

// Revenue sums payments and refunds from `from` (included) to `to` (excluded) per UTC day, or per
// UTC month when byMonth is set, and currency: payments on the day they were received, refunds
// on the day they were made.
func (s *Store) Revenue(ctx context.Context, from, to time.Time, byMonth bool) ([]analytics.Revenue, error) {
	unit := "day"
	if byMonth {
		unit = "month"
	}
	var rows []struct {
		Period   time.Time `db:"period"`
		Currency string    `db:"currency"`
		Payments int64     `db:"payments"`
		Refunds  int64     `db:"refunds"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT date_trunc($3, at AT TIME ZONE 'UTC') AS period, currency,
		       COALESCE(sum(paid), 0)::bigint AS payments, COALESCE(sum(refunded), 0)::bigint AS refunds
		FROM (SELECT created_at AS at, currency, amount AS paid, 0 AS refunded FROM payments WHERE created_at >= $1 AND created_at < $2
		      UNION ALL
		      SELECT created_at, currency, 0, amount FROM refunds WHERE created_at >= $1 AND created_at < $2) m
		GROUP BY 1, 2 ORDER BY 1, 2`, from, to, unit)
	if err != nil {
		return nil, fmt.Errorf("revenue by %s: %w", unit, err)
	}
	out := make([]analytics.Revenue, len(rows))
	for i, r := range rows {
		p := r.Period
		out[i] = analytics.Revenue{Period: time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC),
			Currency: r.Currency, Payments: r.Payments, Refunds: r.Refunds}
	}
	return out, nil
}

// RevenueByProductType is net revenue (payments minus refunds, each in its own window) from
// `from` to `to` by the product type of the subscription or service the invoice billed; invoices
// tied to neither are "other".
func (s *Store) RevenueByProductType(ctx context.Context, from, to time.Time) ([]analytics.TypeRevenue, error) {
	var rows []struct {
		Type     string `db:"type"`
		Currency string `db:"currency"`
		Amount   int64  `db:"amount"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT COALESCE(p.type, 'other') AS type, m.currency, sum(m.amount)::bigint AS amount
		FROM (SELECT invoice_id, currency, amount FROM payments WHERE created_at >= $1 AND created_at < $2
		      UNION ALL
		      SELECT py.invoice_id, r.currency, -r.amount FROM refunds r JOIN payments py ON py.id = r.payment_id
		      WHERE r.created_at >= $1 AND r.created_at < $2) m
		JOIN invoices i ON i.id = m.invoice_id
		LEFT JOIN subscriptions sub ON sub.id = i.subscription_id
		LEFT JOIN services sv ON sv.id = i.service_id
		LEFT JOIN products p ON p.id = COALESCE(sub.product_id, sv.product_id)
		GROUP BY 1, 2 ORDER BY 2, 3 DESC, 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("revenue by product type: %w", err)
	}
	out := make([]analytics.TypeRevenue, len(rows))
	for i, r := range rows {
		out[i] = analytics.TypeRevenue{Type: r.Type, Currency: r.Currency, Amount: r.Amount}
	}
	return out, nil
}

// PopularPlans is the products with the most active and past-due subscriptions (any currency and
// cycle), most first.
func (s *Store) PopularPlans(ctx context.Context, limit int) ([]analytics.PlanCount, error) {
	var rows []struct {
		ID    int64  `db:"id"`
		Name  string `db:"name"`
		Type  string `db:"type"`
		Count int64  `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT p.id, p.name, p.type, c.n
		FROM (SELECT product_id, count(*) AS n FROM subscriptions WHERE status IN `+countingStatuses+` GROUP BY product_id) c
		JOIN products p ON p.id = c.product_id
		ORDER BY c.n DESC, p.name LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("popular plans: %w", err)
	}
	out := make([]analytics.PlanCount, len(rows))
	for i, r := range rows {
		out[i] = analytics.PlanCount{ProductID: r.ID, Name: r.Name, Type: r.Type, Count: r.Count}
	}
	return out, nil
}

// OverdueInvoices counts, per currency, the invoices that were issued, unpaid and past their due
// date at `at`, with the amount still due on them (lines minus payments received by then). The
// zero `at` means now and reads the current status (an indexed read of unpaid invoices); a past
// `at` is reconstructed from the issued, paid and cancelled dates.
func (s *Store) OverdueInvoices(ctx context.Context, at time.Time) ([]analytics.Overdue, error) {
	// Two statements, not one with a flag: the current form must plan onto the partial index
	// of unpaid invoices, which a generic plan for both forms would not use.
	which := `i.status <> 'draft' AND i.issued_at <= $1 AND (i.paid_at IS NULL OR i.paid_at > $1)
		AND (i.cancelled_at IS NULL OR i.cancelled_at > $1)`
	if at.IsZero() {
		at, which = time.Now(), `i.status = 'unpaid'`
	}
	var rows []struct {
		Currency string `db:"currency"`
		N        int64  `db:"n"`
		Amount   int64  `db:"amount"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT i.currency, count(*) AS n,
		       COALESCE(sum((SELECT COALESCE(sum(l.amount), 0) FROM invoice_lines l WHERE l.invoice_id = i.id)
		                  - (SELECT COALESCE(sum(p.amount), 0) FROM payments p WHERE p.invoice_id = i.id AND p.created_at <= $1)), 0)::bigint AS amount
		FROM invoices i
		WHERE i.due_at < $1 AND `+which+`
		GROUP BY i.currency ORDER BY i.currency`, at)
	if err != nil {
		return nil, fmt.Errorf("overdue invoices at %s: %w", at.Format(time.RFC3339), err)
	}
	out := make([]analytics.Overdue, len(rows))
	for i, r := range rows {
		out[i] = analytics.Overdue{Currency: r.Currency, Count: r.N, Amount: r.Amount}
	}
	return out, nil
}

// CountServicesNeedingAttention counts live services whose provisioning failed and waits for staff.
func (s *Store) CountServicesNeedingAttention(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM services WHERE status = 'needs_attention' AND archived_at IS NULL`); err != nil {
		return 0, fmt.Errorf("count services needing attention: %w", err)
	}
	return n, nil
}

// SaveMetricSnapshots stores one day's snapshots, replacing what was stored for that day (a
// currency no longer present is removed), so recomputing a day leaves one row per currency.
func (s *Store) SaveMetricSnapshots(ctx context.Context, day time.Time, snaps []analytics.Snapshot) error {
	day = analytics.Day(day)
	currencies := make([]string, 0, len(snaps))
	for _, sn := range snaps {
		if !analytics.Day(sn.Day).Equal(day) {
			return fmt.Errorf("save snapshots of %s: a %s snapshot is for %s", day.Format(time.DateOnly), sn.Currency, sn.Day.Format(time.DateOnly))
		}
		currencies = append(currencies, sn.Currency)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM metric_snapshots WHERE day = $1 AND NOT (currency = ANY($2))`,
			day, currencies); err != nil {
			return fmt.Errorf("clear snapshots of %s: %w", day.Format(time.DateOnly), err)
		}
		for _, sn := range snaps {
			m := sn.Movement
			_, err := tx.ExecContext(ctx, `
				INSERT INTO metric_snapshots (day, currency, mrr, active_subscriptions, active_customers, payments, refunds,
				    new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr, overdue_count, overdue_amount)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (day, currency) DO UPDATE SET
				    mrr = EXCLUDED.mrr, active_subscriptions = EXCLUDED.active_subscriptions,
				    active_customers = EXCLUDED.active_customers, payments = EXCLUDED.payments, refunds = EXCLUDED.refunds,
				    new_mrr = EXCLUDED.new_mrr, expansion_mrr = EXCLUDED.expansion_mrr, contraction_mrr = EXCLUDED.contraction_mrr,
				    churned_mrr = EXCLUDED.churned_mrr, reactivation_mrr = EXCLUDED.reactivation_mrr,
				    overdue_count = EXCLUDED.overdue_count, overdue_amount = EXCLUDED.overdue_amount, computed_at = now()`,
				day, sn.Currency, sn.MRR, sn.ActiveSubscriptions, sn.ActiveCustomers, sn.Payments, sn.Refunds,
				m.New, m.Expansion, m.Contraction, m.Churned, m.Reactivation, sn.OverdueCount, sn.OverdueAmount)
			if err != nil {
				return fmt.Errorf("save %s snapshot of %s: %w", sn.Currency, day.Format(time.DateOnly), err)
			}
		}
		return nil
	})
}

// MetricSnapshots returns the stored snapshots of a currency from the day of `from` to the day of
// `to`, oldest first; "" means every currency.
func (s *Store) MetricSnapshots(ctx context.Context, currency string, from, to time.Time) ([]analytics.Snapshot, error) {
	var rows []struct {
		Day                 time.Time `db:"day"`
		Currency            string    `db:"currency"`
		MRR                 int64     `db:"mrr"`
		ActiveSubscriptions int64     `db:"active_subscriptions"`
		ActiveCustomers     int       `db:"active_customers"`
		Payments            int64     `db:"payments"`
		Refunds             int64     `db:"refunds"`
		New                 int64     `db:"new_mrr"`
		Expansion           int64     `db:"expansion_mrr"`
		Contraction         int64     `db:"contraction_mrr"`
		Churned             int64     `db:"churned_mrr"`
		Reactivation        int64     `db:"reactivation_mrr"`
		OverdueCount        int64     `db:"overdue_count"`
		OverdueAmount       int64     `db:"overdue_amount"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT day, currency, mrr, active_subscriptions, active_customers, payments, refunds, new_mrr, expansion_mrr,
		       contraction_mrr, churned_mrr, reactivation_mrr, overdue_count, overdue_amount
		FROM metric_snapshots WHERE ($1 = '' OR currency = $1) AND day BETWEEN $2::date AND $3::date
		ORDER BY day, currency`, currency, analytics.Day(from), analytics.Day(to))
	if err != nil {
		return nil, fmt.Errorf("metric snapshots: %w", err)
	}
	out := make([]analytics.Snapshot, len(rows))
	for i, r := range rows {
		d := r.Day
		out[i] = analytics.Snapshot{Day: time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), Currency: r.Currency,
			MRR: r.MRR, ActiveSubscriptions: r.ActiveSubscriptions, ActiveCustomers: r.ActiveCustomers,
			Payments: r.Payments, Refunds: r.Refunds, OverdueCount: r.OverdueCount, OverdueAmount: r.OverdueAmount,
			Movement: analytics.Movement{New: r.New, Expansion: r.Expansion, Contraction: r.Contraction, Churned: r.Churned, Reactivation: r.Reactivation}}
	}
	return out, nil
}
