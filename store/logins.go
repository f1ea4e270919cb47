package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LoginAttempt is one login try, successful or not, kept for the customer and for staff.
type LoginAttempt struct {
	ID        int64         `db:"id"`
	UserID    sql.NullInt64 `db:"user_id"`
	Email     string        `db:"email"`
	IP        string        `db:"ip"`
	UserAgent string        `db:"user_agent"`
	Success   bool          `db:"success"`
	Reason    string        `db:"reason"`
	At        time.Time     `db:"at"`
}

// RecordLogin stores a login attempt.
func (s *Store) RecordLogin(ctx context.Context, a LoginAttempt) error {
	_, err := s.db.NamedExecContext(ctx, `
		INSERT INTO login_attempts (user_id, email, ip, user_agent, success, reason)
		VALUES (:user_id, :email, :ip, :user_agent, :success, :reason)`, a)
	if err != nil {
		return fmt.Errorf("record login of %s: %w", a.Email, err)
	}
	return nil
}

// LoginHistory returns the user's most recent login attempts, newest first.
func (s *Store) LoginHistory(ctx context.Context, userID int64, limit int) ([]LoginAttempt, error) {
	var out []LoginAttempt
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, user_id, email, ip, user_agent, success, reason, at FROM login_attempts
		WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("login history of user %d: %w", userID, err)
	}
	return out, nil
}

// RecentLogins returns the newest login attempts across all users, for staff.
func (s *Store) RecentLogins(ctx context.Context, limit int) ([]LoginAttempt, error) {
	var out []LoginAttempt
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, user_id, email, ip, user_agent, success, reason, at FROM login_attempts
		ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("recent logins: %w", err)
	}
	return out, nil
}
