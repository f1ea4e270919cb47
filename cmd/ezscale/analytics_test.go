package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/analytics/analyticstest"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// TestAnalyticsBackfillStoresOneRowPerDayAndCurrencyWhenRunTwice backfills three days of the
// analytics book (all of it happened today) twice: the second run replaces the first, so there
// is still one row per day and currency, with the book's figures.
func TestAnalyticsBackfillStoresOneRowPerDayAndCurrencyWhenRunTwice(t *testing.T) {
	s, dsn := storetest.NewWithURL(t)
	analyticstest.New(t, s)
	ctx := context.Background()
	today := analytics.Day(time.Now())
	from := today.AddDate(0, 0, -2)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
	args := []string{"analytics", "backfill", "--from", from.Format(time.DateOnly), "--to", today.Format(time.DateOnly)}
	for attempt := 1; attempt <= 2; attempt++ {
		var out, errs bytes.Buffer
		if err := run(ctx, args, getenv, &out, &errs); err != nil {
			t.Fatalf("backfill run %d: %v\n%s", attempt, err, errs.String())
		}
		for _, want := range []string{"[1/3] " + from.Format(time.DateOnly) + " (no activity)", "[3/3] " + today.Format(time.DateOnly) + " EUR USD", "stored the snapshots of 3 day(s)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d progress lacks %q:\n%s", attempt, want, out.String())
			}
		}
	}
	snaps, err := s.MetricSnapshots(ctx, "", from, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[0].Currency != "EUR" || snaps[1].Currency != "USD" {
		t.Fatalf("snapshots after two backfills = %+v, want one EUR and one USD row for today", snaps)
	}
	u := snaps[1]
	// Today, from its start: everything in the book is new today (C came and went: 0 → 0).
	if u.MRR != analyticstest.USDMRREnd || u.Movement != (analytics.Movement{New: 4833}) || u.Payments != 39000 || u.Refunds != 2500 ||
		u.OverdueCount != 2 || u.OverdueAmount != 6000 || u.ActiveSubscriptions != 3 || u.ActiveCustomers != 3 {
		t.Errorf("USD snapshot of today = %+v, want MRR 4833 all new, 39000 paid, 2500 refunded, 2 overdue for 6000, 3 subscriptions of 3 customers", u)
	}
	if e := snaps[0]; e.MRR != 1400 || e.Movement.New != 1400 || e.Payments != 1400 {
		t.Errorf("EUR snapshot of today = %+v, want MRR 1400, all new, 1400 paid", e)
	}

	var out, errs bytes.Buffer
	if err := run(ctx, []string{"analytics", "backfill", "--from", "2026-13-01"}, getenv, &out, &errs); err == nil {
		t.Error("a backfill from month 13 ran, want a usage error")
	}
}

// TestAnalyticsScheduleIsCreatedOnceAndUpdatedAfter ensures the schedule twice against a dev
// server: the second call finds it and updates it instead of failing.
func TestAnalyticsScheduleIsCreatedOnceAndUpdatedAfter(t *testing.T) {
	tc := testenv.Temporal(t)
	ctx := context.Background()
	for i := range 2 {
		if err := ensureAnalyticsSchedule(ctx, tc, "ezscale-test"); err != nil {
			t.Fatalf("ensure schedule, call %d: %v", i+1, err)
		}
	}
	d, err := tc.ScheduleClient().GetHandle(ctx, workflows.AnalyticsScheduleID).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := d.Info.NextActionTimes
	if len(next) == 0 {
		t.Fatal("the schedule has no next action")
	}
	if at := next[0].UTC(); at.Hour() != 0 || at.Minute() != 10 {
		t.Errorf("next run at %s, want 00:10 UTC", at)
	}
	if d.Schedule.Policy.CatchupWindow != 7*24*time.Hour {
		t.Errorf("catch-up window %s, want a week", d.Schedule.Policy.CatchupWindow)
	}
}
