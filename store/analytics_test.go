package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/analytics/analyticstest"
	"github.com/ezscale/billing/store/storetest"
)

func TestAnalyticsPeriodReconstructsTheBookFromSubscriptionHistory(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	book := analyticstest.New(t, s)

	p, err := s.AnalyticsPeriod(ctx, book.Start, book.End)
	if err != nil {
		t.Fatal(err)
	}
	rep := analytics.Compute(p)
	u, _ := rep.Currency("USD")
	if u.MRRStart != analyticstest.USDMRRStart || u.MRREnd != analyticstest.USDMRREnd {
		t.Errorf("USD MRR %d → %d, want 5000 → 4833", u.MRRStart, u.MRREnd)
	}
	if want := (analytics.Movement{New: 833, Expansion: 1500, Contraction: 500, Churned: 2000}); u.Movement != want {
		t.Errorf("USD movement = %+v, want %+v", u.Movement, want)
	}
	if u.RevenueChurn().String() != "50.00%" || u.ARR() != 57996 || u.ActiveSubscriptions != 3 {
		t.Errorf("USD revenue churn %s ARR %d active subscriptions %d; want 50.00%%, 57996, 3", u.RevenueChurn(), u.ARR(), u.ActiveSubscriptions)
	}
	e, _ := rep.Currency("EUR")
	if e.MRRStart != 900 || e.MRREnd != 1400 || e.Movement != (analytics.Movement{New: 500}) || e.ActiveCustomers != 2 {
		t.Errorf("EUR = %d → %d %+v customers %d; want 900 → 1400, new 500, 2 customers", e.MRRStart, e.MRREnd, e.Movement, e.ActiveCustomers)
	}
	if rep.CustomersStart != 4 || rep.CustomersEnd != 5 || rep.ChurnedCustomers != 1 || rep.CustomerChurn().String() != "25.00%" {
		t.Errorf("customers %d → %d churned %d (%s); want 4 → 5, 1 churned, 25.00%%", rep.CustomersStart, rep.CustomersEnd, rep.ChurnedCustomers, rep.CustomerChurn())
	}

	// A point in time: the period from Start to Start is the book at Start, nothing moved.
	p, err = s.AnalyticsPeriod(ctx, book.Start, book.Start)
	if err != nil {
		t.Fatal(err)
	}
	at := analytics.Compute(p)
	if u, _ := at.Currency("USD"); u.MRREnd != 5000 || u.Movement != (analytics.Movement{}) {
		t.Errorf("USD at Start = %d %+v, want 5000 and no movement", u.MRREnd, u.Movement)
	}

	// From End on nothing changes: every customer is in the unchanged aggregate.
	p, err = s.AnalyticsPeriod(ctx, book.End, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changed) != 0 || p.Unchanged.Customers != 5 {
		t.Errorf("after End: %d changed subscriptions, %d unchanged customers; want 0 and 5", len(p.Changed), p.Unchanged.Customers)
	}
	if u, _ := analytics.Compute(p).Currency("USD"); u.MRREnd != 4833 {
		t.Errorf("USD MRR from the aggregate = %d, want 4833 (same as reconstructed)", u.MRREnd)
	}
}

func TestAnalyticsReadsRevenueOverdueAndPlans(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	book := analyticstest.New(t, s)
	today := analytics.Day(time.Now())

	days, err := s.Revenue(ctx, today, today.AddDate(0, 0, 1), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := analytics.DailySeries(days, "USD", today, today); got[0].Value != 36500 {
		t.Errorf("USD revenue today = %d, want 39000 paid - 2500 refunded = 36500 (%+v)", got[0].Value, days)
	}
	if got := analytics.DailySeries(days, "EUR", today, today); got[0].Value != 1400 {
		t.Errorf("EUR revenue today = %d, want 1400", got[0].Value)
	}
	months, err := s.Revenue(ctx, analytics.MonthStart(today), today.AddDate(0, 0, 1), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(months) != 2 || !months[0].Period.Equal(analytics.MonthStart(today)) {
		t.Errorf("revenue by month = %+v, want one row per currency for this month", months)
	}
	if none, _ := s.Revenue(ctx, today.AddDate(0, 0, -10), today, false); len(none) != 0 {
		t.Errorf("revenue before today = %+v, want none", none)
	}

	types, err := s.RevenueByProductType(ctx, today, today.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"USD/vps": 27000, "USD/game_server": 9500, "EUR/vps": 1400}
	if len(types) != len(want) {
		t.Errorf("revenue by type = %+v, want %v", types, want)
	}
	for _, r := range types {
		if want[r.Currency+"/"+r.Type] != r.Amount {
			t.Errorf("revenue %s %s = %d, want %d", r.Currency, r.Type, r.Amount, want[r.Currency+"/"+r.Type])
		}
	}

	overdue, err := s.OverdueInvoices(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(overdue) != 1 || overdue[0] != (analytics.Overdue{Currency: "USD", Count: 2, Amount: 6000}) {
		t.Errorf("overdue now = %+v, want USD 2 invoices 6000 due (G 3000 unpaid, H 5000 - 2000 paid)", overdue)
	}
	if again, _ := s.OverdueInvoices(ctx, time.Now()); len(again) != 1 || again[0] != overdue[0] {
		t.Errorf("overdue reconstructed for now = %+v, want the same as from the status: %+v", again, overdue)
	}
	// Reconstructed for a past instant: 2.5 days ago only G (due 3 days ago) was overdue, and
	// none of the payments had been made.
	past, err := s.OverdueInvoices(ctx, time.Now().Add(-60*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(past) != 0 {
		t.Errorf("overdue 2.5 days ago = %+v, want none: the invoices were issued today", past)
	}

	plans, err := s.PopularPlans(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 3 || plans[0].Name != "Analytics VPS A" || plans[0].Count != 3 || plans[1].Count != 1 || plans[2].Count != 1 {
		t.Errorf("popular plans = %+v, want VPS A 3 (B, D, F), then VPS B and Game A with 1", plans)
	}
	_ = book
}

func TestSavingASnapshotTwiceKeepsOneRowPerDayAndCurrency(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	first := []analytics.Snapshot{{Day: day, Currency: "EUR", MRR: 1}, {Day: day, Currency: "USD", MRR: 2, Movement: analytics.Movement{New: 2}}}
	if err := s.SaveMetricSnapshots(ctx, day, first); err != nil {
		t.Fatal(err)
	}
	second := []analytics.Snapshot{{Day: day, Currency: "USD", MRR: 3, OverdueCount: 1, OverdueAmount: 700}}
	if err := s.SaveMetricSnapshots(ctx, day, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.MetricSnapshots(ctx, "", day, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Currency != "USD" || got[0].MRR != 3 || got[0].Movement.New != 0 || got[0].OverdueAmount != 700 || !got[0].Day.Equal(day) {
		t.Fatalf("snapshots after recomputing the day = %+v, want only USD with MRR 3", got)
	}
	if err := s.SaveMetricSnapshots(ctx, day, []analytics.Snapshot{{Day: day.AddDate(0, 0, 1), Currency: "USD"}}); err == nil {
		t.Fatal("saving another day's snapshot under this day succeeded, want an error")
	}
}
