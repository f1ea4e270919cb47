package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// fakePanel stands in for activities.Provisioning under the same names and records each call
// with the workflow time it ran at.
type fakePanel struct {
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	calls    []string                // activity names in call order, with the op for panel steps
	statuses []billing.ServiceStatus // statuses written, in order
	at       []time.Duration         // when each create attempt ran
	// fail decides the error of a call (nil = success); n counts calls of that activity so far.
	fail func(activity string, n int) error
	n    map[string]int
}

func (f *fakePanel) record(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[name]++
	f.calls = append(f.calls, name)
	if name == ActivityProvisionCreate {
		f.at = append(f.at, f.env.Now().Sub(start))
	}
	if f.fail != nil {
		return f.fail(name, f.n[name])
	}
	return nil
}

func (f *fakePanel) register(env *testsuite.TestWorkflowEnvironment) {
	op := func(name string) func(context.Context, OpInput) error {
		return func(_ context.Context, in OpInput) error { return f.record(name) }
	}
	for _, name := range []string{ActivityProvisionEnsureAccount, ActivityProvisionCreate, ActivityProvisionAwaitReady,
		ActivityProvisionNotifyReady, ActivityProvisionSuspend, ActivityProvisionUnsuspend, ActivityProvisionTerminate, ActivityProvisionChangePackage} {
		env.RegisterActivityWithOptions(op(name), activity.RegisterOptions{Name: name})
	}
	env.RegisterActivityWithOptions(func(_ context.Context, in StatusChange) error {
		f.mu.Lock()
		f.statuses = append(f.statuses, in.Status)
		f.mu.Unlock()
		return nil
	}, activity.RegisterOptions{Name: ActivityProvisionSetStatus})
	env.RegisterActivityWithOptions(func(_ context.Context, in MarkProvisionedInput) error {
		return f.record(ActivityProvisionMarkProvisioned + ":" + in.PanelServiceID)
	}, activity.RegisterOptions{Name: ActivityProvisionMarkProvisioned})
}

func (f *fakePanel) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[name]
}

func newProvisionEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fakePanel) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	f := &fakePanel{env: env}
	env.RegisterWorkflow(Provision)
	f.register(env)
	return env, f
}

func createInput() ProvisionInput {
	return ProvisionInput{ServiceID: 11, Queue: []ProvisionOp{{Kind: OpCreate, Actor: "admin:1"}}}
}

func permanent(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, PanelPermanentError, nil)
}

// request sends an update at workflow time `at` and fails the test if the validator's verdict differs from wantAccepted.
func request(t *testing.T, env *testsuite.TestWorkflowEnvironment, at time.Duration, name string, wantAccepted bool, arg any) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, fmt.Sprint(at, name), &testsuite.TestUpdateCallback{
			OnAccept: func() {
				if !wantAccepted {
					t.Errorf("%s %+v accepted at %v; want it rejected", name, arg, at)
				}
			},
			OnReject: func(err error) {
				if wantAccepted {
					t.Errorf("%s %+v rejected at %v: %v", name, arg, at, err)
				}
			},
			OnComplete: func(any, error) {},
		}, arg)
	}, at)
}

func provisionState(t *testing.T, env *testsuite.TestWorkflowEnvironment) ProvisionState {
	t.Helper()
	v, err := env.QueryWorkflow(QueryProvisionState)
	if err != nil {
		t.Fatal(err)
	}
	var st ProvisionState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// finish terminates the service at `at` so the workflow ends and its result can be read.
func finish(t *testing.T, env *testsuite.TestWorkflowEnvironment, at time.Duration) {
	request(t, env, at, UpdateProvisionRequest, true, ProvisionOp{Kind: OpTerminate, Reason: "test over"})
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) ProvisionState {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var st ProvisionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTransientPanelFailuresAreRetriedUntilTheServiceIsActive(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionCreate && n <= 2 {
			return errors.New("virtfusion: create server: HTTP 503 (temporary)")
		}
		return nil
	}
	var mid ProvisionState
	env.RegisterDelayedCallback(func() { mid = provisionState(t, env) }, time.Hour)
	finish(t, env, 2*time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	st := result(t, env)

	if f.count(ActivityProvisionCreate) != 3 {
		t.Fatalf("create attempts = %d, want 2 failures then a success", f.count(ActivityProvisionCreate))
	}
	if mid.Status != billing.ServiceActive || mid.Attention != "" {
		t.Fatalf("state after the retries = %+v, want active without attention", mid)
	}
	want := []billing.ServiceStatus{billing.ServiceProvisioning, billing.ServiceActive, billing.ServiceTerminated}
	if !slices.Equal(f.statuses, want) {
		t.Fatalf("statuses = %v, want %v", f.statuses, want)
	}
	if st.Status != billing.ServiceTerminated {
		t.Fatalf("final status %q", st.Status)
	}
}

func TestRetryAfterFromThePanelSetsTheNextAttempt(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionCreate && n == 1 {
			return temporal.NewApplicationErrorWithOptions("HTTP 429 (rate limited)", "PanelTemporary",
				temporal.ApplicationErrorOptions{NextRetryDelay: 45 * time.Second})
		}
		return nil
	}
	finish(t, env, time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	result(t, env)
	if len(f.at) != 2 || f.at[1]-f.at[0] != 45*time.Second {
		t.Fatalf("create attempts at %v; want the second exactly 45s (Retry-After) after the first", f.at)
	}
}

func TestPermanentFailureWaitsForOpsThenRetrySucceeds(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionCreate && n == 1 {
			return permanent("virtfusion: create server: HTTP 422 (invalid): package 99 does not exist")
		}
		return nil
	}
	var waiting ProvisionState
	env.RegisterDelayedCallback(func() { waiting = provisionState(t, env) }, 10*time.Hour)
	request(t, env, 10*time.Hour, UpdateProvisionRequest, true, ProvisionOp{Kind: OpSuspend, Reason: "queued while waiting"})
	request(t, env, 11*time.Hour, UpdateProvisionResolve, false, Resolution{Action: "reboot"})
	request(t, env, 12*time.Hour, UpdateProvisionResolve, true, Resolution{Action: ResolveRetry, Actor: "admin:1"})
	finish(t, env, 13*time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	st := result(t, env)

	if waiting.Status != billing.ServiceNeedsAttention || !strings.Contains(waiting.Attention, "package 99 does not exist") {
		t.Fatalf("while waiting: %+v; want needs_attention with the panel's reason", waiting)
	}
	if f.count(ActivityProvisionCreate) != 2 {
		t.Fatalf("create attempts = %d; want 1 permanent failure (not retried) and 1 after the ops retry", f.count(ActivityProvisionCreate))
	}
	want := []billing.ServiceStatus{billing.ServiceProvisioning, billing.ServiceNeedsAttention, billing.ServicePending, billing.ServiceProvisioning, billing.ServiceActive, billing.ServiceSuspended, billing.ServiceTerminated}
	if !slices.Equal(f.statuses, want) {
		t.Fatalf("statuses = %v\nwant       %v", f.statuses, want)
	}
	if st.Status != billing.ServiceTerminated {
		t.Fatalf("final status %q", st.Status)
	}
}

func TestAbandonRemovesPartialResourcesAndEndsTheService(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionAwaitReady {
			return permanent("build failed on the hypervisor")
		}
		return nil
	}
	request(t, env, time.Hour, UpdateProvisionResolve, true, Resolution{Action: ResolveAbandon, Actor: "admin:2", Note: "customer refunded"})
	env.ExecuteWorkflow(Provision, createInput())
	st := result(t, env)

	if st.Status != billing.ServiceAbandoned {
		t.Fatalf("final status %q, want abandoned", st.Status)
	}
	if f.count(ActivityProvisionTerminate) != 1 {
		t.Fatalf("terminate (compensation) ran %d times, want 1", f.count(ActivityProvisionTerminate))
	}
	last := f.calls[len(f.calls)-1]
	if last != ActivityProvisionTerminate {
		t.Fatalf("calls = %v; want the compensation last", f.calls)
	}
	if f.statuses[len(f.statuses)-1] != billing.ServiceAbandoned {
		t.Fatalf("statuses = %v", f.statuses)
	}
}

func TestMarkProvisionedRecordsTheHandMadeServer(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionCreate {
			return permanent("no capacity")
		}
		return nil
	}
	request(t, env, time.Hour, UpdateProvisionResolve, false, Resolution{Action: ResolveMarkProvisioned}) // no panel id
	request(t, env, 2*time.Hour, UpdateProvisionResolve, true, Resolution{Action: ResolveMarkProvisioned, PanelServiceID: "4242", Actor: "admin:1"})
	finish(t, env, 3*time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	result(t, env)
	if f.count(ActivityProvisionMarkProvisioned+":4242") != 1 {
		t.Fatalf("calls = %v; want the hand-made server 4242 recorded once", f.calls)
	}
	want := []billing.ServiceStatus{billing.ServiceProvisioning, billing.ServiceNeedsAttention, billing.ServiceActive, billing.ServiceTerminated}
	if !slices.Equal(f.statuses, want) {
		t.Fatalf("statuses = %v, want %v", f.statuses, want)
	}
}

func TestChangePackageQueuedBehindASuspendKeepsOrder(t *testing.T) {
	env, f := newProvisionEnv(t)
	// The suspend is slow, so the next requests arrive while it runs.
	f.fail = func(name string, n int) error { return nil }
	env.OnActivity(ActivityProvisionSuspend, mock.Anything, mock.Anything).After(30 * time.Minute).Return(func(context.Context, OpInput) error {
		return f.record(ActivityProvisionSuspend)
	})
	request(t, env, time.Hour, UpdateProvisionRequest, true, ProvisionOp{Kind: OpSuspend, Reason: "overdue"})
	request(t, env, time.Hour+time.Minute, UpdateProvisionRequest, true, ProvisionOp{Kind: OpChangePackage, ProductID: 7})
	request(t, env, time.Hour+2*time.Minute, UpdateProvisionRequest, false, ProvisionOp{Kind: OpSuspend}) // already suspended after the queue
	request(t, env, time.Hour+3*time.Minute, UpdateProvisionRequest, true, ProvisionOp{Kind: OpUnsuspend, Reason: "paid"})
	finish(t, env, 5*time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	result(t, env)

	var ops []string
	for _, c := range f.calls {
		switch c {
		case ActivityProvisionSuspend, ActivityProvisionChangePackage, ActivityProvisionUnsuspend, ActivityProvisionTerminate:
			ops = append(ops, c)
		}
	}
	want := []string{ActivityProvisionSuspend, ActivityProvisionChangePackage, ActivityProvisionUnsuspend, ActivityProvisionTerminate}
	if strings.Join(ops, ",") != strings.Join(want, ",") {
		t.Fatalf("operations ran in order %v, want %v", ops, want)
	}
}

func TestRequestsThatCannotApplyAreRejected(t *testing.T) {
	env, _ := newProvisionEnv(t)
	request(t, env, time.Hour, UpdateProvisionRequest, false, ProvisionOp{Kind: OpUnsuspend})
	request(t, env, time.Hour, UpdateProvisionRequest, false, ProvisionOp{Kind: OpChangePackage})
	request(t, env, time.Hour, UpdateProvisionRequest, false, ProvisionOp{Kind: OpCreate})
	request(t, env, time.Hour, UpdateProvisionRequest, false, ProvisionOp{Kind: "reboot"})
	request(t, env, time.Hour, UpdateProvisionResolve, false, Resolution{Action: ResolveRetry}) // nothing to resolve
	finish(t, env, 2*time.Hour)
	request(t, env, 3*time.Hour, UpdateProvisionRequest, false, ProvisionOp{Kind: OpSuspend}) // after the end
	env.ExecuteWorkflow(Provision, createInput())
	if st := result(t, env); st.Status != billing.ServiceTerminated {
		t.Fatalf("final status %q", st.Status)
	}
}

func TestProvisionContinuesAsNewWithItsQueue(t *testing.T) {
	env, _ := newProvisionEnv(t)
	env.SetContinueAsNewSuggested(true)
	request(t, env, 0, UpdateProvisionRequest, true, ProvisionOp{Kind: OpSuspend})
	env.ExecuteWorkflow(Provision, createInput())
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow error = %v; want continue-as-new after the first operation", err)
	}
	var next ProvisionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Status != billing.ServiceActive || len(next.Queue) != 1 || next.Queue[0].Kind != OpSuspend || next.NextSeq != 2 {
		t.Fatalf("next run input = %+v; want active with the queued suspend carried over", next)
	}
}

func TestProvisionID(t *testing.T) {
	if got := ProvisionID(42); got != "provision:42" {
		t.Fatalf("ProvisionID(42) = %q", got)
	}
}

func TestDecisionArrivingWhileTheStatusIsWrittenIsNotLost(t *testing.T) {
	env, f := newProvisionEnv(t)
	f.fail = func(name string, n int) error {
		if name == ActivityProvisionCreate && n == 1 {
			return permanent("no capacity")
		}
		return nil
	}
	// The needs_attention status write is slow; ops answer while it is in flight. (testify uses
	// the first matching expectation, so the slow one comes first.)
	env.OnActivity(ActivityProvisionSetStatus, mock.Anything, mock.MatchedBy(func(in StatusChange) bool { return in.Status == billing.ServiceNeedsAttention })).
		After(10 * time.Minute).Return(nil).Once()
	env.OnActivity(ActivityProvisionSetStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in StatusChange) error {
		f.mu.Lock()
		f.statuses = append(f.statuses, in.Status)
		f.mu.Unlock()
		return nil
	})
	request(t, env, 5*time.Minute, UpdateProvisionResolve, true, Resolution{Action: ResolveRetry, Actor: "admin:1"})
	finish(t, env, 2*time.Hour)
	env.ExecuteWorkflow(Provision, createInput())
	if st := result(t, env); st.Status != billing.ServiceTerminated {
		t.Fatalf("final status %q", st.Status)
	}
	if f.count(ActivityProvisionCreate) != 2 {
		t.Fatalf("create attempts = %d; the retry sent during the status write was lost", f.count(ActivityProvisionCreate))
	}
}
