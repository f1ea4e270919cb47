package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// Analytics computes and stores the daily metric snapshots (docs/analytics.md). The backfill
// command calls Snapshot directly, so a day computed by the schedule and by a backfill is the
// same code.
type Analytics struct {
	Store *store.Store
	// Now is the clock; nil means time.Now. A day that has not ended is computed up to now.
	Now func() time.Time
}

// Snapshot computes one UTC day's metrics per currency and replaces that day's stored snapshot.
// Running it twice for a day stores the same rows once.
func (a *Analytics) Snapshot(ctx context.Context, in workflows.AnalyticsSnapshotInput) (workflows.AnalyticsSnapshotResult, error) {
	day, err := time.Parse(time.DateOnly, in.Day)
	if err != nil {
		return workflows.AnalyticsSnapshotResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("analytics snapshot: day %q is not YYYY-MM-DD", in.Day), "InvalidDay", err)
	}
	snaps, err := a.Day(ctx, day)
	if err != nil {
		return workflows.AnalyticsSnapshotResult{}, err
	}
	if err := a.Store.SaveMetricSnapshots(ctx, day, snaps); err != nil {
		return workflows.AnalyticsSnapshotResult{}, err
	}
	out := workflows.AnalyticsSnapshotResult{Day: in.Day, Currencies: []string{}}
	for _, s := range snaps {
		out.Currencies = append(out.Currencies, s.Currency)
	}
	return out, nil
}

// Day computes the snapshots of one UTC day without storing them: MRR and active counts at the
// end of the day, the day's revenue and MRR movement, and the invoices overdue at its end. A day
// that has not ended yet is computed up to now.
func (a *Analytics) Day(ctx context.Context, day time.Time) ([]analytics.Snapshot, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	from := analytics.Day(day)
	end := from.AddDate(0, 0, 1)
	if n := now().UTC(); n.Before(end) {
		end = n
	}
	if end.Before(from) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("analytics snapshot: %s has not started", from.Format(time.DateOnly)), "FutureDay", nil)
	}
	period, err := a.Store.AnalyticsPeriod(ctx, from, end)
	if err != nil {
		return nil, err
	}
	revenue, err := a.Store.Revenue(ctx, from, end, false)
	if err != nil {
		return nil, err
	}
	overdue, err := a.Store.OverdueInvoices(ctx, end)
	if err != nil {
		return nil, err
	}
	return analytics.Snapshots(from, analytics.Compute(period), revenue, overdue), nil
}
