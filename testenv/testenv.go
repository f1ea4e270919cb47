// Package testenv assembles the real parts tests run against: a Temporal dev server started
// from ./bin/temporal, a worker with the real activities, PostgreSQL, the SMTP sink and the web
// handler. Nothing here is a mock.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal"
	ppsim "github.com/ezscale/billing/gateways/paypal/sim"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/panels/connect"
	"github.com/ezscale/billing/panels/devpanels"
	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv/repo"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// Namespace and TaskQueue used by test stacks.
const (
	Namespace = "ezscale"
	TaskQueue = "ezscale-test"
	// AppKey is the stack's APP_KEY; a worker process started by a test must use it to open
	// the panel credentials the stack sealed.
	AppKey = "test-app-key-0123456789abcdef0123"
	// SandboxSecret signs the sandbox gateway's webhook deliveries in tests.
	SandboxSecret = "test-sandbox-webhook-secret"
	// SandboxAPIKey lets a worker in another process charge the stack's sandbox gateway.
	SandboxAPIKey = "test-sandbox-api-key"
)

// Temporal starts a dev server (in-memory, random port) for one test and returns a client to it.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	c, _ := TemporalServer(t)
	return c
}

// TemporalServer is Temporal that also returns the server's frontend address, for processes
// started by the test (a separate worker, the CLI).
func TemporalServer(t testing.TB) (client.Client, string) {
	t.Helper()
	srv, err := startDevServer(t, "", "")
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.Client(), srv.FrontendHostPort()
}

// startDevServer starts the Temporal CLI dev server with the project's namespace and search
// attributes: on hostPort and keeping its state in the SQLite file db when given, else on a
// free port in memory.
func startDevServer(t testing.TB, hostPort, db string) (*testsuite.DevServer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var attrs []temporal.SearchAttributeUpdate
	for _, k := range []temporal.SearchAttributeKeyKeyword{workflows.CustomerIDKey, workflows.ServiceIDKey, workflows.SubscriptionStatusKey, workflows.ProviderKey} {
		attrs = append(attrs, k.ValueSet(""))
	}
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: repo.TemporalCLI(t),
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: Namespace,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		DBFilename:       db,
		SearchAttributes: temporal.NewSearchAttributes(attrs...),
		LogLevel:         "error",
		Stdout:           io.Discard,
		Stderr:           io.Discard,
		ExtraArgs:        []string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"},
	})
}

// restartable is a dev server a test can stop and start again on the same address with the
// same state, to take Temporal away from a running stack and give it back.
type restartable struct {
	srv      *testsuite.DevServer
	hostPort string
	db       string
}

// StopTemporal stops the stack's Temporal server (Options.RestartableTemporal): the web layer
// and the worker keep running and find it unreachable until StartTemporal.
func (s *Stack) StopTemporal(t testing.TB) {
	t.Helper()
	if s.temporal == nil {
		t.Fatal("StopTemporal needs Options.RestartableTemporal")
	}
	if err := s.temporal.srv.Stop(); err != nil {
		t.Logf("stop Temporal: %v", err)
	}
	s.temporal.srv = nil
}

// StartTemporal starts the stack's Temporal server again on its address with its state.
func (s *Stack) StartTemporal(t testing.TB) {
	t.Helper()
	srv, err := startDevServer(t, s.temporal.hostPort, s.temporal.db)
	if err != nil {
		t.Fatalf("restart Temporal dev server: %v", err)
	}
	s.temporal.srv = srv
}

// Stack is a whole platform for one test: database, Temporal with a running worker, mail sink
// and the web handler served on a real listener.
type Stack struct {
	Store    *store.Store
	DSN      string
	Temporal client.Client
	// TemporalAddress is the dev server's frontend host:port.
	TemporalAddress string
	Sink            *sink.Sink
	Mail            *mail.SMTP
	Server          *httptest.Server
	Settings        httpapi.Settings
	// Panels are the four panel simulators, registered in the store, with the demo products
	// mapped onto them; Provisioning is the worker's provisioning activities.
	Panels       *devpanels.Set
	Provisioning *activities.Provisioning
	// Sandbox is the sandbox payment gateway, its pages served at /sandbox/ and its events
	// delivered to /webhooks/sandbox; Gateways holds it under "sandbox".
	Sandbox  *sandbox.Sandbox
	Gateways gateways.Registry
	// PayPal is the PayPal simulator when Options.PayPal is set.
	PayPal *ppsim.Server
	Pricer *pricing.Pricer
	// Billing are the worker's subscription and dunning activities.
	Billing *activities.Billing

	temporal *restartable // with Options.RestartableTemporal
}

// freeAddress is a loopback address with a port nobody listens on right now.
func freeAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Options tune a Stack.
type Options struct {
	// ReminderAfter and Deadline shorten the onboarding timers; defaults 24h and 168h.
	ReminderAfter, Deadline time.Duration
	// BuildDelay is how long the panel simulators take to build; default 300 ms.
	BuildDelay time.Duration
	// StepTimeout is given to new provisioning workflows (zero: the workflow's default).
	StepTimeout time.Duration
	// NoWorker leaves the task queue without a worker, for tests that run `ezscale worker`
	// as a separate process.
	NoWorker bool
	// Billing are the subscription timings (zero fields: production defaults).
	Billing workflows.Timings
	// PayPal adds a PayPal gateway talking to a PayPal simulator (Stack.PayPal).
	PayPal bool
	// RestartableTemporal runs the dev server on a fixed address with its state in a file, so
	// StopTemporal and StartTemporal can take it away and bring it back.
	RestartableTemporal bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the server believes.
	TrustedProxies []netip.Prefix
}

// NewStack builds a Stack; everything stops when the test ends.
func NewStack(t testing.TB, o Options) *Stack {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	st := &Stack{}
	st.Store, st.DSN = storetest.NewWithURL(t)
	if o.RestartableTemporal {
		st.temporal = &restartable{hostPort: freeAddress(t), db: filepath.Join(t.TempDir(), "temporal.db")}
		st.StartTemporal(t)
		t.Cleanup(func() {
			if st.temporal.srv != nil {
				_ = st.temporal.srv.Stop()
			}
		})
		// A client of the stack's own, which outlives the server process and reconnects to it.
		c, err := client.NewLazyClient(client.Options{HostPort: st.temporal.hostPort, Namespace: Namespace,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		st.Temporal, st.TemporalAddress = c, st.temporal.hostPort
	} else {
		st.Temporal, st.TemporalAddress = TemporalServer(t)
	}
	var err error
	st.Sink, err = sink.Start(log, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Sink.Close() })
	st.Mail, err = mail.NewSMTP(st.Sink.URL(), "EZSCALE Hosting <billing@ezscale.test>")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	// The listener exists before the handler so mailed links can name the real address.
	st.Server = httptest.NewUnstartedServer(nil)
	base := "http://" + st.Server.Listener.Addr().String()
	if o.ReminderAfter == 0 {
		o.ReminderAfter = 24 * time.Hour
	}
	if o.Deadline == 0 {
		o.Deadline = 7 * 24 * time.Hour
	}
	st.Settings = httpapi.Settings{
		BaseURL: base, AppKey: []byte(AppKey), SessionLifetime: time.Hour,
		TaskQueue: TaskQueue, OnboardingReminderAfter: o.ReminderAfter, OnboardingDeadline: o.Deadline, Development: true,
		ProvisionStepTimeout: o.StepTimeout, TemporalUIURL: "http://localhost:8233", Namespace: Namespace,
		TrustedProxies: o.TrustedProxies,
	}
	if o.BuildDelay == 0 {
		o.BuildDelay = 300 * time.Millisecond
	}
	st.Panels, err = devpanels.Start(context.Background(), devpanels.Options{BuildDelay: o.BuildDelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Panels.Close() })
	box, err := secrets.NewBox(st.Settings.AppKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Catalog(context.Background(), st.Store); err != nil {
		t.Fatal(err)
	}
	if err := st.Panels.Register(context.Background(), st.Store, box); err != nil {
		t.Fatal(err)
	}
	st.Provisioning = &activities.Provisioning{
		Store: st.Store, Panels: connect.NewRegistry(st.Store, box), Secrets: box, Mail: st.Mail,
		BaseURL: base, PollInterval: 100 * time.Millisecond,
	}
	st.Sandbox = sandbox.New(sandbox.Options{BaseURL: base, Secret: []byte(SandboxSecret), APIKey: SandboxAPIKey,
		WebhookURL: base + "/webhooks/sandbox"})
	t.Cleanup(st.Sandbox.Close)
	st.Gateways = gateways.Registry{sandbox.Name: st.Sandbox}
	if o.PayPal {
		st.PayPal = ppsim.New(ppsim.Options{ClientID: "test-client", Secret: "test-secret", WebhookID: "WH-TEST"})
		t.Cleanup(st.PayPal.Close)
		pp, err := paypal.New(paypal.Options{ClientID: "test-client", Secret: "test-secret", APIBase: st.PayPal.URL, WebhookID: "WH-TEST"})
		if err != nil {
			t.Fatal(err)
		}
		st.Gateways[paypal.Name] = pp
	}
	st.Pricer = &pricing.Pricer{Store: st.Store, SellerCountry: "US"}
	st.Settings.DefaultGateway = sandbox.Name
	st.Settings.Billing = o.Billing
	st.Billing = &activities.Billing{Store: st.Store, Pricer: st.Pricer, Gateways: st.Gateways, Mail: st.Mail,
		Workflows: st.Temporal, TaskQueue: TaskQueue, BaseURL: base, Seller: pdf.Party{Name: "EZSCALE Hosting"},
		ProvisionStepTimeout: o.StepTimeout}
	if !o.NoWorker {
		w := worker.New(st.Temporal, TaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
		activities.Register(w, activities.Set{
			Onboarding:   &activities.Onboarding{Users: st.Store, Mail: st.Mail, BaseURL: base},
			Provisioning: st.Provisioning,
			Billing:      st.Billing,
		})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	st.Server.Config.Handler = httpapi.New(httpapi.Deps{
		Log: log, Store: st.Store, Workflows: st.Temporal, Mail: st.Mail, Pages: pages, Sink: st.Sink, Settings: st.Settings,
		Control: st.Provisioning, Secrets: box, Gateways: st.Gateways, Pricer: st.Pricer, Sandbox: st.Sandbox.Handler(),
	})
	st.Server.Start()
	t.Cleanup(st.Server.Close)
	return st
}

// URL is the stack's web address joined with path.
func (s *Stack) URL(path string) string { return s.Server.URL + path }
