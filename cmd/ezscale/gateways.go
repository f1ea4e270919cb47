package main

import (
	"context"
	"fmt"
	"github.com/ezscale/billing/devenv/simstore"
	"log/slog"
	"net/http"

	ledger "github.com/ezscale/billing/payments"

	"github.com/ezscale/billing/activities"
	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/paypal"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/gateways/stripe"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// payments are the configured gateways. The sandbox's state lives in the process that serves
// the web site (its hosted pages are there); a worker-only process reaches it through its API.
type payments struct {
	registry gateways.Registry
	sandbox  *sandbox.Sandbox // hosted here; nil in a worker-only process or when disabled
}

// pages is the sandbox's web handler, or nil.
func (p payments) pages() http.Handler {
	if p.sandbox == nil {
		return nil
	}
	return p.sandbox.Handler()
}

func (p payments) close() {
	if p.sandbox != nil {
		p.sandbox.Close()
	}
}

// newPayments builds the gateways of cfg; host says whether this process serves the web site.
// state, when set, keeps the hosted sandbox's customers, cards, checkouts, charges and pending
// webhooks between runs (dev mode).
func newPayments(ctx context.Context, log *slog.Logger, cfg config.Config, host bool, state simstore.Store) (payments, error) {
	g := cfg.Gateways
	p := payments{registry: gateways.Registry{}}
	if g.Sandbox {
		if host {
			sb, err := sandbox.Open(ctx, sandbox.Options{BaseURL: cfg.BaseURL, Secret: g.SandboxSecret, APIKey: g.SandboxAPIKey,
				WebhookURL: cfg.BaseURL + "/webhooks/sandbox", Logger: log.With("component", "sandbox")}, state)
			if err != nil {
				return payments{}, fmt.Errorf("open the sandbox gateway: %w", err)
			}
			p.sandbox = sb
			p.registry[sandbox.Name] = p.sandbox
		} else {
			p.registry[sandbox.Name] = sandbox.NewClient(sandbox.ClientOptions{BaseURL: cfg.BaseURL, APIKey: g.SandboxAPIKey, Secret: g.SandboxSecret})
		}
	}
	if g.StripeSecretKey != "" {
		gw, err := stripe.New(stripe.Config{SecretKey: g.StripeSecretKey, WebhookSecret: g.StripeWebhookSecret, BaseURL: g.StripeAPIBase})
		if err != nil {
			return payments{}, err
		}
		p.registry[gw.Name()] = gw
	}
	if g.PayPalClientID != "" {
		gw, err := paypal.New(paypal.Options{ClientID: g.PayPalClientID, Secret: g.PayPalSecret, APIBase: g.PayPalAPIBase, WebhookID: g.PayPalWebhookID})
		if err != nil {
			return payments{}, err
		}
		p.registry[gw.Name()] = gw
	}
	if g.Default != "" {
		if _, err := p.registry.Get(g.Default); err != nil {
			return payments{}, fmt.Errorf("DEFAULT_GATEWAY %q is not configured: %w", g.Default, err)
		}
	}
	return p, nil
}

// timings are the subscription workflows' timings from the configuration.
func timings(cfg config.Config) workflows.Timings {
	b := cfg.Billing
	return workflows.Timings{Day: b.Day, Period: b.Period, RenewalLeadDays: b.RenewalLeadDays, FirstPaymentDays: b.FirstPaymentDays,
		Dunning: workflows.DunningSchedule{RetryDays: b.DunningRetryDays, ReminderDays: b.DunningRemindDays,
			SuspendDays: b.DunningSuspendDays, TerminateDays: b.DunningTermDays}}
}

// newBilling holds the subscription and dunning activities' dependencies.
func newBilling(cfg config.Config, s *store.Store, m *mail.SMTP, wf activities.WorkflowStarter, reg gateways.Registry) *activities.Billing {
	sig, _ := wf.(ledger.Workflows)
	return &activities.Billing{Store: s, Pricer: newPricer(cfg, s), Gateways: reg, Mail: m, Workflows: wf, TaskQueue: cfg.TaskQueue,
		BaseURL: cfg.BaseURL, Seller: seller(cfg), ProvisionStepTimeout: cfg.ProvisionStepTimeout,
		Payments: newLedger(nil, cfg, s, sig, reg)}
}

// newLedger is the one door for money (package payments), with the configured overpayment policy.
func newLedger(log *slog.Logger, cfg config.Config, s *store.Store, wf ledger.Workflows, reg gateways.Registry) *ledger.Service {
	policy, _ := ledger.ParseOverpayment(cfg.Gateways.Overpayment) // validated by config.Load
	return &ledger.Service{Store: s, Gateways: reg, Workflows: wf, Log: log, Overpayment: policy}
}

func newPricer(cfg config.Config, s *store.Store) *pricing.Pricer {
	return &pricing.Pricer{Store: s, SellerCountry: cfg.SellerCountry}
}

func seller(cfg config.Config) pdf.Party {
	return pdf.Party{Name: cfg.SellerName, Address: cfg.SellerAddress, Country: cfg.SellerCountry, TaxID: cfg.SellerTaxID, Logo: cfg.SellerLogo}
}
