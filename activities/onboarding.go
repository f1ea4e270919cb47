// Package activities holds the platform's Temporal activities: structs that carry their
// dependencies (store, mail, gateways, panels) and perform idempotent steps for the workflows.
package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// DefaultTokenTTL is how long an email verification link works when Onboarding.TokenTTL is zero.
const DefaultTokenTTL = 48 * time.Hour

// VerificationRequest is the input of SendVerification (defined with the workflow that sends it).
type VerificationRequest = workflows.VerificationRequest

// VerificationResult is the output of SendVerification.
type VerificationResult = workflows.VerificationResult

// userStore is the part of *store.Store onboarding needs.
type userStore interface {
	UserByID(ctx context.Context, id int64) (store.User, error)
	CreateToken(ctx context.Context, t store.Token) error
}

// sender delivers email; *mail.SMTP is one.
type sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// Onboarding holds the dependencies of the onboarding workflow's activities. BaseURL is the
// portal's public address, e.g. "https://my.ezscale.example".
type Onboarding struct {
	Users    userStore
	Mail     sender
	BaseURL  string
	TokenTTL time.Duration
}

// SendVerification mails a user a fresh link to confirm their address, or does nothing when the
// address is already confirmed. Only the link secret's hash is stored. A retried attempt mails a
// second, equally valid link; that is harmless and simpler than deduplicating sends.
func (a *Onboarding) SendVerification(ctx context.Context, in VerificationRequest) (VerificationResult, error) {
	u, err := a.user(ctx, in.UserID)
	if err != nil {
		return VerificationResult{}, err
	}
	if u.Verified() {
		return VerificationResult{AlreadyVerified: true}, nil
	}
	secret, hash, err := auth.NewSecret()
	if err != nil {
		return VerificationResult{}, fmt.Errorf("make verification token for user %d: %w", u.ID, err)
	}
	ttl := a.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	err = a.Users.CreateToken(ctx, store.Token{
		Hash:      hash,
		UserID:    u.ID,
		Purpose:   store.TokenVerifyEmail,
		Email:     u.Email,
		ExpiresAt: time.Now().Add(ttl),
	})
	if err != nil {
		return VerificationResult{}, fmt.Errorf("store verification token for user %d: %w", u.ID, err)
	}
	link := strings.TrimRight(a.BaseURL, "/") + "/verify?token=" + secret
	msg := mail.Verification(u.Email, u.Name, link)
	if in.Reminder {
		msg = mail.VerificationReminder(u.Email, u.Name, link)
	}
	if err := a.Mail.Send(ctx, msg); err != nil {
		return VerificationResult{}, fmt.Errorf("mail verification link to user %d: %w", u.ID, err)
	}
	return VerificationResult{}, nil
}

// EmailVerified reports whether the user has confirmed their address.
func (a *Onboarding) EmailVerified(ctx context.Context, userID int64) (bool, error) {
	u, err := a.user(ctx, userID)
	if err != nil {
		return false, err
	}
	return u.Verified(), nil
}

// user loads a user; a user that does not exist will not appear on retry, so that failure is
// non-retryable.
func (a *Onboarding) user(ctx context.Context, id int64) (store.User, error) {
	u, err := a.Users.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("user %d does not exist", id), "UserNotFound", err)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("load user %d: %w", id, err)
	}
	return u, nil
}
