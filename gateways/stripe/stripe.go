// Package stripe is the Stripe gateway: Checkout Sessions for first payments that save the card,
// off-session PaymentIntents for renewals, refunds, saved payment methods and signed webhooks,
// through stripe-go v79 (API version 2024-06-20). The API facts it follows are in
// docs/gateways.md.
//
// It uses one client.API per Gateway and never the package-global stripe.Key or backends, so
// several accounts (or a test's stripe-mock) can live in one process.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/client"

	"github.com/ezscale/billing/gateways"
)

// Name is the gateway's registry name.
const Name = "stripe"

// Metadata keys we put on Stripe objects, to find our records again from webhooks and lookups.
const (
	metaInvoiceID  = "invoice_id"
	metaCustomerID = "customer_id"
)

// Config says which Stripe account to use and how to reach it.
type Config struct {
	SecretKey     string // sk_live_... or sk_test_...
	WebhookSecret string // whsec_... of the webhook endpoint
	// BaseURL is the API host root; "" means Stripe itself. Tests point it at stripe-mock.
	BaseURL string
	// HTTPClient makes the requests; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	// WebhookTolerance is how old a webhook signature may be; 0 means Stripe's default of 5 minutes.
	WebhookTolerance time.Duration
}

// Gateway is a Stripe account behind the gateways.Gateway interface.
type Gateway struct {
	api              *client.API
	webhookSecret    string
	webhookTolerance time.Duration
}

var _ gateways.Gateway = (*Gateway)(nil)

// New returns a Gateway for the account in cfg.
func New(cfg Config) (*Gateway, error) {
	if cfg.SecretKey == "" {
		return nil, fmt.Errorf("stripe: secret key is required: %w", gateways.ErrInvalidRequest)
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient: httpClient,
		// No retries inside the library: the calling activity is retried by Temporal with the
		// same idempotency key, and an in-library retry would only hide ErrTemporary from it.
		MaxNetworkRetries: stripe.Int64(0),
		// Failures are returned to the caller, which logs them with its own context.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.BaseURL != "" {
		bc.URL = stripe.String(cfg.BaseURL)
	}
	tolerance := cfg.WebhookTolerance
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	return &Gateway{
		api:              client.New(cfg.SecretKey, stripe.NewBackendsWithConfig(bc)),
		webhookSecret:    cfg.WebhookSecret,
		webhookTolerance: tolerance,
	}, nil
}

// Name returns "stripe".
func (g *Gateway) Name() string { return Name }

// EnsureCustomer finds the Stripe customer carrying our customer id in its metadata, or creates
// one. Search is eventually consistent (a new customer can take a minute to appear), so the
// create carries an idempotency key derived from our id: a quick second call replays the first
// create instead of making a duplicate.
func (g *Gateway) EnsureCustomer(ctx context.Context, c gateways.Customer) (string, error) {
	if c.ID <= 0 {
		return "", fmt.Errorf("stripe: ensure customer: our customer id is required: %w", gateways.ErrInvalidRequest)
	}
	id := strconv.FormatInt(c.ID, 10)
	search := &stripe.CustomerSearchParams{}
	search.Context = ctx
	search.Query = fmt.Sprintf("metadata['%s']:'%s'", metaCustomerID, id)
	search.Limit = stripe.Int64(1)
	it := g.api.Customers.Search(search)
	for it.Next() {
		if cus := it.Customer(); cus != nil && cus.Metadata[metaCustomerID] == id {
			return cus.ID, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", mapError(fmt.Sprintf("search customer %d", c.ID), err)
	}

	p := &stripe.CustomerParams{}
	p.Context = ctx
	if c.Email != "" {
		p.Email = stripe.String(c.Email)
	}
	if c.Name != "" {
		p.Name = stripe.String(c.Name)
	}
	p.AddMetadata(metaCustomerID, id)
	p.SetIdempotencyKey("customer-" + id)
	cus, err := g.api.Customers.New(p)
	if err != nil {
		return "", mapError(fmt.Sprintf("create customer %d", c.ID), err)
	}
	return cus.ID, nil
}

// StartCheckout creates a Checkout Session (mode payment) for one invoice that saves the card
// for off-session renewals (payment_intent_data.setup_future_usage=off_session). The invoice id
// goes on both the session and its PaymentIntent, so checkout.session.* and payment_intent.*
// webhooks both carry it.
func (g *Gateway) StartCheckout(ctx context.Context, r gateways.CheckoutRequest) (gateways.Checkout, error) {
	op := fmt.Sprintf("start checkout for invoice %d", r.InvoiceID)
	amount, err := toStripe(r.Amount)
	if err != nil {
		return gateways.Checkout{}, fmt.Errorf("stripe: %s: %w", op, err)
	}
	if r.CustomerRef == "" || r.SuccessURL == "" || r.CancelURL == "" {
		return gateways.Checkout{}, fmt.Errorf("stripe: %s: customer, success and cancel URLs are required: %w", op, gateways.ErrInvalidRequest)
	}
	invoiceID := strconv.FormatInt(r.InvoiceID, 10)
	description := r.Description
	if description == "" {
		description = "Invoice " + invoiceID
	}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		Customer:          stripe.String(r.CustomerRef),
		ClientReferenceID: stripe.String(invoiceID),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(currency(r.Amount)),
				UnitAmount:  stripe.Int64(amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(description)},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			SetupFutureUsage: stripe.String(string(stripe.PaymentIntentSetupFutureUsageOffSession)),
			Metadata:         map[string]string{metaInvoiceID: invoiceID},
		},
	}
	p.Context = ctx
	p.AddMetadata(metaInvoiceID, invoiceID)
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := g.api.CheckoutSessions.New(p)
	if err != nil {
		return gateways.Checkout{}, mapError(op, err)
	}
	return gateways.Checkout{Ref: s.ID, URL: s.URL}, nil
}

// StartSetup creates a Checkout Session in setup mode: the customer saves a card on Stripe's
// page without paying, for later off-session charges.
func (g *Gateway) StartSetup(ctx context.Context, r gateways.SetupRequest) (gateways.Checkout, error) {
	op := "start setup for customer " + r.CustomerRef
	if r.CustomerRef == "" || r.SuccessURL == "" || r.CancelURL == "" || r.Currency == "" {
		return gateways.Checkout{}, fmt.Errorf("stripe: %s: customer, currency, success and cancel URLs are required: %w", op, gateways.ErrInvalidRequest)
	}
	p := &stripe.CheckoutSessionParams{
		Mode:       stripe.String(string(stripe.CheckoutSessionModeSetup)),
		Customer:   stripe.String(r.CustomerRef),
		Currency:   stripe.String(strings.ToLower(r.Currency)),
		SuccessURL: stripe.String(r.SuccessURL),
		CancelURL:  stripe.String(r.CancelURL),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{
			Description: stripe.String("Payment method for renewals"),
		},
	}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := g.api.CheckoutSessions.New(p)
	if err != nil {
		return gateways.Checkout{}, mapError(op, err)
	}
	return gateways.Checkout{Ref: s.ID, URL: s.URL}, nil
}

// ExpireCheckout closes an open Checkout Session so it can no longer be paid
// (gateways.CheckoutExpirer), e.g. once its invoice was paid another way. Stripe expires only
// open sessions; one already expired or complete is re-read and, if so, not an error, which
// makes the call safe to repeat. A complete session was paid: its payment arrives as usual.
func (g *Gateway) ExpireCheckout(ctx context.Context, checkoutRef string) error {
	op := "expire checkout " + checkoutRef
	if checkoutRef == "" {
		return fmt.Errorf("stripe: %s: session id is required: %w", op, gateways.ErrInvalidRequest)
	}
	p := &stripe.CheckoutSessionExpireParams{}
	p.Context = ctx
	_, err := g.api.CheckoutSessions.Expire(checkoutRef, p)
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
		return mapError(op, err)
	}
	gp := &stripe.CheckoutSessionParams{}
	gp.Context = ctx
	s, gerr := g.api.CheckoutSessions.Get(checkoutRef, gp)
	if gerr != nil {
		return mapError(op, err) // the expire's own refusal says more than the lookup's
	}
	if s.Status == stripe.CheckoutSessionStatusExpired || s.Status == stripe.CheckoutSessionStatusComplete {
		return nil
	}
	return mapError(op, err)
}

var _ gateways.CheckoutExpirer = (*Gateway)(nil)

// ChargeSaved creates and confirms an off-session PaymentIntent on the saved payment method.
// A declined card or a bank asking for 3-D Secure comes back as ErrDeclined or
// ErrAuthenticationRequired with the PaymentIntent id in gateways.Error.PaymentRef.
func (g *Gateway) ChargeSaved(ctx context.Context, r gateways.ChargeRequest) (gateways.Charge, error) {
	op := fmt.Sprintf("charge invoice %d", r.InvoiceID)
	amount, err := toStripe(r.Amount)
	if err != nil {
		return gateways.Charge{}, fmt.Errorf("stripe: %s: %w", op, err)
	}
	if r.IdempotencyKey == "" || r.CustomerRef == "" || r.PaymentMethodRef == "" {
		return gateways.Charge{}, fmt.Errorf("stripe: %s: idempotency key, customer and payment method are required: %w", op, gateways.ErrInvalidRequest)
	}
	p := &stripe.PaymentIntentParams{
		Amount:        stripe.Int64(amount),
		Currency:      stripe.String(currency(r.Amount)),
		Customer:      stripe.String(r.CustomerRef),
		PaymentMethod: stripe.String(r.PaymentMethodRef),
		OffSession:    stripe.Bool(true),
		Confirm:       stripe.Bool(true),
	}
	if r.Description != "" {
		p.Description = stripe.String(r.Description)
	}
	p.Context = ctx
	p.AddMetadata(metaInvoiceID, strconv.FormatInt(r.InvoiceID, 10))
	p.SetIdempotencyKey(r.IdempotencyKey)
	pi, err := g.api.PaymentIntents.New(p)
	if err != nil {
		return gateways.Charge{}, mapError(op, err)
	}
	charge := gateways.Charge{Ref: pi.ID, Amount: money(pi.Amount, pi.Currency)}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		charge.Status = gateways.ChargeSucceeded
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		charge.Status = gateways.ChargePending
	case stripe.PaymentIntentStatusRequiresAction:
		return charge, &gateways.Error{Gateway: Name, Kind: gateways.ErrAuthenticationRequired,
			Message: op + ": payment intent requires action", PaymentRef: pi.ID}
	default: // requires_payment_method, canceled, ...
		return charge, &gateways.Error{Gateway: Name, Kind: gateways.ErrDeclined,
			Message: fmt.Sprintf("%s: payment intent status %s", op, pi.Status), PaymentRef: pi.ID}
	}
	return charge, nil
}

// Refund refunds a PaymentIntent in full (zero Amount) or in part.
func (g *Gateway) Refund(ctx context.Context, r gateways.RefundRequest) (gateways.Refund, error) {
	op := fmt.Sprintf("refund %s for invoice %d", r.ChargeRef, r.InvoiceID)
	if r.ChargeRef == "" || r.IdempotencyKey == "" {
		return gateways.Refund{}, fmt.Errorf("stripe: %s: charge and idempotency key are required: %w", op, gateways.ErrInvalidRequest)
	}
	p := &stripe.RefundParams{PaymentIntent: stripe.String(r.ChargeRef)}
	if !r.Amount.IsZero() {
		amount, err := toStripe(r.Amount)
		if err != nil {
			return gateways.Refund{}, fmt.Errorf("stripe: %s: %w", op, err)
		}
		p.Amount = stripe.Int64(amount)
	}
	p.Context = ctx
	p.AddMetadata(metaInvoiceID, strconv.FormatInt(r.InvoiceID, 10))
	if r.Reason != "" {
		p.AddMetadata("reason", r.Reason)
	}
	p.SetIdempotencyKey(r.IdempotencyKey)
	re, err := g.api.Refunds.New(p)
	if err != nil {
		return gateways.Refund{}, mapError(op, err)
	}
	return gateways.Refund{Ref: re.ID, Status: string(re.Status), Amount: money(re.Amount, re.Currency)}, nil
}

// PaymentMethods lists the customer's saved cards and marks the one in
// invoice_settings.default_payment_method.
func (g *Gateway) PaymentMethods(ctx context.Context, customerRef string) ([]gateways.PaymentMethod, error) {
	op := "list payment methods of " + customerRef
	cp := &stripe.CustomerParams{}
	cp.Context = ctx
	cus, err := g.api.Customers.Get(customerRef, cp)
	if err != nil {
		return nil, mapError(op, err)
	}
	defaultRef := ""
	if cus.InvoiceSettings != nil && cus.InvoiceSettings.DefaultPaymentMethod != nil {
		defaultRef = cus.InvoiceSettings.DefaultPaymentMethod.ID
	}
	lp := &stripe.PaymentMethodListParams{
		Customer: stripe.String(customerRef),
		Type:     stripe.String(string(stripe.PaymentMethodTypeCard)),
	}
	lp.Context = ctx
	var out []gateways.PaymentMethod
	it := g.api.PaymentMethods.List(lp)
	for it.Next() {
		pm := it.PaymentMethod()
		m := gateways.PaymentMethod{Ref: pm.ID, Default: pm.ID == defaultRef}
		if pm.Card != nil {
			m.Brand = string(pm.Card.Brand)
			m.Last4 = pm.Card.Last4
			m.ExpMonth = int(pm.Card.ExpMonth)
			m.ExpYear = int(pm.Card.ExpYear)
		}
		out = append(out, m)
	}
	if err := it.Err(); err != nil {
		return nil, mapError(op, err)
	}
	return out, nil
}

// SetDefaultPaymentMethod sets customer.invoice_settings.default_payment_method.
func (g *Gateway) SetDefaultPaymentMethod(ctx context.Context, customerRef, paymentMethodRef string) error {
	p := &stripe.CustomerParams{
		InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(paymentMethodRef)},
	}
	p.Context = ctx
	if _, err := g.api.Customers.Update(customerRef, p); err != nil {
		return mapError(fmt.Sprintf("set default payment method of %s to %s", customerRef, paymentMethodRef), err)
	}
	return nil
}

// DetachPaymentMethod detaches a saved payment method from its customer.
func (g *Gateway) DetachPaymentMethod(ctx context.Context, paymentMethodRef string) error {
	p := &stripe.PaymentMethodDetachParams{}
	p.Context = ctx
	if _, err := g.api.PaymentMethods.Detach(paymentMethodRef, p); err != nil {
		return mapError("detach payment method "+paymentMethodRef, err)
	}
	return nil
}

// mapError turns a stripe-go failure into a *gateways.Error of the right kind, keeping Stripe's
// code and message. Anything that is not a Stripe API error (network failure, timeout, a body
// that is not Stripe JSON) is temporary: retrying with the same idempotency key is safe.
func mapError(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &gateways.Error{Gateway: Name, Kind: gateways.ErrTemporary, Message: fmt.Sprintf("%s: %v", op, err)}
	}
	ge := &gateways.Error{
		Gateway:     Name,
		Code:        string(se.Code),
		DeclineCode: string(se.DeclineCode),
		Message:     op + ": " + se.Msg,
		HTTPStatus:  se.HTTPStatusCode,
	}
	if se.PaymentIntent != nil {
		ge.PaymentRef = se.PaymentIntent.ID
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 ||
		se.Type == stripe.ErrorTypeAPI || se.Code == stripe.ErrorCodeRateLimit || se.Code == stripe.ErrorCodeLockTimeout:
		ge.Kind = gateways.ErrTemporary
	case se.Code == stripe.ErrorCodeAuthenticationRequired:
		ge.Kind = gateways.ErrAuthenticationRequired
	case se.Type == stripe.ErrorTypeCard:
		ge.Kind = gateways.ErrDeclined // card_declined, expired_card, incorrect_cvc, ...
	default: // invalid_request_error, idempotency_error, authentication with a bad key
		ge.Kind = gateways.ErrInvalidRequest
	}
	return ge
}

// CheckoutOrigin is where Stripe serves its hosted Checkout pages, in both payment and setup mode.
const CheckoutOrigin = "https://checkout.stripe.com"

// HostedOrigins names Stripe Checkout's origin, which the site's forms redirect to.
func (g *Gateway) HostedOrigins() []string { return []string{CheckoutOrigin} }
