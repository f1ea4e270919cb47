package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/panels/connect"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, usage, "\nEnvironment variables:\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, v := range config.Vars() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Default, v.Help)
	}
	tw.Flush()
}

// openStore connects to PostgreSQL and, when migrate is set, brings the schema up to date.
func openStore(ctx context.Context, log *slog.Logger, dsn string, migrate bool) (*store.Store, error) {
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if migrate {
		n, err := s.MigrateUp(ctx, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("applied migrations", "count", n)
		}
	}
	return s, nil
}

// openCommandStore is how the one-shot commands (migrate, seed, analytics, ops) reach the
// database: DATABASE_URL is required, logs go to stderr at level, migrate applies migrations.
func openCommandStore(ctx context.Context, getenv func(string) string, stderr io.Writer, level string, migrate bool) (*store.Store, *slog.Logger, error) {
	dsn, err := requireDatabaseURL(getenv)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(stderr, level)
	s, err := openStore(ctx, log, dsn, migrate)
	if err != nil {
		return nil, nil, err
	}
	return s, log, nil
}

// dialTemporal connects to the Temporal frontend, retrying for a while so a worker can start
// alongside a server that is still coming up.
func dialTemporal(ctx context.Context, log *slog.Logger, cfg config.Config) (client.Client, error) {
	var lastErr error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  cfg.TemporalAddress,
			Namespace: cfg.TemporalNamespace,
			Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal")),
		})
		if err == nil {
			return c, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.TemporalAddress, cfg.TemporalNamespace, lastErr)
}

// newHTTP builds the web handler from its parts.
func newHTTP(log *slog.Logger, cfg config.Config, s *store.Store, tc client.Client, m httpapi.Mailer, sk *sink.Sink, prov *activities.Provisioning, pay payments) (http.Handler, error) {
	pages, err := web.NewRenderer()
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return httpapi.New(httpapi.Deps{
		Log: log, Store: s, Workflows: tc, Mail: m, Pages: pages, Sink: sk, Control: prov, Secrets: prov.Secrets,
		Gateways: pay.registry, Pricer: newPricer(cfg, s), Sandbox: pay.pages(),
		Payments: newLedger(log, cfg, s, tc, pay.registry),
		Settings: httpapi.Settings{
			BaseURL: cfg.BaseURL, AppKey: cfg.AppKey, SecureCookies: cfg.SecureCookies,
			SessionLifetime: cfg.SessionLifetime, TaskQueue: cfg.TaskQueue,
			OnboardingReminderAfter: cfg.OnboardingReminderAfter, OnboardingDeadline: cfg.OnboardingDeadline,
			Development: cfg.Development(), TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.TemporalNamespace,
			ProvisionStepTimeout: cfg.ProvisionStepTimeout, Billing: timings(cfg), DefaultGateway: cfg.Gateways.Default,
			Seller: seller(cfg), MetricsToken: cfg.MetricsToken, TrustedProxies: cfg.TrustedProxies,
			DefaultCurrency: cfg.DefaultCurrency,
		},
	}), nil
}

// newProvisioning holds the provisioning activities' dependencies; the web handlers use it for
// direct panel actions too.
func newProvisioning(cfg config.Config, s *store.Store, m *mail.SMTP) (*activities.Provisioning, error) {
	box, err := secrets.NewBox(cfg.AppKey)
	if err != nil {
		return nil, err
	}
	return &activities.Provisioning{Store: s, Panels: connect.NewRegistry(s, box), Secrets: box, Mail: m, BaseURL: cfg.BaseURL}, nil
}

// newWorker registers every workflow and activity on the task queue.
func newWorker(cfg config.Config, tc client.Client, s *store.Store, m *mail.SMTP, prov *activities.Provisioning, pay payments) worker.Worker {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{})
	activities.Register(w, activities.Set{
		Onboarding:   &activities.Onboarding{Users: s, Mail: m, BaseURL: cfg.BaseURL},
		Provisioning: prov,
		Billing:      newBilling(cfg, s, m, tc, pay.registry),
		Analytics:    &activities.Analytics{Store: s},
		Reconciler: &activities.Reconciler{Store: s, Temporal: tc, TaskQueue: cfg.TaskQueue, Timings: timings(cfg),
			MinAge: time.Minute},
	})
	return w
}

// serveHTTP listens on addr until ctx ends, then drains requests for up to 20 seconds.
func serveHTTP(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log.Info("shutting down http server")
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// production is what serve and worker share: configuration, database, Temporal and mail.
type production struct {
	cfg    config.Config
	log    *slog.Logger
	store  *store.Store
	client client.Client
	mail   *mail.SMTP
	prov   *activities.Provisioning
}

// connectProduction loads the production configuration and opens its connections; close releases them.
func connectProduction(ctx context.Context, getenv func(string) string, stderr io.Writer) (p production, close func(), err error) {
	p.cfg, err = config.Load(getenv, "production")
	if err != nil {
		return p, nil, err
	}
	p.log = newLogger(stderr, p.cfg.LogLevel)
	if p.mail, err = mail.NewSMTP(p.cfg.SMTPURL, p.cfg.MailFrom); err != nil {
		return p, nil, err
	}
	if p.store, err = openStore(ctx, p.log, p.cfg.DatabaseURL, false); err != nil {
		return p, nil, err
	}
	if p.prov, err = newProvisioning(p.cfg, p.store, p.mail); err != nil {
		p.store.Close()
		return p, nil, err
	}
	if p.client, err = dialTemporal(ctx, p.log, p.cfg); err != nil {
		p.store.Close()
		return p, nil, err
	}
	return p, func() { p.client.Close(); p.store.Close() }, nil
}

// runServe runs the web server only (production layout: serve and worker are separate processes).
func runServe(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	p, closeAll, err := connectProduction(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	pay, err := newPayments(context.Background(), p.log, p.cfg, true, nil)
	if err != nil {
		return err
	}
	defer pay.close()
	h, err := newHTTP(p.log, p.cfg, p.store, p.client, p.mail, nil, p.prov, pay)
	if err != nil {
		return err
	}
	ln, err := listen(p.cfg.HTTPAddr)
	if err != nil {
		return err
	}
	p.log.Info("http server listening", "addr", ln.Addr().String(), "version", readBuildInfo().logValue())
	return serveHTTP(ctx, p.log, ln, h)
}

// runWorker runs the Temporal worker only.
func runWorker(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	p, closeAll, err := connectProduction(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	pay, err := newPayments(context.Background(), p.log, p.cfg, false, nil)
	if err != nil {
		return err
	}
	if err := ensureAnalyticsSchedule(ctx, p.client, p.cfg.TaskQueue); err != nil {
		return err
	}
	if err := ensureReconcileSchedule(ctx, p.client, p.cfg.TaskQueue); err != nil {
		return err
	}
	p.log.Info("worker polling", "task_queue", p.cfg.TaskQueue, "namespace", p.cfg.TemporalNamespace, "version", readBuildInfo().logValue())
	return keepWorkerRunning(ctx, p.log, workerRestartDelay, func() worker.Worker { return newWorker(p.cfg, p.client, p.store, p.mail, p.prov, pay) })
}

// keepWorkerRunning runs a worker until ctx ends. The SDK stops a worker for good on errors it
// deems fatal (a namespace or task queue it cannot find for two minutes, as while a restarted
// Temporal server comes back); a new worker is then started after a pause instead of leaving
// the process up with nothing polling.
func keepWorkerRunning(ctx context.Context, log *slog.Logger, delay time.Duration, newW func() worker.Worker) error {
	stop := make(chan any)
	go func() { <-ctx.Done(); close(stop) }()
	for {
		err := newW().Run(stop)
		if ctx.Err() != nil {
			return nil
		}
		log.Error("Temporal worker stopped; starting a new one", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// workerRestartDelay is how long keepWorkerRunning waits before starting a new worker.
const workerRestartDelay = 5 * time.Second

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, log, err := openCommandStore(ctx, getenv, stderr, "info", false)
	if err != nil {
		return err
	}
	defer s.Close()
	dir := "up"
	if len(args) > 0 {
		dir = args[0]
	}
	switch dir {
	case "up":
		n, err := s.MigrateUp(ctx, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
	case "down":
		if err := s.MigrateDown(ctx, log); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "rolled back the latest migration")
	case "status":
		st, err := s.MigrationStatuses(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, m := range st {
			state, at := "pending", ""
			if m.Applied {
				state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
		}
		tw.Flush()
	default:
		return usageError(fmt.Sprintf("migrate %q: want up, down or status", dir))
	}
	return nil
}

func runSeed(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	s, log, err := openCommandStore(ctx, getenv, stderr, "info", true)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := seed.Demo(ctx, log, s); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo data ready:")
	for _, l := range seed.DemoLogins() {
		fmt.Fprintf(stdout, "  %-8s %s / %s\n", l.Role, l.Email, l.Password)
	}
	return nil
}

// requireDatabaseURL is the only setting migrate and seed need, so a migration job does not
// have to carry the web server's secrets.
func requireDatabaseURL(getenv func(string) string) (string, error) {
	dsn := getenv("DATABASE_URL")
	if dsn == "" {
		return "", errors.New("DATABASE_URL is required")
	}
	if err := config.ValidateDatabaseURL(dsn); err != nil {
		return "", err
	}
	return dsn, nil
}
