// Package paypal is the PayPal gateway: Orders v2 checkouts the buyer approves on PayPal, their
// capture, refunds of captures and webhooks checked with PayPal's verify API, through
// github.com/plutov/paypal/v4. The API facts it follows are in
// docs/gateways.md; package paypal/sim is a fake PayPal
// that follows the same facts, for tests and dev mode.
//
// PayPal differs from a card gateway in three ways that callers see:
//   - A checkout is paid in two steps: the buyer approves the order on PayPal
//     (CHECKOUT.ORDER.APPROVED, or the return URL with ?token=<order id>), then we Capture it.
//   - There are no saved payment methods in our scope: off-session charges need a billing
//     agreement or vault, so ChargeSaved always fails with gateways.ErrInvalidRequest and the
//     customer pays each invoice on PayPal.
//   - There is no customer object: EnsureCustomer only derives a ref from our customer id.
package paypal

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/gateways"
)

// Name is the gateway's registry name.
const Name = "paypal"

// API roots. plutov's own constants still name the older api.paypal.com hosts; these are the
// ones PayPal documents today (docs/gateways.md).
const (
	LiveAPIBase    = "https://api-m.paypal.com"
	SandboxAPIBase = "https://api-m.sandbox.paypal.com"
)

// Options says which PayPal app to use and how to reach it.
type Options struct {
	ClientID string // the REST app's client id
	Secret   string // the REST app's secret
	// APIBase is the API root without a trailing slash; "" means LiveAPIBase. Use
	// SandboxAPIBase for PayPal's sandbox, or a paypal/sim server's URL in tests.
	APIBase string
	// WebhookID is the id PayPal gave our webhook endpoint; ParseWebhook refuses every
	// delivery when it is empty, because the verify API needs it.
	WebhookID string
	// HTTPClient makes the requests; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is nil; 0 means 30 seconds.
	Timeout time.Duration
	// Now is the clock for webhook events that carry no create_time; nil means time.Now.
	Now func() time.Time
}

// Gateway is a PayPal REST app behind the gateways.Gateway interface.
type Gateway struct {
	client    *paypal.Client
	apiBase   string
	webhookID string
	now       func() time.Time
}

var _ gateways.Gateway = (*Gateway)(nil)

// New returns a Gateway for the app in o. No request is made until the first call, which
// fetches an OAuth token; plutov caches it and fetches a new one a minute before it expires.
func New(o Options) (*Gateway, error) {
	if o.ClientID == "" || o.Secret == "" {
		return nil, fmt.Errorf("paypal: client id and secret are required: %w", gateways.ErrInvalidRequest)
	}
	base := strings.TrimRight(o.APIBase, "/")
	if base == "" {
		base = LiveAPIBase
	}
	c, err := paypal.NewClient(o.ClientID, o.Secret, base)
	if err != nil {
		return nil, fmt.Errorf("paypal: new client: %v: %w", err, gateways.ErrInvalidRequest)
	}
	httpClient := o.HTTPClient
	if httpClient == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		httpClient = &http.Client{Timeout: timeout}
	}
	c.SetHTTPClient(httpClient)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Gateway{client: c, apiBase: base, webhookID: o.WebhookID, now: now}, nil
}

// Name returns "paypal".
func (g *Gateway) Name() string { return Name }

// EnsureCustomer returns "customer-<our id>". PayPal Orders have no customer object (the buyer
// is whoever logs in on the approve page), so there is nothing to create; the ref only has to
// be stable so that our records keyed on it stay consistent.
func (g *Gateway) EnsureCustomer(_ context.Context, c gateways.Customer) (string, error) {
	if c.ID <= 0 {
		return "", invalid("ensure customer: our customer id is required")
	}
	return fmt.Sprintf("customer-%d", c.ID), nil
}

// ChargeSaved always fails with gateways.ErrInvalidRequest: charging a PayPal buyer without
// them present needs a billing agreement (or vaulted payment source), which is outside what
// this gateway does. Invoices of PayPal customers are paid through StartCheckout and Capture.
func (g *Gateway) ChargeSaved(_ context.Context, r gateways.ChargeRequest) (gateways.Charge, error) {
	return gateways.Charge{}, &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: "no_saved_payment_method",
		Message: fmt.Sprintf("invoice %d: off-session charges need a billing agreement; pay this invoice on PayPal", r.InvoiceID)}
}

// PaymentMethods returns none: this gateway saves no PayPal payment methods.
func (g *Gateway) PaymentMethods(context.Context, string) ([]gateways.PaymentMethod, error) {
	return nil, nil
}

// SetDefaultPaymentMethod fails with gateways.ErrInvalidRequest: there are no saved methods.
func (g *Gateway) SetDefaultPaymentMethod(_ context.Context, customerRef, paymentMethodRef string) error {
	return invalid(fmt.Sprintf("set default payment method of %s to %s: PayPal has no saved payment methods here", customerRef, paymentMethodRef))
}

// DetachPaymentMethod fails with gateways.ErrInvalidRequest: there are no saved methods.
func (g *Gateway) DetachPaymentMethod(_ context.Context, paymentMethodRef string) error {
	return invalid(fmt.Sprintf("detach payment method %s: PayPal has no saved payment methods here", paymentMethodRef))
}

// invalid is an ErrInvalidRequest failure found before calling PayPal.
func invalid(msg string) error {
	return &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Message: msg}
}

// Where buyers approve orders: PayPal's approve links point at www.paypal.com for live apps and
// www.sandbox.paypal.com for sandbox apps.
const (
	LiveApproveOrigin    = "https://www.paypal.com"
	SandboxApproveOrigin = "https://www.sandbox.paypal.com"
)

// HostedOrigins names the origin of the approve page the site's forms redirect to: PayPal's own
// for the live and sandbox APIs, else the API's origin (a paypal/sim server serves both).
func (g *Gateway) HostedOrigins() []string {
	switch g.apiBase {
	case LiveAPIBase:
		return []string{LiveApproveOrigin}
	case SandboxAPIBase:
		return []string{SandboxApproveOrigin}
	}
	return []string{gateways.Origin(g.apiBase)}
}
