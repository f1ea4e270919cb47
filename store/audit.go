package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry records who did what to which record, from where. During impersonation the actor is
// the customer whose session made the change and the impersonator the member of staff acting.
type AuditEntry struct {
	ID                int64           `db:"id"`
	At                time.Time       `db:"at"`
	ActorID           sql.NullInt64   `db:"actor_id"`
	ActorEmail        string          `db:"actor_email"`
	ImpersonatorID    sql.NullInt64   `db:"impersonator_id"`
	ImpersonatorEmail string          `db:"impersonator_email"`
	Action            string          `db:"action"`
	Target            string          `db:"target"`
	IP                string          `db:"ip"`
	UserAgent         string          `db:"user_agent"`
	Details           json.RawMessage `db:"details"`
}

const auditColumns = `id, at, actor_id, actor_email, impersonator_id, impersonator_email, action, target, ip, user_agent, details`

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage(`{}`)
	}
	_, err := s.db.NamedExecContext(ctx, `
		INSERT INTO audit_log (actor_id, actor_email, impersonator_id, impersonator_email, action, target, ip, user_agent, details)
		VALUES (:actor_id, :actor_email, :impersonator_id, :impersonator_email, :action, :target, :ip, :user_agent, :details)`, e)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the newest audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	out, _, err := s.SearchAudit(ctx, AuditFilter{Limit: limit})
	return out, err
}

// AuditFilter narrows the audit log; zero fields do not filter.
type AuditFilter struct {
	// Actor is a user id ("42" or "user:42") or part of an email address; it matches the actor
	// or the impersonator, so one search shows everything a member of staff did.
	Actor        string
	ActionPrefix string    // "invoice." matches every invoice action
	Target       string    // a target or the start of one ("user:42", "/admin/services/7")
	From, To     time.Time // entries at or after From and before To
	Impersonated bool      // only entries made while staff acted as a customer
	// Before is the id of the last entry of the previous page (keyset pagination); the page
	// holds the entries older than it.
	Before int64
	Limit  int // default 50, at most 500
}

// SearchAudit returns the entries matching f, newest first, and whether older ones follow.
func (s *Store) SearchAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, bool, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		if id, err := strconv.ParseInt(strings.TrimPrefix(a, "user:"), 10, 64); err == nil {
			p := arg(id)
			where = append(where, "(actor_id = "+p+" OR impersonator_id = "+p+")")
		} else {
			p := arg("%" + likeEscape(strings.ToLower(a)) + "%")
			where = append(where, "(actor_email LIKE "+p+" OR impersonator_email LIKE "+p+")")
		}
	}
	if f.ActionPrefix != "" {
		where = append(where, "action LIKE "+arg(likeEscape(f.ActionPrefix)+"%"))
	}
	if f.Target != "" {
		where = append(where, "target LIKE "+arg(likeEscape(f.Target)+"%"))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To))
	}
	if f.Impersonated {
		where = append(where, "impersonator_email <> ''")
	}
	if f.Before > 0 {
		where = append(where, "(at, id) < (SELECT at, id FROM audit_log WHERE id = "+arg(f.Before)+")")
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC LIMIT " + arg(f.Limit+1)
	var out []AuditEntry
	if err := s.db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, false, fmt.Errorf("search audit log: %w", err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// likeEscape quotes LIKE's wildcards so user input matches literally (backslash is the default escape).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
