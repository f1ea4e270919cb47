package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

const analyticsUsage = `Usage:
  ezscale analytics backfill --from YYYY-MM-DD [--to YYYY-MM-DD]
      compute and store the daily metric snapshots of every UTC day from --from to --to
      (default: yesterday), replacing stored ones; no Temporal needed
`

// runAnalytics dispatches "ezscale analytics ...".
func runAnalytics(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "backfill" {
		fmt.Fprint(stderr, analyticsUsage)
		return usageError("analytics: want the backfill subcommand")
	}
	fs := flag.NewFlagSet("analytics backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromFlag := fs.String("from", "", "first UTC day to compute (YYYY-MM-DD)")
	toFlag := fs.String("to", "", "last UTC day to compute (YYYY-MM-DD); default yesterday")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("analytics backfill: " + err.Error())
	}
	from, err := time.Parse(time.DateOnly, *fromFlag)
	if err != nil {
		return usageError(fmt.Sprintf("analytics backfill: --from %q: want a date such as 2025-01-01", *fromFlag))
	}
	to := analytics.Day(time.Now()).AddDate(0, 0, -1)
	if *toFlag != "" {
		if to, err = time.Parse(time.DateOnly, *toFlag); err != nil {
			return usageError(fmt.Sprintf("analytics backfill: --to %q: want a date such as 2025-12-31", *toFlag))
		}
	}
	if to.Before(from) {
		return usageError(fmt.Sprintf("analytics backfill: --to %s is before --from %s", to.Format(time.DateOnly), from.Format(time.DateOnly)))
	}
	if today := analytics.Day(time.Now()); to.After(today) {
		return usageError(fmt.Sprintf("analytics backfill: --to %s is in the future", to.Format(time.DateOnly)))
	}

	s, _, err := openCommandStore(ctx, getenv, stderr, "info", false)
	if err != nil {
		return err
	}
	defer s.Close()
	return backfill(ctx, &activities.Analytics{Store: s}, from, to, stdout)
}

// backfill stores the snapshot of every day from `from` to `to` through the same activity the
// daily schedule runs, printing one progress line per day.
func backfill(ctx context.Context, a *activities.Analytics, from, to time.Time, out io.Writer) error {
	total := int(to.Sub(from).Hours()/24) + 1
	started := time.Now()
	for i, day := 0, from; !day.After(to); i, day = i+1, day.AddDate(0, 0, 1) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("backfill stopped before %s: %w", day.Format(time.DateOnly), err)
		}
		res, err := a.Snapshot(ctx, workflows.AnalyticsSnapshotInput{Day: day.Format(time.DateOnly)})
		if err != nil {
			return fmt.Errorf("backfill %s: %w", day.Format(time.DateOnly), err)
		}
		currencies := strings.Join(res.Currencies, " ")
		if currencies == "" {
			currencies = "(no activity)"
		}
		fmt.Fprintf(out, "[%*d/%d] %s %s\n", len(fmt.Sprint(total)), i+1, total, res.Day, currencies)
	}
	fmt.Fprintf(out, "stored the snapshots of %d day(s) in %s\n", total, time.Since(started).Round(time.Millisecond))
	return nil
}

// analyticsSchedule is the daily snapshot schedule: 00:10 UTC, when the previous day is complete.
// Runs missed while the cluster was down are caught up for a week; a run still going when the
// next is due makes that one skip (the default overlap policy).
func analyticsSchedule(taskQueue string) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 10}},
			Comment: "daily analytics snapshot of the UTC day that just ended",
		}},
		TimeZoneName: "UTC",
	}
	action := &client.ScheduleWorkflowAction{
		ID: workflows.AnalyticsSnapshotWorkflowID, Workflow: workflows.WorkflowAnalyticsSnapshot,
		Args: []any{workflows.AnalyticsSnapshotInput{}}, TaskQueue: taskQueue,
		WorkflowExecutionTimeout: 6 * time.Hour,
	}
	return spec, action
}

// ensureAnalyticsSchedule creates the daily snapshot schedule, or brings an existing one up to
// date (another worker may have created it first: "already exists" is expected).
// See docs/temporal.md, "Schedules".
func ensureAnalyticsSchedule(ctx context.Context, tc client.Client, taskQueue string) error {
	spec, action := analyticsSchedule(taskQueue)
	_, err := tc.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: workflows.AnalyticsScheduleID, Spec: spec, Action: action, CatchupWindow: 7 * 24 * time.Hour,
		Note: "created by the ezscale worker",
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", workflows.AnalyticsScheduleID, err)
	}
	h := tc.ScheduleClient().GetHandle(ctx, workflows.AnalyticsScheduleID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sch := in.Description.Schedule
		sch.Spec, sch.Action = &spec, action
		if sch.Policy == nil {
			sch.Policy = &client.SchedulePolicies{}
		}
		sch.Policy.CatchupWindow = 7 * 24 * time.Hour
		return &client.ScheduleUpdate{Schedule: &sch}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", workflows.AnalyticsScheduleID, err)
	}
	return nil
}

// backfillDemo stores the daily snapshots of the demo business's two years of history, so the
// dashboard's trends have shape from the start.
func backfillDemo(ctx context.Context, s *store.Store, out io.Writer) error {
	if err := s.Analyze(ctx); err != nil { // fresh statistics after the bulk load
		return err
	}
	to := analytics.Day(time.Now()).AddDate(0, 0, -1)
	from := to.AddDate(-2, 0, 0)
	started := time.Now()
	if err := backfill(ctx, &activities.Analytics{Store: s}, from, to, io.Discard); err != nil {
		return err
	}
	fmt.Fprintf(out, "analytics snapshots stored for %s to %s in %s\n", from.Format(time.DateOnly), to.Format(time.DateOnly),
		time.Since(started).Round(100*time.Millisecond))
	return nil
}
