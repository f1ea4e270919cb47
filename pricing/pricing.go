// Package pricing prices invoices from stored facts: a product's price for a cycle and
// currency, coupons and how often they were used, the tax rules and the customer's tax status,
// and the customer's account credit. The arithmetic is billing's; this package only gathers
// its inputs, so checkout, renewals and plan changes price the same way.
package pricing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// ErrNoPrice means the product is not sold in that cycle and currency.
var ErrNoPrice = errors.New("no price for this cycle and currency")

// ErrNotOrderable means the product is hidden from the catalog or retired.
var ErrNotOrderable = errors.New("product cannot be ordered")

// Pricer prices orders, renewals and plan changes.
type Pricer struct {
	Store *store.Store
	// SellerCountry is the company's ISO country, for EU reverse charge.
	SellerCountry string
}

// Quote is a priced invoice and what saving it takes: the credit it applies and the coupons
// it redeems.
type Quote struct {
	Invoice    billing.Invoice
	CreditUsed billing.Money
	Redeems    []string
	// Coupons are the codes that gave a discount line, with Redeems a subset of them.
	Coupons []string
	Price   billing.Money // the recurring price per cycle
	Setup   billing.Money
}

// Total is the invoice total after discounts, tax and credit.
func (q Quote) Total() billing.Money {
	t, err := q.Invoice.Total()
	if err != nil { // lines were built by billing in one currency
		return billing.Money{Currency: q.Invoice.Currency}
	}
	return t
}

// Lines returns the invoice lines of one kind.
func (q Quote) Lines(kind billing.LineKind) []billing.Line {
	var out []billing.Line
	for _, l := range q.Invoice.Lines {
		if l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// OrderRequest is what a customer chose on the configure page.
type OrderRequest struct {
	CustomerID int64
	ProductID  int64
	Cycle      billing.Cycle
	Currency   string
	CouponCode string // "" for none
	Now        time.Time
}

// Order prices a new order: the first cycle and the setup fee, the coupon, tax and credit.
func (p *Pricer) Order(ctx context.Context, r OrderRequest) (Quote, store.CatalogProduct, error) {
	prod, err := p.Store.CatalogProductByID(ctx, r.ProductID)
	if err != nil {
		return Quote{}, prod, err
	}
	if prod.Hidden || prod.Retired {
		return Quote{}, prod, fmt.Errorf("%s: %w", prod.Name, ErrNotOrderable)
	}
	price, err := p.price(ctx, prod.ID, r.Cycle, r.Currency)
	if err != nil {
		return Quote{}, prod, fmt.Errorf("%s: %w", prod.Name, err)
	}
	items := []billing.Line{{Kind: billing.LineProduct, Description: fmt.Sprintf("%s (%s)", prod.Name, r.Cycle),
		Amount: money(price.Amount, r.Currency), ProductID: prod.ID, Taxable: true}}
	if price.SetupFee > 0 {
		items = append(items, billing.Line{Kind: billing.LineSetup, Description: prod.Name + " setup fee",
			Amount: money(price.SetupFee, r.Currency), ProductID: prod.ID, Taxable: true})
	}
	var codes []string
	if r.CouponCode != "" {
		codes = []string{store.NormalizeCouponCode(r.CouponCode)}
	}
	q, err := p.build(ctx, r.CustomerID, r.Currency, items, codes, nil, r.Now, nil)
	if err != nil {
		return Quote{}, prod, err
	}
	q.Price, q.Setup = money(price.Amount, r.Currency), money(price.SetupFee, r.Currency)
	return q, prod, nil
}

// Renewal prices the next cycle of a subscription: its price, the coupons still running on it
// (by the cycles they already discounted), tax and credit.
func (p *Pricer) Renewal(ctx context.Context, sub store.Subscription, periodStart, periodEnd, now time.Time) (Quote, error) {
	return p.renewal(ctx, sub, periodStart, periodEnd, now, nil)
}

// renewal is Renewal with the credit available given (nil: the customer's balance now).
func (p *Pricer) renewal(ctx context.Context, sub store.Subscription, periodStart, periodEnd, now time.Time, credit *billing.Money) (Quote, error) {
	desc := fmt.Sprintf("%s (%s to %s)", sub.ProductName, periodStart.UTC().Format(time.DateOnly), periodEnd.UTC().Format(time.DateOnly))
	items := []billing.Line{{Kind: billing.LineProduct, Description: desc, Amount: sub.Price(), ProductID: sub.ProductID, Taxable: true}}
	q, err := p.build(ctx, sub.CustomerID, sub.Currency, items, sub.Coupons, sub.CouponCycles, now, credit)
	if err != nil {
		return Quote{}, err
	}
	q.Price = sub.Price()
	return q, nil
}

// Change is a priced plan change, valued on what the current period was billed at: the
// coupons that discounted it discount both plans (billing.PricePlanChange).
type Change struct {
	// Proration is the day-exact settlement on the period prices after discounts, for display.
	Proration billing.Proration
	NewPrice  billing.Money
	Product   store.CatalogProduct
	// Quote is the invoice for an upgrade (Proration.Net > 0), with tax and credit; otherwise empty.
	Quote Quote
	// CreditNote is a downgrade's credit (Proration.Net < 0): a positive net line and the tax
	// lines it gives back. CreditTotal is its sum, tax included: what the account is credited.
	CreditNote  []billing.Line
	CreditTotal billing.Money
	// PeriodInvoiceID is the invoice that opened the current period (0 when none is found):
	// the document a downgrade's credit note amends.
	PeriodInvoiceID int64
}

// PlanChange prices moving a subscription to another product at at, day-exact over the current
// period. An upgrade gives a proration invoice with tax; a downgrade a credit note with tax.
func (p *Pricer) PlanChange(ctx context.Context, sub store.Subscription, productID int64, at time.Time) (Change, error) {
	prod, err := p.Store.CatalogProductByID(ctx, productID)
	if err != nil {
		return Change{}, err
	}
	if prod.Retired {
		return Change{}, fmt.Errorf("%s: %w", prod.Name, ErrNotOrderable)
	}
	price, err := p.price(ctx, prod.ID, sub.Cycle, sub.Currency)
	if err != nil {
		return Change{}, fmt.Errorf("%s: %w", prod.Name, err)
	}
	if !sub.PeriodStart.Valid || !sub.PeriodEnd.Valid {
		return Change{}, fmt.Errorf("subscription %d has no paid period to change", sub.ID)
	}
	coupons, periodInvoice, err := p.periodCoupons(ctx, sub)
	if err != nil {
		return Change{}, err
	}
	in := billing.PlanChangeInput{OldPrice: sub.Price(), NewPrice: money(price.Amount, sub.Currency),
		OldProductID: sub.ProductID, NewProductID: prod.ID, Coupons: coupons,
		PeriodStart: sub.PeriodStart.Time, PeriodEnd: sub.PeriodEnd.Time, ChangeAt: at}
	if in.TaxRules, in.Tax, err = p.tax(ctx, sub.CustomerID); err != nil {
		return Change{}, err
	}
	pc, err := billing.PricePlanChange(in)
	if err != nil {
		return Change{}, fmt.Errorf("price plan change of subscription %d: %w", sub.ID, err)
	}
	c := Change{Proration: pc.Proration, NewPrice: in.NewPrice, Product: prod, CreditNote: pc.CreditNote, CreditTotal: pc.CreditTotal,
		PeriodInvoiceID: periodInvoice}
	if len(pc.Items) > 0 {
		for i := range pc.Items {
			pc.Items[i].Description = fmt.Sprintf("%s → %s: %s", sub.ProductName, prod.Name, pc.Items[i].Description)
		}
		c.Quote, err = p.build(ctx, sub.CustomerID, sub.Currency, pc.Items, nil, nil, at, nil)
		if err != nil {
			return Change{}, err
		}
		c.Quote.Price = in.NewPrice
	}
	for i := range c.CreditNote {
		if c.CreditNote[i].Kind != billing.LineTax {
			c.CreditNote[i].Description = fmt.Sprintf("%s → %s: %s", sub.ProductName, prod.Name, c.CreditNote[i].Description)
		}
	}
	return c, nil
}

// periodCoupons are the coupons that discounted the subscription's current period: those
// with a discount line on the invoice that opened it (the newest one not cancelled, with a
// product line, due by the period start). Coupon cycle counts alone cannot say this: a
// "once" coupon counts 1 in its first period and in every later one. Without such an invoice
// (a subscription imported without its history) every coupon counted for at least one cycle
// is taken, which can only make a downgrade credit smaller, never mint credit. It also
// returns that invoice's id (0 when none): the document a downgrade's credit note amends.
// Coupons retired since are still found: the discount they granted keeps running.
func (p *Pricer) periodCoupons(ctx context.Context, sub store.Subscription) ([]billing.Coupon, int64, error) {
	var codes []string
	for _, code := range sub.Coupons {
		if sub.CouponCycles[code] > 0 {
			codes = append(codes, code)
		}
	}
	invs, err := p.Store.SubscriptionInvoices(ctx, sub.ID)
	if err != nil {
		return nil, 0, err
	}
	var invoiceID int64
	for _, inv := range invs { // newest first
		if inv.CancelledAt.Valid || billing.DaysBetween(inv.DueAt, sub.PeriodStart.Time) < 0 ||
			!slices.ContainsFunc(inv.Lines, func(l billing.Line) bool { return l.Kind == billing.LineProduct }) {
			continue
		}
		invoiceID = inv.ID
		codes = slices.DeleteFunc(codes, func(code string) bool {
			return !slices.ContainsFunc(inv.Lines, func(l billing.Line) bool { return l.Kind == billing.LineDiscount && l.CouponCode == code })
		})
		break
	}
	var out []billing.Coupon
	for _, code := range codes {
		c, err := p.Store.GrantedCoupon(ctx, code)
		if err != nil {
			return nil, 0, fmt.Errorf("coupon %s: %w", code, err)
		}
		out = append(out, c.Rules)
	}
	return out, invoiceID, nil
}

// Schedule previews the next n renewal invoices of a subscription on its current plan,
// starting with the period that begins at from; coupons run out as they would, and so does
// the account credit: it is applied to the first invoices until it is used up, never more
// than the balance in total.
func (p *Pricer) Schedule(ctx context.Context, sub store.Subscription, from time.Time, n int, now time.Time) ([]ScheduledInvoice, error) {
	if sub.Cycle == billing.OneTime {
		return nil, nil
	}
	cycles := map[string]int{}
	for k, v := range sub.CouponCycles {
		cycles[k] = v
	}
	anchor := from.Day()
	if sub.AnchorDay.Valid {
		anchor = int(sub.AnchorDay.Int64)
	}
	credit, err := p.Store.CreditBalance(ctx, sub.CustomerID, sub.Currency)
	if err != nil {
		return nil, err
	}
	out := make([]ScheduledInvoice, 0, n)
	start := from
	for range n {
		end := sub.Cycle.NextDueAnchored(start, anchor)
		sim := sub
		sim.CouponCycles = cycles
		q, err := p.renewal(ctx, sim, start, end, now, &credit)
		if err != nil {
			return nil, err
		}
		out = append(out, ScheduledInvoice{Due: start, PeriodEnd: end, Quote: q})
		for _, c := range q.Coupons {
			cycles[c]++
		}
		if credit, err = credit.Sub(q.CreditUsed); err != nil {
			return nil, err
		}
		start = end
	}
	return out, nil
}

// ScheduledInvoice is one future renewal: its due date and its price on today's rules.
type ScheduledInvoice struct {
	Due       time.Time
	PeriodEnd time.Time
	Quote     Quote
}

func (p *Pricer) price(ctx context.Context, productID int64, cycle billing.Cycle, currency string) (store.Price, error) {
	prices, err := p.Store.ProductPrices(ctx, productID)
	if err != nil {
		return store.Price{}, err
	}
	i := slices.IndexFunc(prices, func(pr store.Price) bool { return pr.Cycle == string(cycle) && pr.Currency == currency })
	if i < 0 {
		return store.Price{}, fmt.Errorf("%s %s: %w", cycle, currency, ErrNoPrice)
	}
	return prices[i], nil
}

// build applies coupons, tax and credit to items. cycles is how many cycles each code already
// discounted on the subscription (nil for a new order: every code is redeemed now); credit is
// the credit available (nil: the customer's balance now).
func (p *Pricer) build(ctx context.Context, customerID int64, currency string, items []billing.Line, codes []string,
	cycles map[string]int, now time.Time, credit *billing.Money) (Quote, error) {
	in := billing.InvoiceInput{Currency: currency, Items: items,
		CouponContext: billing.CouponContext{Now: now, CustomerID: customerID, Usage: map[string]billing.CouponUse{}}}
	for _, code := range codes {
		lookup := p.Store.CouponByCode // a new redemption: retired coupons are not found
		if cycles != nil {
			lookup = p.Store.GrantedCoupon // granted already: it keeps running after retirement
		}
		c, err := lookup(ctx, code)
		if errors.Is(err, store.ErrNotFound) && cycles != nil {
			continue // deleted from the database: nothing left to apply
		}
		if err != nil {
			return Quote{}, fmt.Errorf("coupon %s: %w", code, err)
		}
		use, err := p.Store.CouponUsage(ctx, code, customerID)
		if err != nil {
			return Quote{}, err
		}
		use.CyclesApplied = cycles[c.Rules.Code]
		if cycles != nil && use.CyclesApplied == 0 {
			use.CyclesApplied = 1 // granted on the first invoice: never redeemed again on a renewal
		}
		in.Coupons = append(in.Coupons, c.Rules)
		in.CouponContext.Usage[c.Rules.Code] = use
	}
	var err error
	if in.TaxRules, in.Tax, err = p.tax(ctx, customerID); err != nil {
		return Quote{}, err
	}
	if credit != nil {
		in.CreditAvailable = *credit
	} else if in.CreditAvailable, err = p.Store.CreditBalance(ctx, customerID, currency); err != nil {
		return Quote{}, err
	}
	inv, used, err := billing.BuildInvoice(in)
	if err != nil {
		return Quote{}, fmt.Errorf("price invoice: %w", err)
	}
	q := Quote{Invoice: inv, CreditUsed: used}
	for _, l := range inv.Lines {
		if l.Kind == billing.LineDiscount && l.CouponCode != "" && !slices.Contains(q.Coupons, l.CouponCode) {
			q.Coupons = append(q.Coupons, l.CouponCode)
			if in.CouponContext.Usage[l.CouponCode].CyclesApplied == 0 {
				q.Redeems = append(q.Redeems, l.CouponCode)
			}
		}
	}
	return q, nil
}

// tax loads the tax rules and the customer's tax status.
func (p *Pricer) tax(ctx context.Context, customerID int64) ([]billing.TaxRule, billing.TaxContext, error) {
	rules, err := p.Store.TaxRules(ctx)
	if err != nil {
		return nil, billing.TaxContext{}, err
	}
	out := make([]billing.TaxRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r.Rule)
	}
	prof, err := p.Store.BillingProfileOf(ctx, customerID)
	if err != nil {
		return nil, billing.TaxContext{}, err
	}
	tc := prof.Tax()
	tc.SellerCountry = p.SellerCountry
	return out, tc, nil
}

func money(amount int64, currency string) billing.Money {
	return billing.Money{Amount: amount, Currency: currency}
}
