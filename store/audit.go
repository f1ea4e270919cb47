package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry records who did what to which record, from where.
type AuditEntry struct {
	ID         int64           `db:"id"`
	At         time.Time       `db:"at"`
	ActorID    sql.NullInt64   `db:"actor_id"`
	ActorEmail string          `db:"actor_email"`
	Action     string          `db:"action"`
	Target     string          `db:"target"`
	IP         string          `db:"ip"`
	UserAgent  string          `db:"user_agent"`
	Details    json.RawMessage `db:"details"`
}

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage(`{}`)
	}
	_, err := s.db.NamedExecContext(ctx, `
		INSERT INTO audit_log (actor_id, actor_email, action, target, ip, user_agent, details)
		VALUES (:actor_id, :actor_email, :action, :target, :ip, :user_agent, :details)`, e)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the newest audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, at, actor_id, actor_email, action, target, ip, user_agent, details
		FROM audit_log ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
