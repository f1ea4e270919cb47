package store

import (
	"context"
	"fmt"
)

// AccountCurrency is the currency a customer already pays in: that of their most recent
// subscription, else of their most recent invoice; "" when they have neither.
func (s *Store) AccountCurrency(ctx context.Context, customerID int64) (string, error) {
	var cur []string
	err := s.db.SelectContext(ctx, &cur, `SELECT currency FROM (
		(SELECT currency, 1 AS rank, created_at, id FROM subscriptions WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)
		UNION ALL
		(SELECT currency, 2 AS rank, created_at, id FROM invoices WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)
	) c ORDER BY rank LIMIT 1`, customerID)
	if err != nil {
		return "", fmt.Errorf("account currency of customer %d: %w", customerID, err)
	}
	if len(cur) == 0 {
		return "", nil
	}
	return cur[0], nil
}
