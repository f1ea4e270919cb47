package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// fate is how a demo subscription stands today.
type fate int

const (
	fateActive        fate = iota
	fateCancelPending      // active, cancelling at the end of the period
	fatePastDue            // the current renewal failed a few days ago
	fateSuspended          // the current renewal is two to four weeks overdue
	fateCancelledEnd       // cancelled at the end of a paid period
	fateCancelledNow       // cancelled in the middle of a period, sometimes with a refund
	fateTerminated         // terminated for non-payment 30 days after a renewal fell due
)

// fateShares are the parts of the subscriptions (per mille) that end up in each fate other
// than active; each gets at least one subscription. About a third of the subscriptions ended
// in two years: churn of a few percent a month.
var fateShares = []struct {
	f        fate
	perMille int
}{
	{fateCancelPending, 30}, {fatePastDue, 30}, {fateSuspended, 20},
	{fateCancelledEnd, 130}, {fateCancelledNow, 50}, {fateTerminated, 60},
}

var typeWeights = []struct {
	typ    string
	weight int
}{{"vps", 38}, {"web_hosting", 27}, {"game_server", 25}, {"dedicated", 10}}

// cycleWeights per product type follow demoCycles: monthly .. triennial. Long cycles dominate
// so that 500 subscriptions over two years make about 800 invoices.
var cycleWeights = map[string][]int{
	"vps":         {8, 10, 12, 44, 14, 12},
	"dedicated":   {20, 15, 15, 38, 7, 5},
	"web_hosting": {2, 4, 10, 46, 19, 19},
	"game_server": {16, 20, 22, 34, 8, 0},
}

const (
	issueLead   = 7 * 24 * time.Hour  // renewal invoices are issued a week before they fall due
	suspendLag  = 14 * 24 * time.Hour // dunning suspends two weeks after the due date
	terminateAt = 30 * 24 * time.Hour // and terminates after thirty days
	day         = 24 * time.Hour
)

type custPlan struct {
	n       int
	person  person
	signup  time.Time
	gateway string
	rec     *store.HistoricCustomer
}

type subPlan struct {
	idx      int
	cust     *custPlan
	prod     *product
	cycle    billing.Cycle
	currency string
	fate     fate
	start    time.Time
	paid     int       // ended fates: the number of periods paid
	cancelAt time.Time // cancelled now: when; cancel pending: when it was asked for

	change       int // +1 upgrade, -1 downgrade, 0 none
	changePeriod int
	changeAt     time.Time
	newProd      *product

	rec     *store.HistoricSubscription
	events  []store.HistoricSubscriptionEvent
	credits []store.HistoricCredit
}

type planner struct {
	o          BusinessOptions
	r          *rand.Rand
	cat        demoCatalog
	nc, ns, ni int
	now, from  time.Time
	custs      []*custPlan
	subs       []*subPlan
	txn        int // payment and refund id counter
}

func newPlanner(o BusinessOptions, cat demoCatalog, nc, ns, ni int) *planner {
	return &planner{o: o, r: newRand(o.Seed), cat: cat, nc: nc, ns: ns, ni: ni,
		now: o.Now, from: o.Now.AddDate(0, -historyMonths, 0)}
}

func (sp *subPlan) due(n int) time.Time { return sp.cycle.DueDate(sp.start, n) }

func (sp *subPlan) issue(n int) time.Time {
	if n == 0 {
		return sp.start
	}
	return sp.due(n).Add(-issueLead)
}

// current is the period that contains now (0 is the first).
func (sp *subPlan) current(now time.Time) int {
	n := 0
	for !sp.due(n + 1).After(now) {
		n++
	}
	return n
}

// periodInvoices is how many renewal (and first) invoices the subscription has by now.
func (sp *subPlan) periodInvoices(now time.Time) int {
	switch sp.fate {
	case fateActive:
		c := sp.current(now)
		if !sp.issue(c + 1).After(now) {
			return c + 2
		}
		return c + 1
	case fateCancelPending, fatePastDue, fateSuspended:
		return sp.current(now) + 1
	case fateTerminated:
		return sp.paid + 1
	default:
		return sp.paid
	}
}

func (sp *subPlan) invoices(now time.Time) int {
	n := sp.periodInvoices(now)
	if sp.change > 0 {
		n++
	}
	return n
}

func (p *planner) plan() error {
	if p.ns < p.nc || p.ni < p.ns {
		return fmt.Errorf("demo business of %d customers, %d subscriptions, %d invoices: want customers <= subscriptions <= invoices", p.nc, p.ns, p.ni)
	}
	for _, typ := range store.ProductTypes {
		if len(p.cat.byType[typ]) < 2 {
			return fmt.Errorf("demo catalog has %d %s products: want at least 2", len(p.cat.byType[typ]), typ)
		}
	}
	gateways := []struct {
		name   string
		weight int
	}{{"stripe", 55}, {"paypal", 25}, {"sandbox", 20}}
	for i := range p.nc {
		c := &custPlan{n: i + 1, person: newPerson(p.r, i+1), signup: p.growthTime()}
		c.gateway = pickWeighted(p.r, gateways, func(g struct {
			name   string
			weight int
		}) int {
			return g.weight
		}).name
		p.custs = append(p.custs, c)
	}
	for i := range p.ns {
		sp := &subPlan{idx: i + 1}
		if i < p.nc {
			sp.cust = p.custs[i]
			sp.start = sp.cust.signup.Add(time.Duration(5+p.r.IntN(175)) * time.Minute)
		} else {
			sp.cust = p.custs[p.r.IntN(p.nc)]
			sp.start = p.between(sp.cust.signup, p.now.Add(-time.Hour))
		}
		sp.currency = sp.cust.person.country.currency
		typ := pickWeighted(p.r, typeWeights, func(t struct {
			typ    string
			weight int
		}) int {
			return t.weight
		}).typ
		p.setType(sp, typ)
		sp.cycle = demoCycles[pickIndex(p.r, cycleWeights[typ])]
		p.subs = append(p.subs, sp)
	}
	p.coverCatalog()
	p.assignFates()
	p.planChanges()
	if err := p.calibrate(); err != nil {
		return err
	}
	return nil
}

func (p *planner) setType(sp *subPlan, typ string) {
	ps := p.cat.byType[typ]
	w := make([]int, len(ps))
	for i := range ps {
		w[i] = len(ps) - i + 1 // cheaper plans sell more
	}
	sp.prod = ps[pickIndex(p.r, w)]
}

// coverCatalog makes sure every product type and every cycle is sold at least once, however
// small the scale.
func (p *planner) coverCatalog() {
	next := len(p.subs) - 1
	seenType, seenCycle := map[string]bool{}, map[billing.Cycle]bool{}
	for _, sp := range p.subs {
		seenType[sp.prod.typ], seenCycle[sp.cycle] = true, true
	}
	for _, typ := range store.ProductTypes {
		if !seenType[typ] && next >= 0 {
			p.setType(p.subs[next], typ)
			seenType[typ] = true
			next--
		}
	}
	for _, c := range demoCycles {
		if !seenCycle[c] && next >= 0 {
			p.subs[next].cycle = c
			next--
		}
	}
}

// assignFates gives each fate its share of the subscriptions at random, then moves each
// subscription's start so its fate fits the calendar (a suspension needs a renewal two weeks
// overdue); one that cannot fit becomes monthly, or else stays active.
func (p *planner) assignFates() {
	order := p.r.Perm(len(p.subs))
	k := 0
	for _, fs := range fateShares {
		n := max(1, len(p.subs)*fs.perMille/1000)
		for range n {
			if k >= len(order) {
				return
			}
			sp := p.subs[order[k]]
			k++
			sp.fate = fs.f
			if !p.fitFate(sp) {
				sp.cycle = billing.Monthly
				if !p.fitFate(sp) {
					sp.fate = fateActive
				}
			}
		}
	}
}

func (p *planner) fitFate(sp *subPlan) bool {
	switch sp.fate {
	case fatePastDue, fateSuspended:
		lo, hi := 1, 13
		if sp.fate == fateSuspended {
			lo, hi = 15, 28
		}
		want := time.Duration(lo+p.r.IntN(hi-lo+1))*day + time.Duration(p.r.IntN(20))*time.Hour
		start := sp.start
		for range 2 {
			c := sp.current(p.now)
			sp.start = sp.start.Add(p.now.Sub(sp.due(c)) - want)
			if sp.current(p.now) == 0 {
				sp.start = sp.cycle.DueDate(sp.start, -1)
			}
		}
		c := sp.current(p.now)
		gap := p.now.Sub(sp.due(c))
		if c >= 1 && !sp.start.Before(p.from) && gap >= time.Duration(lo)*day && gap <= time.Duration(hi+1)*day {
			return true
		}
		sp.start = start
		return false
	case fateCancelPending:
		c := sp.current(p.now)
		lo, hi := sp.due(c).Add(time.Hour), minTime(p.now, sp.issue(c+1)).Add(-time.Hour)
		if !hi.After(lo) {
			return false
		}
		sp.cancelAt = p.between(lo, hi)
		return true
	case fateCancelledEnd, fateTerminated, fateCancelledNow:
		lag := time.Duration(0)
		if sp.fate == fateTerminated {
			lag = terminateAt
		}
		fits := func() int { // periods that can have been paid before the end
			n := 0
			for !sp.due(n + 1).Add(lag).After(p.now) {
				n++
			}
			if sp.fate == fateCancelledNow {
				n = sp.current(p.now) // period n-1 is over or running
				if p.now.Sub(sp.due(n)) > 2*day {
					n++
				}
			}
			return n
		}
		if fits() == 0 {
			latest := p.now.AddDate(0, -sp.cycle.Months(), 0).Add(-lag - 3*day)
			if latest.Before(p.from) {
				return false
			}
			sp.start = p.between(p.from, latest)
		}
		maxPaid := fits()
		if maxPaid == 0 {
			return false
		}
		sp.paid = 1 + p.r.IntN(maxPaid)
		if sp.fate == fateCancelledNow {
			lo, hi := sp.due(sp.paid-1).Add(day), minTime(p.now, sp.due(sp.paid)).Add(-time.Hour)
			if !hi.After(lo) {
				return false
			}
			sp.cancelAt = p.between(lo, hi)
		}
		return true
	}
	return true
}

// planChanges upgrades about 8% and downgrades about 4% of the active subscriptions in the
// middle of one of their paid periods.
func (p *planner) planChanges() {
	var active []*subPlan
	for _, sp := range p.subs {
		if sp.fate == fateActive {
			active = append(active, sp)
		}
	}
	p.r.Shuffle(len(active), func(i, j int) { active[i], active[j] = active[j], active[i] })
	ups, downs := max(1, len(active)*8/100), max(1, len(active)*4/100)
	for _, sp := range active {
		if ups == 0 && downs == 0 {
			return
		}
		ps := p.cat.byType[sp.prod.typ]
		i := indexOf(ps, sp.prod)
		dir := 1
		switch {
		case ups > 0 && i < len(ps)-1:
		case downs > 0 && i > 0:
			dir = -1
		default:
			continue
		}
		c := sp.current(p.now)
		period := p.r.IntN(c + 1)
		lo, hi := sp.due(period).Add(day), minTime(sp.due(period+1), p.now).Add(-day)
		if !hi.After(lo) {
			continue
		}
		sp.change, sp.changePeriod, sp.changeAt = dir, period, p.between(lo, hi)
		if dir > 0 {
			sp.newProd = ps[i+1+p.r.IntN(len(ps)-i-1)]
			ups--
		} else {
			sp.newProd = ps[p.r.IntN(i)]
			downs--
		}
	}
}

// calibrate moves the start of running subscriptions without plan changes by whole cycles, or
// ends a cancelled or terminated subscription one period sooner, one invoice at a time, until
// the business has exactly the invoices asked for. A move keeps the subscription's anchor day
// and where today falls in its period, so its fate still fits.
func (p *planner) calibrate() error {
	total := 0
	var movable []*subPlan
	for _, sp := range p.subs {
		total += sp.invoices(p.now)
		if sp.change == 0 && sp.fate != fateCancelledNow {
			movable = append(movable, sp)
		}
	}
	for tries := 0; total != p.ni && tries < 200*len(p.subs) && len(movable) > 0; tries++ {
		sp := movable[p.r.IntN(len(movable))]
		before := sp.invoices(p.now)
		if sp.fate == fateCancelledEnd || sp.fate == fateTerminated {
			if total > p.ni && sp.paid >= 2 {
				sp.paid--
				total--
			}
			continue
		}
		old := sp.start
		if total > p.ni {
			sp.start = sp.cycle.DueDate(sp.start, 1)
		} else {
			sp.start = sp.cycle.DueDate(sp.start, -1)
		}
		needPaid := sp.fate == fatePastDue || sp.fate == fateSuspended
		after := sp.invoices(p.now)
		if after < 1 || sp.start.Before(p.from) || !sp.start.Before(p.now.Add(-time.Hour)) || (needPaid && sp.current(p.now) < 1) ||
			(total > p.ni) != (after < before) {
			sp.start = old
			continue
		}
		total += after - before
	}
	if total != p.ni {
		return fmt.Errorf("demo business: %d subscriptions make %d invoices in %d months, not the %d asked for; try another scale or seed",
			len(p.subs), total, historyMonths, p.ni)
	}
	return nil
}

// growthTime is a signup time in the history window, with signups growing six-fold from the
// first month to the last.
func (p *planner) growthTime() time.Time {
	span := p.now.Add(-2 * time.Hour).Sub(p.from)
	x := math.Log(1+5*p.r.Float64()) / math.Log(6)
	return p.from.Add(time.Duration(x * float64(span))).Truncate(time.Second)
}

// between is a uniform time in [lo, hi), to the second.
func (p *planner) between(lo, hi time.Time) time.Time {
	if !hi.After(lo) {
		return lo
	}
	return lo.Add(time.Duration(p.r.Int64N(int64(hi.Sub(lo))))).Truncate(time.Second)
}

func pickIndex(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n -= w; n < 0 {
			return i
		}
	}
	return len(weights) - 1
}

func indexOf(ps []*product, p *product) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
