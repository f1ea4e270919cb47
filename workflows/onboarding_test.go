package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// start is the fixed workflow start time of every test, so times can be compared exactly.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// send is one call of the mail activity, at a workflow time counted from start.
type send struct {
	Reminder bool
	At       time.Duration
}

// fakeOnboarding stands in for activities.Onboarding under the same activity names, recording
// when each activity ran on the test environment's clock.
type fakeOnboarding struct {
	env *testsuite.TestWorkflowEnvironment

	mu            sync.Mutex
	sends         []send
	checks        []time.Duration
	verifiedInDB  bool                              // what EmailVerified answers
	failSend      func(r VerificationRequest) error // nil: every send succeeds
	alreadyInSend bool                              // SendVerification reports AlreadyVerified
}

func (f *fakeOnboarding) SendVerification(_ context.Context, in VerificationRequest) (VerificationResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, send{Reminder: in.Reminder, At: f.env.Now().Sub(start)})
	if f.failSend != nil {
		if err := f.failSend(in); err != nil {
			return VerificationResult{}, err
		}
	}
	return VerificationResult{AlreadyVerified: f.alreadyInSend}, nil
}

func (f *fakeOnboarding) EmailVerified(_ context.Context, userID int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, f.env.Now().Sub(start))
	return f.verifiedInDB, nil
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fakeOnboarding) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	f := &fakeOnboarding{env: env}
	env.RegisterWorkflow(Onboarding)
	env.RegisterActivityWithOptions(f.SendVerification, activity.RegisterOptions{Name: ActivitySendVerification})
	env.RegisterActivityWithOptions(f.EmailVerified, activity.RegisterOptions{Name: ActivityEmailVerified})
	return env, f
}

// run executes the workflow to completion and returns its result and how long it ran.
func run(t *testing.T, env *testsuite.TestWorkflowEnvironment, in OnboardingInput) (OnboardingState, time.Duration) {
	t.Helper()
	env.ExecuteWorkflow(Onboarding, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var st OnboardingState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return st, env.Now().Sub(start)
}

func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) OnboardingState {
	t.Helper()
	v, err := env.QueryWorkflow(QueryOnboardingState)
	if err != nil {
		t.Fatalf("query %s: %v", QueryOnboardingState, err)
	}
	var st OnboardingState
	if err := v.Get(&st); err != nil {
		t.Fatalf("decode query result: %v", err)
	}
	return st
}

func signalVerifiedAt(env *testsuite.TestWorkflowEnvironment, after time.Duration) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEmailVerified, EmailVerifiedSignal{VerifiedAt: start.Add(after)})
	}, after)
}

func TestReminderGoesOutExactlyWhenDueAndNotBefore(t *testing.T) {
	env, f := newEnv(t)
	var justBefore OnboardingState
	env.RegisterDelayedCallback(func() { justBefore = query(t, env) }, 24*time.Hour-time.Second)

	run(t, env, OnboardingInput{UserID: 7})

	want := []send{{Reminder: false, At: 0}, {Reminder: true, At: 24 * time.Hour}}
	if len(f.sends) != 2 || f.sends[0] != want[0] || f.sends[1] != want[1] {
		t.Fatalf("mails sent = %+v, want the verification at 0 and the reminder at 24h: %+v", f.sends, want)
	}
	if justBefore.RemindersSent != 0 || justBefore.Stage != StageAwaitingVerification {
		t.Errorf("one second before 24h the state was %+v, want awaiting-verification with no reminder", justBefore)
	}
	if len(f.checks) != 1 || f.checks[0] != 24*time.Hour {
		t.Errorf("verification checks at %v, want one at 24h before the reminder", f.checks)
	}
}

func TestUnverifiedOnboardingExpiresAtTheDeadlineAfterOneReminder(t *testing.T) {
	env, f := newEnv(t)
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageExpired || st.RemindersSent != 1 || !st.VerifiedAt.IsZero() {
		t.Errorf("result = %+v, want expired with 1 reminder and no VerifiedAt", st)
	}
	if ran != 7*24*time.Hour {
		t.Errorf("workflow ran %v, want the 168h default deadline", ran)
	}
	if len(f.sends) != 2 {
		t.Errorf("sent %d mails, want verification + one reminder", len(f.sends))
	}
}

func TestNoReminderWhenVerifiedBeforeItIsDue(t *testing.T) {
	env, f := newEnv(t)
	signalVerifiedAt(env, 3*time.Hour)
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || st.RemindersSent != 0 || !st.VerifiedAt.Equal(start.Add(3*time.Hour)) {
		t.Errorf("result = %+v, want verified at %v with no reminder", st, start.Add(3*time.Hour))
	}
	if ran != 3*time.Hour {
		t.Errorf("workflow ran %v, want it to end when verified at 3h", ran)
	}
	if len(f.sends) != 1 || len(f.checks) != 0 {
		t.Errorf("mails %+v and checks %v, want only the first verification mail", f.sends, f.checks)
	}
}

func TestReminderSkippedWhenTheStoreSaysVerified(t *testing.T) {
	env, f := newEnv(t)
	f.verifiedInDB = true // the verify handler's signal was lost
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || st.RemindersSent != 0 || !st.VerifiedAt.Equal(start.Add(24*time.Hour)) {
		t.Errorf("result = %+v, want verified at the 24h check with no reminder", st)
	}
	if ran != 24*time.Hour || len(f.sends) != 1 {
		t.Errorf("ran %v with mails %+v, want the end at 24h after only the first mail", ran, f.sends)
	}
}

func TestReminderSkippedWhenVerifiedBetweenCheckAndSend(t *testing.T) {
	env, f := newEnv(t)
	f.failSend = func(r VerificationRequest) error {
		if r.Reminder {
			f.alreadyInSend = true
		}
		return nil
	}
	st, _ := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || st.RemindersSent != 0 {
		t.Errorf("result = %+v, want verified without counting a reminder that was not mailed", st)
	}
}

func TestDuplicateVerifiedSignalsChangeNothing(t *testing.T) {
	env, f := newEnv(t)
	first := start.Add(3 * time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEmailVerified, EmailVerifiedSignal{VerifiedAt: first})
		env.SignalWorkflow(SignalEmailVerified, EmailVerifiedSignal{VerifiedAt: first.Add(time.Minute)})
		env.SignalWorkflow(SignalEmailVerified, EmailVerifiedSignal{})
	}, 3*time.Hour)
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || !st.VerifiedAt.Equal(first) || st.RemindersSent != 0 {
		t.Errorf("result = %+v, want verified at the first signal's time %v", st, first)
	}
	if ran != 3*time.Hour || len(f.sends) != 1 {
		t.Errorf("ran %v with mails %+v, want the end at 3h after one mail", ran, f.sends)
	}
}

func TestSignalWithoutTimeUsesWorkflowTime(t *testing.T) {
	env, _ := newEnv(t)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEmailVerified, EmailVerifiedSignal{}) }, 5*time.Hour)
	st, _ := run(t, env, OnboardingInput{UserID: 7})
	if !st.VerifiedAt.Equal(start.Add(5 * time.Hour)) {
		t.Errorf("VerifiedAt = %v, want the signal's arrival %v", st.VerifiedAt, start.Add(5*time.Hour))
	}
}

func TestConfiguredReminderDelayAndDeadlineAreRespected(t *testing.T) {
	env, f := newEnv(t)
	st, ran := run(t, env, OnboardingInput{UserID: 7, ReminderAfter: 2 * time.Hour, Deadline: 5 * time.Hour})
	if len(f.sends) != 2 || f.sends[1] != (send{Reminder: true, At: 2 * time.Hour}) {
		t.Errorf("mails = %+v, want the reminder at 2h", f.sends)
	}
	if st.Stage != StageExpired || ran != 5*time.Hour {
		t.Errorf("result %+v after %v, want expired at 5h", st, ran)
	}
}

func TestReminderDueAfterTheDeadlineIsNeverSent(t *testing.T) {
	env, f := newEnv(t)
	st, ran := run(t, env, OnboardingInput{UserID: 7, ReminderAfter: 10 * time.Hour, Deadline: 5 * time.Hour})
	if len(f.sends) != 1 || len(f.checks) != 0 || st.RemindersSent != 0 {
		t.Errorf("mails %+v, checks %v, result %+v; want no reminder", f.sends, f.checks, st)
	}
	if st.Stage != StageExpired || ran != 5*time.Hour {
		t.Errorf("result %+v after %v, want expired at 5h", st, ran)
	}
}

func TestQueryReportsTheStage(t *testing.T) {
	env, _ := newEnv(t)
	var at1h, at25h OnboardingState
	env.RegisterDelayedCallback(func() { at1h = query(t, env) }, time.Hour)
	env.RegisterDelayedCallback(func() { at25h = query(t, env) }, 25*time.Hour)
	signalVerifiedAt(env, 26*time.Hour)
	run(t, env, OnboardingInput{UserID: 7})

	if at1h != (OnboardingState{Stage: StageAwaitingVerification}) {
		t.Errorf("state at 1h = %+v, want awaiting-verification, no reminders", at1h)
	}
	if at25h != (OnboardingState{Stage: StageAwaitingVerification, RemindersSent: 1}) {
		t.Errorf("state at 25h = %+v, want awaiting-verification with 1 reminder", at25h)
	}
	if end := query(t, env); end.Stage != StageVerified || end.RemindersSent != 1 {
		t.Errorf("state after verification = %+v, want verified with 1 reminder", end)
	}
}

func TestAlreadyVerifiedUserEndsOnboardingAtOnce(t *testing.T) {
	env, f := newEnv(t)
	f.alreadyInSend = true
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || ran != 0 || len(f.sends) != 1 {
		t.Errorf("result %+v after %v with mails %+v, want verified at once", st, ran, f.sends)
	}
}

func TestMailActivityIsRetriedWithBackoff(t *testing.T) {
	env, f := newEnv(t)
	f.failSend = func(VerificationRequest) error {
		if len(f.sends) <= 2 {
			return errors.New("451 try again later")
		}
		return nil
	}
	signalVerifiedAt(env, time.Hour)
	st, _ := run(t, env, OnboardingInput{UserID: 7})
	if len(f.sends) != 3 || st.Stage != StageVerified {
		t.Fatalf("send attempts %+v, result %+v; want 2 failures then success", f.sends, st)
	}
	if f.sends[1].At != time.Second || f.sends[2].At != 3*time.Second {
		t.Errorf("retries at %v and %v, want 1s and 3s (1s initial, doubling)", f.sends[1].At, f.sends[2].At)
	}
}

func TestUndeliverableVerificationMailFailsOnboarding(t *testing.T) {
	env, f := newEnv(t)
	f.failSend = func(VerificationRequest) error {
		return temporal.NewNonRetryableApplicationError("user 7 does not exist", "UserNotFound", nil)
	}
	env.ExecuteWorkflow(Onboarding, OnboardingInput{UserID: 7})
	if err := env.GetWorkflowError(); !hasApplicationErrorType(err, "UserNotFound") {
		t.Fatalf("workflow error = %v, want the UserNotFound failure", err)
	}
	if len(f.sends) != 1 {
		t.Errorf("a non-retryable failure was attempted %d times", len(f.sends))
	}
}

// hasApplicationErrorType looks through the whole chain, because the workflow wraps the activity
// failure with context (the outermost ApplicationError is the wrapper).
func hasApplicationErrorType(err error, typ string) bool {
	for err != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			return false
		}
		if appErr.Type() == typ {
			return true
		}
		err = appErr.Unwrap()
	}
	return false
}

func TestUndeliverableReminderDoesNotEndOnboarding(t *testing.T) {
	env, f := newEnv(t)
	f.failSend = func(r VerificationRequest) error {
		if r.Reminder {
			return temporal.NewNonRetryableApplicationError("mailbox unavailable", "MailRejected", nil)
		}
		return nil
	}
	signalVerifiedAt(env, 30*time.Hour)
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	if st.Stage != StageVerified || st.RemindersSent != 0 || ran != 30*time.Hour {
		t.Errorf("result %+v after %v, want verified at 30h with no reminder counted", st, ran)
	}
}

func TestInvalidInputIsRejected(t *testing.T) {
	for _, in := range []OnboardingInput{{UserID: 0}, {UserID: 7, ReminderAfter: -time.Hour}, {UserID: 7, Deadline: -time.Hour}} {
		env, f := newEnv(t)
		env.ExecuteWorkflow(Onboarding, in)
		if env.GetWorkflowError() == nil || len(f.sends) != 0 {
			t.Errorf("input %+v: error %v after %d mails, want an error and no mail", in, env.GetWorkflowError(), len(f.sends))
		}
	}
}

func TestOnboardingID(t *testing.T) {
	if got := OnboardingID(42); got != "onboarding:42" {
		t.Errorf("OnboardingID(42) = %q", got)
	}
}

func TestResendSignalMailsAFreshLinkAtOnce(t *testing.T) {
	env, f := newEnv(t)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalResendVerification, nil) }, 2*time.Hour)
	signalVerifiedAt(env, 5*time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalResendVerification, nil) }, 6*time.Hour)
	st, ran := run(t, env, OnboardingInput{UserID: 7})
	want := []send{{At: 0}, {At: 2 * time.Hour}}
	if len(f.sends) != 2 || f.sends[0] != want[0] || f.sends[1] != want[1] {
		t.Fatalf("mails sent = %+v, want the first link at 0 and the requested one at 2h: %+v", f.sends, want)
	}
	if st.Stage != StageVerified || st.LinksResent != 1 || st.RemindersSent != 0 || ran != 5*time.Hour {
		t.Fatalf("result = %+v after %v, want verified at 5h with one resent link and no reminder", st, ran)
	}
}
