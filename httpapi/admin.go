package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// adminDashboard is the staff home page: the business metrics and charts of one currency
// (?currency=EUR; docs/analytics.md; reused for Settings.DashboardCacheTTL), the services needing attention, then the account counts,
// recent logins and recent admin activity.
func (s *server) adminDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	facts, err := s.cachedDashboardFacts(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
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
	var entries []store.AuditEntry
	if hasPermission(currentUser(r).Role, permAuditView) {
		if entries, err = s.Store.AuditLog(ctx, 10); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "admin_dashboard", s.page(r, "Admin dashboard", web.AdminDashboard{
		Customers: counts.Customers, Unverified: counts.Unverified, Staff: counts.Staff,
		RecentLogins: loginRows(logins), RecentAudit: auditRows(entries),
		Analytics: dashboardAnalytics(facts, strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("currency")))),
	}))
}

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

// adminAudit is the audit log with filters (actor, action prefix, target, date range,
// impersonated only), newest first, paged by keyset: ?before=<id of the last entry shown>.
func (s *server) adminAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := s.page(r, "Audit log", nil)
	f := store.AuditFilter{
		Actor: strings.TrimSpace(q.Get("actor")), ActionPrefix: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("target")), Impersonated: q.Get("impersonated") == "on", Limit: auditPageSize,
	}
	for _, k := range []string{"actor", "action", "target", "from", "to", "impersonated"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			p.Form[k] = v
		}
	}
	for _, d := range []struct {
		key string
		at  *time.Time
		end bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		v := strings.TrimSpace(q.Get(d.key))
		if v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, v)
		if err != nil {
			p.Errors[d.key] = "Use a date such as 2026-03-31."
			continue
		}
		if d.end { // "to" includes the whole day
			day = day.AddDate(0, 0, 1)
		}
		*d.at = day
	}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	entries, more, err := s.Store.SearchAudit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := web.AuditLog{Entries: auditRows(entries), Filtered: len(p.Form) > 0}
	q.Del("before")
	if f.Before > 0 {
		view.FirstURL = "/admin/audit?" + q.Encode()
	}
	if more {
		q.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		view.OlderURL = "/admin/audit?" + q.Encode()
	}
	p.Data = view
	s.render(w, r, http.StatusOK, "admin_audit", p)
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
		out = append(out, web.AuditRow{At: e.At, Actor: actor, Impersonator: e.ImpersonatorEmail, Action: e.Action, Target: e.Target, IP: e.IP})
	}
	return out
}
