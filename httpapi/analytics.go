package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/web/chart"
)

// dashboardFacts is everything the dashboard reads, fetched concurrently: each is one aggregate
// query (docs/analytics.md), so the page costs the same whatever the size of the book.
type dashboardFacts struct {
	now            time.Time
	month          analytics.Report
	days, months   []analytics.Revenue
	types          []analytics.TypeRevenue
	plans          []analytics.PlanCount
	overdue        []analytics.Overdue
	snapshots      []analytics.Snapshot
	attention      []store.Service
	attentionCount int
	moneyAlerts    []web.MoneyAlertRow // open money alerts, newest first
}

// Windows of the dashboard's charts.
const (
	revenueDays = 30 // revenue by day: the last 30 UTC days, today included
	revenueMons = 24 // revenue by month: the last 24 UTC months, this one included
	trendDays   = 90 // MRR trend: the snapshots of the last 90 days, then today live
	planCount   = 8  // popular plans shown
	attentionN  = 5  // services needing attention listed
	typeDays    = 30 // revenue by service type: the last 30 days
	maxCurrency = 10 // currencies offered in the selector
)

// dashboardCache holds the last dashboard figures. Computing them is a few aggregate queries
// over the whole book (about 100-200 ms on the 100x demo data), and they move slowly, so one
// computation serves every member of staff: after DashboardCacheTTL the next request still
// gets the figures it has and starts one refresh in the background (stale while revalidating),
// so no request waits for the computation except the very first.
type dashboardCache struct {
	mu         sync.Mutex
	at         time.Time
	facts      dashboardFacts
	refreshing bool
}

// cachedDashboardFacts returns the cached figures, refreshing them in the background once they
// are older than DashboardCacheTTL.
func (s *server) cachedDashboardFacts(ctx context.Context) (dashboardFacts, error) {
	ttl := s.Settings.DashboardCacheTTL
	if ttl == 0 {
		ttl = time.Minute
	}
	if ttl < 0 {
		return s.dashboardFacts(ctx, time.Now().UTC())
	}
	c := &s.dashboard
	c.mu.Lock()
	if c.at.IsZero() { // nothing to serve yet: compute now, holding the lock so others wait for it
		defer c.mu.Unlock()
		f, err := s.dashboardFacts(ctx, time.Now().UTC())
		if err != nil {
			return dashboardFacts{}, err
		}
		c.facts, c.at = f, time.Now()
		return f, nil
	}
	facts := c.facts
	if time.Since(c.at) >= ttl && !c.refreshing {
		c.refreshing = true
		go s.refreshDashboard(context.WithoutCancel(ctx))
	}
	c.mu.Unlock()
	return facts, nil
}

// refreshDashboard recomputes the cached figures; a failure keeps the old ones and is logged.
func (s *server) refreshDashboard(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f, err := s.dashboardFacts(ctx, time.Now().UTC())
	c := &s.dashboard
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		s.Log.Warn("dashboard figures not refreshed", "err", err)
		return
	}
	c.facts, c.at = f, time.Now()
}

func (s *server) dashboardFacts(ctx context.Context, now time.Time) (dashboardFacts, error) {
	f := dashboardFacts{now: now}
	today := analytics.Day(now)
	tomorrow := today.AddDate(0, 0, 1)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		p, err := s.Store.AnalyticsPeriod(ctx, analytics.MonthStart(now), now)
		f.month = analytics.Compute(p)
		return err
	})
	g.Go(func() (err error) {
		f.days, err = s.Store.Revenue(ctx, today.AddDate(0, 0, -(revenueDays-1)), tomorrow, false)
		return err
	})
	g.Go(func() (err error) {
		f.months, err = s.Store.Revenue(ctx, analytics.MonthStart(now).AddDate(0, -(revenueMons-1), 0), tomorrow, true)
		return err
	})
	g.Go(func() (err error) {
		f.types, err = s.Store.RevenueByProductType(ctx, today.AddDate(0, 0, -(typeDays-1)), tomorrow)
		return err
	})
	g.Go(func() (err error) {
		f.plans, err = s.Store.PopularPlans(ctx, planCount)
		return err
	})
	g.Go(func() (err error) {
		f.overdue, err = s.Store.OverdueInvoices(ctx, time.Time{})
		return err
	})
	g.Go(func() (err error) {
		f.snapshots, err = s.Store.MetricSnapshots(ctx, "", today.AddDate(0, 0, -trendDays), today.AddDate(0, 0, -1))
		return err
	})
	g.Go(func() (err error) {
		f.moneyAlerts, err = s.moneyAlerts(ctx, 0)
		return err
	})
	g.Go(func() (err error) {
		if f.attentionCount, err = s.Store.CountServicesNeedingAttention(ctx); err != nil || f.attentionCount == 0 {
			return err
		}
		f.attention, err = s.Store.Services(ctx, store.ServiceFilter{Status: billing.ServiceNeedsAttention, Limit: attentionN})
		return err
	})
	return f, g.Wait()
}

// currencies lists every currency with figures: those with MRR first (largest first), then the
// rest alphabetically.
func (f dashboardFacts) currencies() []string {
	var out []string
	for _, c := range f.month.Currencies {
		out = append(out, c.Currency)
	}
	var rest []string
	add := func(c string) {
		if !slices.Contains(out, c) && !slices.Contains(rest, c) {
			rest = append(rest, c)
		}
	}
	for _, r := range f.months {
		add(r.Currency)
	}
	for _, o := range f.overdue {
		add(o.Currency)
	}
	for _, sn := range f.snapshots {
		add(sn.Currency)
	}
	slices.Sort(rest)
	out = append(out, rest...)
	if len(out) > maxCurrency {
		out = out[:maxCurrency]
	}
	return out
}

// dashboardAnalytics builds the metric cards and charts of one currency ("" or unknown: the one
// with the most MRR).
func dashboardAnalytics(f dashboardFacts, want string) web.DashboardAnalytics {
	currencies := f.currencies()
	cur := want
	if !slices.Contains(currencies, cur) {
		cur = "USD"
		if len(currencies) > 0 {
			cur = currencies[0]
		}
	}
	m, _ := f.month.Currency(cur)
	money := func(v int64) string { return billing.Money{Amount: v, Currency: cur}.String() }
	short := func(v int64) string { return shortMoney(v, cur) }
	monthName := analytics.MonthStart(f.now).Format("January 2006")

	var overdue analytics.Overdue
	for _, o := range f.overdue {
		if o.Currency == cur {
			overdue = o
		}
	}
	net := m.Movement.Net()
	netTone := ""
	if net > 0 {
		netTone = "good"
	} else if net < 0 {
		netTone = "bad"
	}
	perCurrencyCustomers := fmt.Sprintf("%d with %s subscriptions", m.ActiveCustomers, cur)
	v := web.DashboardAnalytics{
		Currency: cur, Currencies: currencies, AsOf: f.now, Month: monthName,
		Cards: []web.MetricCard{
			{ID: "mrr", Label: "MRR", Value: money(m.MRREnd), Sub: fmt.Sprintf("%s on %s 1", money(m.MRRStart), analytics.MonthStart(f.now).Format("Jan")),
				Definition: "Monthly recurring revenue: the recurring price of every active and past-due subscription, normalised to a month (quarterly ÷ 3, annual ÷ 12, …, rounded to the cent per subscription), before discounts and tax. Suspended, pending and one-time subscriptions do not count."},
			{ID: "arr", Label: "ARR", Value: money(m.ARR()), Sub: fmt.Sprintf("%d active subscriptions", m.ActiveSubscriptions),
				Definition: "Annual recurring revenue: 12 × MRR."},
			{ID: "active-customers", Label: "Active customers", Value: strconv.Itoa(f.month.CustomersEnd), Sub: perCurrencyCustomers,
				Definition: "Customers with at least one active or past-due recurring subscription, in any currency."},
			{ID: "net-mrr-movement", Label: "Net MRR movement", Value: signed(money, net), Tone: netTone, Sub: "this month",
				Definition: "New + expansion + reactivation − contraction − churned MRR this month; always the change in MRR since the 1st."},
			{ID: "customer-churn", Label: "Customer churn", Value: f.month.CustomerChurn().String(),
				Sub:        fmt.Sprintf("%d of %d customers", f.month.ChurnedCustomers, f.month.CustomersStart),
				Definition: "Customers active on the 1st of the month (UTC) who have no active subscription now, over the customers active on the 1st."},
			{ID: "revenue-churn", Label: "Revenue churn", Value: m.RevenueChurn().String(),
				Sub:        fmt.Sprintf("%s of %s", money(m.Movement.Churned+m.Movement.Contraction), money(m.MRRStart)),
				Definition: "MRR lost this month to cancellations, suspensions and downgrades (churned + contraction), over MRR on the 1st. Expansion does not offset it."},
			{ID: "overdue-invoices", Label: "Overdue invoices", Value: money(overdue.Amount), Tone: toneIf(overdue.Count > 0, "bad"),
				Sub: fmt.Sprintf("%d unpaid past due", overdue.Count), Link: "/admin/invoices?overdue=on",
				Definition: "Issued invoices still unpaid after their due date: the amount still due on them (total minus payments) and how many."},
			{ID: "services-attention", Label: "Services needing attention", Value: strconv.Itoa(f.attentionCount), Tone: toneIf(f.attentionCount > 0, "bad"),
				Sub: "failed builds waiting for staff", Link: "/admin/services?status=needs_attention",
				Definition: "Services whose provisioning or panel operation failed permanently and wait for a member of staff (retry, provision by hand or abandon)."},
		},
		Movement: []web.MetricCard{
			{ID: "movement-new", Label: "New", Value: money(m.Movement.New), Tone: toneIf(m.Movement.New > 0, "good"),
				Definition: "MRR of customers who had none in this currency on the 1st and never had any before."},
			{ID: "movement-expansion", Label: "Expansion", Value: money(m.Movement.Expansion), Tone: toneIf(m.Movement.Expansion > 0, "good"),
				Definition: "MRR added by customers who had some on the 1st and have more now (upgrades, more subscriptions)."},
			{ID: "movement-reactivation", Label: "Reactivation", Value: money(m.Movement.Reactivation), Tone: toneIf(m.Movement.Reactivation > 0, "good"),
				Definition: "MRR of customers who had none on the 1st but had some before (came back, or were unsuspended)."},
			{ID: "movement-contraction", Label: "Contraction", Value: money(m.Movement.Contraction), Tone: toneIf(m.Movement.Contraction > 0, "bad"),
				Definition: "MRR lost by customers who still have some (downgrades, one of several subscriptions ended)."},
			{ID: "movement-churned", Label: "Churned", Value: money(m.Movement.Churned), Tone: toneIf(m.Movement.Churned > 0, "bad"),
				Definition: "MRR of customers who had some on the 1st and have none now (cancelled, terminated or suspended)."},
		},
		AttentionCount: f.attentionCount,
		MoneyAlerts:    f.moneyAlerts,
	}
	for _, sv := range f.attention {
		v.Attention = append(v.Attention, web.AttentionRow{ID: sv.ID, Hostname: sv.Hostname, Product: sv.ProductName,
			Customer: sv.CustomerEmail, Reason: sv.Attention, UpdatedAt: sv.UpdatedAt})
	}

	var trend []chart.Point
	for _, sn := range f.snapshots {
		if sn.Currency == cur {
			trend = append(trend, chart.Point{Label: sn.Day.Format("Jan 2"), Value: sn.MRR,
				Tip: sn.Day.Format(time.DateOnly) + ": " + money(sn.MRR)})
			v.SnapshotDays++
		}
	}
	trend = append(trend, chart.Point{Label: "now", Value: m.MRREnd, Tip: "Now (live): " + money(m.MRREnd)})
	trendCaption := fmt.Sprintf("%d daily snapshots and today's live figure", v.SnapshotDays)
	if v.SnapshotDays == 0 {
		trendCaption = "today's live figure only: no snapshots yet (ezscale analytics backfill --from YYYY-MM-DD)"
	}

	var daily []chart.Point
	for _, p := range analytics.DailySeries(f.days, cur, f.now.AddDate(0, 0, -(revenueDays-1)), f.now) {
		daily = append(daily, chart.Point{Label: p.At.Format("Jan 2"), Value: p.Value, Tip: p.At.Format("Mon 2 Jan 2006") + ": " + money(p.Value)})
	}
	var monthly []chart.Point
	for _, p := range analytics.MonthlySeries(f.months, cur, analytics.MonthStart(f.now).AddDate(0, -(revenueMons-1), 0), f.now) {
		monthly = append(monthly, chart.Point{Label: p.At.Format("Jan 06"), Value: p.Value, Tip: p.At.Format("January 2006") + ": " + money(p.Value)})
	}
	var types []chart.Point
	for _, t := range f.types {
		if t.Currency == cur {
			types = append(types, chart.Point{Label: productTypeLabel(t.Type), Value: t.Amount, Tip: productTypeLabel(t.Type) + ": " + money(t.Amount)})
		}
	}
	var plans []chart.Point
	for _, p := range f.plans {
		plans = append(plans, chart.Point{Label: p.Name, Value: p.Count,
			Tip: fmt.Sprintf("%s (%s): %d active subscriptions", p.Name, productTypeLabel(p.Type), p.Count)})
	}
	count := func(v int64) string { return strconv.FormatInt(v, 10) }
	v.Charts = []web.DashboardChart{
		{ID: "chart-mrr-trend", Title: "MRR trend", Caption: trendCaption, Wide: true,
			SVG: chart.Line(chart.Chart{ID: "chart-mrr-trend", Title: "MRR by day in " + cur, Series: "MRR (" + cur + ")", Points: trend, Format: short, Width: 2 * chart.DefaultWidth})},
		{ID: "chart-revenue-day", Title: "Revenue by day", Caption: "last 30 days, payments − refunds",
			SVG: chart.Line(chart.Chart{ID: "chart-revenue-day", Title: "Net revenue by day in " + cur, Series: "Net revenue (" + cur + ")", Points: daily, Format: short, LabelEvery: 7})},
		{ID: "chart-revenue-month", Title: "Revenue by month", Caption: "last 24 months",
			SVG: chart.Bars(chart.Chart{ID: "chart-revenue-month", Title: "Net revenue by month in " + cur, Series: "Net revenue (" + cur + ")", Points: monthly, Format: short, LabelEvery: 6})},
		{ID: "chart-revenue-type", Title: "Revenue by service type", Caption: "last 30 days",
			SVG: chart.Bars(chart.Chart{ID: "chart-revenue-type", Title: "Net revenue by service type in " + cur, Series: "Net revenue (" + cur + ")", Points: types, Format: short, LabelEvery: 1})},
		{ID: "chart-popular-plans", Title: "Popular plans", Caption: "active subscriptions, all currencies",
			SVG: chart.HorizontalBars(chart.Chart{ID: "chart-popular-plans", Title: "Active subscriptions by product", Series: "Active subscriptions", Points: plans, Format: count})},
	}
	return v
}

func toneIf(ok bool, tone string) string {
	if ok {
		return tone
	}
	return ""
}

func signed(money func(int64) string, v int64) string {
	if v > 0 {
		return "+" + money(v)
	}
	if v < 0 {
		return "−" + money(-v)
	}
	return money(0)
}

// shortMoney is an axis label: whole major units with k and M, "12.3k", "450".
func shortMoney(minor int64, currency string) string {
	return billing.Money{Amount: minor, Currency: currency}.Short()
}

// productTypeLabel names a product type for people.
func productTypeLabel(t string) string {
	switch t {
	case "vps":
		return "VPS"
	case "dedicated":
		return "Dedicated"
	case "web_hosting":
		return "Web hosting"
	case "game_server":
		return "Game servers"
	case "other":
		return "Other"
	}
	return t
}
