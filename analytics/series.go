package analytics

import (
	"sort"
	"time"
)

// Day is the UTC calendar day holding t, as midnight UTC.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MonthStart is the first instant of the UTC month holding t.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// Revenue is money received and returned in one currency during one UTC day or month (Period is
// its first instant): payments on the day they were received, refunds on the day they were made.
type Revenue struct {
	Period   time.Time
	Currency string
	Payments int64
	Refunds  int64
}

// Net is payments minus refunds.
func (r Revenue) Net() int64 { return r.Payments - r.Refunds }

// Point is one value of a time series in one currency.
type Point struct {
	At    time.Time
	Value int64
}

// DailySeries is the net revenue of currency for every UTC day from the day of from to the day of
// to, both included, with zero for days without money movement.
func DailySeries(rows []Revenue, currency string, from, to time.Time) []Point {
	return series(rows, currency, Day(from), Day(to), func(t time.Time) time.Time { return t.AddDate(0, 0, 1) })
}

// MonthlySeries is DailySeries by UTC month.
func MonthlySeries(rows []Revenue, currency string, from, to time.Time) []Point {
	return series(rows, currency, MonthStart(from), MonthStart(to), func(t time.Time) time.Time { return t.AddDate(0, 1, 0) })
}

func series(rows []Revenue, currency string, from, to time.Time, next func(time.Time) time.Time) []Point {
	net := map[time.Time]int64{}
	for _, r := range rows {
		if r.Currency == currency {
			net[r.Period.UTC()] += r.Net()
		}
	}
	var out []Point
	for t := from; !t.After(to); t = next(t) {
		out = append(out, Point{At: t, Value: net[t]})
	}
	return out
}

// Overdue is the unpaid invoices past their due date in one currency: how many and the amount
// still due on them (total minus payments).
type Overdue struct {
	Currency string
	Count    int64
	Amount   int64
}

// TypeRevenue is net revenue from one product type ("vps", "dedicated", "web_hosting",
// "game_server", or "other" for invoices not tied to a subscription or service) in one currency.
type TypeRevenue struct {
	Type     string
	Currency string
	Amount   int64
}

// PlanCount is how many active (counting) subscriptions a product has, in all currencies.
type PlanCount struct {
	ProductID int64
	Name      string
	Type      string
	Count     int64
}

// Snapshot is one UTC day's metrics in one currency, as the daily schedule stores them: MRR and
// the active counts at the end of the day, the day's revenue and MRR movement, and the invoices
// overdue at the end of the day.
type Snapshot struct {
	Day                 time.Time
	Currency            string
	MRR                 int64
	ActiveSubscriptions int64
	ActiveCustomers     int
	Payments, Refunds   int64
	Movement            Movement
	OverdueCount        int64
	OverdueAmount       int64
}

// Snapshots combines a day's report (the period from the day's start to its end), its revenue and
// the invoices overdue at its end into one Snapshot per currency that has anything to show,
// sorted by currency.
func Snapshots(day time.Time, rep Report, revenue []Revenue, overdue []Overdue) []Snapshot {
	day = Day(day)
	by := map[string]*Snapshot{}
	get := func(code string) *Snapshot {
		s, ok := by[code]
		if !ok {
			s = &Snapshot{Day: day, Currency: code}
			by[code] = s
		}
		return s
	}
	for _, c := range rep.Currencies {
		if c.MRRStart == 0 && c.MRREnd == 0 && c.ActiveSubscriptions == 0 && c.Movement == (Movement{}) {
			continue
		}
		s := get(c.Currency)
		s.MRR, s.ActiveSubscriptions, s.ActiveCustomers, s.Movement = c.MRREnd, c.ActiveSubscriptions, c.ActiveCustomers, c.Movement
	}
	for _, r := range revenue {
		if !Day(r.Period).Equal(day) {
			continue
		}
		s := get(r.Currency)
		s.Payments += r.Payments
		s.Refunds += r.Refunds
	}
	for _, o := range overdue {
		s := get(o.Currency)
		s.OverdueCount, s.OverdueAmount = o.Count, o.Amount
	}
	out := make([]Snapshot, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}
