package httpapi

import (
	"net/http"
	"strconv"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

func (s *server) adminDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	counts, err := s.Store.CountUsers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	logins, err := s.Store.RecentLogins(ctx, 10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := s.Store.AuditLog(ctx, 10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_dashboard", s.page(r, "Admin dashboard", web.AdminDashboard{
		Customers: counts.Customers, Unverified: counts.Unverified, Staff: counts.Staff,
		RecentLogins: loginRows(logins), RecentAudit: auditRows(entries),
	}))
}

func (s *server) adminAudit(w http.ResponseWriter, r *http.Request) {
	entries, err := s.Store.AuditLog(r.Context(), 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_audit", s.page(r, "Audit log", web.AuditLog{Entries: auditRows(entries)}))
}

func auditRows(in []store.AuditEntry) []web.AuditRow {
	out := make([]web.AuditRow, 0, len(in))
	for _, e := range in {
		actor := e.ActorEmail
		if actor == "" && e.ActorID.Valid {
			actor = "user:" + strconv.FormatInt(e.ActorID.Int64, 10)
		}
		if actor == "" {
			actor = "system"
		}
		out = append(out, web.AuditRow{At: e.At, Actor: actor, Action: e.Action, Target: e.Target, IP: e.IP})
	}
	return out
}
