package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv/repo"
	"github.com/ezscale/billing/workflows"
)

// recordEnv, when set to 1, makes the dev-server journeys write their histories to testdata/
// for the replay test: EZSCALE_RECORD_HISTORY=1 go test ./workflows -run DevServer
const recordEnv = "EZSCALE_RECORD_HISTORY"

var linkToken = regexp.MustCompile(`(?m)^https?://\S+/verify\?token=([A-Za-z0-9_-]+)$`)

// journey is a real Temporal dev server, a worker running the real activities, a fresh
// PostgreSQL database and the SMTP sink: everything the onboarding flow touches.
type journey struct {
	client client.Client
	store  *store.Store
	box    *sink.Sink
}

func startJourney(t *testing.T) journey {
	t.Helper()
	cli := repo.TemporalCLI(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	st := storetest.New(t)
	box, err := sink.Start(log, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = box.Close() })
	smtp, err := mail.NewSMTP(box.URL(), "EZSCALE Hosting <noreply@ezscale.test>")
	if err != nil {
		t.Fatal(err)
	}

	var attrs []temporal.SearchAttributeUpdate
	for _, name := range workflows.SearchAttributeNames() {
		attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(""))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: &client.Options{
			Namespace: "ezscale",
			Identity:  "onboarding-devserver-test", // keeps host names out of recorded histories
			Logger:    sdklog.NewStructuredLogger(log),
		},
		SearchAttributes: temporal.NewSearchAttributes(attrs...),
		LogLevel:         "error",
	})
	if err != nil {
		t.Fatalf("start Temporal dev server with %s: %v", cli, err)
	}
	t.Cleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
	})

	w := worker.New(srv.Client(), workflows.TaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	activities.Register(w, activities.Set{Onboarding: &activities.Onboarding{Users: st, Mail: smtp, BaseURL: "http://portal.ezscale.test"}})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return journey{client: srv.Client(), store: st, box: box}
}

func (j journey) register(t *testing.T, email string) store.User {
	t.Helper()
	u, err := j.store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Alice Example", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// onboardingOptions are the start options the registration handler uses: a retried registration
// joins the running onboarding (USE_EXISTING) and a finished one is never restarted
// (REJECT_DUPLICATE).
func onboardingOptions(userID int64) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.OnboardingID(userID),
		TaskQueue:                workflows.TaskQueue,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.CustomerIDKey.ValueSet(strconv.FormatInt(userID, 10))),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
}

func (j journey) startOnboarding(ctx context.Context, t *testing.T, u store.User, in workflows.OnboardingInput) client.WorkflowRun {
	t.Helper()
	run, err := j.client.ExecuteWorkflow(ctx, onboardingOptions(u.ID), workflows.Onboarding, in)
	if err != nil {
		t.Fatalf("start onboarding: %v", err)
	}
	return run
}

func (j journey) waitMail(ctx context.Context, t *testing.T, to, subject string) sink.Message {
	t.Helper()
	m, err := j.box.Wait(ctx, func(m sink.Message) bool { return m.To[0] == to && m.Subject == subject })
	if err != nil {
		t.Fatalf("wait for %q to %s: %v (sink holds %d messages)", subject, to, err, len(j.box.Messages()))
	}
	return m
}

func TestDevServerOnboardingEndsVerifiedAfterOneReminder(t *testing.T) {
	j := startJourney(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	u := j.register(t, "alice@example.com")
	run := j.startOnboarding(ctx, t, u, workflows.OnboardingInput{UserID: u.ID, ReminderAfter: 2 * time.Second, Deadline: time.Minute})

	first := j.waitMail(ctx, t, "alice@example.com", "Confirm your email address")
	reminder := j.waitMail(ctx, t, "alice@example.com", "Reminder: confirm your email address")
	desc, err := j.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	started := desc.RawResponse.GetWorkflowExecutionInfo().GetStartTime().AsTime()
	if after := reminder.Received.Sub(started); after < 2*time.Second || !first.Received.Before(reminder.Received) {
		t.Errorf("reminder came %v after the start, want at least the 2s ReminderAfter", after)
	}

	// What the verify handler does: consume the link's token, mark the user, signal the workflow.
	m := linkToken.FindStringSubmatch(reminder.Text)
	if m == nil {
		t.Fatalf("no link in the reminder:\n%s", reminder.Text)
	}
	tok, err := j.store.ConsumeToken(ctx, store.TokenVerifyEmail, auth.HashSecret(m[1]))
	if err != nil {
		t.Fatalf("consume the reminder's token: %v", err)
	}
	if err := j.store.MarkEmailVerified(ctx, tok.UserID); err != nil {
		t.Fatal(err)
	}
	verifiedAt := time.Now().UTC().Truncate(time.Millisecond)
	if err := j.client.SignalWorkflow(ctx, workflows.OnboardingID(u.ID), "", workflows.SignalEmailVerified,
		workflows.EmailVerifiedSignal{VerifiedAt: verifiedAt}); err != nil {
		t.Fatalf("signal verified: %v", err)
	}

	var st workflows.OnboardingState
	if err := run.Get(ctx, &st); err != nil {
		t.Fatalf("onboarding failed: %v", err)
	}
	if st.Stage != workflows.StageVerified || st.RemindersSent != 1 || !st.VerifiedAt.Equal(verifiedAt) {
		t.Errorf("result = %+v, want verified at %v with 1 reminder", st, verifiedAt)
	}
	if n := len(j.box.Messages()); n != 2 {
		t.Errorf("sink holds %d messages, want the verification and one reminder", n)
	}

	waitVisible(ctx, t, j.client, fmt.Sprintf("CustomerId = %q", strconv.FormatInt(u.ID, 10)), workflows.OnboardingID(u.ID))
	replayAndRecord(ctx, t, j.client, run, "onboarding_verified.json", workflows.Onboarding)
}

func TestDevServerOnboardingExpiresWhenNeverVerified(t *testing.T) {
	j := startJourney(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	u := j.register(t, "bob@example.com")
	run := j.startOnboarding(ctx, t, u, workflows.OnboardingInput{UserID: u.ID, ReminderAfter: time.Second, Deadline: 3 * time.Second})

	var st workflows.OnboardingState
	if err := run.Get(ctx, &st); err != nil {
		t.Fatalf("onboarding failed: %v", err)
	}
	if st.Stage != workflows.StageExpired || st.RemindersSent != 1 {
		t.Errorf("result = %+v, want expired after 1 reminder", st)
	}
	var subjects []string
	for _, m := range j.box.Messages() {
		subjects = append(subjects, m.Subject)
	}
	if len(subjects) != 2 || subjects[0] != "Reminder: confirm your email address" || subjects[1] != "Confirm your email address" {
		t.Errorf("mails (newest first) = %q, want the verification then one reminder", subjects)
	}
	replayAndRecord(ctx, t, j.client, run, "onboarding_expired.json", workflows.Onboarding)
}

func TestDevServerRepeatedStartJoinsTheRunningOnboardingAndNeverRestartsIt(t *testing.T) {
	j := startJourney(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	u := j.register(t, "carol@example.com")
	in := workflows.OnboardingInput{UserID: u.ID, ReminderAfter: time.Minute, Deadline: 2 * time.Minute}
	run := j.startOnboarding(ctx, t, u, in)
	j.waitMail(ctx, t, "carol@example.com", "Confirm your email address")

	again := j.startOnboarding(ctx, t, u, in) // a retried registration request
	if again.GetRunID() != run.GetRunID() {
		t.Fatalf("second start created run %s, want the running %s", again.GetRunID(), run.GetRunID())
	}
	if err := j.client.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalEmailVerified, workflows.EmailVerifiedSignal{}); err != nil {
		t.Fatal(err)
	}
	var st workflows.OnboardingState
	if err := run.Get(ctx, &st); err != nil || st.Stage != workflows.StageVerified {
		t.Fatalf("onboarding = %+v, %v; want verified", st, err)
	}
	if n := len(j.box.Messages()); n != 1 {
		t.Errorf("%d mails sent, want one: the second start must not mail again", n)
	}

	// The SDK answers a rejected duplicate with the finished run (WorkflowExecutionErrorWhenAlreadyStarted
	// is false), so the proof is that the latest run is still the finished one.
	late, err := j.client.ExecuteWorkflow(ctx, onboardingOptions(u.ID), workflows.Onboarding, in)
	if err != nil {
		t.Fatalf("start after onboarding finished: %v", err)
	}
	desc, err := j.client.DescribeWorkflow(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if late.GetRunID() != run.GetRunID() || info.GetExecution().GetRunId() != run.GetRunID() ||
		info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("start after onboarding finished gave run %s; latest run %s is %s; want the finished run %s kept",
			late.GetRunID(), info.GetExecution().GetRunId(), info.GetStatus(), run.GetRunID())
	}
}

// waitVisible polls visibility, which is eventually consistent, until query finds workflowID.
func waitVisible(ctx context.Context, t *testing.T, c client.Client, query, workflowID string) {
	t.Helper()
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list workflows %q: %v", query, err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == workflowID {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never showed up in visibility for %q", workflowID, query)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// replayAndRecord replays the finished run's history against the current workflow code, and
// writes it to testdata/name when recordEnv is set.
func replayAndRecord(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, name string, wfs ...any) {
	t.Helper()
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("read history of %s: %v", run.GetID(), err)
		}
		replaceIdentity(e.ProtoReflect(), recordedIdentity) // no host names in recorded files
		hist.Events = append(hist.Events, e)
	}
	replayer := worker.NewWorkflowReplayer()
	for _, wf := range wfs {
		replayer.RegisterWorkflow(wf)
	}
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("replay of the live history of %s failed: %v", run.GetID(), err)
	}
	if os.Getenv(recordEnv) != "1" {
		return
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatalf("encode history: %v", err)
	}
	path := filepath.Join("testdata", name)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), path)
}
