package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// Subscription is a customer's recurring purchase of one product.
type Subscription struct {
	ID                 int64                      `db:"id"`
	CustomerID         int64                      `db:"customer_id"`
	ProductID          int64                      `db:"product_id"`
	ServiceID          sql.NullInt64              `db:"service_id"`
	Cycle              billing.Cycle              `db:"cycle"`
	Currency           string                     `db:"currency"`
	PriceAmount        int64                      `db:"price"`
	Status             billing.SubscriptionStatus `db:"status"`
	Gateway            string                     `db:"gateway"`
	GatewayCustomerRef string                     `db:"gateway_customer_ref"`
	PaymentMethodRef   string                     `db:"payment_method_ref"`
	Coupons            JSONList                   `db:"coupons"`
	CouponCycles       JSONCounts                 `db:"coupon_cycles"`
	PeriodStart        sql.NullTime               `db:"period_start"`
	PeriodEnd          sql.NullTime               `db:"period_end"`
	AnchorDay          sql.NullInt64              `db:"anchor_day"`
	CancelAtPeriodEnd  bool                       `db:"cancel_at_period_end"`
	CancelReason       string                     `db:"cancel_reason"`
	CancelledAt        sql.NullTime               `db:"cancelled_at"`
	CreatedBy          string                     `db:"created_by"`
	CreatedAt          time.Time                  `db:"created_at"`
	UpdatedAt          time.Time                  `db:"updated_at"`
	ProductName        string                     `db:"product_name"`
	ProductType        string                     `db:"product_type"`
	CustomerEmail      string                     `db:"customer_email"`
	CustomerName       string                     `db:"customer_name"`
	ServiceStatus      sql.NullString             `db:"service_status"`
}

// Price is the recurring amount per cycle, before discounts and tax.
func (s Subscription) Price() billing.Money {
	return billing.Money{Amount: s.PriceAmount, Currency: s.Currency}
}

const subscriptionSelect = `
	SELECT s.id, s.customer_id, s.product_id, s.service_id, s.cycle, s.currency, s.price, s.status, s.gateway,
	       s.gateway_customer_ref, s.payment_method_ref, s.coupons, s.coupon_cycles, s.period_start, s.period_end, s.anchor_day,
	       s.cancel_at_period_end, s.cancel_reason, s.cancelled_at, s.created_by, s.created_at, s.updated_at,
	       p.name AS product_name, p.type AS product_type, u.email AS customer_email, u.name AS customer_name,
	       sv.status AS service_status
	FROM subscriptions s
	JOIN products p ON p.id = s.product_id
	JOIN users u ON u.id = s.customer_id
	LEFT JOIN services sv ON sv.id = s.service_id`

// SubscriptionByID loads a subscription.
func (s *Store) SubscriptionByID(ctx context.Context, id int64) (Subscription, error) {
	var out Subscription
	if err := s.db.GetContext(ctx, &out, subscriptionSelect+` WHERE s.id = $1`, id); err != nil {
		return Subscription{}, notFound(err, fmt.Sprintf("subscription %d", id))
	}
	return out, nil
}

// CustomerSubscription loads a subscription only if it belongs to the customer.
func (s *Store) CustomerSubscription(ctx context.Context, customerID, id int64) (Subscription, error) {
	var out Subscription
	if err := s.db.GetContext(ctx, &out, subscriptionSelect+` WHERE s.id = $1 AND s.customer_id = $2`, id, customerID); err != nil {
		return Subscription{}, notFound(err, fmt.Sprintf("subscription %d of customer %d", id, customerID))
	}
	return out, nil
}

// SubscriptionFilter narrows a subscription list.
type SubscriptionFilter struct {
	CustomerID int64                      // 0 for all customers
	Status     billing.SubscriptionStatus // "" for all
	Limit      int                        // 0 means 500
}

// Subscriptions lists subscriptions, newest first.
func (s *Store) Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var out []Subscription
	err := s.db.SelectContext(ctx, &out, subscriptionSelect+`
		WHERE ($1 = 0 OR s.customer_id = $1) AND ($2 = '' OR s.status = $2)
		ORDER BY s.id DESC LIMIT $3`, f.CustomerID, f.Status, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// SubscriptionEvent is one entry of a subscription's timeline.
type SubscriptionEvent struct {
	ID             int64     `db:"id"`
	SubscriptionID int64     `db:"subscription_id"`
	At             time.Time `db:"at"`
	Kind           string    `db:"kind"`
	Message        string    `db:"message"`
	Actor          string    `db:"actor"`
	WorkflowID     string    `db:"workflow_id"`
	// IdempotencyKey, when set, makes a repeated write of the same entry a no-op.
	IdempotencyKey sql.NullString `db:"idempotency_key"`
}

// addSubscriptionEvent appends a timeline entry; an entry whose key was written before is skipped.
func addSubscriptionEvent(ctx context.Context, db sqlx.ExtContext, e SubscriptionEvent) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO subscription_events (subscription_id, kind, message, actor, workflow_id, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
		e.SubscriptionID, e.Kind, e.Message, e.Actor, e.WorkflowID, e.IdempotencyKey)
	if err != nil {
		return fmt.Errorf("add event to subscription %d: %w", e.SubscriptionID, err)
	}
	return nil
}

// SubscriptionEvents returns a subscription's timeline, oldest first.
func (s *Store) SubscriptionEvents(ctx context.Context, subscriptionID int64) ([]SubscriptionEvent, error) {
	var out []SubscriptionEvent
	if err := s.db.SelectContext(ctx, &out, `SELECT id, subscription_id, at, kind, message, actor, workflow_id, idempotency_key
		FROM subscription_events WHERE subscription_id = $1 ORDER BY at, id`, subscriptionID); err != nil {
		return nil, fmt.Errorf("timeline of subscription %d: %w", subscriptionID, err)
	}
	return out, nil
}

// SubscriptionChange is a workflow's write of a subscription's state: its status, the current
// period and plan, and a timeline entry, in one transaction. Zero fields are left unchanged.
type SubscriptionChange struct {
	ID                int64
	Status            billing.SubscriptionStatus
	PeriodStart       time.Time
	PeriodEnd         time.Time
	AnchorDay         int
	ProductID         int64
	Price             billing.Money // with ProductID: the new plan's price
	CouponCycles      map[string]int
	CancelAtPeriodEnd *bool
	CancelReason      string
	Cancelled         bool // stamp cancelled_at
	Event             SubscriptionEvent
}

// UpdateSubscription applies a SubscriptionChange.
func (s *Store) UpdateSubscription(ctx context.Context, c SubscriptionChange) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if c.Event.IdempotencyKey.Valid { // a retried write: the first one did everything
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM subscription_events WHERE idempotency_key = $1`, c.Event.IdempotencyKey); err != nil {
				return fmt.Errorf("look up subscription event key: %w", err)
			}
			if n > 0 {
				return nil
			}
		}
		var cancelAt sql.NullBool
		if c.CancelAtPeriodEnd != nil {
			cancelAt = sql.NullBool{Bool: *c.CancelAtPeriodEnd, Valid: true}
		}
		var cycles any
		if c.CouponCycles != nil {
			cycles = JSONCounts(c.CouponCycles)
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE subscriptions SET
			    status = COALESCE(NULLIF($2, ''), status),
			    period_start = COALESCE($3, period_start),
			    period_end = COALESCE($4, period_end),
			    anchor_day = COALESCE(NULLIF($11, 0), anchor_day),
			    product_id = CASE WHEN $5 > 0 THEN $5 ELSE product_id END,
			    price = CASE WHEN $5 > 0 THEN $6 ELSE price END,
			    coupon_cycles = COALESCE($7, coupon_cycles),
			    cancel_at_period_end = COALESCE($8, cancel_at_period_end),
			    cancel_reason = COALESCE(NULLIF($9, ''), cancel_reason),
			    cancelled_at = CASE WHEN $10 AND cancelled_at IS NULL THEN now() ELSE cancelled_at END,
			    updated_at = now()
			WHERE id = $1`,
			c.ID, c.Status, nullTime(c.PeriodStart), nullTime(c.PeriodEnd), c.ProductID, c.Price.Amount, cycles,
			cancelAt, c.CancelReason, c.Cancelled, c.AnchorDay)
		if err != nil {
			return fmt.Errorf("update subscription %d: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("update subscription %d: %w", c.ID, ErrNotFound)
		}
		if c.Event.Kind == "" {
			return nil
		}
		c.Event.SubscriptionID = c.ID
		return addSubscriptionEvent(ctx, tx, c.Event)
	})
}

// SetSubscriptionPaymentMethod records the gateway customer and the saved payment method that
// renewals charge.
func (s *Store) SetSubscriptionPaymentMethod(ctx context.Context, id int64, gateway, customerRef, methodRef string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE subscriptions SET gateway = $2, gateway_customer_ref = $3, payment_method_ref = $4,
		updated_at = now() WHERE id = $1`, id, gateway, customerRef, methodRef)
	if err != nil {
		return fmt.Errorf("set payment method of subscription %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("subscription %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetCustomerPaymentMethod points every live subscription of a customer on a gateway at a new
// default payment method.
func (s *Store) SetCustomerPaymentMethod(ctx context.Context, customerID int64, gateway, methodRef string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE subscriptions SET payment_method_ref = $3, updated_at = now()
		WHERE customer_id = $1 AND gateway = $2 AND status NOT IN ('cancelled', 'terminated')`, customerID, gateway, methodRef)
	if err != nil {
		return fmt.Errorf("set payment method of customer %d: %w", customerID, err)
	}
	return nil
}

// SubscriptionInvoices lists the invoices a subscription billed, newest first.
func (s *Store) SubscriptionInvoices(ctx context.Context, subscriptionID int64) ([]Invoice, error) {
	invs, err := s.selectInvoices(ctx, `WHERE subscription_id = $1 ORDER BY id DESC`, subscriptionID)
	if err != nil {
		return nil, fmt.Errorf("invoices of subscription %d: %w", subscriptionID, err)
	}
	return invs, nil
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }
