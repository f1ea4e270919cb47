// Package gateways defines what billing code needs from a payment gateway (Stripe, PayPal, the
// sandbox) and the errors every gateway reports in one vocabulary, so workflows decide in one
// place whether a failed payment is retried (ErrTemporary) or goes to dunning (ErrDeclined,
// ErrAuthenticationRequired).
//
// Card data never touches our servers: the first payment happens on the gateway's hosted page
// (StartCheckout), and later payments charge the payment method it saved (ChargeSaved).
// Each gateway lives in gateways/<name>; the API facts they follow are in docs/gateways.md.
package gateways

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ezscale/billing/billing"
)

// Gateway is one payment provider. Every money-moving call takes a deterministic idempotency key
// (workflow id + invoice id + attempt), so a retried activity repeats the same charge or refund
// instead of making a second one.
type Gateway interface {
	// Name is the gateway's registry name, e.g. "stripe"; payments are unique on (Name, Ref).
	Name() string
	// EnsureCustomer returns the gateway's customer for our customer, creating it only when none exists.
	EnsureCustomer(ctx context.Context, c Customer) (CustomerRef string, err error)
	// StartCheckout creates a hosted payment page for a first payment that also saves the
	// payment method for later off-session charges.
	StartCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error)
	// ChargeSaved charges a saved payment method without the customer present (renewals).
	ChargeSaved(ctx context.Context, r ChargeRequest) (Charge, error)
	// Refund returns all or part of an earlier charge.
	Refund(ctx context.Context, r RefundRequest) (Refund, error)
	// PaymentMethods lists the customer's saved payment methods, marking the default.
	PaymentMethods(ctx context.Context, customerRef string) ([]PaymentMethod, error)
	// SetDefaultPaymentMethod makes a saved payment method the one renewals charge.
	SetDefaultPaymentMethod(ctx context.Context, customerRef, paymentMethodRef string) error
	// DetachPaymentMethod removes a saved payment method from its customer.
	DetachPaymentMethod(ctx context.Context, paymentMethodRef string) error
	// ParseWebhook verifies a webhook delivery (raw body and headers) and returns its event.
	// Forged, stale or malformed deliveries give an error wrapping ErrInvalidWebhook.
	ParseWebhook(ctx context.Context, body []byte, header http.Header) (Event, error)
}

// Customer is our customer as a gateway customer is made from it.
type Customer struct {
	ID    int64 // our customer id, stored on the gateway's customer to find it again
	Email string
	Name  string
}

// CheckoutRequest asks for a hosted page paying one invoice.
type CheckoutRequest struct {
	InvoiceID      int64  // our invoice id, carried back in webhook events
	CustomerRef    string // from EnsureCustomer
	Amount         billing.Money
	Description    string // line shown on the hosted page, e.g. "Invoice #42"
	SuccessURL     string
	CancelURL      string
	IdempotencyKey string
}

// SetupRequest asks for a hosted page where the customer saves a payment method without paying,
// for later off-session charges. Gateways that support it have a StartSetup method:
//
//	StartSetup(ctx context.Context, r SetupRequest) (Checkout, error)
type SetupRequest struct {
	CustomerRef    string // from EnsureCustomer
	Currency       string // the currency future charges will be in
	SuccessURL     string
	CancelURL      string
	IdempotencyKey string
}

// Checkout is a created hosted payment page.
type Checkout struct {
	Ref string // the gateway's session id
	URL string // where to send the customer
}

// ChargeRequest charges a saved payment method for one invoice, off-session.
type ChargeRequest struct {
	InvoiceID        int64
	CustomerRef      string
	PaymentMethodRef string
	Amount           billing.Money
	Description      string
	IdempotencyKey   string // required: the same key makes a retry the same charge
}

// ChargeStatus is where a charge ended up when the gateway answered.
type ChargeStatus string

// Charge outcomes that are not errors. A declined or unauthenticated charge is an error instead.
const (
	ChargeSucceeded ChargeStatus = "succeeded"
	ChargePending   ChargeStatus = "pending" // settles later; a webhook reports the outcome
)

// Charge is a charge the gateway accepted.
type Charge struct {
	Ref    string // the gateway's transaction id (Stripe PaymentIntent id)
	Status ChargeStatus
	Amount billing.Money
	// InvoiceID is the invoice the gateway's record names (from our metadata), when it says; a
	// caller that captures a payment the customer started checks it against the invoice.
	InvoiceID int64
}

// RefundRequest returns money from an earlier charge.
type RefundRequest struct {
	InvoiceID      int64
	ChargeRef      string        // Charge.Ref of the charge to refund
	Amount         billing.Money // zero refunds whatever is left of the charge
	Reason         string        // free text kept in the gateway's metadata
	IdempotencyKey string        // required
}

// Refund is a refund the gateway accepted.
type Refund struct {
	Ref    string
	Status string // the gateway's status, e.g. "succeeded", "pending"
	Amount billing.Money
}

// PaymentMethod is a saved payment method, described without card data beyond what a
// customer needs to recognise it.
type PaymentMethod struct {
	Ref      string
	Brand    string // "visa"
	Last4    string
	ExpMonth int
	ExpYear  int
	Default  bool
}

// EventKind says what a gateway event means for billing. Each gateway's webhook code sets it,
// so the HTTP layer and the payments package never look at a gateway's own event types and
// adding a gateway never touches them.
type EventKind string

// The event kinds billing acts on. Anything else is EventOther: stored, nothing to do.
const (
	EventOther EventKind = ""
	// EventPaymentSucceeded: Amount was paid for InvoiceID under PaymentRef and is settled.
	EventPaymentSucceeded EventKind = "payment_succeeded"
	// EventPaymentPending: the payment was accepted but settles later (SEPA, ACH and Bacs debits,
	// a processing PaymentIntent). Nothing is paid yet and no one should charge again meanwhile.
	EventPaymentPending EventKind = "payment_pending"
	// EventPaymentFailed: a payment of InvoiceID under PaymentRef failed (a delayed debit
	// bounced, an attempt was declined).
	EventPaymentFailed EventKind = "payment_failed"
	// EventRefund: Refunds lists refunds of PaymentRef, each with its gateway id and state.
	EventRefund EventKind = "refund"
)

// RefundStatus is where a refund stands at the gateway.
type RefundStatus string

// Refund states. A pending refund is on its way; a failed one never reached the customer, so
// the money is owed to them again.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// RefundState is one refund as a gateway event reports it.
type RefundState struct {
	Ref    string // the gateway's refund id, the same as Refund.Ref when we made it
	Amount billing.Money
	Status RefundStatus
}

// Event is a verified webhook event reduced to what billing acts on. Events may arrive twice
// and out of order: dedupe on (gateway, ID).
type Event struct {
	ID          string
	Type        string    // the gateway's event type, e.g. "payment_intent.succeeded"
	Kind        EventKind // what it means for billing
	Created     time.Time
	Refunds     []RefundState // EventRefund: the refunds the event reports
	CheckoutRef string        // the hosted page (Checkout.Ref) the payment came from, when it says
	InvoiceID   int64         // from the object's metadata; 0 when absent
	PaymentRef  string        // the charge's Ref (Stripe PaymentIntent id), when the event has one
	RefundRef   string        // refund events: the gateway's refund id, the same as Refund.Ref
	CustomerRef string
	Amount      billing.Money // zero when the object has no amount
}

// CheckoutExpirer is a gateway whose open hosted payment pages can be closed, so an invoice
// paid another way cannot be paid a second time on a page still open in a browser tab.
type CheckoutExpirer interface {
	ExpireCheckout(ctx context.Context, checkoutRef string) error
}

// AmountChecker is a gateway that cannot take every amount in every currency (Stripe takes
// three-decimal currencies only in multiples of ten). CheckAmount returns an error wrapping
// ErrUnsupportedAmount, with a message a customer can read, for an amount it cannot charge.
type AmountChecker interface {
	CheckAmount(m billing.Money) error
}

// ErrUnsupportedAmount: the gateway cannot charge or refund this amount in this currency.
var ErrUnsupportedAmount = errors.New("amount not supported by the gateway")

// UnsupportedAmount returns an error whose text is msg alone, for a customer to read, and which
// matches both ErrUnsupportedAmount and ErrInvalidRequest with errors.Is: the amount is refused
// before any request, and retrying will not help.
func UnsupportedAmount(msg string) error { return unsupportedAmount(msg) }

type unsupportedAmount string

func (e unsupportedAmount) Error() string   { return string(e) }
func (e unsupportedAmount) Unwrap() []error { return []error{ErrUnsupportedAmount, ErrInvalidRequest} }

// CheckAmount asks g whether it can take m; gateways without limits take anything.
func CheckAmount(g Gateway, m billing.Money) error {
	if c, ok := g.(AmountChecker); ok {
		return c.CheckAmount(m)
	}
	return nil
}

// TransactionKind tells a charge from a refund in a gateway's transaction list.
type TransactionKind string

// Transaction kinds.
const (
	TransactionCharge TransactionKind = "charge"
	TransactionRefund TransactionKind = "refund"
)

// Transaction is one charge or refund as the gateway holds it, for reconciling with the ledger.
type Transaction struct {
	Kind       TransactionKind
	Ref        string // charges: the payment ref we record (Charge.Ref); refunds: the refund id
	PaymentRef string // refunds: the ref of the charge refunded
	InvoiceID  int64  // from our metadata, 0 when absent
	Amount     billing.Money
	Status     string // the gateway's status ("succeeded", "pending", "failed", ...)
	Created    time.Time
}

// TransactionLister is a gateway that can list its charges and refunds created in [from, to).
type TransactionLister interface {
	Transactions(ctx context.Context, from, to time.Time) ([]Transaction, error)
}

// The error kinds every gateway reports, matched with errors.Is.
var (
	// ErrDeclined: the payment method was refused; retrying the same card will not help (dunning).
	ErrDeclined = errors.New("payment declined")
	// ErrAuthenticationRequired: the bank wants the customer present (3-D Secure); ask them to pay on-session.
	ErrAuthenticationRequired = errors.New("customer authentication required")
	// ErrInvalidRequest: our request was wrong (bad id, parameter, key); retrying will not help.
	ErrInvalidRequest = errors.New("invalid gateway request")
	// ErrTemporary: rate limit, gateway outage or network failure; retry with the same idempotency key.
	ErrTemporary = errors.New("temporary gateway failure")
	// ErrInvalidWebhook: a webhook delivery whose signature is missing, forged or stale.
	ErrInvalidWebhook = errors.New("invalid webhook")
	// ErrUnknownGateway: no gateway is registered under the name.
	ErrUnknownGateway = errors.New("unknown gateway")
)

// Error is a gateway failure with the provider's own details kept. It unwraps to its Kind, one
// of the Err* values above.
type Error struct {
	Gateway     string
	Kind        error
	Code        string // provider code, e.g. "card_declined"
	DeclineCode string // e.g. "insufficient_funds"
	Message     string // the provider's message, safe to show staff
	PaymentRef  string // the transaction the failure belongs to, when the provider says
	HTTPStatus  int
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Gateway, e.Kind)
	if e.Code != "" {
		msg += " (" + e.Code
		if e.DeclineCode != "" {
			msg += "/" + e.DeclineCode
		}
		msg += ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Kind }

// Retryable reports whether err is worth retrying with the same idempotency key.
func Retryable(err error) bool { return errors.Is(err, ErrTemporary) }

// Registry holds the configured gateways by name.
type Registry map[string]Gateway

// Get returns the gateway registered under name, or ErrUnknownGateway.
func (r Registry) Get(name string) (Gateway, error) {
	if g, ok := r[name]; ok {
		return g, nil
	}
	return nil, fmt.Errorf("gateway %q: %w", name, ErrUnknownGateway)
}

// HostedPages is implemented by gateways whose hosted pages (StartCheckout, StartSetup) live on
// origins of their own. The site's forms that answer with a redirect to such a page must be
// allowed to reach them: browsers apply a page's CSP form-action to every redirect that follows
// the form's POST, so a redirect to an origin the policy does not name is silently dropped.
type HostedPages interface {
	// HostedOrigins are the origins ("https://checkout.stripe.com") of the hosted pages.
	HostedOrigins() []string
}

// HostedOrigins are the origins of every hosted page of the gateways in r, sorted and without
// repeats.
func (r Registry) HostedOrigins() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range r {
		h, ok := g.(HostedPages)
		if !ok {
			continue
		}
		for _, o := range h.HostedOrigins() {
			if o != "" && !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Origin is the scheme://host[:port] of an absolute URL, or "" when raw is not one.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
