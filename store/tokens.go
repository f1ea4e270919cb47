package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Purposes of one-time user tokens.
const (
	TokenVerifyEmail   = "verify_email"
	TokenResetPassword = "reset_password"
)

// Token is a one-time link token. Only the SHA-256 of the secret is stored.
type Token struct {
	Hash      []byte
	UserID    int64
	Purpose   string
	Email     string
	ExpiresAt time.Time
}

// CreateToken stores a token hash for a user.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO user_tokens (token_hash, user_id, purpose, email, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.Hash, t.UserID, t.Purpose, NormalizeEmail(t.Email), t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create %s token for user %d: %w", t.Purpose, t.UserID, err)
	}
	return nil
}

// ConsumeToken marks an unused, unexpired token as used and returns it. A token whose email no
// longer matches the user's address is refused, so a link cannot verify a changed address.
// Unknown, used, expired or mismatched tokens return ErrNotFound and change nothing.
func (s *Store) ConsumeToken(ctx context.Context, purpose string, hash []byte) (Token, error) {
	var t Token
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row := tx.QueryRowxContext(ctx, `
			UPDATE user_tokens t SET used_at = now()
			FROM users u
			WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
			  AND u.id = t.user_id AND u.email = t.email
			RETURNING t.token_hash, t.user_id, t.purpose, t.email, t.expires_at`, hash, purpose)
		if err := row.Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &t.ExpiresAt); err != nil {
			return notFound(err, purpose+" token")
		}
		if purpose == TokenResetPassword {
			// One reset link works once: the others sent before it die with it.
			if _, err := tx.ExecContext(ctx, `
				UPDATE user_tokens SET used_at = now()
				WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, t.UserID, purpose); err != nil {
				return fmt.Errorf("retire other reset tokens: %w", err)
			}
		}
		return nil
	})
	return t, err
}
