package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names the verify handler, the worker and the onboarding workflow share. The activities are
// called by name because package activities imports this package to register the workflow, so
// this package cannot import activities for method values.
const (
	// SignalEmailVerified tells the onboarding workflow that the customer confirmed their address;
	// its payload is an EmailVerifiedSignal.
	SignalEmailVerified = "email-verified"
	// SignalResendVerification asks the onboarding workflow to mail a fresh link now (the
	// customer pressed "send me a new link"); it has no payload.
	SignalResendVerification = "resend-verification"
	// QueryOnboardingState returns the workflow's OnboardingState.
	QueryOnboardingState = "onboarding-state"
	// ActivitySendVerification mails a fresh confirmation link: VerificationRequest in,
	// VerificationResult out.
	ActivitySendVerification = "SendVerification"
	// ActivityEmailVerified reports whether a user (int64 id) has confirmed their address.
	ActivityEmailVerified = "EmailVerified"
)

// Stages of onboarding, reported in OnboardingState.Stage.
const (
	StageAwaitingVerification = "awaiting-verification"
	StageVerified             = "verified"
	StageExpired              = "expired"
)

// Defaults for OnboardingInput durations left at zero.
const (
	DefaultReminderAfter = 24 * time.Hour
	DefaultDeadline      = 7 * 24 * time.Hour
)

// OnboardingID is the workflow ID of a user's onboarding: one per user, "onboarding:<user-id>".
func OnboardingID(userID int64) string {
	return "onboarding:" + strconv.FormatInt(userID, 10)
}

// OnboardingInput starts the onboarding of one newly registered user. ReminderAfter and Deadline
// count from the start; zero means DefaultReminderAfter and DefaultDeadline. A reminder due at or
// after the deadline is never sent.
type OnboardingInput struct {
	UserID        int64
	ReminderAfter time.Duration
	Deadline      time.Duration
}

// OnboardingState is the progress of onboarding, returned by the query and as the result.
type OnboardingState struct {
	Stage         string
	RemindersSent int
	LinksResent   int // links mailed on the customer's request
	VerifiedAt    time.Time
}

// EmailVerifiedSignal is the payload of SignalEmailVerified. VerifiedAt is when the customer
// confirmed; when zero the workflow uses the time it received the signal.
type EmailVerifiedSignal struct {
	VerifiedAt time.Time
}

// VerificationRequest asks ActivitySendVerification to mail a new confirmation link, worded as
// a reminder when Reminder is set.
type VerificationRequest struct {
	UserID   int64
	Reminder bool
}

// VerificationResult reports what ActivitySendVerification did: AlreadyVerified means no mail
// was sent because the address was confirmed meanwhile.
type VerificationResult struct {
	AlreadyVerified bool
}

// Onboarding follows a newly registered customer until they confirm their email address: it
// sends the confirmation email, one reminder if they have not confirmed when it is due, and ends
// when they confirm or at the deadline.
func Onboarding(ctx workflow.Context, in OnboardingInput) (OnboardingState, error) {
	o, err := startOnboarding(ctx, in) // registers the verified signal and the state query
	if err != nil {
		return OnboardingState{}, err
	}
	if err := o.sendVerificationEmail(ctx); err != nil {
		return o.state, err
	}
	if err := o.waitForVerificationUntil(ctx, o.reminderDue, "reminder due"); err != nil {
		return o.state, err
	}
	o.remindIfStillUnverified(ctx)
	if err := o.waitForVerificationUntil(ctx, o.deadline, "verification deadline"); err != nil {
		return o.state, err
	}
	o.expireIfStillUnverified(ctx)
	return o.state, nil
}

// onboarding is one run of the Onboarding workflow.
type onboarding struct {
	userID      int64
	reminderDue time.Time
	deadline    time.Time
	state       OnboardingState
}

func startOnboarding(ctx workflow.Context, in OnboardingInput) (*onboarding, error) {
	if in.UserID <= 0 {
		return nil, fmt.Errorf("onboarding: invalid user id %d", in.UserID)
	}
	if in.ReminderAfter < 0 || in.Deadline < 0 {
		return nil, errors.New("onboarding: reminder delay and deadline must not be negative")
	}
	if in.ReminderAfter == 0 {
		in.ReminderAfter = DefaultReminderAfter
	}
	if in.Deadline == 0 {
		in.Deadline = DefaultDeadline
	}
	started := workflow.Now(ctx)
	o := &onboarding{
		userID:      in.UserID,
		reminderDue: started.Add(min(in.ReminderAfter, in.Deadline)),
		deadline:    started.Add(in.Deadline),
		state:       OnboardingState{Stage: StageAwaitingVerification},
	}
	if err := workflow.SetQueryHandler(ctx, QueryOnboardingState, func() (OnboardingState, error) {
		return o.state, nil
	}); err != nil {
		return nil, fmt.Errorf("onboarding: register %s query: %w", QueryOnboardingState, err)
	}
	verified := workflow.GetSignalChannel(ctx, SignalEmailVerified)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s EmailVerifiedSignal
			verified.Receive(ctx, &s)
			o.markVerified(ctx, s.VerifiedAt)
		}
	})
	resend := workflow.GetSignalChannel(ctx, SignalResendVerification)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			resend.Receive(ctx, nil)
			o.resendLink(ctx)
		}
	})
	return o, nil
}

// resendLink mails a fresh link on the customer's request, unless they have confirmed meanwhile.
// A failure is logged: the customer can ask again.
func (o *onboarding) resendLink(ctx workflow.Context) {
	if o.verified() {
		return
	}
	var res VerificationResult
	err := workflow.ExecuteActivity(mailActivity(ctx, "resent verification email"), ActivitySendVerification,
		VerificationRequest{UserID: o.userID}).Get(ctx, &res)
	switch {
	case err != nil:
		workflow.GetLogger(ctx).Warn("Requested verification link not sent", "UserID", o.userID, "Error", err)
	case res.AlreadyVerified:
		o.markVerified(ctx, time.Time{})
	default:
		o.state.LinksResent++
	}
}

// sendVerificationEmail sends the first confirmation link. Onboarding cannot go on without it, so
// a failure after the retries ends the workflow.
func (o *onboarding) sendVerificationEmail(ctx workflow.Context) error {
	if o.verified() {
		return nil
	}
	var res VerificationResult
	err := workflow.ExecuteActivity(mailActivity(ctx, "verification email"), ActivitySendVerification,
		VerificationRequest{UserID: o.userID}).Get(ctx, &res)
	if err != nil {
		return fmt.Errorf("send verification email to user %d: %w", o.userID, err)
	}
	if res.AlreadyVerified {
		o.markVerified(ctx, time.Time{})
	}
	return nil
}

// waitForVerificationUntil returns when the customer has confirmed or at t, whichever is first.
// It fails only when the workflow is cancelled.
func (o *onboarding) waitForVerificationUntil(ctx workflow.Context, t time.Time, what string) error {
	wait := t.Sub(workflow.Now(ctx))
	if o.verified() || wait <= 0 {
		return nil
	}
	_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      wait,
		TimerOptions: workflow.TimerOptions{Summary: what},
	}, o.verified)
	if err != nil {
		return fmt.Errorf("wait for verification of user %d until %s: %w", o.userID, what, err)
	}
	return nil
}

// remindIfStillUnverified sends the one reminder. The store is asked first because the verified
// signal may have been lost (e.g. the handler could not reach Temporal). A reminder that cannot be
// sent does not end onboarding: the first link still works.
func (o *onboarding) remindIfStillUnverified(ctx workflow.Context) {
	if o.verified() || !o.reminderDue.Before(o.deadline) {
		return
	}
	log := workflow.GetLogger(ctx)
	var confirmed bool
	err := workflow.ExecuteActivity(lookupActivity(ctx, "verified before reminder?"), ActivityEmailVerified, o.userID).Get(ctx, &confirmed)
	if err != nil {
		log.Warn("Could not check verification before the reminder; sending it anyway", "UserID", o.userID, "Error", err)
	}
	if confirmed {
		o.markVerified(ctx, time.Time{})
	}
	if o.verified() {
		return
	}
	var res VerificationResult
	err = workflow.ExecuteActivity(mailActivity(ctx, "reminder email"), ActivitySendVerification,
		VerificationRequest{UserID: o.userID, Reminder: true}).Get(ctx, &res)
	switch {
	case err != nil:
		log.Warn("Verification reminder not sent", "UserID", o.userID, "Error", err)
	case res.AlreadyVerified:
		o.markVerified(ctx, time.Time{})
	default:
		o.state.RemindersSent++
	}
}

// expireIfStillUnverified closes onboarding at the deadline; the account stays unverified.
func (o *onboarding) expireIfStillUnverified(ctx workflow.Context) {
	if o.verified() {
		return
	}
	o.state.Stage = StageExpired
	workflow.GetLogger(ctx).Info("Onboarding expired without verification", "UserID", o.userID)
}

// markVerified records the confirmation once; later signals and checks change nothing.
func (o *onboarding) markVerified(ctx workflow.Context, at time.Time) {
	if o.state.Stage != StageAwaitingVerification {
		return
	}
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	o.state.Stage = StageVerified
	o.state.VerifiedAt = at
}

func (o *onboarding) verified() bool { return o.state.Stage == StageVerified }

// mailActivity retries an SMTP send with about six minutes of backoff (1 s doubling to 2 min,
// 10 attempts): long enough to ride out a mail server restart, short enough to surface a broken
// configuration.
func mailActivity(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    2 * time.Minute,
			MaximumAttempts:    10,
		},
	})
}

// lookupActivity is for a quick database read that the workflow can do without.
func lookupActivity(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    5,
		},
	})
}
