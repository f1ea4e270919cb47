package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Backoff says how a failure throttle grows. After Tries counted tries in a row a key waits
// Base, and each further try doubles the wait up to Max. A key whose last try is older than
// Forget starts again from zero. Tries of zero or less never makes a key wait: it only counts.
type Backoff struct {
	Tries  int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// Wait is how long a key waits after its n-th try in a row.
func (b Backoff) Wait(n int) time.Duration {
	if b.Tries <= 0 || n < b.Tries {
		return 0
	}
	w := b.Base
	for i := b.Tries; i < n && w < b.Max; i++ {
		w *= 2
	}
	return min(w, b.Max)
}

// TakeTry counts one try against key, which belongs to subject (an account's e-mail address).
// A key that is still waiting counts nothing and returns the time left; otherwise the try is
// counted, as a failure until the caller clears the key, and TakeTry returns 0. Counting before
// the check means parallel requests cannot all slip through before the first failure is recorded.
func (s *Store) TakeTry(ctx context.Context, key, subject string, b Backoff) (wait time.Duration, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO login_throttles (key, subject, failures, last_failure, blocked_until)
			VALUES ($1, $2, 0, now(), now()) ON CONFLICT (key) DO NOTHING`, key, subject)
		if err != nil {
			return err
		}
		var row struct {
			Failures  int     `db:"failures"`
			Idle      float64 `db:"idle"`
			BlockLeft float64 `db:"block_left"`
		}
		err = tx.GetContext(ctx, &row, `
			SELECT failures,
				extract(epoch FROM now() - last_failure)::float8 AS idle,
				extract(epoch FROM blocked_until - now())::float8 AS block_left
			FROM login_throttles WHERE key = $1 FOR UPDATE`, key)
		if err != nil {
			return err
		}
		if row.BlockLeft > 0 {
			wait = time.Duration(row.BlockLeft * float64(time.Second))
			return nil
		}
		n := row.Failures + 1
		if time.Duration(row.Idle*float64(time.Second)) >= b.Forget {
			n = 1
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE login_throttles SET subject = $2, failures = $3, last_failure = now(),
				blocked_until = now() + make_interval(secs => $4)
			WHERE key = $1`, key, subject, n, b.Wait(n).Seconds())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("take a try of %s: %w", key, err)
	}
	return wait, nil
}

// Tries returns how many tries key has counted in a row, not counting those older than forget.
func (s *Store) Tries(ctx context.Context, key string, forget time.Duration) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `
		SELECT coalesce(sum(failures), 0) FROM login_throttles
		WHERE key = $1 AND last_failure > now() - make_interval(secs => $2)`, key, forget.Seconds())
	if err != nil {
		return 0, fmt.Errorf("tries of %s: %w", key, err)
	}
	return n, nil
}

// ClearThrottle forgets key's tries, e.g. after the right password.
func (s *Store) ClearThrottle(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttles WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear throttle %s: %w", key, err)
	}
	return nil
}

// ClearThrottles forgets every throttle of subject, e.g. once its owner completes a password reset.
func (s *Store) ClearThrottles(ctx context.Context, subject string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttles WHERE subject = $1`, subject); err != nil {
		return fmt.Errorf("clear throttles of %s: %w", subject, err)
	}
	return nil
}
