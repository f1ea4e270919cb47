package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/workflows"
)

// reconcileSchedule runs the subscription reconciler every workflows.ReconcileEvery. Missed runs
// are not caught up (the next one does the same work) and a run still going when the next is
// due makes that one skip (the default overlap policy).
func reconcileSchedule(taskQueue string) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.ReconcileEvery}}}
	action := &client.ScheduleWorkflowAction{
		ID: workflows.ReconcileWorkflowID, Workflow: workflows.WorkflowReconcileSubscriptions, TaskQueue: taskQueue,
		WorkflowExecutionTimeout: 10 * time.Minute,
	}
	return spec, action
}

// ensureReconcileSchedule creates the subscription reconciler's schedule, or brings an existing
// one up to date, then triggers one run now: subscriptions ordered while no worker could start
// their workflow (Temporal unreachable) are picked up as soon as a worker starts.
func ensureReconcileSchedule(ctx context.Context, tc client.Client, taskQueue string) error {
	spec, action := reconcileSchedule(taskQueue)
	_, err := tc.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: workflows.ReconcileScheduleID, Spec: spec, Action: action, CatchupWindow: time.Minute,
		Note: "created by the ezscale worker: starts the workflows of subscriptions that have none",
	})
	h := tc.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			sch.Spec, sch.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		}})
		if err != nil {
			return fmt.Errorf("update schedule %s: %w", workflows.ReconcileScheduleID, err)
		}
	case err != nil:
		return fmt.Errorf("create schedule %s: %w", workflows.ReconcileScheduleID, err)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return fmt.Errorf("trigger schedule %s: %w", workflows.ReconcileScheduleID, err)
	}
	return nil
}
