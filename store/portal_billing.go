package store

import (
	"context"
	"fmt"
)

// CustomerOrderByKey finds the order a customer's checkout form token already placed, or
// ErrNotFound. The portal asks before the capacity checks, so a repeated submission of a form
// that took the last slot still lands on its order instead of "sold out".
func (s *Store) CustomerOrderByKey(ctx context.Context, customerID int64, key string) (Order, error) {
	var out Order
	err := s.db.GetContext(ctx, &out, `SELECT `+orderColumns+` FROM orders WHERE idempotency_key = $1 AND customer_id = $2`,
		key, customerID)
	if err != nil {
		return Order{}, notFound(err, fmt.Sprintf("order %q of customer %d", key, customerID))
	}
	out.Existing = true
	return out, nil
}
