// Package httpapi is the platform's HTTP layer: a chi router with middleware for sessions, CSRF,
// rate limits, metrics and logging, and thin handlers for the marketing site, the customer
// portal, the admin panel, operations endpoints and the dev mail viewer.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// Workflows is the part of the Temporal client the handlers use: start, signal, health.
type Workflows interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Mailer sends mail that a handler must send right away (password reset, security notices).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Settings are the configuration values the handlers need.
type Settings struct {
	BaseURL                 string
	AppKey                  []byte
	SecureCookies           bool
	SessionLifetime         time.Duration
	TaskQueue               string
	OnboardingReminderAfter time.Duration
	OnboardingDeadline      time.Duration
	Development             bool
}

// Deps are the server's collaborators. Sink is set only in development mode (it enables /dev/mail).
type Deps struct {
	Log       *slog.Logger
	Store     *store.Store
	Workflows Workflows
	Mail      Mailer
	Pages     *web.Renderer
	Sink      *sink.Sink
	Settings  Settings
	// Registry collects the metrics served on /metrics; a fresh one is made when nil.
	Registry *prometheus.Registry
}

type server struct {
	Deps
	metrics *httpMetrics

	dummyOnce sync.Once
	dummy     string
}

// New builds the HTTP handler of the whole site.
func New(d Deps) http.Handler {
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if d.Settings.SessionLifetime == 0 {
		d.Settings.SessionLifetime = 30 * 24 * time.Hour
	}
	s := &server{Deps: d, metrics: newHTTPMetrics(d.Registry)}

	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.recoverer, s.observe, securityHeaders)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	r.Handle("/static/*", http.StripPrefix("/static/", web.Static()))

	r.Group(func(r chi.Router) {
		r.Use(s.loadSession, s.csrf)
		r.NotFound(s.notFound)
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			s.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This address does not accept that kind of request.")
		})

		r.Get("/", s.home)
		r.Get("/login", s.loginForm)
		r.Post("/login", s.login)
		r.Post("/logout", s.logout)
		r.Get("/register", s.registerForm)
		r.Post("/register", s.register)
		r.Get("/verify", s.verify)
		r.Get("/verify/sent", s.verifySent)
		r.Post("/verify/resend", s.resendVerification)
		r.Get("/forgot", s.forgotForm)
		r.Post("/forgot", s.forgot)
		r.Get("/reset", s.resetForm)
		r.Post("/reset", s.reset)
		r.Post("/theme", s.setTheme)

		r.Route("/account", func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/", s.accountDashboard)
			r.Get("/profile", s.profileForm)
			r.Post("/profile", s.updateProfile)
			r.Post("/password", s.changePassword)
		})

		r.Route("/admin", func(r chi.Router) {
			r.Use(s.requireStaff, s.auditAdminWrites)
			r.Get("/", s.adminDashboard)
			r.Get("/audit", s.adminAudit)
		})

		if d.Sink != nil {
			r.Get("/dev/mail", s.devMail)
			r.Get("/dev/mail/{id}", s.devMailMessage)
		}
	})
	return r
}
