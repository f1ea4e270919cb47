package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The daily analytics snapshot (docs/analytics.md): the Temporal Schedule AnalyticsScheduleID
// starts WorkflowAnalyticsSnapshot every day at 00:10 UTC, which computes and stores the metrics
// of the UTC day that just ended through one activity.
const (
	// WorkflowAnalyticsSnapshot is the workflow type name the schedule starts.
	WorkflowAnalyticsSnapshot = "analytics-snapshot"
	// AnalyticsScheduleID is the schedule's id; created or updated at worker start.
	AnalyticsScheduleID = "analytics-daily"
	// AnalyticsSnapshotWorkflowID is the id of the workflows the schedule starts (Temporal appends
	// the scheduled time).
	AnalyticsSnapshotWorkflowID = "analytics-snapshot"
	// ActivityAnalyticsSnapshot computes and upserts one day's snapshot: AnalyticsSnapshotInput →
	// AnalyticsSnapshotResult. It lives in activities.Analytics and is safe to run twice.
	ActivityAnalyticsSnapshot = "AnalyticsSnapshot"
)

// AnalyticsSnapshotInput names the UTC day to snapshot as YYYY-MM-DD; empty means the day before
// the run was scheduled (the day that just ended when the schedule fires at 00:10 UTC).
type AnalyticsSnapshotInput struct {
	Day string
}

// AnalyticsSnapshotResult is what one snapshot stored.
type AnalyticsSnapshotResult struct {
	Day        string
	Currencies []string
}

// scheduledStartTimeKey is the search attribute the Temporal server sets on workflows a schedule
// starts: the time the run was due, which stays right when a run is late or caught up.
var scheduledStartTimeKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// AnalyticsSnapshot stores the analytics snapshot of one UTC day.
func AnalyticsSnapshot(ctx workflow.Context, in AnalyticsSnapshotInput) (AnalyticsSnapshotResult, error) {
	if in.Day == "" {
		in.Day = previousDay(ctx)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, // a day of a large book is a few aggregate queries
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 10,
		},
	})
	var out AnalyticsSnapshotResult
	err := workflow.ExecuteActivity(ctx, ActivityAnalyticsSnapshot, in).Get(ctx, &out)
	return out, err
}

// previousDay is the UTC day before the run's scheduled time (its start time when it was not
// started by a schedule).
func previousDay(ctx workflow.Context) string {
	at := workflow.Now(ctx)
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTimeKey); ok && !t.IsZero() {
		at = t
	}
	return at.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
}
