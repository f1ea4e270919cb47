package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// CreatedBy marks every subscription and invoice of the demo business; finding one is how a
// second run knows the business is already there.
const CreatedBy = "seed:demo"

// ErrBusinessExists means the database already holds the demo business; seeding it again
// would double it.
var ErrBusinessExists = errors.New("the database already has the demo business (subscriptions created by " + CreatedBy + "); use a fresh database")

// Sizes of the demo business at scale 1.
const (
	baseCustomers     = 300
	baseSubscriptions = 500
	baseInvoices      = 800
	historyMonths     = 24
)

// BusinessOptions size and fix the demo business.
type BusinessOptions struct {
	// Scale multiplies 300 customers, 500 subscriptions and 800 invoices; fractions are allowed
	// (0.1 is 30 / 50 / 80).
	Scale float64
	// Seed makes the business repeatable: the same seed and Now give the same business.
	Seed uint64
	// Now is the end of the history; zero means today 00:00 UTC, so runs on one day agree.
	Now time.Time
	// Progress receives a line every 5% of the work; nil for none.
	Progress io.Writer
}

// BusinessCounts is what Business wrote.
type BusinessCounts struct {
	Customers, Subscriptions, Services, Invoices, Payments, Refunds int
}

// Targets are the customer, subscription and invoice counts a scale asks for.
func Targets(scale float64) (customers, subscriptions, invoices int) {
	r := func(n int) int { return int(math.Round(float64(n) * scale)) }
	return r(baseCustomers), r(baseSubscriptions), r(baseInvoices)
}

// Business creates the demo business on top of Demo: customers signing up over the last two
// years (more of them recently), subscriptions of every product type and cycle, and invoices
// paid on time, late, after a failed charge, refunded in full or in part; plan upgrades with
// proration invoices and downgrades with account credit; cancellations at period end and
// immediate ones; suspensions and terminations for non-payment; a few invoices overdue now.
// Everything goes through store.Import with the dates it happened on. A database that already
// has the demo business gives ErrBusinessExists and is left unchanged.
func Business(ctx context.Context, log *slog.Logger, s *store.Store, o BusinessOptions) (BusinessCounts, error) {
	if o.Scale <= 0 || math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) {
		return BusinessCounts{}, fmt.Errorf("demo business scale %v: want a number above 0", o.Scale)
	}
	nc, ns, ni := Targets(o.Scale)
	if nc < 1 {
		return BusinessCounts{}, fmt.Errorf("demo business scale %v gives no customers: want at least %.4f", o.Scale, 0.5/baseCustomers)
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC().Truncate(24 * time.Hour)
	}
	if err := Demo(ctx, log, s); err != nil {
		return BusinessCounts{}, err
	}
	if exists, err := s.HasRecordsCreatedBy(ctx, CreatedBy); err != nil || exists {
		if err == nil {
			err = ErrBusinessExists
		}
		return BusinessCounts{}, err
	}
	if err := upsertBusinessCatalog(ctx, s); err != nil {
		return BusinessCounts{}, err
	}
	cat, err := loadCatalog(ctx, s)
	if err != nil {
		return BusinessCounts{}, err
	}
	hash, err := auth.HashPassword(DemoCustomerPassword, auth.DefaultParams())
	if err != nil {
		return BusinessCounts{}, err
	}
	p := newPlanner(o, cat, nc, ns, ni)
	if err := p.plan(); err != nil {
		return BusinessCounts{}, err
	}
	b := p.render(hash)
	log.Info("demo business planned", "customers", len(b.customers), "subscriptions", len(b.subs), "invoices", len(b.invoices),
		"seed", o.Seed, "now", o.Now.Format(time.DateOnly))
	return write(ctx, s, b, o.Progress)
}

// DemoCustomerPassword is every demo business customer's password; one hash serves them all,
// since hashing 30,000 passwords with argon2id would take longer than the rest of the seed.
const DemoCustomerPassword = "demo-customer-password"

// product is a demo product with its prices.
type product struct {
	id     int64
	slug   string
	name   string
	typ    string
	prices map[string]store.Price // cycle + "/" + currency
}

func (p *product) price(c billing.Cycle, currency string) store.Price {
	return p.prices[string(c)+"/"+currency]
}

// catalog is the demo catalog by product type, cheapest plan first, and the panel server
// services of each type are placed on (0 when there is none).
type demoCatalog struct {
	byType map[string][]*product
	panel  map[string]int64
}

// panelTypes maps a product type onto the panel the dev stack provisions it on.
var panelTypes = map[string]string{"vps": "virtfusion", "dedicated": "synergycp", "web_hosting": "enhance", "game_server": "pterodactyl"}

func loadCatalog(ctx context.Context, s *store.Store) (demoCatalog, error) {
	products, err := s.CatalogProducts(ctx)
	if err != nil {
		return demoCatalog{}, err
	}
	prices, err := s.CatalogPrices(ctx)
	if err != nil {
		return demoCatalog{}, err
	}
	want := map[string]bool{}
	for _, e := range businessCatalog() {
		want[e.Product.Slug] = true
	}
	cat := demoCatalog{byType: map[string][]*product{}, panel: map[string]int64{}}
	for _, cp := range products {
		if !want[cp.Slug] {
			continue
		}
		p := &product{id: cp.ID, slug: cp.Slug, name: cp.Name, typ: cp.Type, prices: map[string]store.Price{}}
		for _, pr := range prices[cp.ID] {
			p.prices[pr.Cycle+"/"+pr.Currency] = pr
		}
		cat.byType[cp.Type] = append(cat.byType[cp.Type], p)
	}
	for typ, ps := range cat.byType {
		slices.SortFunc(ps, func(a, b *product) int {
			return int(a.price(billing.Monthly, "USD").Amount - b.price(billing.Monthly, "USD").Amount)
		})
		cat.byType[typ] = ps
	}
	panels, err := s.PanelServers(ctx)
	if err != nil {
		return demoCatalog{}, err
	}
	for _, ps := range panels { // ordered by type and name, so the choice is stable
		for typ, pt := range panelTypes {
			if ps.Enabled && ps.Type == pt && cat.panel[typ] == 0 {
				cat.panel[typ] = ps.ID
			}
		}
	}
	return cat, nil
}

// progress prints a line each time the work done crosses another 5%.
type progress struct {
	w          io.Writer
	total      int
	done       int
	customers  int
	invoices   int
	nextReport int
	started    time.Time
}

func (p *progress) add(customers, invoices int, c BusinessCounts, wantC, wantI int) {
	p.customers += customers
	p.invoices += invoices
	p.done += customers + invoices
	if p.w == nil || p.total == 0 {
		return
	}
	pct := p.done * 100 / p.total
	if pct < p.nextReport && p.done < p.total {
		return
	}
	for p.nextReport <= pct {
		p.nextReport += 5
	}
	secs := max(time.Since(p.started).Seconds(), 0.001)
	fmt.Fprintf(p.w, "demo business %3d%%: customers %d/%d, subscriptions %d, invoices %d/%d, payments %d (%.0f records/s, %s)\n",
		pct, p.customers, wantC, c.Subscriptions, p.invoices, wantI, c.Payments,
		float64(p.done)/secs, time.Since(p.started).Round(100*time.Millisecond))
}

// write stores the business: customers with their subscriptions, services, timeline and
// credit first, in batches, then the invoices in the order they were issued, so invoice
// numbers run with the calendar.
func write(ctx context.Context, s *store.Store, b *business, w io.Writer) (BusinessCounts, error) {
	var c BusinessCounts
	prog := &progress{w: w, total: len(b.customers) + len(b.invoices), started: time.Now()}
	batch := min(2000, max(50, prog.total/25))
	subsOf := map[*store.HistoricCustomer][]*subPlan{}
	for _, sp := range b.subs {
		subsOf[sp.cust.rec] = append(subsOf[sp.cust.rec], sp)
	}
	for start := 0; start < len(b.customers); start += batch {
		ib := &store.ImportBatch{}
		for _, cust := range b.customers[start:min(start+batch, len(b.customers))] {
			ib.Customers = append(ib.Customers, cust.rec)
			for _, sp := range subsOf[cust.rec] {
				if sp.rec.Service != nil {
					ib.Services = append(ib.Services, sp.rec.Service)
				}
				ib.Subscriptions = append(ib.Subscriptions, sp.rec)
				ib.Events = append(ib.Events, sp.events...)
				ib.Credits = append(ib.Credits, sp.credits...)
			}
		}
		if err := s.Import(ctx, ib); err != nil {
			return c, fmt.Errorf("write demo customers: %w", err)
		}
		c.Customers += len(ib.Customers)
		c.Subscriptions += len(ib.Subscriptions)
		c.Services += len(ib.Services)
		prog.add(len(ib.Customers), 0, c, len(b.customers), len(b.invoices))
	}
	for start := 0; start < len(b.invoices); start += batch {
		ib := &store.ImportBatch{Invoices: b.invoices[start:min(start+batch, len(b.invoices))]}
		if err := s.Import(ctx, ib); err != nil {
			return c, fmt.Errorf("write demo invoices: %w", err)
		}
		for _, inv := range ib.Invoices {
			c.Invoices++
			c.Payments += len(inv.Payments)
			c.Refunds += len(inv.Refunds)
		}
		prog.add(0, len(ib.Invoices), c, len(b.customers), len(b.invoices))
	}
	return c, nil
}

// newRand is the PCG source every demo business draw comes from.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
