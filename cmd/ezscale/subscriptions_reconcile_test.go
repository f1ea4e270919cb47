package main

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// TestReconcileScheduleRunsEveryFiveMinutesAndOnceAtWorkerStart ensures the schedule twice
// against a dev server, as two worker start-ups would: it exists once, every five minutes, and
// each start-up triggered a run.
func TestReconcileScheduleRunsEveryFiveMinutesAndOnceAtWorkerStart(t *testing.T) {
	tc := testenv.Temporal(t)
	ctx := context.Background()
	for i := range 2 {
		if err := ensureReconcileSchedule(ctx, tc, "ezscale-test"); err != nil {
			t.Fatalf("ensure schedule, call %d: %v", i+1, err)
		}
	}
	h := tc.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 5*time.Minute {
			t.Fatalf("schedule intervals %+v, want every 5 minutes", iv)
		}
		if d.Info.NumActions >= 1 {
			return // the start-up run (the overlap policy may skip the second trigger)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run triggered at start-up: %+v", d.Info)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
