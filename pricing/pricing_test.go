package pricing_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func eur(a int64) billing.Money { return billing.Money{Amount: a, Currency: "EUR"} }

type fixture struct {
	s          *store.Store
	p          *pricing.Pricer
	customer   store.User
	small, big store.CatalogProduct
}

// newFixture: VPS S EUR 10.00/month + 5.00 setup, VPS L EUR 25.00/month, 20% VAT in DE, a
// customer in DE with EUR 3.00 credit, and coupon TEN (10%, 3 cycles).
func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	s := storetest.New(t)
	g, err := s.CreateProductGroup(ctx, store.ProductGroup{Slug: "vps", Name: "VPS"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(slug string, amount, setup int64) store.CatalogProduct {
		p, err := s.CreateProduct(ctx, store.CatalogProduct{
			Product: store.Product{GroupID: g.ID, Slug: slug, Name: "VPS " + slug, Type: "vps"},
			Prices:  []store.Price{{Cycle: "monthly", Currency: "EUR", Amount: amount, SetupFee: setup}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := fixture{s: s, p: &pricing.Pricer{Store: s, SellerCountry: "DE"}, small: mk("s", 1000, 500), big: mk("l", 2500, 0)}
	f.customer, err = s.CreateUser(ctx, store.NewUser{Email: "kunde@example.de", Name: "Kunde", PasswordHash: "x", Role: store.RoleCustomer,
		Profile: store.Profile{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTaxRule(ctx, billing.TaxRule{Level: 1, Name: "VAT", Country: "DE", RateMilliPercent: 20000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCoupon(ctx, billing.Coupon{Code: "TEN", Kind: billing.CouponPercent, PercentBP: 1000,
		Duration: billing.CouponRepeating, Cycles: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCredit(ctx, store.CreditChange{CustomerID: f.customer.ID, Amount: eur(300), CreatedBy: "t", IdempotencyKey: "c"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOrderQuoteHasDiscountTaxAndCreditLines(t *testing.T) {
	f := newFixture(t)
	q, _, err := f.p.Order(context.Background(), pricing.OrderRequest{CustomerID: f.customer.ID, ProductID: f.small.ID,
		Cycle: billing.Monthly, Currency: "EUR", CouponCode: "ten", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// 10.00 + 5.00 setup; 10% off the product only (setup excluded) = -1.00; VAT 20% of 14.00 =
	// 2.80; credit -3.00; total 13.80.
	if got := q.Total(); got != eur(1380) {
		t.Fatalf("total = %s, want EUR 13.80; lines %+v", got, q.Invoice.Lines)
	}
	if len(q.Lines(billing.LineDiscount)) != 1 || q.Lines(billing.LineDiscount)[0].Amount != eur(-100) {
		t.Fatalf("discount lines %+v", q.Lines(billing.LineDiscount))
	}
	if tax := q.Lines(billing.LineTax); len(tax) != 1 || tax[0].Amount != eur(280) {
		t.Fatalf("tax lines %+v", tax)
	}
	if q.CreditUsed != eur(300) || len(q.Redeems) != 1 || q.Redeems[0] != "TEN" {
		t.Fatalf("credit used %s, redeems %v", q.CreditUsed, q.Redeems)
	}
}

func TestOrderQuoteRefusesUnknownCouponsAndCycles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.p.Order(ctx, pricing.OrderRequest{CustomerID: f.customer.ID, ProductID: f.small.ID, Cycle: billing.Annual, Currency: "EUR", Now: time.Now()})
	if !errors.Is(err, pricing.ErrNoPrice) {
		t.Fatalf("annual: %v, want ErrNoPrice", err)
	}
	_, _, err = f.p.Order(ctx, pricing.OrderRequest{CustomerID: f.customer.ID, ProductID: f.small.ID, Cycle: billing.Monthly, Currency: "EUR", CouponCode: "NOPE", Now: time.Now()})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown coupon: %v, want ErrNotFound", err)
	}
}

// placeAndActivate orders VPS S with TEN and records a paid first period from start.
func placeAndActivate(t *testing.T, f fixture, start time.Time) store.Subscription {
	t.Helper()
	return placeAndActivateWith(t, f, f.small, "TEN", start)
}

// placeAndActivateWith orders a product with a coupon and records its first period from start.
func placeAndActivateWith(t *testing.T, f fixture, prod store.CatalogProduct, coupon string, start time.Time) store.Subscription {
	t.Helper()
	ctx := context.Background()
	q, _, err := f.p.Order(ctx, pricing.OrderRequest{CustomerID: f.customer.ID, ProductID: prod.ID, Cycle: billing.Monthly,
		Currency: "EUR", CouponCode: coupon, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.s.PlaceOrder(ctx, store.NewOrder{CustomerID: f.customer.ID, IdempotencyKey: "form-" + prod.Slug, ProductID: prod.ID,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "EUR", Lines: q.Invoice.Lines, ReverseCharge: q.Invoice.ReverseCharge, DueAt: start,
			CreditUsed: q.CreditUsed, Redeems: q.Redeems}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.UpdateSubscription(ctx, store.SubscriptionChange{ID: o.SubscriptionID, Status: billing.SubscriptionActive,
		PeriodStart: start, PeriodEnd: billing.Monthly.NextDue(start), AnchorDay: start.Day()}); err != nil {
		t.Fatal(err)
	}
	sub, err := f.s.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestScheduleRunsTheCouponOutAfterItsCycles(t *testing.T) {
	f := newFixture(t)
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	sub := placeAndActivate(t, f, start)
	if sub.CouponCycles["TEN"] != 1 {
		t.Fatalf("coupon cycles after the order = %v, want TEN: 1", sub.CouponCycles)
	}
	sched, err := f.p.Schedule(context.Background(), sub, sub.PeriodEnd.Time, 12, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(sched) != 12 {
		t.Fatalf("%d invoices, want 12", len(sched))
	}
	// Cycles 2 and 3 still get 10% (9.00 + 1.80 VAT = 10.80); from cycle 4, 12.00. No credit
	// is left after the order took it.
	for i, s := range sched {
		want := eur(1200)
		if i < 2 {
			want = eur(1080)
		}
		if s.Quote.Total() != want {
			t.Fatalf("invoice %d due %s: total %s, want %s", i+1, s.Due.Format(time.DateOnly), s.Quote.Total(), want)
		}
	}
	if got := sched[0].Due.Format(time.DateOnly); got != "2026-02-28" {
		t.Fatalf("first renewal due %s, want 2026-02-28", got)
	}
	if got := sched[1].Due.Format(time.DateOnly); got != "2026-03-31" {
		t.Fatalf("second renewal due %s, want 2026-03-31 (anchored on the 31st)", got)
	}
}

func TestPlanChangeUpgradeInvoicesAndDowngradeCreditsWithTheRunningCoupon(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sub := placeAndActivate(t, f, start) // period 2026-03-01..2026-04-01, 31 days, TEN (10%) on it
	at := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
	up, err := f.p.PlanChange(ctx, sub, f.big.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	// Period prices after TEN: S 10.00 → 9.00, L 25.00 → 22.50. 15 of 31 days left: net
	// 13.50 × 15/31 = 6.532 → 6.53, VAT 20% 1.306 → 1.31: 7.84 (the order used the 3.00 credit).
	if up.Proration.Net != eur(653) || up.Quote.Total() != eur(784) {
		t.Fatalf("upgrade net %s total %s; want EUR 6.53 and EUR 7.84 (lines %+v)", up.Proration.Net, up.Quote.Total(), up.Quote.Invoice.Lines)
	}
	if len(up.CreditNote) != 0 || !up.CreditTotal.IsZero() {
		t.Fatalf("an upgrade has a credit note %v", up.CreditNote)
	}
	sub.ProductID, sub.PriceAmount = f.big.ID, 2500
	down, err := f.p.PlanChange(ctx, sub, f.small.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	// The reverse: −6.53 net, VAT 1.31 back, 7.84 credited.
	if down.Proration.Net != eur(-653) || down.CreditTotal != eur(784) || len(down.Quote.Invoice.Lines) != 0 {
		t.Fatalf("downgrade net %s credit %s, quote lines %v; want EUR -6.53 and EUR 7.84", down.Proration.Net, down.CreditTotal, down.Quote.Invoice.Lines)
	}
	retired := f.big
	retired.Retired, retired.StockLimit, retired.Prices = true, sql.NullInt64{}, nil
	if err := f.s.UpdateProduct(ctx, retired); err != nil {
		t.Fatal(err)
	}
	sub.ProductID, sub.PriceAmount = f.small.ID, 1000
	if _, err := f.p.PlanChange(ctx, sub, f.big.ID, at); !errors.Is(err, pricing.ErrNotOrderable) {
		t.Fatalf("change to a retired product: %v", err)
	}
}

func TestRetiredCouponKeepsDiscountingRenewalsButCannotBeRedeemed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	sub := placeAndActivate(t, f, start) // TEN granted: 10% for 3 cycles
	c, err := f.s.CouponByCode(ctx, "TEN")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.RetireCoupon(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	q, err := f.p.Renewal(ctx, sub, sub.PeriodEnd.Time, billing.Monthly.NextDue(sub.PeriodEnd.Time), start)
	if err != nil {
		t.Fatal(err)
	}
	// 10.00 less 10% = 9.00, VAT 20% = 1.80: 10.80, as the admin page promises.
	if d := q.Lines(billing.LineDiscount); len(d) != 1 || d[0].Amount != eur(-100) || q.Total() != eur(1080) {
		t.Fatalf("renewal after retiring TEN: discount lines %+v, total %s; want one EUR -1.00 line and EUR 10.80", d, q.Total())
	}
	if len(q.Redeems) != 0 {
		t.Fatalf("renewal redeems %v; a granted coupon is never redeemed again", q.Redeems)
	}
	_, _, err = f.p.Order(ctx, pricing.OrderRequest{CustomerID: f.customer.ID, ProductID: f.small.ID, Cycle: billing.Monthly,
		Currency: "EUR", CouponCode: "TEN", Now: start})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("new order with the retired TEN: err = %v; want ErrNotFound (no new redemptions)", err)
	}
}

func TestDowngradeOnTheOrderDayAfterAFreeCouponMintsNoCredit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.CreateCoupon(ctx, billing.Coupon{Code: "FREE", Kind: billing.CouponPercent, PercentBP: billing.PercentScale,
		Duration: billing.CouponOnce}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sub := placeAndActivateWith(t, f, f.big, "FREE", start) // VPS L 25.00 − 100% = 0.00 for the period
	down, err := f.p.PlanChange(ctx, sub, f.small.ID, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Both plans cost 0.00 this period: crediting 25.00 − 10.00 at list would hand out 15.00
	// (+ VAT) of spendable credit for nothing paid.
	if !down.Proration.Net.IsZero() || !down.CreditTotal.IsZero() || len(down.CreditNote) != 0 {
		t.Fatalf("downgrade after a 100%% coupon: net %s, credit %s (%v); want nothing", down.Proration.Net, down.CreditTotal, down.CreditNote)
	}
}

func TestDowngradeInALaterPeriodIgnoresAOnceCouponOfTheFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.CreateCoupon(ctx, billing.Coupon{Code: "FREE", Kind: billing.CouponPercent, PercentBP: billing.PercentScale,
		Duration: billing.CouponOnce}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sub := placeAndActivateWith(t, f, f.big, "FREE", start)
	// The second period's renewal invoice: FREE has run out, 25.00 + VAT.
	p2, p3 := billing.Monthly.NextDue(start), billing.Monthly.NextDue(billing.Monthly.NextDue(start))
	q, err := f.p.Renewal(ctx, sub, p2, p3, p2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateInvoice(ctx, store.NewInvoice{CustomerID: f.customer.ID, Currency: "EUR", Lines: q.Invoice.Lines, DueAt: p2,
		IdempotencyKey: "renewal-2", CreatedBy: "test", SubscriptionID: sub.ID, CreditUsed: q.CreditUsed}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.UpdateSubscription(ctx, store.SubscriptionChange{ID: sub.ID, Status: billing.SubscriptionActive, PeriodStart: p2, PeriodEnd: p3}); err != nil {
		t.Fatal(err)
	}
	if sub, err = f.s.SubscriptionByID(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	// 2026-04-01..05-01 is 30 days; on 04-16, 15 left: (25.00 − 10.00) × 15/30 = 7.50, VAT 1.50: 9.00.
	down, err := f.p.PlanChange(ctx, sub, f.small.ID, time.Date(2026, 4, 16, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if down.Proration.Net != eur(-750) || down.CreditTotal != eur(900) {
		t.Fatalf("downgrade in period 2: net %s credit %s; want EUR -7.50 and EUR 9.00 (FREE discounted period 1 only)", down.Proration.Net, down.CreditTotal)
	}
}

func TestScheduleSpendsTheCreditOnceAcrossTheFirstInvoices(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	sub := placeAndActivate(t, f, start) // the order used the fixture's 3.00
	if _, err := f.s.AddCredit(ctx, store.CreditChange{CustomerID: f.customer.ID, Amount: eur(1500), CreatedBy: "t", IdempotencyKey: "c2"}); err != nil {
		t.Fatal(err)
	}
	sched, err := f.p.Schedule(ctx, sub, sub.PeriodEnd.Time, 12, start)
	if err != nil {
		t.Fatal(err)
	}
	// 15.00 of credit: invoice 1 is 10.80 (9.00 + VAT 1.80), all credit, 0.00 due, 4.20 left;
	// invoice 2 is 10.80 − 4.20 = 6.60; from invoice 3 (TEN has run its 3 cycles) 12.00, with
	// no credit left.
	want := []int64{0, 660}
	var used int64
	for i, s := range sched {
		w := int64(1200)
		if i < len(want) {
			w = want[i]
		}
		if s.Quote.Total() != eur(w) {
			t.Fatalf("invoice %d due %s: total %s, want %s", i+1, s.Due.Format(time.DateOnly), s.Quote.Total(), eur(w))
		}
		used += s.Quote.CreditUsed.Amount
	}
	if used != 1500 {
		t.Fatalf("the schedule uses %s of credit in total; the balance is EUR 15.00", eur(used))
	}
}
