// Package sandbox is our own test gateway for dev mode and tests: a hosted "test card" checkout
// page served by Handler, saved cards for off-session renewals, refunds and HMAC-signed events,
// all without an external account.
//
// State lives in memory behind one mutex, so it is safe for concurrent use. New keeps it in
// memory only; Open also saves it to a simstore.Store after every change and starts from what
// was saved, so a dev server restart keeps every customer, card, session, charge and pending
// webhook delivery. One process hosts the Sandbox and
// its Handler; other processes (a separate Temporal worker, a crash test) reach that one state
// through Client, which calls the JSON API under /sandbox/api/v1/ the way the app would call
// Stripe, and receive its events as signed webhooks posted to Options.WebhookURL.
//
// Test cards (any future expiry, any 3- or 4-digit CVC):
//
//	4242 4242 4242 4242  succeeds, and its saved card succeeds off-session
//	4000 0000 0000 0002  is declined (so it is never saved)
//	4000 0025 0000 3155  asks the customer to authenticate; saved, it fails off-session
//	                     with gateways.ErrAuthenticationRequired
//	4000 0000 0000 0341  pays on the hosted page and is saved, then every off-session charge
//	                     is declined (to see dunning)
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/gateways"
)

// Name is the gateway's registry name.
const Name = "sandbox"

// Options configures a Sandbox.
type Options struct {
	// BaseURL is the public URL of our site, e.g. http://localhost:8080; checkout URLs start with it.
	BaseURL string
	// Secret signs the events the sandbox emits; ParseWebhook refuses everything when it is empty.
	Secret []byte
	// Now is the clock for event times, signatures and card expiry; nil means time.Now.
	Now func() time.Time
	// Notify, when set, receives every event the sandbox emits (payment succeeded or failed,
	// refund succeeded), so the app can route them to workflows as it would a webhook. It is
	// called synchronously, outside the sandbox's lock, from the goroutine that caused the event.
	Notify func(gateways.Event)
	// APIKey authenticates calls to the JSON API under /sandbox/api/v1/ ("Authorization: Bearer
	// <key>"). Empty disables the API: every call answers 401.
	APIKey string
	// WebhookURL, when set, receives every event as a POST signed like SignedEvent, in addition
	// to Notify. Deliveries run in the background and are retried with backoff until a 2xx
	// answer, up to 10 attempts or until Close.
	WebhookURL string
	// WebhookClient sends webhook deliveries; nil means a client with a 10-second timeout.
	WebhookClient *http.Client
	// WebhookRetryDelay is the wait before the first retry of a failed delivery, doubled for each
	// later one up to 30 seconds; zero means 500ms.
	WebhookRetryDelay time.Duration
	// Logger records webhook deliveries that failed; nil means slog.Default().
	Logger *slog.Logger
}

// Sandbox is an in-memory payment gateway behind the gateways.Gateway interface.
type Sandbox struct {
	baseURL  string
	apiKey   string
	signer   signer
	now      func() time.Time
	notify   func(gateways.Event)
	delivery *delivery // nil without a WebhookURL
	pages    *template.Template
	keep     *simstore.Keeper // nil: state lives in memory only (New)

	mu                sync.Mutex
	declineOffSession bool                 // set by DeclineOffSession
	chargeAnswerDelay time.Duration        // set by DelayChargeAnswers
	dropWebhooks      bool                 // set by DropWebhooks
	customers         map[string]*customer // by ref
	customerByID      map[int64]string     // our customer id → ref
	methods           map[string]*method   // by ref, detached ones included
	sessions          map[string]*session  // by ref
	sessionByKey      map[string]string    // StartCheckout idempotency key → session ref
	charges           map[string]*charge   // by ref, successful ones only
	failedCharges     []*charge            // declined or unauthenticated attempts, oldest first
	refunds           []*refund            // oldest first
	chargeByKey       map[string]*chargeOutcome
	chargesPerKey     map[string]int
	refundByKey       map[string]refundOutcome
	pending           []gateways.Event // events whose webhook delivery has not succeeded yet
}

var _ gateways.Gateway = (*Sandbox)(nil)

type customer struct {
	ref        string
	id         int64
	methods    []string // refs in the order they were saved
	defaultRef string
}

// method is a saved card: its brand, last four digits and expiry, and how it behaves off-session.
// The full number is never kept.
type method struct {
	ref         string
	customerRef string
	card        testCard
	expMonth    int
	expYear     int
	detached    bool
}

type charge struct {
	ref         string
	invoiceID   int64
	customerRef string
	amount      billing.Money
	refunded    billing.Money
	created     time.Time
}

// refund is a refund made, kept for Transactions.
type refund struct {
	ref       string
	chargeRef string
	invoiceID int64
	amount    billing.Money
	created   time.Time
}

// chargeOutcome is what a ChargeSaved idempotency key answered first, replayed to later calls.
type chargeOutcome struct {
	req    gateways.ChargeRequest
	charge gateways.Charge
	err    error
}

type refundOutcome struct {
	chargeRef string
	amount    billing.Money // as requested; zero means "the rest"
	refund    gateways.Refund
}

// New returns an empty Sandbox. With a WebhookURL, call Close when done to stop deliveries.
func New(o Options) *Sandbox {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Sandbox{
		baseURL:       strings.TrimRight(o.BaseURL, "/"),
		apiKey:        o.APIKey,
		signer:        signer{secret: append([]byte(nil), o.Secret...), now: now},
		now:           now,
		notify:        o.Notify,
		pages:         parsePages(),
		customers:     map[string]*customer{},
		customerByID:  map[int64]string{},
		methods:       map[string]*method{},
		sessions:      map[string]*session{},
		sessionByKey:  map[string]string{},
		charges:       map[string]*charge{},
		chargeByKey:   map[string]*chargeOutcome{},
		chargesPerKey: map[string]int{},
		refundByKey:   map[string]refundOutcome{},
	}
	if o.WebhookURL != "" {
		s.delivery = newDelivery(o, s.signer, s.delivered)
	}
	return s
}

// Close stops webhook deliveries, abandoning those still being retried, and waits for their
// goroutines to end. Events emitted after Close still reach Notify but are not delivered.
func (s *Sandbox) Close() {
	if s.delivery != nil {
		s.delivery.close()
	}
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return Name }

// EnsureCustomer returns the sandbox customer for our customer id, creating it on first use.
func (s *Sandbox) EnsureCustomer(_ context.Context, c gateways.Customer) (string, error) {
	if c.ID <= 0 {
		return "", invalid("ensure customer: our customer id is required")
	}
	s.mu.Lock()
	defer s.unlock()
	if ref, ok := s.customerByID[c.ID]; ok {
		return ref, nil
	}
	cus := &customer{ref: newID("cus"), id: c.ID}
	s.customers[cus.ref] = cus
	s.customerByID[c.ID] = cus.ref
	return cus.ref, nil
}

// emit hands events to Notify and queues them for the webhook URL; call it without holding
// the lock.
func (s *Sandbox) emit(events ...gateways.Event) {
	for _, e := range events {
		if s.notify != nil {
			s.notify(e)
		}
		s.mu.Lock()
		queue := s.delivery != nil && !s.dropWebhooks
		if queue {
			s.queueLocked(e) // kept until delivered, so a restart resumes the delivery
		}
		s.unlock()
		if queue {
			s.delivery.send(e)
		}
	}
}

// eventKinds says what each sandbox event type means for billing.
var eventKinds = map[string]gateways.EventKind{
	EventPaymentSucceeded: gateways.EventPaymentSucceeded,
	EventPaymentFailed:    gateways.EventPaymentFailed,
	EventRefundSucceeded:  gateways.EventRefund,
}

// newEvent builds an event about a payment or refund at the sandbox's current time.
func (s *Sandbox) newEvent(typ string, invoiceID int64, paymentRef, customerRef string, amount billing.Money) gateways.Event {
	return gateways.Event{
		ID:          newID("evt"),
		Type:        typ,
		Kind:        eventKinds[typ],
		Created:     s.now().UTC().Truncate(time.Second),
		InvoiceID:   invoiceID,
		PaymentRef:  paymentRef,
		CustomerRef: customerRef,
		Amount:      amount,
	}
}

// newID returns a random id such as "ch_sb_3f9c…", prefixed like the gateway's object kind.
func newID(kind string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return kind + "_sb_" + hex.EncodeToString(b[:])
}

// validAmount accepts a positive amount in a currency billing knows.
func validAmount(m billing.Money) error {
	if _, err := billing.CurrencyExponent(m.Currency); err != nil {
		return invalid(fmt.Sprintf("amount %s: %v", m, err))
	}
	if !m.IsPositive() {
		return invalid(fmt.Sprintf("amount %s must be positive", m))
	}
	return nil
}

// invalid is an ErrInvalidRequest failure: our request was wrong, retrying will not help.
func invalid(msg string) error {
	return &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: "invalid_request", Message: msg}
}

// HostedOrigins names the origin of the test-card pages: the site hosting the sandbox, which
// may be reached under another name than the one a visitor typed (localhost, 127.0.0.1).
func (s *Sandbox) HostedOrigins() []string { return []string{gateways.Origin(s.baseURL)} }
