// Package httpapi is the platform's HTTP layer: a chi router with middleware for sessions, CSRF,
// rate limits, metrics and logging, and thin handlers for the marketing site, the customer
// portal, the admin panel, operations endpoints and the dev mail viewer.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// Workflows is the part of the Temporal client the handlers use: start, signal, health.
type Workflows interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// ServiceControl acts on a service's panel directly, for the short actions that are not part of
// its lifecycle (power, password reset, single sign-on) and for testing a panel's connection.
type ServiceControl interface {
	Power(ctx context.Context, serviceID int64, action panels.PowerAction) error
	ResetPassword(ctx context.Context, serviceID int64) (string, error)
	LoginURL(ctx context.Context, serviceID int64) (string, error)
	TestPanel(ctx context.Context, panelServerID int64) error
	CheckCapacity(ctx context.Context, panelServerID, productID int64) (panels.Capacity, error)
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
	// TemporalUIURL and Namespace build links from admin pages into the Temporal UI.
	TemporalUIURL string
	Namespace     string
	// ProvisionStepTimeout is passed to new provisioning workflows (zero: the workflow's default).
	ProvisionStepTimeout time.Duration
	// Billing are the timings passed to new subscription workflows (zero fields: the defaults).
	Billing workflows.Timings
	// DefaultGateway is the gateway checkout offers first, e.g. "sandbox" in development.
	DefaultGateway string
	// DefaultCurrency is the currency the order pages show a visitor whose currency is not
	// known (no account currency, no country with a currency on sale); "" is USD.
	DefaultCurrency string
	// Seller is the company printed on invoice PDFs (name, address, country, tax id, logo).
	Seller pdf.Party
	// MetricsToken, when set, is the bearer token /metrics requires; when empty /metrics answers
	// only requests made directly from this host.
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client; see realClient.
	TrustedProxies []netip.Prefix
	// DashboardCacheTTL is how long the admin dashboard's analytics figures are reused between
	// requests; 0 means one minute, a negative value computes them on every request.
	DashboardCacheTTL time.Duration
}

// Deps are the server's collaborators. Sink is set only in development mode (it enables /dev/mail).
type Deps struct {
	Log       *slog.Logger
	Store     *store.Store
	Workflows Workflows
	Mail      Mailer
	Pages     *web.Renderer
	Sink      *sink.Sink
	Control   ServiceControl
	Secrets   *secrets.Box
	// Gateways are the configured payment gateways by name; Pricer prices checkout, plan
	// changes and previews.
	Gateways gateways.Registry
	Pricer   *pricing.Pricer
	// Payments records every payment, refund, credit and cancellation; built from Store,
	// Gateways and Workflows (overpayments refunded) when nil.
	Payments *payments.Service
	// Sandbox, when set (development and tests), serves the sandbox gateway's hosted pages at /sandbox/.
	Sandbox  http.Handler
	Settings Settings
	// Registry collects the metrics served on /metrics; a fresh one is made when nil.
	Registry *prometheus.Registry
}

type server struct {
	Deps
	metrics *httpMetrics
	// hostedOrigins are the origins of the gateways' hosted pages, which the forms that start a
	// payment or save a card redirect to (see allowFormRedirects).
	hostedOrigins []string

	dummyOnce sync.Once
	dummy     string

	dashboard dashboardCache // the admin dashboard's analytics figures, reused for DashboardCacheTTL
}

// New builds the HTTP handler of the whole site.
func New(d Deps) http.Handler {
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if d.Settings.Seller.Name == "" {
		d.Settings.Seller.Name = "EZSCALE Hosting"
	}
	if d.Settings.SessionLifetime == 0 {
		d.Settings.SessionLifetime = 30 * 24 * time.Hour
	}
	if d.Payments == nil {
		d.Payments = &payments.Service{Store: d.Store, Gateways: d.Gateways, Workflows: d.Workflows, Log: d.Log}
	}
	s := &server{Deps: d, metrics: newHTTPMetrics(d.Registry), hostedOrigins: d.Gateways.HostedOrigins()}

	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.realClient, s.recoverer, s.observe, securityHeaders)
	if strings.HasPrefix(d.Settings.BaseURL, "https://") {
		r.Use(strictTransport)
	}
	r.Get("/healthz", s.healthz)
	if d.Sandbox != nil {
		r.Mount("/sandbox/", d.Sandbox)
	}
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", s.metricsAccess(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	r.Handle("/static/*", http.StripPrefix("/static/", web.Static()))
	// The icon is served outside the session group, like /static: it never sets a cookie.
	r.Get("/favicon.ico", favicon)
	r.Method(http.MethodPost, "/webhooks/{provider}", s.webhooks()) // gateways post without cookies: no session, no CSRF

	r.Group(func(r chi.Router) {
		r.Use(s.parseForms, s.refuseControlChars, s.loadSession, s.csrf)
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
		r.Post("/impersonation/exit", s.exitImpersonation)
		r.Get("/order", s.orderCatalog)
		r.With(s.requireUser).Get("/verify/needed", s.verifyNeeded)
		r.With(s.requireUser, s.requireVerified).Get("/order/{id}", s.orderForm)
		r.With(s.requireUser, s.limitImpersonatedWrites, s.requireVerified).Post("/order/{id}/review", s.orderReview)
		r.With(s.requireUser, s.auditImpersonatedWrites, s.limitImpersonatedWrites, s.requireVerified).Post("/order/{id}/place", s.orderPlace)

		r.Route("/account", func(r chi.Router) {
			r.Use(s.requireUser, s.auditImpersonatedWrites, s.limitImpersonatedWrites)
			r.Get("/", s.accountDashboard)
			r.Get("/profile", s.profileForm)
			r.Post("/profile", s.updateProfile)
			r.Post("/password", s.changePassword)
			r.Get("/services/{id}", s.accountService)
			r.Post("/services/{id}/power", s.servicePower)
			r.Post("/services/{id}/reset-password", s.serviceResetPassword)
			r.Post("/services/{id}/login", s.serviceLogin)
			r.Get("/invoices", s.accountInvoices)
			r.Get("/invoices/{id}", s.accountInvoice)
			r.Get("/invoices/{id}/pdf", s.accountInvoicePDF)
			r.With(s.requireVerified).Get("/invoices/{id}/pay", s.invoicePayForm)
			r.Get("/credit-notes", s.accountCreditNotes)
			r.Get("/credit-notes/{id}", s.accountCreditNote)
			r.Get("/credit-notes/{id}/pdf", s.accountCreditNotePDF)
			r.With(s.requireVerified).Post("/invoices/{id}/pay", s.invoicePay)
			r.Get("/subscriptions", s.accountSubscriptions)
			r.Get("/subscriptions/{id}", s.accountSubscription)
			r.Get("/subscriptions/{id}/change", s.planChangePreview)
			r.Post("/subscriptions/{id}/change", s.changePlan)
			r.Post("/subscriptions/{id}/cancel", s.cancelSubscription)
			r.Get("/payment-methods", s.accountPaymentMethods)
			r.Post("/payment-methods/default", s.setDefaultPaymentMethod)
			r.Post("/payment-methods/remove", s.removePaymentMethod)
			r.Post("/payment-methods/add", s.addPaymentMethod)
			r.Get("/palette", s.accountPalette)
		})

		r.Route("/admin", func(r chi.Router) {
			r.Use(s.requireStaff, s.auditAdminWrites)
			r.Get("/", s.can(permDashboard, s.adminDashboard))
			r.Get("/audit", s.can(permAuditView, s.adminAudit))
			r.Get("/staff", s.can(permStaffManage, s.adminStaff))
			r.Post("/staff", s.can(permStaffManage, s.adminCreateStaff))
			r.Post("/staff/{id}/role", s.can(permStaffManage, s.adminSetStaffRole))
			r.Post("/customers/{id}/impersonate", s.can(permCustomersImpersonate, s.startImpersonation))
			r.Get("/customers", s.can(permCustomersView, s.adminCustomers))
			r.Get("/customers/{id}", s.can(permCustomersView, s.adminCustomer))
			r.Post("/customers/{id}/profile", s.can(permCustomersEdit, s.adminUpdateCustomer))
			r.Post("/customers/{id}/close", s.can(permCustomersEdit, s.adminCloseCustomer))
			r.Post("/customers/{id}/reopen", s.can(permCustomersEdit, s.adminReopenCustomer))
			r.Post("/customers/{id}/notes", s.can(permCustomersNotes, s.adminAddNote))
			r.Post("/customers/{id}/notes/{note}", s.can(permCustomersNotes, s.adminEditNote))
			r.Post("/customers/{id}/notes/{note}/pin", s.can(permCustomersNotes, s.adminPinNote))
			r.Get("/palette", s.can(permDashboard, s.adminPalette)) // every staff role; each kind of result checks its own permission
			r.Post("/services/bulk/{action}", s.canFor(serviceActionPermission, s.adminBulkServices))
			r.Post("/invoices/bulk/{action}", s.can(permInvoicesManage, s.adminBulkInvoices))
			r.Get("/services", s.can(permServicesView, s.adminServices))
			r.Get("/services/new", s.can(permServicesManage, s.adminServiceForm))
			r.Post("/services", s.can(permServicesManage, s.adminCreateService))
			r.Get("/services/{id}", s.can(permServicesView, s.adminService))
			r.Post("/services/{id}/{action}", s.canFor(serviceActionPermission, s.adminServiceAction))
			r.Get("/panels", s.can(permPanels, s.adminPanels))
			r.Get("/panels/new", s.can(permPanels, s.adminPanelForm))
			r.Post("/panels", s.can(permPanels, s.adminSavePanel))
			r.Get("/panels/{id}", s.can(permPanels, s.adminPanelForm))
			r.Post("/panels/{id}", s.can(permPanels, s.adminSavePanel))
			r.Post("/panels/{id}/test", s.can(permPanels, s.adminTestPanel))
			r.Get("/products", s.can(permPanels, s.adminProducts))
			r.Get("/products/{id}/panel", s.can(permPanels, s.adminProductPanelForm))
			r.Post("/products/{id}/panel", s.can(permPanels, s.adminSaveProductPanel))
			r.Get("/catalog", s.can(permCatalogView, s.adminCatalog))
			r.Get("/catalog/groups/new", s.can(permCatalogEdit, s.adminCatalogGroupForm))
			r.Post("/catalog/groups", s.can(permCatalogEdit, s.adminSaveCatalogGroup))
			r.Get("/catalog/groups/{id}", s.can(permCatalogEdit, s.adminCatalogGroupForm))
			r.Post("/catalog/groups/{id}", s.can(permCatalogEdit, s.adminSaveCatalogGroup))
			r.Get("/catalog/products/new", s.can(permCatalogEdit, s.adminCatalogProductForm))
			r.Post("/catalog/products", s.can(permCatalogEdit, s.adminSaveCatalogProduct))
			r.Get("/catalog/products/{id}", s.can(permCatalogEdit, s.adminCatalogProductForm))
			r.Post("/catalog/products/{id}", s.can(permCatalogEdit, s.adminSaveCatalogProduct))
			r.Get("/invoices", s.can(permInvoicesView, s.adminInvoices))
			r.Get("/invoices/{id}", s.can(permInvoicesView, s.adminInvoice))
			r.Get("/invoices/{id}/pdf", s.can(permInvoicesView, s.adminInvoicePDF))
			r.Post("/invoices/{id}/mark-paid", s.can(permInvoicesManage, s.adminMarkInvoicePaid))
			r.Post("/invoices/{id}/cancel", s.can(permInvoicesManage, s.adminCancelInvoice))
			r.Post("/invoices/{id}/refund", s.can(permInvoicesManage, s.adminRefundInvoice))
			r.Post("/alerts/{id}/resolve", s.can(permInvoicesManage, s.adminResolveMoneyAlert))
			r.Get("/credit-notes", s.can(permCreditNotesView, s.adminCreditNotes))
			r.Get("/credit-notes/{id}", s.can(permCreditNotesView, s.adminCreditNote))
			r.Get("/credit-notes/{id}/pdf", s.can(permCreditNotesView, s.adminCreditNotePDF))
			r.Post("/customers/{id}/credit", s.can(permCustomersCredit, s.adminAddCredit))
			r.Get("/subscriptions", s.can(permServicesView, s.adminSubscriptions))
			r.Get("/subscriptions/{id}", s.can(permServicesView, s.adminSubscription))
			r.Post("/subscriptions/{id}/{action}", s.canFor(subscriptionActionPermission, s.adminSubscriptionAction))
			r.Get("/coupons", s.can(permCatalogView, s.adminCoupons))
			r.Post("/coupons", s.can(permCatalogEdit, s.adminCreateCoupon))
			r.Post("/coupons/{id}/retire", s.can(permCatalogEdit, s.adminRetireCoupon))
			r.Get("/billing", s.can(permCatalogEdit, s.adminBillingSettings))
			r.Post("/billing/taxes", s.can(permCatalogEdit, s.adminCreateTaxRule))
			r.Post("/billing/taxes/{id}/delete", s.can(permCatalogEdit, s.adminDeleteTaxRule))
			r.Post("/billing/numbering", s.can(permCatalogEdit, s.adminSetNumbering))
		})

		if d.Sink != nil {
			r.Get("/dev/mail", s.devMail)
			r.Get("/dev/mail/{id}", s.devMailMessage)
			r.Get("/dev/mail/{id}/attachments/{n}", s.devMailAttachment)
		}
	})
	return r
}

// favicon serves the site icon at the address browsers ask for unprompted.
func favicon(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = "/img/favicon.ico"
	web.Static().ServeHTTP(w, r)
}
