// Package analytics holds the business metrics the admin dashboard and the daily snapshots show:
// MRR, ARR, active customers, customer and revenue churn, MRR movement, revenue series and rates.
// It is pure computation on facts the store reads (no I/O); docs/analytics.md defines every metric.
//
// Money is integer minor units and is never summed across currencies: every money figure is kept
// per currency. Days and months are UTC calendar days and months.
package analytics

import (
	"fmt"
	"sort"

	"github.com/ezscale/billing/billing"
)

// Counts reports whether a subscription in this status counts for MRR and active customers:
// active and past_due do (a past-due customer is still billed and usually pays during dunning);
// pending (never paid), suspended (service withheld), cancelled and terminated do not.
func Counts(status billing.SubscriptionStatus) bool {
	return status == billing.SubscriptionActive || status == billing.SubscriptionPastDue
}

// State is what one subscription contributes at a point in time. The zero State (Status "") is a
// subscription that did not exist yet.
type State struct {
	SubscriptionID int64
	CustomerID     int64
	ProductID      int64
	Status         billing.SubscriptionStatus
	Cycle          billing.Cycle
	Price          billing.Money // recurring price per cycle, before discounts and tax
}

// Active reports whether the subscription makes its customer an active customer: a counting
// status on a recurring cycle.
func (s State) Active() bool { return Counts(s.Status) && s.Cycle.Months() > 0 }

// MRR is the subscription's monthly recurring revenue in its currency's minor units: the price
// normalised with billing's Cycle.MonthlyEquivalent (annual / 12, rounded half away from zero),
// or zero when it does not count (status, or a one-time cycle).
func (s State) MRR() int64 {
	if !s.Active() {
		return 0
	}
	return s.Cycle.MonthlyEquivalent(s.Price).Amount
}

// PricePoint is a number of counting subscriptions at one price, the aggregate form the store
// returns for customers whose subscriptions did not change in a period.
type PricePoint struct {
	Currency string
	Cycle    billing.Cycle
	Price    int64
	Count    int64
}

// MRR is Count × the monthly equivalent of Price; each subscription is rounded on its own, as
// State.MRR rounds it, so the sum equals the per-subscription sum.
func (p PricePoint) MRR() int64 {
	return p.Count * p.Cycle.MonthlyEquivalent(billing.Money{Amount: p.Price, Currency: p.Currency}).Amount
}

// Change is one subscription at the start and at the end of a period.
type Change struct {
	Start, End State
}

// CustomerCurrency names one customer's revenue in one currency, the unit MRR movement is
// classified on.
type CustomerCurrency struct {
	CustomerID int64
	Currency   string
}

// Period is everything needed to compute a period's metrics, as the store reads it from the
// subscription history.
type Period struct {
	// Changed holds every subscription of every customer that had a subscription change during
	// the period (all of that customer's subscriptions, changed or not, so movement is classified
	// on the customer's whole revenue).
	Changed []Change
	// Unchanged aggregates every other customer: the same at the start and at the end.
	Unchanged Aggregate
	// HadMRRBefore holds the customer-currency pairs that had MRR at some time before the period
	// start: revenue that comes back is reactivation, not new.
	HadMRRBefore map[CustomerCurrency]bool
}

// Aggregate is the counting subscriptions of customers whose subscriptions did not change.
type Aggregate struct {
	PricePoints []PricePoint
	// Customers is the number of distinct active customers; CustomersByCurrency counts, per
	// currency, the distinct customers with an active subscription in it.
	Customers           int
	CustomersByCurrency map[string]int
}

// Movement is MRR movement in one currency over a period, each part a non-negative amount in
// minor units. Classified per customer and currency by comparing the customer's MRR at the start
// and the end of the period: from zero is New (or Reactivation when the customer had MRR in this
// currency before the period), to zero is Churned, up is Expansion, down is Contraction.
type Movement struct {
	New, Expansion, Contraction, Churned, Reactivation int64
}

// Net is the movement's net effect on MRR: New + Expansion + Reactivation − Contraction − Churned.
// It always equals end MRR − start MRR.
func (m Movement) Net() int64 {
	return m.New + m.Expansion + m.Reactivation - m.Contraction - m.Churned
}

// add classifies one customer's MRR going from start to end in one currency.
func (m *Movement) add(start, end int64, hadBefore bool) {
	switch {
	case start == end:
	case start == 0 && hadBefore:
		m.Reactivation += end
	case start == 0:
		m.New += end
	case end == 0:
		m.Churned += start
	case end > start:
		m.Expansion += end - start
	default:
		m.Contraction += start - end
	}
}

// CurrencyMetrics are one currency's figures for a period.
type CurrencyMetrics struct {
	Currency string
	MRRStart int64
	MRREnd   int64
	Movement Movement
	// ActiveSubscriptions and ActiveCustomers are counted at the end of the period.
	ActiveSubscriptions int64
	ActiveCustomers     int
}

// ARR is 12 × MRR at the end of the period.
func (c CurrencyMetrics) ARR() int64 { return 12 * c.MRREnd }

// RevenueChurn is MRR lost to cancellations and contractions during the period over MRR at its
// start (expansion does not offset it; this is gross revenue churn).
func (c CurrencyMetrics) RevenueChurn() Rate {
	return Rate{Num: c.Movement.Churned + c.Movement.Contraction, Den: c.MRRStart}
}

// Report is a period's metrics.
type Report struct {
	// Currencies are the per-currency figures, sorted by MRR at the end (largest first), then code.
	Currencies []CurrencyMetrics
	// CustomersStart and CustomersEnd are the active customers (any currency) at the period's
	// start and end; Churned are those active at the start with no active subscription at the end.
	CustomersStart, CustomersEnd, ChurnedCustomers int
}

// CustomerChurn is the customers active at the start who were not active at the end, over the
// customers active at the start.
func (r Report) CustomerChurn() Rate {
	return Rate{Num: int64(r.ChurnedCustomers), Den: int64(r.CustomersStart)}
}

// Currency returns the figures of one currency, and whether the report has any.
func (r Report) Currency(code string) (CurrencyMetrics, bool) {
	for _, c := range r.Currencies {
		if c.Currency == code {
			return c, true
		}
	}
	return CurrencyMetrics{Currency: code}, false
}

// Compute derives a period's metrics from its facts.
func Compute(p Period) Report {
	by := map[string]*CurrencyMetrics{}
	cur := func(code string) *CurrencyMetrics {
		c, ok := by[code]
		if !ok {
			c = &CurrencyMetrics{Currency: code}
			by[code] = c
		}
		return c
	}
	for _, pp := range p.Unchanged.PricePoints {
		c := cur(pp.Currency)
		m := pp.MRR()
		c.MRRStart += m
		c.MRREnd += m
		c.ActiveSubscriptions += pp.Count
	}
	for code, n := range p.Unchanged.CustomersByCurrency {
		cur(code).ActiveCustomers += n
	}

	type sums struct{ start, end int64 }
	revenue := map[CustomerCurrency]*sums{}
	type activity struct{ start, end bool }
	customers := map[int64]*activity{}
	activeIn := map[CustomerCurrency]bool{}
	for _, ch := range p.Changed {
		for i, s := range []State{ch.Start, ch.End} {
			if s.Status == "" {
				continue
			}
			cc := CustomerCurrency{s.CustomerID, s.Price.Currency}
			r, ok := revenue[cc]
			if !ok {
				r = &sums{}
				revenue[cc] = r
			}
			a, ok := customers[s.CustomerID]
			if !ok {
				a = &activity{}
				customers[s.CustomerID] = a
			}
			c := cur(cc.Currency)
			if i == 0 {
				r.start += s.MRR()
				c.MRRStart += s.MRR()
				a.start = a.start || s.Active()
			} else {
				r.end += s.MRR()
				c.MRREnd += s.MRR()
				a.end = a.end || s.Active()
				if s.Active() {
					c.ActiveSubscriptions++
					activeIn[cc] = true
				}
			}
		}
	}
	for cc, r := range revenue {
		by[cc.Currency].Movement.add(r.start, r.end, p.HadMRRBefore[cc])
	}
	for cc := range activeIn {
		by[cc.Currency].ActiveCustomers++
	}

	out := Report{CustomersStart: p.Unchanged.Customers, CustomersEnd: p.Unchanged.Customers}
	for _, a := range customers {
		if a.start {
			out.CustomersStart++
		}
		if a.end {
			out.CustomersEnd++
		}
		if a.start && !a.end {
			out.ChurnedCustomers++
		}
	}
	for _, c := range by {
		out.Currencies = append(out.Currencies, *c)
	}
	sort.Slice(out.Currencies, func(i, j int) bool {
		a, b := out.Currencies[i], out.Currencies[j]
		if a.MRREnd != b.MRREnd {
			return a.MRREnd > b.MRREnd
		}
		return a.Currency < b.Currency
	})
	return out
}

// Rate is a ratio of two counts or amounts, kept exact; Den 0 means "no base" (shown as a dash).
type Rate struct {
	Num, Den int64
}

// BasisPoints is the rate in hundredths of a percent, rounded half away from zero; 0 without a base.
func (r Rate) BasisPoints() int64 {
	if r.Den == 0 {
		return 0
	}
	n := r.Num * 10000
	q, rem := n/r.Den, n%r.Den
	if 2*abs(rem) >= abs(r.Den) {
		if (n < 0) != (r.Den < 0) {
			q--
		} else {
			q++
		}
	}
	return q
}

// String is the rate as a percentage with two decimals, "2.35%", or "—" without a base.
func (r Rate) String() string {
	if r.Den == 0 {
		return "—"
	}
	bp := r.BasisPoints()
	sign := ""
	if bp < 0 {
		sign, bp = "-", -bp
	}
	return fmt.Sprintf("%s%d.%02d%%", sign, bp/100, bp%100)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
