package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Subscription reconciliation: an order saved while Temporal was unreachable has a subscription
// in PostgreSQL but no subscription:<id> workflow, so its payment would activate nothing. The
// Temporal Schedule ReconcileScheduleID starts WorkflowReconcileSubscriptions every
// ReconcileEvery (and the worker runs it once at start-up); its one activity starts the workflow
// of every live subscription that has none.
const (
	// WorkflowReconcileSubscriptions is the workflow type name the schedule starts.
	WorkflowReconcileSubscriptions = "reconcile-subscriptions"
	// ReconcileScheduleID is the schedule's id; created or updated at worker start.
	ReconcileScheduleID = "subscriptions-reconcile"
	// ReconcileWorkflowID is the id of the workflows the schedule starts (Temporal appends the
	// scheduled time).
	ReconcileWorkflowID = "subscriptions-reconcile"
	// ActivityReconcileSubscriptions starts the missing subscription workflows: nil →
	// ReconcileResult. It lives in activities.Reconciler and is safe to run twice.
	ActivityReconcileSubscriptions = "BillingReconcileSubscriptions"
)

// ReconcileEvery is how often the schedule reconciles.
const ReconcileEvery = 5 * time.Minute

// ReconcileResult is what one reconciliation found and did.
type ReconcileResult struct {
	Live    int     // subscriptions pending, active, past due or suspended in PostgreSQL
	Running int     // of them, those whose workflow was already running
	Started []int64 // subscriptions whose workflow was missing and is now started
	// Closed are live subscriptions whose workflow has ended: PostgreSQL and Temporal disagree
	// and staff must look (the workflow is not restarted, to never bill twice).
	Closed []int64
	Failed []int64 // starts that failed; the next run tries again
}

// ReconcileSubscriptions starts the workflow of every live subscription that has none.
func ReconcileSubscriptions(ctx workflow.Context) (ReconcileResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 4 * time.Minute, // within the schedule's interval
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 3,
		},
	})
	var out ReconcileResult
	err := workflow.ExecuteActivity(ctx, ActivityReconcileSubscriptions).Get(ctx, &out)
	return out, err
}
