package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// PaletteHit is one record the command palette offers for what was typed.
type PaletteHit struct {
	ID     int64  `db:"id"`
	Label  string `db:"label"`
	Detail string `db:"detail"`
}

// paletteID is the id typed ("42" or "#42"), if the query is one.
func paletteID(q string) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64)
	return id, err == nil && id > 0
}

// PaletteCustomers finds customers by part of the name, email or company, or by id, for staff.
// Exact id matches come first, then addresses starting with the query, then by name.
func (s *Store) PaletteCustomers(ctx context.Context, q string, limit int) ([]PaletteHit, error) {
	q = strings.TrimSpace(q)
	id, _ := paletteID(q)
	var out []PaletteHit
	err := s.db.SelectContext(ctx, &out, `
		SELECT u.id, u.name AS label, u.email || CASE WHEN COALESCE(cp.company, '') <> '' THEN ' · ' || cp.company ELSE '' END AS detail
		FROM users u LEFT JOIN customer_profiles cp ON cp.user_id = u.id
		WHERE u.role = 'customer' AND u.id IN (
			SELECT id FROM users WHERE name ILIKE $1 OR email LIKE $1
			UNION ALL SELECT user_id FROM customer_profiles WHERE company ILIKE $1
			UNION ALL SELECT $2::bigint)
		ORDER BY u.id = $2 DESC, u.email LIKE $3 DESC, lower(u.name), u.id LIMIT $4`,
		likeContains(q), id, likeEscape(strings.ToLower(q))+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("palette customers %q: %w", q, err)
	}
	return out, nil
}

// PaletteServices finds services by part of the hostname or an IP address, or by id. With
// customerID > 0 only that customer's (unarchived) services are searched, by product name too.
func (s *Store) PaletteServices(ctx context.Context, q string, customerID int64, limit int) ([]PaletteHit, error) {
	q = strings.TrimSpace(q)
	id, _ := paletteID(q)
	var out []PaletteHit
	var err error
	const cols = `SELECT s.id, CASE WHEN s.hostname <> '' THEN s.hostname ELSE p.name END AS label,
		p.name || ' · ' || s.status || CASE WHEN jsonb_array_length(s.ipv4) > 0 THEN ' · ' || (s.ipv4 ->> 0) ELSE '' END AS detail
		FROM services s JOIN products p ON p.id = s.product_id`
	if customerID > 0 {
		err = s.db.SelectContext(ctx, &out, cols+`
			WHERE s.customer_id = $3 AND s.archived_at IS NULL
			  AND (s.id = $2 OR s.hostname ILIKE $1 OR s.ipv4::text LIKE $1 OR p.name ILIKE $1)
			ORDER BY s.id = $2 DESC, s.created_at DESC, s.id DESC LIMIT $4`, likeContains(q), id, customerID, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, cols+`
			WHERE s.id IN (SELECT id FROM services WHERE hostname ILIKE $1 OR ipv4::text LIKE $1 UNION ALL SELECT $2::bigint)
			ORDER BY s.id = $2 DESC, s.archived_at IS NOT NULL, s.created_at DESC, s.id DESC LIMIT $3`, likeContains(q), id, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("palette services %q: %w", q, err)
	}
	return out, nil
}

// PaletteInvoices finds invoices by part of the number or by id. With customerID > 0 only
// that customer's invoices are searched.
func (s *Store) PaletteInvoices(ctx context.Context, q string, customerID int64, limit int) ([]PaletteHit, error) {
	q = strings.TrimSpace(q)
	id, _ := paletteID(q)
	var out []PaletteHit
	var err error
	const cols = `SELECT i.id, i.number AS label, i.status || ' · due ' || to_char(i.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS detail FROM invoices i`
	if customerID > 0 {
		err = s.db.SelectContext(ctx, &out, cols+`
			WHERE i.customer_id = $3 AND (i.id = $2 OR i.number ILIKE $1)
			ORDER BY i.id = $2 DESC, i.created_at DESC, i.id DESC LIMIT $4`, likeContains(q), id, customerID, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, cols+`
			WHERE i.id IN (SELECT id FROM invoices WHERE number ILIKE $1 UNION ALL SELECT $2::bigint)
			ORDER BY i.id = $2 DESC, i.created_at DESC, i.id DESC LIMIT $3`, likeContains(q), id, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("palette invoices %q: %w", q, err)
	}
	return out, nil
}

// PaletteSubscriptions finds one customer's subscriptions by product name or id; there is no
// unscoped form.
func (s *Store) PaletteSubscriptions(ctx context.Context, q string, customerID int64, limit int) ([]PaletteHit, error) {
	if customerID <= 0 {
		return nil, fmt.Errorf("palette subscriptions without a customer: %w", ErrInvalid)
	}
	q = strings.TrimSpace(q)
	id, _ := paletteID(q)
	var out []PaletteHit
	err := s.db.SelectContext(ctx, &out, `
		SELECT s.id, p.name AS label, s.cycle || ' · ' || s.status AS detail
		FROM subscriptions s JOIN products p ON p.id = s.product_id
		WHERE s.customer_id = $3 AND (s.id = $2 OR p.name ILIKE $1)
		ORDER BY s.id = $2 DESC, s.id DESC LIMIT $4`, likeContains(q), id, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("palette subscriptions %q: %w", q, err)
	}
	return out, nil
}
