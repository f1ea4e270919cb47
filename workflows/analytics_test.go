package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// runSnapshot runs AnalyticsSnapshot with a recording fake activity and returns the days the
// activity was asked for.
func runSnapshot(t *testing.T, startAt time.Time, scheduled time.Time, in AnalyticsSnapshotInput) []string {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(startAt)
	if !scheduled.IsZero() {
		env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartTimeKey.ValueSet(scheduled)))
	}
	var days []string
	env.RegisterActivityWithOptions(func(_ context.Context, in AnalyticsSnapshotInput) (AnalyticsSnapshotResult, error) {
		days = append(days, in.Day)
		return AnalyticsSnapshotResult{Day: in.Day, Currencies: []string{"USD"}}, nil
	}, activity.RegisterOptions{Name: ActivityAnalyticsSnapshot})
	env.ExecuteWorkflow(AnalyticsSnapshot, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var out AnalyticsSnapshotResult
	if err := env.GetWorkflowResult(&out); err != nil || out.Day != days[len(days)-1] {
		t.Fatalf("result %+v, %v; want the activity's day", out, err)
	}
	return days
}

func TestScheduledSnapshotComputesTheDayThatJustEnded(t *testing.T) {
	// The schedule fires at 00:10 UTC on 2 March: the day to store is 1 March.
	at := time.Date(2026, 3, 2, 0, 10, 0, 0, time.UTC)
	if days := runSnapshot(t, at, at, AnalyticsSnapshotInput{}); len(days) != 1 || days[0] != "2026-03-01" {
		t.Fatalf("activity called for %v, want [2026-03-01]", days)
	}
}

func TestLateScheduledSnapshotStillComputesItsScheduledDay(t *testing.T) {
	// A run due on 1 January (for 31 December) that only starts on 3 January, after an outage,
	// still stores 31 December: the day comes from the scheduled time, not the start time.
	scheduled := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	if days := runSnapshot(t, scheduled.Add(50*time.Hour), scheduled, AnalyticsSnapshotInput{}); len(days) != 1 || days[0] != "2025-12-31" {
		t.Fatalf("activity called for %v, want [2025-12-31]", days)
	}
}

func TestSnapshotOfANamedDayAndWithoutASchedule(t *testing.T) {
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	if days := runSnapshot(t, at, time.Time{}, AnalyticsSnapshotInput{Day: "2025-07-04"}); len(days) != 1 || days[0] != "2025-07-04" {
		t.Fatalf("activity called for %v, want [2025-07-04]", days)
	}
	if days := runSnapshot(t, at, time.Time{}, AnalyticsSnapshotInput{}); len(days) != 1 || days[0] != "2026-03-01" {
		t.Fatalf("started by hand without a day: activity called for %v, want the day before the start, [2026-03-01]", days)
	}
}
