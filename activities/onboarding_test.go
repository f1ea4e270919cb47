package activities_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

// verifyLink finds the confirmation link on its own line in a text body.
var verifyLink = regexp.MustCompile(`(?m)^https://portal\.ezscale\.test/verify\?token=([A-Za-z0-9_-]+)$`)

type fixture struct {
	store *store.Store
	box   *sink.Sink
	act   *activities.Onboarding
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	st := storetest.New(t)
	box, err := sink.Start(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = box.Close() })
	smtp, err := mail.NewSMTP(box.URL(), "EZSCALE Hosting <noreply@ezscale.test>")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: st, box: box, act: &activities.Onboarding{Users: st, Mail: smtp, BaseURL: "https://portal.ezscale.test/"}}
}

func (f fixture) user(t *testing.T, email string, verified bool) store.User {
	t.Helper()
	u, err := f.store.CreateUser(context.Background(), store.NewUser{
		Email: email, Name: "Alice Example", PasswordHash: "x", Role: store.RoleCustomer, Verified: verified,
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func TestSendVerificationMailsALinkWhoseTokenIsStoredOnlyAsAHash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t, "alice@example.com", false)

	res, err := f.act.SendVerification(ctx, activities.VerificationRequest{UserID: u.ID})
	if err != nil || res.AlreadyVerified {
		t.Fatalf("SendVerification = %+v, %v; want a sent mail", res, err)
	}
	msgs := f.box.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "alice@example.com" || msgs[0].Subject != "Confirm your email address" {
		t.Fatalf("sink holds %d messages (first: %+v), want one confirmation to alice@example.com", len(msgs), msgs)
	}
	m := verifyLink.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no verification link on its own line in the text body:\n%s", msgs[0].Text)
	}
	secret := m[1]

	if _, err := f.store.ConsumeToken(ctx, store.TokenVerifyEmail, []byte(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the raw secret from the link works as a stored token (err %v): it must be stored only as a hash", err)
	}
	tok, err := f.store.ConsumeToken(ctx, store.TokenVerifyEmail, auth.HashSecret(secret))
	if err != nil {
		t.Fatalf("consume the token from the mailed link: %v", err)
	}
	if tok.UserID != u.ID || tok.Email != "alice@example.com" {
		t.Errorf("token belongs to user %d / %s, want %d / alice@example.com", tok.UserID, tok.Email, u.ID)
	}
	if want := time.Now().Add(activities.DefaultTokenTTL); tok.ExpiresAt.Before(want.Add(-time.Minute)) || tok.ExpiresAt.After(want.Add(time.Minute)) {
		t.Errorf("token expires at %v, want about %v (48h)", tok.ExpiresAt, want)
	}
}

func TestSendVerificationReminderUsesReminderWordingAndAFreshToken(t *testing.T) {
	f := newFixture(t)
	f.act.TokenTTL = time.Hour
	ctx := context.Background()
	u := f.user(t, "bob@example.com", false)

	for _, reminder := range []bool{false, true} {
		if _, err := f.act.SendVerification(ctx, activities.VerificationRequest{UserID: u.ID, Reminder: reminder}); err != nil {
			t.Fatalf("SendVerification(reminder=%v): %v", reminder, err)
		}
	}
	msgs := f.box.Messages() // newest first
	if len(msgs) != 2 || msgs[0].Subject != "Reminder: confirm your email address" {
		t.Fatalf("got %d messages, newest %q; want the reminder after the first mail", len(msgs), msgs[0].Subject)
	}
	first, second := verifyLink.FindStringSubmatch(msgs[1].Text), verifyLink.FindStringSubmatch(msgs[0].Text)
	if first == nil || second == nil || first[1] == second[1] {
		t.Fatalf("links %q and %q: want two different tokens", first, second)
	}
	tok, err := f.store.ConsumeToken(ctx, store.TokenVerifyEmail, auth.HashSecret(second[1]))
	if err != nil {
		t.Fatalf("consume the reminder's token: %v", err)
	}
	if d := time.Until(tok.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("reminder token expires in %v, want the configured 1h", d)
	}
}

func TestSendVerificationSkipsAlreadyVerifiedUser(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "carol@example.com", true)
	res, err := f.act.SendVerification(context.Background(), activities.VerificationRequest{UserID: u.ID, Reminder: true})
	if err != nil || !res.AlreadyVerified {
		t.Fatalf("SendVerification for a verified user = %+v, %v; want AlreadyVerified", res, err)
	}
	if n := len(f.box.Messages()); n != 0 {
		t.Fatalf("a verified user was mailed %d messages", n)
	}
}

func TestMissingUserIsANonRetryableFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, sendErr := f.act.SendVerification(ctx, activities.VerificationRequest{UserID: 987654})
	_, checkErr := f.act.EmailVerified(ctx, 987654)
	for name, err := range map[string]error{"SendVerification": sendErr, "EmailVerified": checkErr} {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "UserNotFound" {
			t.Errorf("%s for a missing user: %v; want a non-retryable UserNotFound application error", name, err)
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s error %v does not wrap store.ErrNotFound", name, err)
		}
	}
	if n := len(f.box.Messages()); n != 0 {
		t.Fatalf("%d messages sent for a missing user", n)
	}
}

func TestMailServerOutageIsRetryable(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "dave@example.com", false)
	if err := f.box.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := f.act.SendVerification(ctx, activities.VerificationRequest{UserID: u.ID})
	if err == nil {
		t.Fatal("SendVerification succeeded with the mail server down")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("a mail outage must be retried, got non-retryable %v", err)
	}
}

func TestEmailVerifiedFollowsTheStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t, "erin@example.com", false)
	if ok, err := f.act.EmailVerified(ctx, u.ID); err != nil || ok {
		t.Fatalf("EmailVerified before verification = %v, %v; want false", ok, err)
	}
	if err := f.store.MarkEmailVerified(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.act.EmailVerified(ctx, u.ID); err != nil || !ok {
		t.Fatalf("EmailVerified after verification = %v, %v; want true", ok, err)
	}
}
