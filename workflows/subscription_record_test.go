package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"go.temporal.io/sdk/testsuite"
)

// errNulRefused is what PostgreSQL answers when text holds a NUL byte.
var errNulRefused = errors.New(`pq: invalid byte sequence for encoding "UTF8": 0x00`)

func TestCancelWhoseRecordFailsAnswersWithTheErrorAndLeavesTheServiceRunning(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.refuse = func(r SubscriptionRecord) error {
		if r.Kind == "cancelled" {
			return errNulRefused
		}
		return nil
	}
	env := newSubscriptionEnv(t, l, start)
	var cancelErr error
	completed := false
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "now", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("cancel rejected by the validator: %v", err) },
			OnAccept: func() {},
			OnComplete: func(_ any, err error) {
				completed, cancelErr = true, err
			},
		}, CancelRequest{Reason: "too expensive", Actor: "customer:9"})
	}, 3*24*time.Hour)
	next := runUntilContinue(t, env, firstInput()) // the subscription goes on to its renewal
	if !completed || cancelErr == nil {
		t.Fatalf("cancel completed %v with error %v; want the database's refusal as the answer", completed, cancelErr)
	}
	if got := l.opsString(); strings.Contains(got, "terminate") {
		t.Fatalf("provisioning ops %q: the service was terminated although the cancellation was never saved", got)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if slices.Contains(l.status, billing.SubscriptionCancelled) || next.State.Status != billing.SubscriptionActive || next.State.CancelReason != "" {
		t.Fatalf("statuses written %v, workflow state %s (reason %q); want the subscription still active everywhere",
			l.status, next.State.Status, next.State.CancelReason)
	}
	for _, inv := range l.invoices {
		if inv.cancelled {
			t.Fatalf("invoice %d was cancelled by a cancellation that was never saved", inv.id)
		}
	}
}

func TestCancelReasonWithAControlCharacterIsRefusedByTheValidator(t *testing.T) {
	l := newLedger()
	l.pay(1)
	env := newSubscriptionEnv(t, l, start)
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "nul", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { rejected = err },
			OnAccept:   func() { t.Error("a cancel reason with a NUL byte was accepted") },
			OnComplete: func(any, error) {},
		}, CancelRequest{Reason: "bye\x00", Actor: "customer:9"})
	}, 3*24*time.Hour)
	runUntilContinue(t, env, firstInput())
	if rejected == nil || !strings.Contains(rejected.Error(), "control character") {
		t.Fatalf("rejection %v, want one naming the control character", rejected)
	}
	if got := l.opsString(); got != "create" {
		t.Fatalf("provisioning ops %q, want only the create", got)
	}
}

func TestARefusedRenewalRecordIsRetriedUntilTheDatabaseTakesIt(t *testing.T) {
	l := newLedger()
	l.pay(1)
	refusals := 0
	l.refuse = func(r SubscriptionRecord) error {
		if r.Kind == "renewed" && refusals < 30 { // longer than the local retries last
			refusals++
			return errors.New("connection refused")
		}
		return nil
	}
	env := newSubscriptionEnv(t, l, start)
	next := runUntilContinue(t, env, firstInput())
	l.mu.Lock()
	defer l.mu.Unlock()
	renewed := 0
	for _, r := range l.events {
		if r.Kind == "renewed" {
			renewed++
		}
	}
	if renewed != 1 || refusals != 30 {
		t.Fatalf("renewed written %d times after %d refusals; want once, after all 30", renewed, refusals)
	}
	if next.State.Cycles != 2 {
		t.Fatalf("next run state %+v", next.State)
	}
}

func TestStaffSuspensionWhoseRecordFailsLeavesTheServiceRunning(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.refuse = func(r SubscriptionRecord) error {
		if r.Kind == "suspended" {
			return errNulRefused
		}
		return nil
	}
	env := newSubscriptionEnv(t, l, start)
	var suspendErr error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateSuspend, "s", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("suspension rejected by the validator: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(_ any, err error) { suspendErr = err },
		}, StaffAction{Actor: "admin:1", Reason: "abuse report"})
	}, 3*24*time.Hour)
	next := runUntilContinue(t, env, firstInput())
	if suspendErr == nil {
		t.Fatal("the suspension answered without error although it was never saved")
	}
	if got := l.opsString(); got != "create" {
		t.Fatalf("provisioning ops %q, want only the create: the service must keep running", got)
	}
	if next.State.Suspended || next.State.Status != billing.SubscriptionActive {
		t.Fatalf("workflow state %+v, want active and not suspended", next.State)
	}
}
