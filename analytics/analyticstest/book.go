// Package analyticstest builds a small, hand-counted book of business through the store, for the
// tests of the analytics queries, the snapshot and backfill, and the dashboard. The numbers the
// book must give are worked out in Book's comment.
package analyticstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/store"
)

// Book is the fixture, built in two phases. Everything happens at the real clock's now (the store
// stamps its own times); Start is an instant between the phases, End one after the second.
//
// Phase 1, before Start (all first invoices paid at once):
//
//	A  USD monthly   VPS A   10.00  active                          MRR 1000
//	B  USD annual    VPS B  240.00  active (240/12 = 20.00)         MRR 2000
//	C  USD monthly   Game A  20.00  active                          MRR 2000
//	D  EUR monthly   VPS A    9.00  active                          MRR  900
//
// Phase 2, between Start and End:
//
//	A  upgrades to VPS B at 25.00                                  1000 → 2500  expansion   +1500
//	B  downgrades to VPS A at 180.00 a year (15.00)                2000 → 1500  contraction  -500
//	C  asks to cancel at period end (still counts), then its       2000 →    0  churned     -2000
//	   period ends and it is cancelled
//	E  USD annual Game A 100.00 (100/12 = 8.333 → 8.33), paid         0 →  833  new          +833
//	   in full, then 25.00 of it refunded (MRR unchanged)
//	F  EUR monthly VPS A 5.00                                         0 →  500  new (EUR)    +500
//	G  USD monthly VPS A 30.00 ordered, first invoice due 3 days ago, never paid: overdue 30.00
//	H  USD monthly VPS A 50.00 ordered, due 2 days ago, 20.00 paid: overdue 30.00 still due
//
// So, at Start → End:
//
//	USD MRR 5000 → 4833; new 833, expansion 1500, contraction 500, churned 2000; net -167
//	USD revenue churn (2000 + 500) / 5000 = 50.00%; ARR at End 12 × 4833 = 57996
//	EUR MRR  900 → 1400; new 500
//	customers active 4 (A B C D) → 5 (A B D E F); churned C: 1/4 = 25.00%
//	USD active subscriptions 3 (A B E); EUR 2 (D F)
//	overdue: USD 2 invoices, 60.00 due
//	revenue (payments − refunds), all today: USD 10.00 + 240.00 + 20.00 + 100.00 − 25.00 + 20.00
//	= 365.00 (36500); EUR 9.00 + 5.00 = 14.00 (1400)
//	revenue by type: USD vps 10.00 + 240.00 + 20.00 = 270.00, game_server 20.00 + 100.00 − 25.00
//	= 95.00; EUR vps 14.00
//	popular plans: VPS A 3 (B D F), VPS B 1 (A), Game A 1 (E)
type Book struct {
	Start, End time.Time
	Products   map[string]store.Product // "vps-a", "vps-b", "game-a"
	Customers  map[string]store.User    // "A" … "H"
	Subs       map[string]int64         // subscription id by customer letter
}

// Expected figures of the book (minor units), as worked out above.
const (
	USDMRRStart       = 5000
	USDMRREnd         = 4833
	EURMRRStart       = 900
	EURMRREnd         = 1400
	USDRevenue        = 36500
	EURRevenue        = 1400
	USDOverdueCount   = 2
	USDOverdueAmount  = 6000
	CustomersStart    = 4
	CustomersEnd      = 5
	ChurnedCustomers  = 1
	USDRefundedToday  = 2500
	USDPaymentsToday  = 39000
	USDGameRevenue    = 9500
	USDVPSRevenue     = 27000
	PopularPlanCount  = 3 // VPS A
	PopularPlanSuffix = "VPS A"
)

// New builds the book in s. Product slugs are prefixed "analytics-" so the book sits beside the
// demo catalog.
func New(t testing.TB, s *store.Store) Book {
	t.Helper()
	b := &builder{t: t, s: s, money: &payments.Service{Store: s}, ctx: context.Background(), book: Book{
		Products: map[string]store.Product{}, Customers: map[string]store.User{}, Subs: map[string]int64{},
	}}
	b.product("vps-a", "Analytics VPS A", "vps")
	b.product("vps-b", "Analytics VPS B", "vps")
	b.product("game-a", "Analytics Game A", "game_server")

	b.activeOrder("A", "vps-a", billing.Monthly, usd(1000))
	b.activeOrder("B", "vps-b", billing.Annual, usd(24000))
	b.activeOrder("C", "game-a", billing.Monthly, usd(2000))
	b.activeOrder("D", "vps-a", billing.Monthly, eur(900))
	b.book.Start = b.tick()

	b.change("A", store.SubscriptionChange{ProductID: b.book.Products["vps-b"].ID, Price: usd(2500)}, "plan-changed")
	b.change("B", store.SubscriptionChange{ProductID: b.book.Products["vps-a"].ID, Price: usd(18000)}, "plan-changed")
	yes := true
	b.change("C", store.SubscriptionChange{CancelAtPeriodEnd: &yes, CancelReason: "moving"}, "cancel-requested")
	b.change("C", store.SubscriptionChange{Status: billing.SubscriptionCancelled, Cancelled: true}, "cancelled")
	inv := b.activeOrder("E", "game-a", billing.Annual, usd(10000))
	b.refund(inv, usd(2500))
	b.activeOrder("F", "vps-a", billing.Monthly, eur(500))
	b.order("G", "vps-a", billing.Monthly, usd(3000), time.Now().Add(-72*time.Hour))
	inv = b.order("H", "vps-a", billing.Monthly, usd(5000), time.Now().Add(-48*time.Hour))
	b.pay(inv, usd(2000))
	b.book.End = b.tick()
	return b.book
}

func usd(a int64) billing.Money { return billing.Money{Amount: a, Currency: "USD"} }
func eur(a int64) billing.Money { return billing.Money{Amount: a, Currency: "EUR"} }

type builder struct {
	t     testing.TB
	s     *store.Store
	money *payments.Service // money goes through the one door, as in production
	ctx   context.Context
	book  Book
	seq   int
}

// tick returns an instant strictly between what was written before and what is written after.
func (b *builder) tick() time.Time {
	time.Sleep(20 * time.Millisecond)
	at := time.Now()
	time.Sleep(20 * time.Millisecond)
	return at
}

func (b *builder) product(slug, name, typ string) {
	p, err := b.s.UpsertCatalogEntry(b.ctx, store.CatalogEntry{
		Group:   store.ProductGroup{Slug: "analytics", Name: "Analytics"},
		Product: store.Product{Slug: "analytics-" + slug, Name: name, Type: typ},
	})
	if err != nil {
		b.t.Fatalf("create product %s: %v", slug, err)
	}
	b.book.Products[slug] = p
}

// order places an order for a new customer; the first invoice is due at due and left unpaid.
func (b *builder) order(letter, product string, cycle billing.Cycle, price billing.Money, due time.Time) int64 {
	b.t.Helper()
	u, err := b.s.CreateUser(b.ctx, store.NewUser{Email: fmt.Sprintf("book-%s-%d@example.com", letter, time.Now().UnixNano()),
		Name: "Customer " + letter, PasswordHash: "x", Role: store.RoleCustomer, Verified: true})
	if err != nil {
		b.t.Fatalf("create customer %s: %v", letter, err)
	}
	b.book.Customers[letter] = u
	p := b.book.Products[product]
	b.seq++
	key := fmt.Sprintf("book-%s-%d", letter, b.seq)
	o, err := b.s.PlaceOrder(b.ctx, store.NewOrder{
		CustomerID: u.ID, IdempotencyKey: key, ProductID: p.ID, Cycle: cycle, Price: price, Gateway: "sandbox", CreatedBy: "test:" + key,
		Invoice: store.NewInvoice{Currency: price.Currency, DueAt: due,
			Lines: []billing.Line{{Kind: billing.LineProduct, Description: p.Name, Amount: price, ProductID: p.ID}}},
	})
	if err != nil {
		b.t.Fatalf("order %s for %s: %v", product, letter, err)
	}
	b.book.Subs[letter] = o.SubscriptionID
	return o.InvoiceID
}

// activeOrder is order with the first invoice paid and the subscription activated, as the
// subscription workflow does it.
func (b *builder) activeOrder(letter, product string, cycle billing.Cycle, price billing.Money) int64 {
	b.t.Helper()
	inv := b.order(letter, product, cycle, price, time.Now().Add(24*time.Hour))
	b.pay(inv, price)
	now := time.Now()
	b.change(letter, store.SubscriptionChange{Status: billing.SubscriptionActive, PeriodStart: now, PeriodEnd: cycle.NextDue(now),
		AnchorDay: now.Day()}, "activated")
	return inv
}

func (b *builder) change(letter string, c store.SubscriptionChange, kind string) {
	b.t.Helper()
	c.ID = b.book.Subs[letter]
	c.Event = store.SubscriptionEvent{Kind: kind, Message: kind + " (analytics book)", Actor: "test"}
	if err := b.s.UpdateSubscription(b.ctx, c); err != nil {
		b.t.Fatalf("%s subscription of %s: %v", kind, letter, err)
	}
}

func (b *builder) pay(invoiceID int64, amount billing.Money) int64 {
	b.t.Helper()
	b.seq++
	res, err := b.money.Record(b.ctx, payments.Payment{InvoiceID: invoiceID, Gateway: "sandbox",
		Ref: fmt.Sprintf("book-txn-%d-%d", b.seq, time.Now().UnixNano()), Amount: amount, By: "test"})
	if err != nil {
		b.t.Fatalf("pay invoice %d: %v", invoiceID, err)
	}
	return res.Payment.ID
}

func (b *builder) refund(invoiceID int64, amount billing.Money) {
	b.t.Helper()
	pays, err := b.s.InvoicePayments(b.ctx, invoiceID)
	if err != nil || len(pays) == 0 {
		b.t.Fatalf("payments of invoice %d: %d, %v", invoiceID, len(pays), err)
	}
	b.seq++
	// Recorded as the gateway reports a refund it made.
	ev := gateways.Event{ID: fmt.Sprintf("book-event-%d", b.seq), Kind: gateways.EventRefund, PaymentRef: pays[0].GatewayTxnID,
		Refunds: []gateways.RefundState{{Ref: fmt.Sprintf("book-refund-%d", b.seq), Amount: amount, Status: gateways.RefundSucceeded}}}
	if review, err := b.money.HandleEvent(b.ctx, pays[0].Gateway, ev); err != nil || review != "" {
		b.t.Fatalf("refund invoice %d: %v %s", invoiceID, err, review)
	}
}
