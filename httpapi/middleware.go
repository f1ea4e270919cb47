package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/billing/store"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ezscale_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ezscale_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ezscale_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// observe logs every request as JSON and records its metrics under the chi route pattern, so
// ids in paths do not explode the label set.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.Log.LogAttrs(r.Context(), level, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
				slog.Int("status", status), slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", elapsed), slog.String("ip", clientIP(r)),
				slog.String("request_id", middleware.GetReqID(r.Context())))
		}()
		next.ServeHTTP(ww, r)
	})
}

// recoverer turns a handler panic into a logged 500 page instead of a dropped connection.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.Error("handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "path", r.URL.Path)
				s.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "We have been notified. Please try again in a moment.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets a strict content security policy (every asset is our own) and the usual
// hardening headers. Pages whose forms answer with a redirect to another site widen form-action
// with allowFormRedirects.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(nil))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy is the site's policy; form-action allows our own origin and formOrigins.
// Browsers apply form-action to the whole redirect chain of a form's POST, not only to the
// form's action, so a page whose form answers with a redirect to a payment gateway or a
// control panel must name that origin, or the browser silently stays on the page.
func contentSecurityPolicy(formOrigins []string) string {
	formAction := "'self'"
	for _, o := range formOrigins {
		if cspOrigin(o) {
			formAction += " " + o
		}
	}
	return "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action " + formAction + "; base-uri 'self'"
}

// cspOrigin reports whether o is a bare http(s) origin safe to put in a policy: nothing in it
// can end the directive or add a source.
func cspOrigin(o string) bool {
	rest, ok := strings.CutPrefix(o, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(o, "http://")
	}
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// allowFormRedirects lets the page about to be written submit forms whose answer redirects to
// origins (a gateway's hosted page, a control panel's single sign-on), and nowhere else.
// It must be called before the page's header is written.
func allowFormRedirects(w http.ResponseWriter, origins []string) {
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy(origins))
}

// urlOrigin is the scheme://host[:port] of an absolute URL, or "" when raw is not one.
func urlOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// requireUser sends anonymous visitors to the login page, remembering where they were going.
func (s *server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) == nil {
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireVerified keeps a customer whose email address is not confirmed from ordering and
// paying, as the verification mail tells them ("You need a confirmed address to place orders"):
// they are sent to a page asking them to confirm, with a button to resend the link, and the
// request does nothing. Use it after requireUser.
func (s *server) requireVerified(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !currentUser(r).Verified() {
			http.Redirect(w, r, "/verify/needed", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireStaff lets only staff into /admin: anonymous visitors are sent to log in, customers get 403.
func (s *server) requireStaff(next http.Handler) http.Handler {
	return s.requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !currentUser(r).Staff() {
			s.renderError(w, r, http.StatusForbidden, "Staff only", "Your account does not have access to the admin area.")
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// auditAdminWrites records every state-changing admin request in the audit log, whatever the
// handler does, so no admin write can forget to be audited.
func (s *server) auditAdminWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		details, _ := json.Marshal(map[string]any{"status": ww.Status()})
		s.audit(r, "admin."+r.Method, r.URL.Path, details)
	})
}

// auditImpersonatedWrites records every state-changing request a customer session makes while a
// member of staff is impersonating the customer, naming both (audit adds the impersonator), so
// nothing staff do as a customer goes unrecorded, whatever the handler audits itself. The
// customer's password is the one thing staff may not change this way: knowing it would let them
// sign in as the customer later, outside any impersonation record.
func (s *server) auditImpersonatedWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if impersonator(r) == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/account/password" {
			s.audit(r, "impersonated.refused", r.URL.Path, nil)
			s.renderError(w, r, http.StatusForbidden, "Not while signed in as the customer",
				"Staff cannot change a customer's password while signed in as them. The customer can reset it from the login page.")
			return
		}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		details, _ := json.Marshal(map[string]any{"status": ww.Status()})
		s.audit(r, "impersonated."+r.Method, r.URL.Path, details)
	})
}

// audit writes an audit entry for the current user (and the member of staff impersonating them,
// if any); failures are logged, never shown.
func (s *server) audit(r *http.Request, action, target string, details []byte) {
	e := store.AuditEntry{Action: action, Target: target, IP: clientIP(r), UserAgent: r.UserAgent(), Details: details}
	if u := currentUser(r); u != nil {
		e.ActorID.Int64, e.ActorID.Valid = u.ID, true
		e.ActorEmail = u.Email
	}
	if staff := impersonator(r); staff != nil {
		e.ImpersonatorID.Int64, e.ImpersonatorID.Valid = staff.ID, true
		e.ImpersonatorEmail = staff.Email
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.Store.Audit(ctx, e); err != nil {
		s.Log.Error("audit", "action", action, "err", err)
	}
}
