package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/billing/billing"
)

// LiveSubscription is an ordered subscription that is not over, so its workflow should be
// running: the facts needed to start that workflow when it is not.
type LiveSubscription struct {
	ID         int64                      `db:"id"`
	CustomerID int64                      `db:"customer_id"`
	Status     billing.SubscriptionStatus `db:"status"`
	// FirstInvoiceID is the invoice of the order that created the subscription, whose payment
	// activates a pending subscription.
	FirstInvoiceID int64 `db:"first_invoice_id"`
}

// LiveSubscriptions lists up to limit subscriptions that are pending, active, past due or
// suspended and were created by an order before createdBefore, with ids above afterID in id
// order, for the reconciler that starts the workflow of any of them that has none (an order
// placed while Temporal was unreachable). Subscriptions written by an import or the demo seed
// have no order: they are history no workflow ever ran, and are not listed. Page with the last
// id returned.
func (s *Store) LiveSubscriptions(ctx context.Context, createdBefore time.Time, afterID int64, limit int) ([]LiveSubscription, error) {
	var out []LiveSubscription
	err := s.db.SelectContext(ctx, &out, `
		SELECT s.id, s.customer_id, s.status, o.invoice_id AS first_invoice_id
		  FROM subscriptions s
		  JOIN LATERAL (SELECT invoice_id FROM orders WHERE subscription_id = s.id ORDER BY id LIMIT 1) o ON true
		 WHERE s.status IN ($1, $2, $3, $4) AND s.id > $5 AND s.created_at < $7
		 ORDER BY s.id
		 LIMIT $6`,
		billing.SubscriptionPending, billing.SubscriptionActive, billing.SubscriptionPastDue, billing.SubscriptionSuspended, afterID, limit, createdBefore)
	if err != nil {
		return nil, fmt.Errorf("list live subscriptions after %d: %w", afterID, err)
	}
	return out, nil
}
