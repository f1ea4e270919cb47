package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Session is a server-side login session. The cookie holds a random value; only its hash is stored.
type Session struct {
	IDHash     []byte    `db:"id_hash"`
	UserID     int64     `db:"user_id"`
	IP         string    `db:"ip"`
	UserAgent  string    `db:"user_agent"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	// ImpersonatorID is the member of staff acting as the user ("log in as customer"); NULL in
	// the user's own sessions.
	ImpersonatorID sql.NullInt64 `db:"impersonator_id"`
}

// CreateSession stores a new session. When replaces is not nil, that session is deleted in the
// same transaction: this is the rotation on login that defeats session fixation.
func (s *Store) CreateSession(ctx context.Context, sess Session, replaces []byte) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if replaces != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, replaces); err != nil {
				return fmt.Errorf("delete replaced session: %w", err)
			}
		}
		_, err := tx.NamedExecContext(ctx, `
			INSERT INTO sessions (id_hash, user_id, ip, user_agent, expires_at, impersonator_id)
			VALUES (:id_hash, :user_id, :ip, :user_agent, :expires_at, :impersonator_id)`, sess)
		if err != nil {
			return fmt.Errorf("create session for user %d: %w", sess.UserID, err)
		}
		return nil
	})
}

// SessionUser returns the live session with the given hash and its user, sliding its expiry to
// now+lifetime. Expired or unknown sessions return ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, idHash []byte, lifetime time.Duration) (Session, User, error) {
	var row struct {
		Session
		User `db:"u"`
	}
	err := s.db.GetContext(ctx, &row, `
		WITH touched AS (
			UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)
			WHERE id_hash = $1 AND expires_at > now()
			RETURNING *
		)
		SELECT t.id_hash, t.user_id, t.ip, t.user_agent, t.created_at, t.last_seen_at, t.expires_at, t.impersonator_id,
		       u.id AS "u.id", u.email AS "u.email", u.email_verified_at AS "u.email_verified_at",
		       u.password_hash AS "u.password_hash", u.name AS "u.name", u.role AS "u.role",
		       u.theme AS "u.theme", u.created_at AS "u.created_at", u.updated_at AS "u.updated_at"
		FROM touched t JOIN users u ON u.id = t.user_id AND u.closed_at IS NULL`, idHash, lifetime.Seconds())
	if err != nil {
		return Session{}, User{}, notFound(err, "session")
	}
	return row.Session, row.User, nil
}

// DeleteSession ends one session (logout).
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry and returns how many went.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}
