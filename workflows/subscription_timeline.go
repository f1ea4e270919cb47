package workflows

// How the subscription workflow writes what happens: state changes and timeline entries in
// PostgreSQL, the in-memory timeline the query returns, and the activity options of its steps.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// record writes a state change and its timeline entry, and keeps the search attributes current.
func (s *subscriber) record(ctx workflow.Context, r SubscriptionRecord) {
	if r.Status != "" && r.Status != s.st.Status {
		s.st.Status = r.Status
		_ = workflow.UpsertTypedSearchAttributes(ctx, SubscriptionStatusKey.ValueSet(r.Status))
	}
	if r.CancelReason != "" {
		s.st.CancelReason = r.CancelReason
	}
	s.seq++
	r.SubscriptionID, r.WorkflowID = s.st.SubscriptionID, s.wfID
	r.Key = fmt.Sprintf("%s:ev:%d", s.wfID, s.seq)
	if r.Actor == "" {
		r.Actor = "billing"
	}
	s.remember(ctx, r.Kind, r.Message)
	if err := localBilling(ctx, ActivityRecordSubscription, r, nil); err != nil {
		workflow.GetLogger(ctx).Error("record subscription change", "kind", r.Kind, "error", err)
	}
}

// note adds a timeline entry without a state change.
func (s *subscriber) note(ctx workflow.Context, kind, msg string) {
	s.record(ctx, SubscriptionRecord{Kind: kind, Message: msg})
}

func (s *subscriber) remember(ctx workflow.Context, kind, msg string) {
	s.st.Timeline = append(s.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Message: msg})
	if len(s.st.Timeline) > maxTimeline {
		s.st.Timeline = s.st.Timeline[len(s.st.Timeline)-maxTimeline:]
	}
}

// exec runs a billing activity with retries for temporary failures; BillingPermanent errors
// and gateway refusals come back at once.
func (s *subscriber) exec(ctx workflow.Context, summary, activity string, arg, result any) error {
	return workflow.ExecuteActivity(billingActivityCtx(ctx, summary), activity, arg).Get(ctx, result)
}

// localBilling runs a short, idempotent database step as a local activity: it runs in the
// worker that runs the workflow task, without a round trip through the server.
func localBilling(ctx workflow.Context, activity string, arg, result any) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{BillingPermanentError},
		},
	})
	return workflow.ExecuteLocalActivity(ctx, activity, arg).Get(ctx, result)
}

func billingActivityCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{BillingPermanentError},
		},
	})
}
