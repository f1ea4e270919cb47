package store

import (
	"context"
	"fmt"
	"time"
)

// Hit counts one event against key in a fixed window and reports whether it is within limit.
// When it is not, retryAfter says when the window ends. Counters live in Postgres so every web
// process shares them.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, limit int) (allowed bool, retryAfter time.Duration, err error) {
	var row struct {
		Hits int     `db:"hits"`
		Left float64 `db:"left"`
	}
	err = s.db.GetContext(ctx, &row, `
		INSERT INTO rate_limits AS r (key, window_start, hits) VALUES ($1, now(), 1)
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE WHEN r.window_start <= now() - make_interval(secs => $2) THEN 1 ELSE r.hits + 1 END,
			window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $2) THEN now() ELSE r.window_start END
		RETURNING hits, extract(epoch FROM (window_start + make_interval(secs => $2) - now()))::float8 AS left`,
		key, window.Seconds())
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if row.Hits <= limit {
		return true, 0, nil
	}
	return false, time.Duration(row.Left * float64(time.Second)).Round(time.Second), nil
}

// ResetHits clears the counter for key, e.g. after a successful login.
func (s *Store) ResetHits(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM rate_limits WHERE key = $1`, key); err != nil {
		return fmt.Errorf("reset rate limit %s: %w", key, err)
	}
	return nil
}
