package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func newCustomer(t *testing.T, s *store.Store, email string) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.NewUser{
		Email: email, Name: "Ada Lovelace", PasswordHash: "$argon2id$x", Role: store.RoleCustomer,
		Profile: store.Profile{Company: "Analytical Engines Ltd", Country: "GB"},
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

func TestCreateUserNormalisesEmailAndRefusesDuplicates(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "  Ada@Example.COM ")
	if u.Email != "ada@example.com" || u.Role != store.RoleCustomer || u.Verified() || u.Theme != "light" {
		t.Fatalf("created user = %+v; want normalised email, customer role, unverified, light theme", u)
	}
	_, err := s.CreateUser(ctx, store.NewUser{Email: "ADA@example.com", Name: "Other", PasswordHash: "h", Role: store.RoleCustomer})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate email: err = %v, want ErrConflict", err)
	}
	got, err := s.UserByEmail(ctx, "ada@EXAMPLE.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v, %v; want user %d", got, err, u.ID)
	}
	p, err := s.ProfileByUser(ctx, u.ID)
	if err != nil || p.Company != "Analytical Engines Ltd" || p.Country != "GB" {
		t.Fatalf("profile = %+v, %v", p, err)
	}
	if _, err := s.UserByID(ctx, u.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: err = %v, want ErrNotFound", err)
	}
}

func TestCreateUserWithBadProfileCreatesNothing(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	_, err := s.CreateUser(ctx, store.NewUser{Email: "bad@example.com", Name: "Bad", PasswordHash: "h", Role: store.RoleCustomer,
		Profile: store.Profile{Country: "Narnia"}})
	if err == nil {
		t.Fatal("profile with invalid country accepted")
	}
	if _, err := s.UserByEmail(ctx, "bad@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user row survived a failed transaction: err = %v", err)
	}
}

func TestUpdateProfileAndTheme(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "grace@example.com")
	err := s.UpdateProfile(ctx, "Grace Hopper", store.Profile{UserID: u.ID, Company: "US Navy", City: "Arlington", State: "VA", Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	p, _ := s.ProfileByUser(ctx, u.ID)
	if got.Name != "Grace Hopper" || p.Company != "US Navy" || p.State != "VA" {
		t.Fatalf("after update: name %q profile %+v", got.Name, p)
	}
	if err := s.SetTheme(ctx, u.ID, "dark"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTheme(ctx, u.ID, "purple"); err == nil {
		t.Fatal("theme purple accepted")
	}
	got, _ = s.UserByID(ctx, u.ID)
	if got.Theme != "dark" {
		t.Fatalf("theme = %q, want dark", got.Theme)
	}
}

func TestSessionLifecycleAndRotation(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "s@example.com")
	_, first, _ := auth.NewSecret()
	if err := s.CreateSession(ctx, store.Session{IDHash: first, UserID: u.ID, IP: "203.0.113.9", UserAgent: "test", ExpiresAt: time.Now().Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	sess, su, err := s.SessionUser(ctx, first, time.Hour)
	if err != nil || su.ID != u.ID || sess.IP != "203.0.113.9" || su.Email != "s@example.com" {
		t.Fatalf("SessionUser = %+v %+v %v", sess, su, err)
	}
	_, second, _ := auth.NewSecret()
	if err := s.CreateSession(ctx, store.Session{IDHash: second, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, first); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, first, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotated-out session still valid: %v", err)
	}
	if err := s.DeleteSession(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, second, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("logged-out session still valid: %v", err)
	}
	_, expired, _ := auth.NewSecret()
	_ = s.CreateSession(ctx, store.Session{IDHash: expired, UserID: u.ID, ExpiresAt: time.Now().Add(-time.Minute)}, nil)
	if _, _, err := s.SessionUser(ctx, expired, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session accepted: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
}

func TestSetPasswordEndsOtherSessions(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "p@example.com")
	var hashes [][]byte
	for range 3 {
		_, h, _ := auth.NewSecret()
		hashes = append(hashes, h)
		_ = s.CreateSession(ctx, store.Session{IDHash: h, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, nil)
	}
	if err := s.SetPassword(ctx, u.ID, "new-hash", hashes[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, hashes[0], time.Hour); err != nil {
		t.Fatalf("current session ended by password change: %v", err)
	}
	for _, h := range hashes[1:] {
		if _, _, err := s.SessionUser(ctx, h, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other session survived password change: %v", err)
		}
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordHash != "new-hash" {
		t.Fatalf("hash = %q", got.PasswordHash)
	}
	if err := s.SetPassword(ctx, u.ID, "newer", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, hashes[0], time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset with no kept session left a session alive: %v", err)
	}
}

func TestTokensAreOneTimeExpiringAndBoundToTheAddress(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "t@example.com")
	secret, hash, _ := auth.NewSecret()
	if err := s.CreateToken(ctx, store.Token{Hash: hash, UserID: u.ID, Purpose: store.TokenVerifyEmail, Email: u.Email, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeToken(ctx, store.TokenResetPassword, hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("verify token accepted as reset token: %v", err)
	}
	tok, err := s.ConsumeToken(ctx, store.TokenVerifyEmail, auth.HashSecret(secret))
	if err != nil || tok.UserID != u.ID || !bytes.Equal(tok.Hash, hash) {
		t.Fatalf("ConsumeToken = %+v, %v", tok, err)
	}
	if _, err := s.ConsumeToken(ctx, store.TokenVerifyEmail, hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token used twice: %v", err)
	}
	_, old, _ := auth.NewSecret()
	_ = s.CreateToken(ctx, store.Token{Hash: old, UserID: u.ID, Purpose: store.TokenVerifyEmail, Email: u.Email, ExpiresAt: time.Now().Add(-time.Second)})
	if _, err := s.ConsumeToken(ctx, store.TokenVerifyEmail, old); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token accepted: %v", err)
	}
	_, other, _ := auth.NewSecret()
	_ = s.CreateToken(ctx, store.Token{Hash: other, UserID: u.ID, Purpose: store.TokenVerifyEmail, Email: "previous@example.com", ExpiresAt: time.Now().Add(time.Hour)})
	if _, err := s.ConsumeToken(ctx, store.TokenVerifyEmail, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token for another address accepted: %v", err)
	}
}

func TestConsumingOneResetTokenRetiresTheOthers(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "r@example.com")
	var hs [][]byte
	for range 2 {
		_, h, _ := auth.NewSecret()
		hs = append(hs, h)
		_ = s.CreateToken(ctx, store.Token{Hash: h, UserID: u.ID, Purpose: store.TokenResetPassword, Email: u.Email, ExpiresAt: time.Now().Add(time.Hour)})
	}
	if _, err := s.ConsumeToken(ctx, store.TokenResetPassword, hs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeToken(ctx, store.TokenResetPassword, hs[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("older reset link still works after a reset: %v", err)
	}
}

func TestMarkEmailVerifiedIsIdempotent(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "v@example.com")
	if err := s.MarkEmailVerified(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	first, _ := s.UserByID(ctx, u.ID)
	if !first.Verified() {
		t.Fatal("not verified")
	}
	time.Sleep(5 * time.Millisecond)
	_ = s.MarkEmailVerified(ctx, u.ID)
	again, _ := s.UserByID(ctx, u.ID)
	if !again.EmailVerifiedAt.Time.Equal(first.EmailVerifiedAt.Time) {
		t.Fatalf("second verification moved the timestamp from %v to %v", first.EmailVerifiedAt.Time, again.EmailVerifiedAt.Time)
	}
	counts, err := s.CountUsers(ctx)
	if err != nil || counts.Customers != 1 || counts.Unverified != 0 || counts.Staff != 0 {
		t.Fatalf("counts = %+v, %v", counts, err)
	}
}

func TestLoginHistoryAndAuditLog(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "l@example.com")
	uid := u.ID
	_ = s.RecordLogin(ctx, store.LoginAttempt{Email: u.Email, IP: "198.51.100.1", UserAgent: "ua", Success: false, Reason: "wrong password", UserID: nullID(uid)})
	_ = s.RecordLogin(ctx, store.LoginAttempt{Email: u.Email, IP: "198.51.100.2", UserAgent: "ua", Success: true, UserID: nullID(uid)})
	_ = s.RecordLogin(ctx, store.LoginAttempt{Email: "nobody@example.com", IP: "198.51.100.3", UserAgent: "ua", Reason: "unknown email"})
	h, err := s.LoginHistory(ctx, uid, 10)
	if err != nil || len(h) != 2 || !h[0].Success || h[1].Reason != "wrong password" {
		t.Fatalf("history = %+v, %v; want 2 entries newest first", h, err)
	}
	all, _ := s.RecentLogins(ctx, 10)
	if len(all) != 3 || all[0].Email != "nobody@example.com" {
		t.Fatalf("recent logins = %+v", all)
	}
	if err := s.Audit(ctx, store.AuditEntry{ActorID: nullID(uid), ActorEmail: u.Email, Action: "user.update", Target: "user:1", IP: "1.2.3.4", Details: []byte(`{"field":"name"}`)}); err != nil {
		t.Fatal(err)
	}
	_ = s.Audit(ctx, store.AuditEntry{Action: "seed"})
	log, err := s.AuditLog(ctx, 10)
	if err != nil || len(log) != 2 || log[1].Action != "user.update" || string(log[1].Details) != `{"field": "name"}` {
		t.Fatalf("audit = %+v, %v", log, err)
	}
}

func TestRateLimitFixedWindow(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		ok, _, err := s.Hit(ctx, "login:ip:1", time.Minute, 3)
		if err != nil || !ok {
			t.Fatalf("hit %d refused: %v", i, err)
		}
	}
	ok, retry, err := s.Hit(ctx, "login:ip:1", time.Minute, 3)
	if err != nil || ok || retry <= 50*time.Second || retry > time.Minute {
		t.Fatalf("4th hit: allowed=%v retry=%v err=%v; want refused with ~60s retry", ok, retry, err)
	}
	if ok, _, _ := s.Hit(ctx, "login:ip:2", time.Minute, 3); !ok {
		t.Fatal("another key shares the counter")
	}
	_ = s.ResetHits(ctx, "login:ip:1")
	if ok, _, _ := s.Hit(ctx, "login:ip:1", time.Minute, 3); !ok {
		t.Fatal("reset did not clear the counter")
	}
	// A window that has passed starts over.
	for range 2 {
		_, _, _ = s.Hit(ctx, "short", 200*time.Millisecond, 1)
	}
	time.Sleep(250 * time.Millisecond)
	if ok, _, _ := s.Hit(ctx, "short", 200*time.Millisecond, 1); !ok {
		t.Fatal("expired window still counts old hits")
	}
}

func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	st, err := s.MigrationStatuses(ctx)
	if err != nil || len(st) == 0 || !st[0].Applied {
		t.Fatalf("status = %+v, %v", st, err)
	}
	for range st {
		if err := s.MigrateDown(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = s.MigrationStatuses(ctx)
	for _, m := range st {
		if m.Applied {
			t.Fatalf("migration %d still applied after going down", m.Version)
		}
	}
	if n, err := s.MigrateUp(ctx, nil); err != nil || n != len(st) {
		t.Fatalf("MigrateUp applied %d, %v; want %d", n, err, len(st))
	}
	newCustomer(t, s, "after@example.com")
}
