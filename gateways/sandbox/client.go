package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ezscale/billing/gateways"
)

// clientTimeout bounds one API call when ClientOptions.HTTPClient is nil.
const clientTimeout = 30 * time.Second

// clientResponseLimit bounds how much of an API answer is read; the largest, a customer's
// payment methods, is a few kilobytes.
const clientResponseLimit = 1 << 20

// ClientOptions configures a Client.
type ClientOptions struct {
	// BaseURL is the site hosting the sandbox's Handler, e.g. http://localhost:8080; calls go to
	// BaseURL/sandbox/api/v1/....
	BaseURL string
	// APIKey is the hosting sandbox's Options.APIKey, sent as a bearer token.
	APIKey string
	// Secret is the hosting sandbox's Options.Secret; ParseWebhook verifies deliveries with it.
	Secret []byte
	// HTTPClient makes the calls; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock webhook signatures are checked against; nil means time.Now.
	Now func() time.Time
}

// Client is the sandbox gateway as seen from a process that does not host it (the Temporal
// worker, a crash test): every Gateway call goes to the hosting sandbox's JSON API, so all
// processes share one set of customers, cards and charges, as they would share one Stripe
// account. Errors come back as the same *gateways.Error values the Sandbox returns; network
// failures and 5xx answers are gateways.ErrTemporary, safe to retry with the same idempotency key.
type Client struct {
	api    string // BaseURL + apiPrefix
	apiKey string
	http   *http.Client
	signer signer
}

var _ gateways.Gateway = (*Client)(nil)

// NewClient returns a Client for the sandbox hosted at o.BaseURL.
func NewClient(o ClientOptions) *Client {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: clientTimeout}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Client{api: strings.TrimRight(o.BaseURL, "/") + apiPrefix, apiKey: o.APIKey, http: hc,
		signer: signer{secret: append([]byte(nil), o.Secret...), now: now}}
}

// Name returns "sandbox": a Client and the Sandbox it calls are one gateway.
func (c *Client) Name() string { return Name }

// EnsureCustomer returns the sandbox customer for our customer id, creating it on first use.
func (c *Client) EnsureCustomer(ctx context.Context, cus gateways.Customer) (string, error) {
	var out refJSON
	err := c.call(ctx, http.MethodPost, "/customers", "", customerJSON{ID: cus.ID, Email: cus.Email, Name: cus.Name}, &out)
	if err != nil {
		return "", fmt.Errorf("ensure sandbox customer for customer %d: %w", cus.ID, err)
	}
	return out.Ref, nil
}

// StartCheckout creates a hosted test-card page on the hosting site; see Sandbox.StartCheckout.
func (c *Client) StartCheckout(ctx context.Context, r gateways.CheckoutRequest) (gateways.Checkout, error) {
	in := checkoutRequestJSON{InvoiceID: r.InvoiceID, CustomerRef: r.CustomerRef, Amount: r.Amount.Amount,
		Currency: r.Amount.Currency, Description: r.Description, SuccessURL: r.SuccessURL, CancelURL: r.CancelURL}
	var out checkoutJSON
	if err := c.call(ctx, http.MethodPost, "/checkouts", r.IdempotencyKey, in, &out); err != nil {
		return gateways.Checkout{}, fmt.Errorf("start sandbox checkout for invoice %d: %w", r.InvoiceID, err)
	}
	return gateways.Checkout{Ref: out.Ref, URL: out.URL}, nil
}

// ChargeSaved charges a saved card off-session; see Sandbox.ChargeSaved for the idempotency rules.
func (c *Client) ChargeSaved(ctx context.Context, r gateways.ChargeRequest) (gateways.Charge, error) {
	in := chargeRequestJSON{InvoiceID: r.InvoiceID, CustomerRef: r.CustomerRef, PaymentMethodRef: r.PaymentMethodRef,
		Amount: r.Amount.Amount, Currency: r.Amount.Currency, Description: r.Description}
	var out chargeJSON
	if err := c.call(ctx, http.MethodPost, "/charges", r.IdempotencyKey, in, &out); err != nil {
		return gateways.Charge{}, fmt.Errorf("charge saved sandbox card for invoice %d: %w", r.InvoiceID, err)
	}
	return gateways.Charge{Ref: out.Ref, Status: gateways.ChargeStatus(out.Status), Amount: moneyOf(out.Amount, out.Currency)}, nil
}

// Refund returns all (zero Amount) or part of a charge; see Sandbox.Refund.
func (c *Client) Refund(ctx context.Context, r gateways.RefundRequest) (gateways.Refund, error) {
	in := refundRequestJSON{InvoiceID: r.InvoiceID, ChargeRef: r.ChargeRef, Amount: r.Amount.Amount,
		Currency: r.Amount.Currency, Reason: r.Reason}
	var out refundJSON
	if err := c.call(ctx, http.MethodPost, "/refunds", r.IdempotencyKey, in, &out); err != nil {
		return gateways.Refund{}, fmt.Errorf("refund sandbox charge %s: %w", r.ChargeRef, err)
	}
	return gateways.Refund{Ref: out.Ref, Status: out.Status, Amount: moneyOf(out.Amount, out.Currency)}, nil
}

// PaymentMethods lists the customer's saved cards in the order they were saved, marking the default.
func (c *Client) PaymentMethods(ctx context.Context, customerRef string) ([]gateways.PaymentMethod, error) {
	if customerRef == "" {
		return nil, invalid("list sandbox payment methods: customer ref is required")
	}
	var out paymentMethodsJSON
	if err := c.call(ctx, http.MethodGet, "/customers/"+url.PathEscape(customerRef)+"/payment_methods", "", nil, &out); err != nil {
		return nil, fmt.Errorf("list sandbox payment methods of %s: %w", customerRef, err)
	}
	pms := make([]gateways.PaymentMethod, 0, len(out.Data))
	for _, m := range out.Data {
		pms = append(pms, m.paymentMethod())
	}
	return pms, nil
}

// SetDefaultPaymentMethod makes one of the customer's saved cards the one renewals charge.
func (c *Client) SetDefaultPaymentMethod(ctx context.Context, customerRef, paymentMethodRef string) error {
	if customerRef == "" {
		return invalid("set default sandbox payment method: customer ref is required")
	}
	path := "/customers/" + url.PathEscape(customerRef) + "/default_payment_method"
	if err := c.call(ctx, http.MethodPost, path, "", setDefaultJSON{PaymentMethodRef: paymentMethodRef}, nil); err != nil {
		return fmt.Errorf("set default sandbox payment method of %s to %s: %w", customerRef, paymentMethodRef, err)
	}
	return nil
}

// DetachPaymentMethod removes a saved card from its customer.
func (c *Client) DetachPaymentMethod(ctx context.Context, paymentMethodRef string) error {
	if paymentMethodRef == "" {
		return invalid("detach sandbox payment method: payment method ref is required")
	}
	if err := c.call(ctx, http.MethodPost, "/payment_methods/"+url.PathEscape(paymentMethodRef)+"/detach", "", nil, nil); err != nil {
		return fmt.Errorf("detach sandbox payment method %s: %w", paymentMethodRef, err)
	}
	return nil
}

// ParseWebhook verifies a delivery with the shared Secret, exactly as Sandbox.ParseWebhook does;
// it makes no call.
func (c *Client) ParseWebhook(_ context.Context, body []byte, header http.Header) (gateways.Event, error) {
	return c.signer.parse(body, header)
}

// Stats reports the hosting sandbox's charge counts, for crash tests to prove nothing was
// charged twice.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	if err := c.call(ctx, http.MethodGet, "/stats", "", nil, &out); err != nil {
		return Stats{}, fmt.Errorf("read sandbox stats: %w", err)
	}
	return out, nil
}

// call sends one API request and decodes its answer into out (when not nil). Failures are
// *gateways.Error: the sandbox's own, decoded from the error JSON, or ErrTemporary for a
// network failure or an answer that could not be read, since a retry with the same
// idempotency key is then always safe.
func (c *Client) call(ctx context.Context, method, path, idempotencyKey string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return invalid(fmt.Sprintf("encode %s request: %v", path, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, body)
	if err != nil {
		return invalid(fmt.Sprintf("build request %s %s: %v", method, path, err))
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set(IdempotencyHeader, idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return temporary("network_error", 0, fmt.Sprintf("%s %s", method, path), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, clientResponseLimit))
	if err != nil {
		return temporary("network_error", resp.StatusCode, fmt.Sprintf("read answer to %s %s", method, path), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e errorJSON
		ok := json.Unmarshal(raw, &e) == nil && e.Error.Kind != ""
		return decodeError(resp.StatusCode, e, ok)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return temporary("invalid_response", resp.StatusCode, fmt.Sprintf("decode answer to %s %s", method, path), err)
	}
	return nil
}

// temporary is an ErrTemporary failure caused by err, which stays reachable with errors.Is
// (a canceled context, a timeout). status is the HTTP status when an answer came, else 0.
func temporary(code string, status int, doing string, err error) error {
	ge := &gateways.Error{Gateway: Name, Kind: gateways.ErrTemporary, Code: code, HTTPStatus: status}
	return fmt.Errorf("%s: %w: %w", doing, ge, err)
}

// HostedOrigins names the origin of the hosting sandbox's test-card pages.
func (c *Client) HostedOrigins() []string { return []string{gateways.Origin(c.api)} }
