package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// ReconcileClient is the part of the Temporal client the reconciler uses.
type ReconcileClient interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// Reconciler starts the subscription workflows PostgreSQL says should run but Temporal does not
// have: the checkout saves an order before it starts subscription:<id>, and the start fails
// while Temporal is unreachable.
type Reconciler struct {
	Store     *store.Store
	Temporal  ReconcileClient
	TaskQueue string
	Timings   workflows.Timings // given to the workflows it starts, as the checkout does
	// MinAge leaves subscriptions younger than this alone: their checkout may be starting the
	// workflow right now (with USE_EXISTING a race is harmless, but the checkout's start is the
	// one meant to run).
	MinAge time.Duration
}

// reconcilePage is how many subscriptions are read from PostgreSQL at a time.
const reconcilePage = 500

// Reconcile lists the live subscriptions and starts subscription:<id> for each one without a
// running workflow, with the options the checkout uses (an already running workflow is left
// alone). A live subscription whose workflow has ended is reported, not restarted: that is a
// disagreement for staff, and restarting could bill a period twice.
func (r *Reconciler) Reconcile(ctx context.Context) (workflows.ReconcileResult, error) {
	var out workflows.ReconcileResult
	running, err := r.runningSubscriptions(ctx)
	if err != nil {
		return out, err
	}
	before := time.Now().Add(-r.MinAge)
	for after := int64(0); ; {
		page, err := r.Store.LiveSubscriptions(ctx, before, after, reconcilePage)
		if err != nil {
			return out, err
		}
		for _, sub := range page {
			out.Live++
			if running[workflows.SubscriptionID(sub.ID)] {
				out.Running++
				continue
			}
			switch state, err := r.ensureRunning(ctx, sub); {
			case err != nil:
				logger(ctx).Error("start subscription workflow", "subscription", sub.ID, "error", err)
				out.Failed = append(out.Failed, sub.ID)
			case state == "running":
				out.Running++
			case state == "started":
				out.Started = append(out.Started, sub.ID)
			default:
				out.Closed = append(out.Closed, sub.ID)
			}
		}
		if len(page) < reconcilePage {
			break
		}
		after = page[len(page)-1].ID
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, after)
		}
	}
	if len(out.Failed) > 0 {
		return out, fmt.Errorf("%d subscription workflows could not be started (%v); the next run tries again", len(out.Failed), out.Failed)
	}
	return out, nil
}

// runningSubscriptions are the ids of the running subscription workflows, from visibility. It
// is eventually consistent: ensureRunning checks a subscription missing here before starting.
func (r *Reconciler) runningSubscriptions(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = 'Subscription' AND ExecutionStatus = 'Running'", PageSize: 1000,
	}
	for {
		resp, err := r.Temporal.ListWorkflow(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("list running subscription workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			ids[e.GetExecution().GetWorkflowId()] = true
		}
		if len(resp.GetNextPageToken()) == 0 {
			return ids, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// ensureRunning starts the subscription's workflow unless it runs or has run: it answers
// "running", "started" or "closed".
func (r *Reconciler) ensureRunning(ctx context.Context, sub store.LiveSubscription) (string, error) {
	id := workflows.SubscriptionID(sub.ID)
	desc, err := r.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
	case err != nil:
		return "", fmt.Errorf("describe %s: %w", id, err)
	case desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running", nil
	default:
		return "closed", nil
	}
	opts := workflows.SubscriptionStartOptions(sub.ID, sub.CustomerID, r.TaskQueue)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes( // an active one starts as what it is
		workflows.CustomerIDKey.ValueSet(strconv.FormatInt(sub.CustomerID, 10)), workflows.SubscriptionStatusKey.ValueSet(string(sub.Status)))
	_, err = r.Temporal.ExecuteWorkflow(ctx, opts, workflows.Subscription, workflows.SubscriptionInput{SubscriptionID: sub.ID, CustomerID: sub.CustomerID,
		FirstInvoiceID: sub.FirstInvoiceID, Timings: r.Timings})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started): // started meanwhile (the checkout, another reconciler) or closed
		return "running", nil
	case err != nil:
		return "", fmt.Errorf("start %s: %w", id, err)
	}
	logger(ctx).Info("started a missing subscription workflow", "subscription", sub.ID, "status", sub.Status)
	return "started", nil
}

// logger is the activity's logger, or a discarding one when Reconcile runs outside an activity.
func logger(ctx context.Context) log.Logger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return log.NewStructuredLogger(slog.New(slog.DiscardHandler))
}
