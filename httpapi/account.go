package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/auth"
	mailmsg "github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// Per-source budgets in fixed windows; the per-account throttles are in throttle.go.
const (
	loginWindow         = 15 * time.Minute
	loginPerIP          = 30
	resetWindow         = time.Hour
	resetPerIP          = 10
	resetPerAcct        = 3
	resetTokenLifetime  = time.Hour
	maxNameLength       = 200
	maxEmailLength      = 254
	dummyPasswordToHash = "timing-equaliser-password"
)

func (s *server) registerForm(w http.ResponseWriter, r *http.Request) {
	if currentUser(r) != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "register", s.page(r, "Create your account", nil))
}

// register creates a customer, logs them in and starts the onboarding workflow that mails the
// verification link and the reminder.
func (s *server) register(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Create your account", nil)
	name := strings.TrimSpace(r.PostFormValue("name"))
	email := store.NormalizeEmail(r.PostFormValue("email"))
	company := strings.TrimSpace(r.PostFormValue("company"))
	password := r.PostFormValue("password")
	p.Form = map[string]string{"name": name, "email": email, "company": company}
	if name == "" || len(name) > maxNameLength {
		p.Errors["name"] = "Enter your name (up to 200 characters)."
	}
	if !validEmail(email) {
		p.Errors["email"] = "Enter a valid email address."
	}
	if len(company) > maxNameLength {
		p.Errors["company"] = "Use up to 200 characters."
	}
	if msg := auth.CheckPasswordPolicy(password); msg != "" {
		p.Errors["password"] = msg
	} else if password != r.PostFormValue("password_confirm") {
		p.Errors["password_confirm"] = "The two passwords do not match."
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "register", p)
		return
	}
	// Every sign-up mails the address given: limit them per source and per address.
	if !s.allowOr(w, r, "register:ip:"+source(r), registerWindow, registerPerIP, "Too many sign-ups",
		"Too many accounts were created from your address.") ||
		!s.allowOr(w, r, "register:email:"+email, registerWindow, registerPerEmail, "Too many sign-ups",
			"Too many sign-ups were tried for this e-mail address.") {
		return
	}
	hash, err := auth.HashPassword(password, auth.DefaultParams())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.Store.CreateUser(r.Context(), store.NewUser{
		Email: email, Name: name, PasswordHash: hash, Role: store.RoleCustomer,
		Profile: store.Profile{Company: company},
	})
	if errors.Is(err, store.ErrConflict) {
		p.Errors["email"] = "An account with this address already exists. Log in or reset your password."
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusConflict, "register", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.startOnboarding(r.Context(), u.ID); err != nil {
		// The account exists; the customer can ask for the link again from the dashboard.
		s.Log.Error("start onboarding", "user", u.ID, "err", err)
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.WithContext(context.WithValue(r.Context(), userKey, &u)), "account.register", userTarget(u.ID), nil)
	http.Redirect(w, r, "/verify/sent?email="+urlQueryEscape(u.Email), http.StatusSeeOther)
}

// startOnboarding starts onboarding:<user-id>. A run that is already going is left alone.
func (s *server) startOnboarding(ctx context.Context, userID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Workflows.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.OnboardingID(userID),
		TaskQueue:                s.Settings.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.CustomerIDKey.ValueSet(strconv.FormatInt(userID, 10))),
	}, workflows.Onboarding, workflows.OnboardingInput{
		UserID:        userID,
		ReminderAfter: s.Settings.OnboardingReminderAfter,
		Deadline:      s.Settings.OnboardingDeadline,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", workflows.OnboardingID(userID), err)
	}
	return nil
}

func (s *server) verifySent(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Check your inbox", nil)
	p.Form["email"] = r.URL.Query().Get("email")
	if u := currentUser(r); u != nil && p.Form["email"] == "" {
		p.Form["email"] = u.Email
	}
	s.render(w, r, http.StatusOK, "verify_sent", p)
}

// verifyNeeded asks a customer who tried to order or pay to confirm their address first.
func (s *server) verifyNeeded(w http.ResponseWriter, r *http.Request) {
	if currentUser(r).Verified() {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "verify_needed", s.page(r, "Confirm your email address", nil))
}

// resendVerification sends a fresh link by signalling (or restarting) the onboarding workflow.
// The answer is the same whether or not the address has an account.
func (s *server) resendVerification(w http.ResponseWriter, r *http.Request) {
	email := store.NormalizeEmail(r.PostFormValue("email"))
	if !s.allow(w, r, "verify:ip:"+source(r), resetWindow, resetPerIP) {
		return
	}
	u, err := s.Store.UserByEmail(r.Context(), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.fail(w, r, err)
		return
	case !u.Verified():
		// Over budget the answer stays the same and nothing is sent: requests from elsewhere
		// never use up the budget of the owner's own session or browser.
		send, err := s.mailBudget(r, u, "verify")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !send {
			s.audit(r, "auth.verify_throttled", userTarget(u.ID), nil)
			break
		}
		if err := s.resendOnboarding(r.Context(), u.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/verify/sent?email="+urlQueryEscape(email), http.StatusSeeOther)
}

func (s *server) resendOnboarding(ctx context.Context, userID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.Workflows.SignalWorkflow(ctx, workflows.OnboardingID(userID), "", workflows.SignalResendVerification, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// The earlier run ended (deadline passed): a new run mails a new link.
		return s.startOnboarding(ctx, userID)
	}
	if err != nil {
		return fmt.Errorf("ask %s to resend: %w", workflows.OnboardingID(userID), err)
	}
	return nil
}

// verify consumes a verification link and tells the onboarding workflow.
func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	tok, err := s.Store.ConsumeToken(r.Context(), store.TokenVerifyEmail, auth.HashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		s.render(w, r, http.StatusBadRequest, "verify_result", s.page(r, "Link not valid", web.VerifyResult{
			Message: "This verification link is invalid, already used or expired. Ask for a new one below.",
		}))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Store.MarkEmailVerified(r.Context(), tok.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.signalVerified(r.Context(), tok.UserID)
	if u := currentUser(r); u != nil && u.ID == tok.UserID {
		u.EmailVerifiedAt.Valid, u.EmailVerifiedAt.Time = true, time.Now()
	}
	s.render(w, r, http.StatusOK, "verify_result", s.page(r, "Email confirmed", web.VerifyResult{
		OK: true, Message: "Thank you: your email address is confirmed.",
	}))
}

// signalVerified ends the onboarding workflow early. A finished or missing workflow is fine:
// the database already records the verification.
func (s *server) signalVerified(ctx context.Context, userID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.Workflows.SignalWorkflow(ctx, workflows.OnboardingID(userID), "", workflows.SignalEmailVerified, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		s.Log.Error("signal email verified", "user", userID, "err", err)
	}
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if u := currentUser(r); u != nil {
		http.Redirect(w, r, landing(*u), http.StatusSeeOther)
		return
	}
	p := s.page(r, "Log in", nil)
	p.Form["next"] = localPath(r.URL.Query().Get("next"), "")
	s.render(w, r, http.StatusOK, "login", p)
}

// login checks the password under the throttles described in throttle.go and records every
// attempt. A stranger's wrong guesses slow down the stranger's source, not the owner.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	email := store.NormalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"), "")
	if len(email) > maxEmailLength {
		email = email[:maxEmailLength]
	}
	u, err := s.Store.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	found := err == nil
	// A known device has a budget of its own; anonymous sources share one per address too.
	if _, ok := s.knownDevice(r, u.ID); !found || !ok {
		if !s.allow(w, r, "login:ip:"+source(r), loginWindow, loginPerIP) {
			s.recordLogin(r, nil, email, false, "rate limited (ip)")
			return
		}
	}
	try, wait, err := s.takePasswordTry(r, email, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wait > 0 {
		reason := "rate limited (account from this source)"
		if try.device {
			reason = "rate limited (account on this device)"
		}
		s.recordLogin(r, nil, email, false, reason)
		s.tooMany(w, r, wait, "Too many attempts", "Too many wrong passwords for this account from here.")
		return
	}
	if !found {
		// Spend the same time as a real check so response time does not reveal which addresses exist.
		_ = auth.VerifyPassword(password, s.dummyHash())
		s.passwordWrong(r, try)
		s.recordLogin(r, nil, email, false, "unknown email")
		s.loginFailed(w, r, email, next)
		return
	}
	if err := auth.VerifyPassword(password, u.PasswordHash); err != nil {
		s.passwordWrong(r, try)
		s.recordLogin(r, &u, email, false, "wrong password")
		s.loginFailed(w, r, email, next)
		return
	}
	s.passwordRight(r, try)
	if u.Closed() {
		s.recordLogin(r, &u, email, false, "account closed")
		p := s.page(r, "Log in", nil)
		p.Form = map[string]string{"email": email, "next": next}
		p.Error = "This account is closed. Contact support if you need it reopened."
		s.render(w, r, http.StatusForbidden, "login", p)
		return
	}
	if auth.NeedsRehash(u.PasswordHash, auth.DefaultParams()) {
		// Upgrade hashes made with weaker parameters while the plain password is at hand.
		if h, err := auth.HashPassword(password, auth.DefaultParams()); err == nil {
			if err := s.Store.SetPassword(r.Context(), u.ID, h, nil); err != nil {
				s.Log.Error("rehash password", "user", u.ID, "err", err)
			}
		}
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.rememberDevice(w, r, u.ID)
	s.recordLogin(r, &u, email, true, "")
	http.Redirect(w, r, localPath(next, landing(u)), http.StatusSeeOther)
}

func (s *server) loginFailed(w http.ResponseWriter, r *http.Request, email, next string) {
	p := s.page(r, "Log in", nil)
	p.Form = map[string]string{"email": email, "next": next}
	p.Error = "Incorrect email or password."
	s.render(w, r, http.StatusUnauthorized, "login", p)
}

// recordLogin writes the attempt to the login history and the audit log.
func (s *server) recordLogin(r *http.Request, u *store.User, email string, ok bool, reason string) {
	a := store.LoginAttempt{Email: email, IP: clientIP(r), UserAgent: truncate(r.UserAgent(), 512), Success: ok, Reason: reason}
	action := "auth.login_failed"
	if u != nil {
		a.UserID.Int64, a.UserID.Valid = u.ID, true
		r = r.WithContext(context.WithValue(r.Context(), userKey, u))
	}
	if ok {
		action = "auth.login"
	}
	if err := s.Store.RecordLogin(context.WithoutCancel(r.Context()), a); err != nil {
		s.Log.Error("record login", "err", err)
	}
	details, _ := json.Marshal(map[string]string{"email": email, "reason": reason})
	s.audit(r, action, "", details)
}

func (s *server) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = auth.HashPassword(dummyPasswordToHash, auth.DefaultParams())
	})
	return s.dummy
}

// landing is where a user goes after logging in.
func landing(u store.User) string {
	if u.Staff() {
		return "/admin"
	}
	return "/account"
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if h := currentSession(r); h != nil {
		if err := s.Store.DeleteSession(r.Context(), h); err != nil {
			s.fail(w, r, err)
			return
		}
		s.audit(r, "auth.logout", "", nil)
	}
	s.clearCookie(w, sessionCookie)
	s.newCSRFCookie(w)
	http.Redirect(w, r, "/login?notice=logged-out", http.StatusSeeOther)
}

func (s *server) forgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "forgot", s.page(r, "Reset your password", nil))
}

// forgot mails a reset link when the address has an account; the answer is the same either way.
func (s *server) forgot(w http.ResponseWriter, r *http.Request) {
	email := store.NormalizeEmail(r.PostFormValue("email"))
	p := s.page(r, "Reset your password", nil)
	p.Form["email"] = email
	if !validEmail(email) {
		p.Errors["email"] = "Enter a valid email address."
		s.render(w, r, http.StatusUnprocessableEntity, "forgot", p)
		return
	}
	if !s.allow(w, r, "reset:ip:"+source(r), resetWindow, resetPerIP) {
		return
	}
	u, err := s.Store.UserByEmail(r.Context(), email)
	var mailIt bool
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		// Over budget the answer stays the same and no mail goes out, so the throttle tells
		// nothing about the address. The owner's own browser has a budget of its own.
		mailIt, err = s.mailBudget(r, u, "reset")
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if mailIt {
		secret, hash, err := auth.NewSecret()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		err = s.Store.CreateToken(r.Context(), store.Token{Hash: hash, UserID: u.ID, Purpose: store.TokenResetPassword, Email: u.Email, ExpiresAt: time.Now().Add(resetTokenLifetime)})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		link := s.Settings.BaseURL + "/reset?token=" + secret
		if err := s.Mail.Send(r.Context(), mailmsg.PasswordReset(u.Email, u.Name, link, resetTokenLifetime)); err != nil {
			s.fail(w, r, fmt.Errorf("mail reset link to user %d: %w", u.ID, err))
			return
		}
		s.audit(r, "auth.reset_requested", userTarget(u.ID), nil)
	} else if err == nil {
		s.audit(r, "auth.reset_throttled", userTarget(u.ID), nil)
	}
	p.Flash = "If an account exists for that address, we sent a reset link. It works for one hour."
	s.render(w, r, http.StatusOK, "forgot", p)
}

func (s *server) resetForm(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Choose a new password", nil)
	p.Form["token"] = r.URL.Query().Get("token")
	s.render(w, r, http.StatusOK, "reset", p)
}

// reset sets a new password from a valid reset link and logs out every session.
func (s *server) reset(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	password := r.PostFormValue("password")
	p := s.page(r, "Choose a new password", nil)
	p.Form["token"] = token
	if !s.allow(w, r, "reset-submit:ip:"+source(r), resetWindow, resetPerIP*3) {
		return
	}
	if msg := auth.CheckPasswordPolicy(password); msg != "" {
		p.Errors["password"] = msg
	} else if password != r.PostFormValue("password_confirm") {
		p.Errors["password_confirm"] = "The two passwords do not match."
	}
	if len(p.Errors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "reset", p)
		return
	}
	hash, err := auth.HashPassword(password, auth.DefaultParams())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tok, err := s.Store.ConsumeToken(r.Context(), store.TokenResetPassword, auth.HashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		p.Error = "This reset link is invalid, already used or expired. Ask for a new one."
		s.render(w, r, http.StatusBadRequest, "reset", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Store.SetPassword(r.Context(), tok.UserID, hash, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	// Following the mailed link proves the address, so it counts as verification too.
	if err := s.Store.MarkEmailVerified(r.Context(), tok.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.signalVerified(r.Context(), tok.UserID)
	if u, err := s.Store.UserByID(r.Context(), tok.UserID); err == nil {
		// The owner proved the address: whatever strangers did to its throttles is forgotten.
		if err := s.Store.ClearThrottles(r.Context(), u.Email); err != nil {
			s.Log.Error("clear throttles after reset", "user", u.ID, "err", err)
		}
		if err := s.Mail.Send(r.Context(), mailmsg.PasswordChanged(u.Email, u.Name)); err != nil {
			s.Log.Error("mail password changed notice", "user", u.ID, "err", err)
		}
	}
	s.audit(r, "auth.password_reset", userTarget(tok.UserID), nil)
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?notice=password-reset", http.StatusSeeOther)
}

// mailBudget reports whether a mail of the kind (reset, verify) may go to u now. The account's
// own session and its known browsers have budgets of their own; other sources have one each per
// account and share a larger one, so a stranger can never use up the owner's.
func (s *server) mailBudget(r *http.Request, u store.User, kind string) (bool, error) {
	id := strconv.FormatInt(u.ID, 10)
	if cu := currentUser(r); cu != nil && cu.ID == u.ID {
		wait, err := s.Store.TakeTry(r.Context(), kind+":user:"+id, u.Email, resetBackoff)
		return wait == 0, err
	}
	if d, ok := s.knownDevice(r, u.ID); ok {
		wait, err := s.Store.TakeTry(r.Context(), kind+":dev:"+id+":"+d.id, u.Email, resetBackoff)
		return wait == 0, err
	}
	wait, err := s.Store.TakeTry(r.Context(), kind+":src:"+u.Email+"|"+source(r), u.Email, resetBackoff)
	if err != nil || wait > 0 {
		return false, err
	}
	wait, err = s.Store.TakeTry(r.Context(), kind+":acct:"+u.Email, u.Email, resetAccountBackoff)
	return wait == 0, err
}

// allow applies a rate limit; when over it, it answers 429 with Retry-After and returns false.
func (s *server) allow(w http.ResponseWriter, r *http.Request, key string, window time.Duration, limit int) bool {
	return s.allowOr(w, r, key, window, limit, "Too many attempts", "Too many requests from your address.")
}

// allowOr is allow with the 429 page's title and message.
func (s *server) allowOr(w http.ResponseWriter, r *http.Request, key string, window time.Duration, limit int, title, msg string) bool {
	ok, retry, err := s.Store.Hit(r.Context(), key, window, limit)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	if !ok {
		s.tooMany(w, r, retry, title, msg)
		return false
	}
	return true
}

func validEmail(s string) bool {
	if len(s) > maxEmailLength || strings.ContainsAny(s, " <>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

func userTarget(id int64) string { return "user:" + strconv.FormatInt(id, 10) }
