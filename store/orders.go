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

// ErrOutOfStock means a product's stock limit is reached.
var ErrOutOfStock = errors.New("out of stock")

// NewOrder is a priced checkout: the subscription to create, its service (when the product is
// provisioned on a panel) and its first invoice, built by the caller with billing.BuildInvoice.
type NewOrder struct {
	CustomerID     int64
	IdempotencyKey string // the checkout form's one-time token: a double submission finds the first order
	ProductID      int64
	Cycle          billing.Cycle
	Price          billing.Money // recurring price per cycle
	Fields         map[string]string
	CouponCode     string // as typed; the coupons kept on the subscription come from the invoice's discount lines
	Gateway        string
	PanelServerID  int64 // 0 when the product is not provisioned on a panel
	Hostname       string
	Invoice        NewInvoice // CustomerID, SubscriptionID, ServiceID, key and creator are filled in
	CreatedBy      string     // the request id
}

// Order is a placed order and what it created.
type Order struct {
	ID             int64         `db:"id"`
	CustomerID     int64         `db:"customer_id"`
	SubscriptionID int64         `db:"subscription_id"`
	ServiceID      sql.NullInt64 `db:"service_id"`
	InvoiceID      int64         `db:"invoice_id"`
	Gateway        string        `db:"gateway"`
	CreatedAt      time.Time     `db:"created_at"`
	// Existing is set when the idempotency key had already placed this order.
	Existing bool `db:"-"`
}

const orderColumns = `id, customer_id, subscription_id, service_id, invoice_id, gateway, created_at`

// PlaceOrder creates the subscription (pending), its service (pending) and its first invoice,
// takes the invoice's credit, records its coupon redemptions and the order, all in one
// transaction. The stock limit is checked under a lock on the product row, so concurrent orders
// cannot oversell. A repeated IdempotencyKey returns the first order with Existing set.
func (s *Store) PlaceOrder(ctx context.Context, o NewOrder) (Order, error) {
	if o.IdempotencyKey == "" || o.CreatedBy == "" {
		return Order{}, fmt.Errorf("place order for customer %d: idempotency key and creator are required", o.CustomerID)
	}
	if existing, ok, err := s.orderByKey(ctx, o); ok || err != nil {
		return existing, err
	}
	var out Order
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var limit sql.NullInt64
		if err := tx.GetContext(ctx, &limit, `SELECT stock_limit FROM products WHERE id = $1 FOR UPDATE`, o.ProductID); err != nil {
			return notFound(err, fmt.Sprintf("product %d", o.ProductID))
		}
		if limit.Valid {
			var live int64
			if err := tx.GetContext(ctx, &live, `SELECT count(*) FROM subscriptions WHERE product_id = $1
				AND status NOT IN ('cancelled', 'terminated')`, o.ProductID); err != nil {
				return fmt.Errorf("count stock of product %d: %w", o.ProductID, err)
			}
			if live >= limit.Int64 {
				return fmt.Errorf("product %d has %d of %d sold: %w", o.ProductID, live, limit.Int64, ErrOutOfStock)
			}
		}
		var serviceID sql.NullInt64
		if o.PanelServerID > 0 {
			if err := tx.GetContext(ctx, &serviceID.Int64, `
				INSERT INTO services (customer_id, product_id, panel_server_id, hostname, created_by)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, o.CustomerID, o.ProductID, o.PanelServerID, o.Hostname, o.CreatedBy); err != nil {
				return fmt.Errorf("create service for order: %w", err)
			}
			serviceID.Valid = true
			if err := addEvent(ctx, tx, ServiceEvent{ServiceID: serviceID.Int64, Kind: "created",
				Message: "ordered by the customer; provisioned once the first invoice is paid", Actor: o.CreatedBy}); err != nil {
				return err
			}
		}
		var subID int64
		coupons, cycles := JSONList{}, JSONCounts{}
		for _, l := range o.Invoice.Lines { // the first invoice is the first cycle each coupon discounts
			if l.Kind == billing.LineDiscount && l.CouponCode != "" && cycles[l.CouponCode] == 0 {
				coupons, cycles[l.CouponCode] = append(coupons, l.CouponCode), 1
			}
		}
		if err := tx.GetContext(ctx, &subID, `
			INSERT INTO subscriptions (customer_id, product_id, service_id, cycle, currency, price, gateway, coupons,
			                           coupon_cycles, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			o.CustomerID, o.ProductID, serviceID, string(o.Cycle), o.Price.Currency, o.Price.Amount, o.Gateway, coupons,
			cycles, o.CreatedBy); err != nil {
			return fmt.Errorf("create subscription for order: %w", err)
		}
		if err := addSubscriptionEvent(ctx, tx, SubscriptionEvent{SubscriptionID: subID, Kind: "ordered",
			Message: fmt.Sprintf("ordered, %s at %s", o.Cycle, o.Price), Actor: o.CreatedBy}); err != nil {
			return err
		}
		in := o.Invoice
		in.CustomerID, in.SubscriptionID, in.ServiceID = o.CustomerID, subID, serviceID.Int64
		in.IdempotencyKey, in.CreatedBy = "order:"+o.IdempotencyKey, o.CreatedBy
		if err := in.validate(); err != nil {
			return err
		}
		invoiceID, err := insertInvoiceTx(ctx, tx, in)
		if err != nil {
			return err
		}
		err = tx.GetContext(ctx, &out, `
			INSERT INTO orders (customer_id, idempotency_key, product_id, cycle, currency, fields, coupon_code, gateway,
			                    subscription_id, service_id, invoice_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+orderColumns,
			o.CustomerID, o.IdempotencyKey, o.ProductID, string(o.Cycle), o.Price.Currency, JSONMap(o.Fields), o.CouponCode,
			o.Gateway, subID, serviceID, invoiceID)
		if err != nil {
			return fmt.Errorf("record order: %w", err)
		}
		return nil
	})
	if err != nil {
		if isUniqueViolation(err) { // a concurrent submission of the same form committed first
			if existing, ok, kerr := s.orderByKey(ctx, o); ok || kerr != nil {
				return existing, kerr
			}
		}
		return Order{}, err
	}
	return out, nil
}

func (s *Store) orderByKey(ctx context.Context, o NewOrder) (Order, bool, error) {
	var out Order
	err := s.db.GetContext(ctx, &out, `SELECT `+orderColumns+` FROM orders WHERE idempotency_key = $1`, o.IdempotencyKey)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("look up order key: %w", err)
	}
	if out.CustomerID != o.CustomerID {
		return Order{}, false, fmt.Errorf("order key used by another customer: %w", ErrConflict)
	}
	out.Existing = true
	return out, true, nil
}

// OrderByInvoice finds the order whose first invoice this is.
func (s *Store) OrderByInvoice(ctx context.Context, invoiceID int64) (Order, error) {
	var out Order
	if err := s.db.GetContext(ctx, &out, `SELECT `+orderColumns+` FROM orders WHERE invoice_id = $1`, invoiceID); err != nil {
		return Order{}, notFound(err, fmt.Sprintf("order of invoice %d", invoiceID))
	}
	return out, nil
}

// CountLiveSubscriptions is how many subscriptions of a product are not cancelled or
// terminated, against its stock limit.
func (s *Store) CountLiveSubscriptions(ctx context.Context, productID int64) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM subscriptions WHERE product_id = $1
		AND status NOT IN ('cancelled', 'terminated')`, productID); err != nil {
		return 0, fmt.Errorf("count subscriptions of product %d: %w", productID, err)
	}
	return n, nil
}
