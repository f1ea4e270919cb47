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
// The workflow never goes on past a change the database does not hold: a write that keeps
// failing is retried until it succeeds (see retryRecord).
func (s *subscriber) record(ctx workflow.Context, r SubscriptionRecord) {
	r = s.prepareRecord(r)
	if !s.writeFirst {
		s.apply(ctx, r)
	}
	if err := localBilling(ctx, ActivityRecordSubscription, r, nil); err != nil {
		s.retryRecord(ctx, r, err)
	}
	if s.writeFirst {
		s.apply(ctx, r)
	}
}

// tryRecord is record for the change an Update makes: a write that still fails after a few
// quick retries is returned, so the Update answers with the error and does nothing that would follow
// the change (no invoice cancelled, no service terminated). The state changes only once the
// database holds the change.
func (s *subscriber) tryRecord(ctx workflow.Context, r SubscriptionRecord) error {
	r = s.prepareRecord(r)
	before := s.st
	if !s.writeFirst {
		s.apply(ctx, r)
	}
	// A few quick attempts: the caller (a page waiting up to 30 s) gets its answer in time.
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 4,
			NonRetryableErrorTypes: []string{BillingPermanentError}},
	})
	if err := workflow.ExecuteLocalActivity(lctx, ActivityRecordSubscription, r).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record subscription change", "kind", r.Kind, "error", err)
		if !s.writeFirst { // undo what was applied ahead of the write
			if s.st.Status != before.Status {
				_ = workflow.UpsertTypedSearchAttributes(ctx, SubscriptionStatusKey.ValueSet(string(before.Status)))
			}
			s.st.Status, s.st.CancelReason, s.st.Timeline = before.Status, before.CancelReason, before.Timeline
		}
		return fmt.Errorf("the change could not be saved (%s); nothing was changed: %w", r.Kind, err)
	}
	if s.writeFirst {
		s.apply(ctx, r)
	}
	return nil
}

// recorded is record as a write function for steps that must go on (suspend and unsuspend
// by dunning): it never fails.
func (s *subscriber) recorded(ctx workflow.Context, r SubscriptionRecord) error {
	s.record(ctx, r)
	return nil
}

// prepareRecord names the record: its subscription, workflow, actor and idempotency key.
func (s *subscriber) prepareRecord(r SubscriptionRecord) SubscriptionRecord {
	s.seq++
	r.SubscriptionID, r.WorkflowID = s.st.SubscriptionID, s.wfID
	r.Key = fmt.Sprintf("%s:ev:%d", s.wfID, s.seq)
	if r.Actor == "" {
		r.Actor = "billing"
	}
	return r
}

// apply makes a recorded change part of the workflow's state.
func (s *subscriber) apply(ctx workflow.Context, r SubscriptionRecord) {
	if r.Status != "" && r.Status != s.st.Status {
		s.st.Status = r.Status
		_ = workflow.UpsertTypedSearchAttributes(ctx, SubscriptionStatusKey.ValueSet(string(r.Status)))
	}
	if r.CancelReason != "" {
		s.st.CancelReason = r.CancelReason
	}
	s.remember(ctx, r.Kind, r.Message)
}

// retryRecord writes a record the database refused until it takes it: as an activity retried
// without end, which shows in the Temporal UI as a pending activity with its last error, and,
// should the error be one retrying cannot fix, again every hour until the cause is repaired.
// The subscription waits meanwhile rather than act on a change PostgreSQL does not show.
func (s *subscriber) retryRecord(ctx workflow.Context, r SubscriptionRecord, cause error) {
	workflow.GetLogger(ctx).Error("record subscription change failed; retrying until it succeeds", "kind", r.Kind, "error", cause)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             "record " + r.Kind + " (the database refused it; retrying)",
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    10 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
			MaximumAttempts:    0, // unlimited
		},
	})
	for ctx.Err() == nil {
		if err := workflow.ExecuteActivity(actx, ActivityRecordSubscription, r).Get(ctx, nil); err == nil {
			return
		}
		_ = workflow.Sleep(ctx, time.Hour)
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
