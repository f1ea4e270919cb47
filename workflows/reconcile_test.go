package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

func TestReconcileWorkflowReportsTheSubscriptionsItStartedAndRetriesAFailedPass(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	calls := 0
	env.RegisterActivityWithOptions(func(context.Context) (ReconcileResult, error) {
		calls++
		if calls == 1 { // e.g. PostgreSQL restarting
			return ReconcileResult{}, errors.New("list live subscriptions: connection refused")
		}
		return ReconcileResult{Live: 3, Running: 2, Started: []int64{42}}, nil
	}, activity.RegisterOptions{Name: ActivityReconcileSubscriptions})
	env.ExecuteWorkflow(ReconcileSubscriptions)
	var res ReconcileResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatalf("reconcile failed: %v", err)
	}
	if calls != 2 || res.Live != 3 || res.Running != 2 || len(res.Started) != 1 || res.Started[0] != 42 {
		t.Fatalf("after %d passes: %+v, want the second pass's result with subscription 42 started", calls, res)
	}
}
