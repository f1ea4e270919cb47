package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LiveSubscription is a subscription that is not over, so its workflow should be running: the
// facts needed to start that workflow when it is not.
type LiveSubscription struct {
	ID         int64  `db:"id"`
	CustomerID int64  `db:"customer_id"`
	Status     string `db:"status"`
	// FirstInvoiceID is the invoice of the order that created the subscription, whose payment
	// activates a pending subscription; not valid for a subscription made without an order.
	FirstInvoiceID sql.NullInt64 `db:"first_invoice_id"`
}

// LiveSubscriptions lists up to limit subscriptions that are pending, active, past due or
// suspended and were created before createdBefore, with ids above afterID in id order, for the
// reconciler that starts the workflow of any of them that has none (an order placed while
// Temporal was unreachable). Page with the last id returned.
func (s *Store) LiveSubscriptions(ctx context.Context, createdBefore time.Time, afterID int64, limit int) ([]LiveSubscription, error) {
	var out []LiveSubscription
	err := s.db.SelectContext(ctx, &out, `
		SELECT s.id, s.customer_id, s.status,
		       (SELECT o.invoice_id FROM orders o WHERE o.subscription_id = s.id ORDER BY o.id LIMIT 1) AS first_invoice_id
		  FROM subscriptions s
		 WHERE s.status IN ($1, $2, $3, $4) AND s.id > $5 AND s.created_at < $7
		 ORDER BY s.id
		 LIMIT $6`,
		SubscriptionPending, SubscriptionActive, SubscriptionPastDue, SubscriptionSuspended, afterID, limit, createdBefore)
	if err != nil {
		return nil, fmt.Errorf("list live subscriptions after %d: %w", afterID, err)
	}
	return out, nil
}
