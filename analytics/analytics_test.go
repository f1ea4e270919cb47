package analytics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
)

func usd(a int64) billing.Money { return billing.Money{Amount: a, Currency: "USD"} }
func eur(a int64) billing.Money { return billing.Money{Amount: a, Currency: "EUR"} }

// sub is a subscription state for the fixtures; cycle and status as stored.
func sub(id, customer int64, status billing.SubscriptionStatus, cycle billing.Cycle, price billing.Money) State {
	return State{SubscriptionID: id, CustomerID: customer, ProductID: 1, Status: status, Cycle: cycle, Price: price}
}

func TestStateMRRNormalisesCyclesWithBillingRounding(t *testing.T) {
	for _, c := range []struct {
		name  string
		state State
		want  int64
	}{
		{"monthly as is", sub(1, 1, "active", billing.Monthly, usd(1250)), 1250},
		{"quarterly / 3: 30.00 → 10.00", sub(1, 1, "active", billing.Quarterly, usd(3000)), 1000},
		{"semiannual / 6: 100.00 → 16.666… → 16.67", sub(1, 1, "active", billing.SemiAnnual, usd(10000)), 1667},
		{"annual / 12: 100.00 → 8.333… → 8.33", sub(1, 1, "active", billing.Annual, usd(10000)), 833},
		{"biennial / 24: 99.99 → 4.16625 → 4.17", sub(1, 1, "active", billing.Biennial, usd(9999)), 417},
		{"triennial / 36: 360.18 → 10.005 → 10.01 (half away from zero)", sub(1, 1, "active", billing.Triennial, usd(36018)), 1001},
		{"past_due still counts", sub(1, 1, "past_due", billing.Monthly, usd(500)), 500},
		{"suspended does not count", sub(1, 1, "suspended", billing.Monthly, usd(500)), 0},
		{"pending does not count", sub(1, 1, "pending", billing.Monthly, usd(500)), 0},
		{"cancelled does not count", sub(1, 1, "cancelled", billing.Monthly, usd(500)), 0},
		{"one-time is not recurring", sub(1, 1, "active", billing.OneTime, usd(5000)), 0},
	} {
		if got := c.state.MRR(); got != c.want {
			t.Errorf("%s: MRR = %d, want %d", c.name, got, c.want)
		}
	}
}

// march is the month of the worked example: 2026-03-01 to 2026-04-01, UTC.
//
// USD, customer by customer (MRR at the start → at the end, in cents):
//
//	U1  monthly 10.00, unchanged                                 1000 → 1000
//	U2  biennial 99.99 (99.99/24 = 4.16625 → 4.17), unchanged      417 →  417
//	C2  upgrade: monthly 10.00 → 25.00                           1000 → 2500   expansion   +1500
//	C3  downgrade: quarterly 60.00 (20.00/mo) → monthly 15.00    2000 → 1500   contraction  -500
//	C4  new annual 100.00 (100/12 = 8.333 → 8.33)                   0 →  833   new          +833
//	C5  cancel-at-period-end, period ended in March: cancelled   2000 →    0   churned     -2000
//	C6  cancel-at-period-end requested, period ends in April     1500 → 1500   (still counts)
//	C8  left in February, back in March: monthly 12.00              0 → 1200   reactivation +1200
//	C9  suspended for non-payment (suspended does not count)     3000 →    0   churned     -3000
//	C11 two subscriptions 10.00 + 5.00, the 5.00 one cancelled   1500 → 1000   contraction  -500
//	C13 bought a one-time item (not recurring): no MRR              0 →    0
//
//	start = 1000+417+1000+2000+2000+1500+3000+1500             = 12417
//	end   = 1000+417+2500+1500+833+1500+1200+1000              =  9950
//	new 833, expansion 1500, reactivation 1200, contraction 1000, churned 5000
//	net = 833+1500+1200-1000-5000 = -2467 = 9950-12417
//	revenue churn = (5000+1000)/12417 = 48.32% (48.3209…)
//
// EUR, kept apart: U3 semiannual 120.00 (20.00/mo) unchanged; C7 new monthly 9.00.
//
//	start 2000, end 2900, new 900; revenue churn 0/2000 = 0.00%
//
// Customers (any currency): unchanged U1, U2, U3 = 3; active at the start C2 C3 C5 C6 C9 C11 = 6,
// so 9 at the start; at the end C2 C3 C4 C6 C7 C8 C11 = 7, so 10; churned C5 and C9:
// customer churn = 2/9 = 22.22%.
func march() Period {
	m, q, a := billing.Monthly, billing.Quarterly, billing.Annual
	none := State{}
	return Period{
		Unchanged: Aggregate{
			PricePoints: []PricePoint{
				{Currency: "USD", Cycle: m, Price: 1000, Count: 1},
				{Currency: "USD", Cycle: billing.Biennial, Price: 9999, Count: 1},
				{Currency: "EUR", Cycle: billing.SemiAnnual, Price: 12000, Count: 1},
			},
			Customers:           3,
			CustomersByCurrency: map[string]int{"USD": 2, "EUR": 1},
		},
		Changed: []Change{
			{sub(2, 2, "active", m, usd(1000)), sub(2, 2, "active", m, usd(2500))},
			{sub(3, 3, "active", q, usd(6000)), sub(3, 3, "active", m, usd(1500))},
			{none, sub(4, 4, "active", a, usd(10000))},
			{sub(5, 5, "active", m, usd(2000)), sub(5, 5, "cancelled", m, usd(2000))},
			{sub(6, 6, "active", m, usd(1500)), sub(6, 6, "active", m, usd(1500))},
			{none, sub(7, 7, "active", m, eur(900))},
			{sub(8, 8, "cancelled", m, usd(1200)), sub(8, 8, "cancelled", m, usd(1200))},
			{none, sub(18, 8, "active", m, usd(1200))},
			{sub(9, 9, "active", m, usd(3000)), sub(9, 9, "suspended", m, usd(3000))},
			{sub(11, 11, "active", m, usd(1000)), sub(11, 11, "active", m, usd(1000))},
			{sub(12, 11, "active", m, usd(500)), sub(12, 11, "cancelled", m, usd(500))},
			{none, sub(13, 13, "active", billing.OneTime, usd(4900))},
		},
		HadMRRBefore: map[CustomerCurrency]bool{{8, "USD"}: true, {5, "USD"}: true, {2, "USD"}: true},
	}
}

func TestComputeClassifiesMarchMovementPerCustomerAndCurrency(t *testing.T) {
	rep := Compute(march())

	u, ok := rep.Currency("USD")
	if !ok {
		t.Fatal("no USD figures")
	}
	if u.MRRStart != 12417 || u.MRREnd != 9950 {
		t.Errorf("USD MRR %d → %d, want 12417 → 9950", u.MRRStart, u.MRREnd)
	}
	want := Movement{New: 833, Expansion: 1500, Contraction: 1000, Churned: 5000, Reactivation: 1200}
	if u.Movement != want {
		t.Errorf("USD movement = %+v, want %+v", u.Movement, want)
	}
	if u.Movement.Net() != u.MRREnd-u.MRRStart || u.Movement.Net() != -2467 {
		t.Errorf("USD net movement %d, want -2467 = end - start", u.Movement.Net())
	}
	if u.ARR() != 119400 {
		t.Errorf("USD ARR = %d, want 12 × 9950 = 119400", u.ARR())
	}
	if got := u.RevenueChurn().String(); got != "48.32%" {
		t.Errorf("USD revenue churn = %s, want (5000+1000)/12417 = 48.32%%", got)
	}
	// USD active at the end: U1 U2 C2 C3 C4 C6 C8 C11 (one of two) = 8 subscriptions, 8 customers.
	if u.ActiveSubscriptions != 8 || u.ActiveCustomers != 8 {
		t.Errorf("USD active subscriptions %d customers %d, want 8 and 8", u.ActiveSubscriptions, u.ActiveCustomers)
	}

	e, _ := rep.Currency("EUR")
	if e.MRRStart != 2000 || e.MRREnd != 2900 || e.Movement != (Movement{New: 900}) {
		t.Errorf("EUR = %d → %d %+v, want 2000 → 2900 with new 900 only (never mixed with USD)", e.MRRStart, e.MRREnd, e.Movement)
	}
	if e.RevenueChurn().String() != "0.00%" || e.ActiveCustomers != 2 {
		t.Errorf("EUR revenue churn %s customers %d, want 0.00%% and 2", e.RevenueChurn(), e.ActiveCustomers)
	}

	if rep.CustomersStart != 9 || rep.CustomersEnd != 10 || rep.ChurnedCustomers != 2 {
		t.Errorf("customers %d → %d, churned %d; want 9 → 10, churned 2 (C5, C9)", rep.CustomersStart, rep.CustomersEnd, rep.ChurnedCustomers)
	}
	if got := rep.CustomerChurn().String(); got != "22.22%" {
		t.Errorf("customer churn = %s, want 2/9 = 22.22%%", got)
	}
	if rep.Currencies[0].Currency != "USD" {
		t.Errorf("currencies sorted %v, want the largest MRR (USD) first", rep.Currencies)
	}
}

func TestReactivationNeedsEarlierRevenueInTheSameCurrency(t *testing.T) {
	// Customer 1 had USD revenue before; coming back in EUR is new EUR revenue, not reactivation.
	p := Period{
		Changed:      []Change{{State{}, sub(1, 1, "active", billing.Monthly, eur(700))}},
		HadMRRBefore: map[CustomerCurrency]bool{{1, "USD"}: true},
	}
	e, _ := Compute(p).Currency("EUR")
	if e.Movement != (Movement{New: 700}) {
		t.Fatalf("EUR movement %+v, want new 700", e.Movement)
	}
}

func TestUpgradeAndCancelInOnePeriodIsChurnOfTheStartingMRR(t *testing.T) {
	// Monthly 10.00 upgraded to 30.00 and then cancelled in the same month: the month compares
	// its ends only, so it is churn of the 10.00 the month started with (no expansion).
	p := Period{Changed: []Change{{sub(1, 1, "active", billing.Monthly, usd(1000)), sub(1, 1, "cancelled", billing.Monthly, usd(3000))}}}
	u, _ := Compute(p).Currency("USD")
	if u.Movement != (Movement{Churned: 1000}) {
		t.Fatalf("movement %+v, want churned 1000", u.Movement)
	}
}

func TestNetMovementAlwaysEqualsMRRChange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	statuses := []billing.SubscriptionStatus{"", "pending", "active", "past_due", "suspended", "cancelled", "terminated"}
	cycles := []billing.Cycle{billing.Monthly, billing.Quarterly, billing.Annual, billing.Triennial, billing.OneTime}
	random := func(id, customer int64) State {
		st := statuses[r.IntN(len(statuses))]
		if st == "" {
			return State{}
		}
		cur := "USD"
		if r.IntN(3) == 0 {
			cur = "EUR"
		}
		return sub(id, customer, st, cycles[r.IntN(len(cycles))], billing.Money{Amount: r.Int64N(100000), Currency: cur})
	}
	for round := range 200 {
		var p Period
		p.HadMRRBefore = map[CustomerCurrency]bool{}
		for i := range r.IntN(30) {
			customer := int64(r.IntN(8))
			a, b := random(int64(i), customer), random(int64(i), customer)
			if a.Status != "" && b.Status != "" {
				b.Price.Currency = a.Price.Currency // a subscription keeps its currency
			}
			p.Changed = append(p.Changed, Change{a, b})
			p.HadMRRBefore[CustomerCurrency{customer, "USD"}] = r.IntN(2) == 0
		}
		for _, c := range Compute(p).Currencies {
			if c.Movement.Net() != c.MRREnd-c.MRRStart {
				t.Fatalf("round %d %s: net movement %d (%+v) != end %d - start %d", round, c.Currency, c.Movement.Net(), c.Movement, c.MRREnd, c.MRRStart)
			}
		}
	}
}

func TestRateRoundsHalfAwayFromZeroAndShowsADashWithoutABase(t *testing.T) {
	for _, c := range []struct {
		r    Rate
		want string
	}{
		{Rate{1, 3}, "33.33%"},
		{Rate{2, 3}, "66.67%"},
		{Rate{1, 8}, "12.50%"},
		{Rate{1, 80000}, "0.00%"}, // 0.125 bp rounds down
		{Rate{1, 20000}, "0.01%"}, // 0.5 bp rounds away from zero
		{Rate{-1, 20000}, "-0.01%"},
		{Rate{0, 0}, "—"},
		{Rate{5, 0}, "—"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%d/%d = %s, want %s", c.r.Num, c.r.Den, got, c.want)
		}
	}
}

func TestDailySeriesFillsGapsAndNetsRefundsOnTheirOwnDay(t *testing.T) {
	d := func(day int) time.Time { return time.Date(2026, 3, day, 0, 0, 0, 0, time.UTC) }
	rows := []Revenue{
		{Period: d(1), Currency: "USD", Payments: 5000},
		{Period: d(3), Currency: "USD", Payments: 2000, Refunds: 1500}, // a refund of 15.00 of the 1st's payment, made on the 3rd
		{Period: d(2), Currency: "EUR", Payments: 9999},                // another currency: not in the USD series
	}
	got := DailySeries(rows, "USD", d(1).Add(13*time.Hour), d(4))
	want := []int64{5000, 0, 500, 0}
	if len(got) != len(want) {
		t.Fatalf("got %d days, want %d: %v", len(got), len(want), got)
	}
	for i, p := range got {
		if !p.At.Equal(d(i+1)) || p.Value != want[i] {
			t.Errorf("day %d = %s %d, want %s %d", i, p.At, p.Value, d(i+1), want[i])
		}
	}
	months := MonthlySeries([]Revenue{{Period: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Currency: "USD", Payments: 100}},
		"USD", time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC))
	if len(months) != 3 || months[1].Value != 100 || months[0].Value != 0 || months[2].Value != 0 {
		t.Fatalf("months = %v, want Dec 0, Jan 100, Feb 0", months)
	}
}

func TestSnapshotsKeepOneRowPerCurrency(t *testing.T) {
	day := time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC)
	rep := Compute(march())
	revenue := []Revenue{
		{Period: Day(day), Currency: "USD", Payments: 5000, Refunds: 2000},
		{Period: Day(day).AddDate(0, 0, -1), Currency: "USD", Payments: 777}, // another day: ignored
		{Period: Day(day), Currency: "GBP", Payments: 100},
	}
	snaps := Snapshots(day, rep, revenue, []Overdue{{Currency: "EUR", Count: 2, Amount: 1800}})
	if len(snaps) != 3 || snaps[0].Currency != "EUR" || snaps[1].Currency != "GBP" || snaps[2].Currency != "USD" {
		t.Fatalf("snapshots = %+v, want EUR, GBP, USD", snaps)
	}
	u := snaps[2]
	if !u.Day.Equal(Day(day)) || u.MRR != 9950 || u.Payments != 5000 || u.Refunds != 2000 || u.Movement.Churned != 5000 {
		t.Errorf("USD snapshot = %+v, want MRR 9950, payments 5000, refunds 2000, churned 5000", u)
	}
	if snaps[0].OverdueCount != 2 || snaps[0].OverdueAmount != 1800 || snaps[0].MRR != 2900 {
		t.Errorf("EUR snapshot = %+v, want MRR 2900 and 2 overdue for 1800", snaps[0])
	}
}
