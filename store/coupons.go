package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
)

// Coupon is a stored promotion code; Rules is what billing applies.
type Coupon struct {
	ID        int64
	Rules     billing.Coupon
	Retired   bool
	CreatedAt time.Time
}

type couponRow struct {
	ID              int64        `db:"id"`
	Code            string       `db:"code"`
	Kind            string       `db:"kind"`
	PercentBP       int64        `db:"percent_bp"`
	Fixed           JSONAmounts  `db:"fixed"`
	Duration        string       `db:"duration"`
	Cycles          int          `db:"cycles"`
	ProductIDs      JSONIDs      `db:"product_ids"`
	IncludeSetup    bool         `db:"include_setup"`
	ExpiresAt       sql.NullTime `db:"expires_at"`
	MaxUses         int          `db:"max_uses"`
	OncePerCustomer bool         `db:"once_per_customer"`
	Stackable       bool         `db:"stackable"`
	Retired         bool         `db:"retired"`
	CreatedAt       time.Time    `db:"created_at"`
}

const couponColumns = `id, code, kind, percent_bp, fixed, duration, cycles, product_ids, include_setup, expires_at,
	max_uses, once_per_customer, stackable, retired, created_at`

func (r couponRow) coupon() Coupon {
	c := billing.Coupon{Code: r.Code, Kind: billing.CouponKind(r.Kind), PercentBP: r.PercentBP,
		Duration: billing.CouponDuration(r.Duration), Cycles: r.Cycles, ProductIDs: r.ProductIDs, IncludeSetup: r.IncludeSetup,
		MaxUses: r.MaxUses, OncePerCustomer: r.OncePerCustomer, Stackable: r.Stackable}
	if r.ExpiresAt.Valid {
		c.ExpiresAt = r.ExpiresAt.Time
	}
	for cur, amt := range r.Fixed {
		c.Fixed = append(c.Fixed, billing.Money{Amount: amt, Currency: cur})
	}
	return Coupon{ID: r.ID, Rules: c, Retired: r.Retired, CreatedAt: r.CreatedAt}
}

var couponCode = regexp.MustCompile(`^[A-Z0-9_-]{2,40}$`)

// NormalizeCouponCode is the stored form of a code a person typed: trimmed and upper case.
func NormalizeCouponCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// CreateCoupon stores a new coupon after checking its code and rules.
func (s *Store) CreateCoupon(ctx context.Context, c billing.Coupon) (Coupon, error) {
	c.Code = NormalizeCouponCode(c.Code)
	if !couponCode.MatchString(c.Code) {
		return Coupon{}, fmt.Errorf("coupon code %q: use 2 to 40 letters, digits, - or _: %w", c.Code, ErrInvalid)
	}
	if err := billing.ValidateCoupon(c); err != nil {
		return Coupon{}, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	fixed := JSONAmounts{}
	for _, m := range c.Fixed {
		fixed[m.Currency] = m.Amount
	}
	var row couponRow
	err := s.db.GetContext(ctx, &row, `
		INSERT INTO coupons (code, kind, percent_bp, fixed, duration, cycles, product_ids, include_setup, expires_at,
		                     max_uses, once_per_customer, stackable)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+couponColumns,
		c.Code, string(c.Kind), c.PercentBP, fixed, string(c.Duration), c.Cycles, JSONIDs(c.ProductIDs), c.IncludeSetup,
		nullTime(c.ExpiresAt), c.MaxUses, c.OncePerCustomer, c.Stackable)
	if isUniqueViolation(err) {
		return Coupon{}, fmt.Errorf("coupon %s already exists: %w", c.Code, ErrConflict)
	}
	if err != nil {
		return Coupon{}, fmt.Errorf("create coupon %s: %w", c.Code, err)
	}
	return row.coupon(), nil
}

// Coupons lists every coupon, newest first.
func (s *Store) Coupons(ctx context.Context) ([]Coupon, error) {
	var rows []couponRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+couponColumns+` FROM coupons ORDER BY id DESC`); err != nil {
		return nil, fmt.Errorf("list coupons: %w", err)
	}
	out := make([]Coupon, len(rows))
	for i, r := range rows {
		out[i] = r.coupon()
	}
	return out, nil
}

// CouponByCode loads a coupon by its code (case-insensitive); a retired one is ErrNotFound.
func (s *Store) CouponByCode(ctx context.Context, code string) (Coupon, error) {
	var row couponRow
	if err := s.db.GetContext(ctx, &row, `SELECT `+couponColumns+` FROM coupons WHERE code = $1 AND NOT retired`,
		NormalizeCouponCode(code)); err != nil {
		return Coupon{}, notFound(err, fmt.Sprintf("coupon %q", code))
	}
	return row.coupon(), nil
}

// GrantedCoupon loads a coupon by its code whether or not it is retired: the rules of a discount
// already granted on a subscription, which keeps running after the coupon is retired (as at
// Stripe, where deleting a coupon only stops new redemptions).
func (s *Store) GrantedCoupon(ctx context.Context, code string) (Coupon, error) {
	var row couponRow
	if err := s.db.GetContext(ctx, &row, `SELECT `+couponColumns+` FROM coupons WHERE code = $1`,
		NormalizeCouponCode(code)); err != nil {
		return Coupon{}, notFound(err, fmt.Sprintf("coupon %q", code))
	}
	return row.coupon(), nil
}

// RetireCoupon stops a coupon being redeemed; discounts already granted keep running.
func (s *Store) RetireCoupon(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE coupons SET retired = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("retire coupon %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("coupon %d: %w", id, ErrNotFound)
	}
	return nil
}

// CouponUsage is the redemption counters billing checks a coupon against for one customer.
// Redemptions released by cancelling the unpaid invoice that made them do not count.
func (s *Store) CouponUsage(ctx context.Context, code string, customerID int64) (billing.CouponUse, error) {
	var counts struct {
		Uses int `db:"uses"`
		Mine int `db:"mine"`
	}
	err := s.db.GetContext(ctx, &counts, `
		SELECT count(*) AS uses, count(*) FILTER (WHERE r.customer_id = $2) AS mine
		FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE c.code = $1 AND r.released_at IS NULL`, NormalizeCouponCode(code), customerID)
	if err != nil {
		return billing.CouponUse{}, fmt.Errorf("usage of coupon %s: %w", code, err)
	}
	return billing.CouponUse{Uses: counts.Uses, PerCustomer: map[int64]int{customerID: counts.Mine}}, nil
}
