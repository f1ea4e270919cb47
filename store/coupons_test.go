package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// couponOrder is order() redeeming code on its invoice, as checkout sends it after pricing.
func couponOrder(customerID int64, p store.Product, key, code string) store.NewOrder {
	o := order(customerID, p, 0, key, 0)
	o.CouponCode = code
	o.Invoice.Lines = append(o.Invoice.Lines, billing.Line{Kind: billing.LineDiscount, Description: "Coupon " + code,
		Amount: usd(-125), ProductID: p.ID, CouponCode: code})
	o.Invoice.Redeems = []string{code}
	return o
}

// placeConcurrently places n orders at once and returns how many succeeded; every failure must
// be ErrCouponUnavailable (and billing.ErrCouponExhausted, which checkout already handles).
func placeConcurrently(t *testing.T, s *store.Store, n int, mk func(i int) store.NewOrder) int {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = s.PlaceOrder(context.Background(), mk(i)) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrCouponUnavailable) && errors.Is(err, billing.ErrCouponExhausted):
		default:
			t.Fatalf("order %d: %v; want success or ErrCouponUnavailable", i, err)
		}
	}
	return ok
}

func TestConcurrentOrdersRedeemAOneUseCouponOnce(t *testing.T) {
	s, u, p, _ := servicesFixture(t)
	ctx := context.Background()
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "ONCE", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, MaxUses: 1}); err != nil {
		t.Fatal(err)
	}
	customers := []int64{u.ID}
	for i := range 9 {
		customers = append(customers, newCustomer(t, s, fmt.Sprintf("c%d@example.com", i)).ID)
	}
	ok := placeConcurrently(t, s, 10, func(i int) store.NewOrder { return couponOrder(customers[i], p, fmt.Sprintf("form-%d", i), "ONCE") })
	use, err := s.CouponUsage(ctx, "ONCE", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || use.Uses != 1 {
		t.Fatalf("10 concurrent orders with a max_uses=1 coupon: %d placed, %d redemptions; want 1 and 1", ok, use.Uses)
	}
}

func TestConcurrentOrdersByOneCustomerRedeemAOncePerCustomerCouponOnce(t *testing.T) {
	s, u, p, _ := servicesFixture(t)
	ctx := context.Background()
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "WELCOME", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, OncePerCustomer: true}); err != nil {
		t.Fatal(err)
	}
	ok := placeConcurrently(t, s, 10, func(i int) store.NewOrder { return couponOrder(u.ID, p, fmt.Sprintf("form-%d", i), "WELCOME") })
	if use, _ := s.CouponUsage(ctx, "WELCOME", u.ID); ok != 1 || use.PerCustomer[u.ID] != 1 {
		t.Fatalf("10 concurrent orders by one customer: %d placed, %d redemptions by them; want 1 and 1", ok, use.PerCustomer[u.ID])
	}
	other := newCustomer(t, s, "other@example.com")
	if _, err := s.PlaceOrder(ctx, couponOrder(other.ID, p, "form-other", "WELCOME")); err != nil {
		t.Fatalf("another customer redeeming WELCOME: %v", err)
	}
}

func TestCancellingAnUnpaidOrderFreesItsCouponUse(t *testing.T) {
	s, u, p, _ := servicesFixture(t)
	ctx := context.Background()
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "LAST", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponOnce, MaxUses: 1}); err != nil {
		t.Fatal(err)
	}
	first, err := s.PlaceOrder(ctx, couponOrder(u.ID, p, "form-1", "LAST"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, couponOrder(u.ID, p, "form-2", "LAST")); !errors.Is(err, store.ErrCouponUnavailable) {
		t.Fatalf("second use of a max_uses=1 coupon: err = %v; want ErrCouponUnavailable", err)
	}
	if err := s.CancelInvoice(ctx, first.InvoiceID); err != nil { // the unpaid order expires
		t.Fatal(err)
	}
	if use, _ := s.CouponUsage(ctx, "LAST", u.ID); use.Uses != 0 {
		t.Fatalf("uses after cancelling the only order that redeemed LAST = %d; want 0", use.Uses)
	}
	if _, err := s.PlaceOrder(ctx, couponOrder(u.ID, p, "form-3", "LAST")); err != nil {
		t.Fatalf("redeeming LAST after the order holding it was cancelled: %v", err)
	}
}

func TestRetiredCouponCannotBeRedeemedWhenTheOrderIsSaved(t *testing.T) {
	s, u, p, _ := servicesFixture(t)
	ctx := context.Background()
	c, err := s.CreateCoupon(ctx, billing.Coupon{Code: "GONE", Kind: billing.CouponPercent, PercentBP: 1000, Duration: billing.CouponForever})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RetireCoupon(ctx, c.ID); err != nil { // retired between pricing and placing
		t.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, couponOrder(u.ID, p, "form", "GONE")); !errors.Is(err, store.ErrCouponUnavailable) {
		t.Fatalf("placing an order redeeming a retired coupon: err = %v; want ErrCouponUnavailable", err)
	}
	if got, err := s.GrantedCoupon(ctx, "gone"); err != nil || !got.Retired {
		t.Fatalf("GrantedCoupon(gone) = %+v, %v; want the retired coupon", got, err)
	}
	if _, err := s.CouponByCode(ctx, "GONE"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CouponByCode of a retired coupon: err = %v; want ErrNotFound", err)
	}
}
