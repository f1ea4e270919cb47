package sandbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/gateways"
)

// StateName is the name the sandbox saves its state under in a simstore.Store.
const StateName = "sandbox"

// Open returns a Sandbox that continues from the state saved in st (empty when none is) and
// saves its state there after every change: customers, saved cards, checkout sessions, charges,
// refunds, idempotency answers and the webhook deliveries not yet made. Deliveries a previous run
// left pending are sent again at once. A nil st is New. Close it when done.
func Open(ctx context.Context, o Options, st simstore.Store) (*Sandbox, error) {
	s := New(o)
	s.keep = simstore.NewKeeper(st, StateName, o.Logger)
	var saved state
	found, err := s.keep.Load(ctx, &saved)
	if err != nil {
		s.Close()
		return nil, err
	}
	if found {
		s.restore(saved)
	}
	if s.delivery != nil {
		s.mu.Lock()
		pending := slices.Clone(s.pending)
		s.mu.Unlock()
		for _, e := range pending {
			s.delivery.send(e)
		}
	}
	return s, nil
}

// unlock saves the state when a store keeps it, then releases s.mu; mutating calls end with it.
func (s *Sandbox) unlock() {
	s.saveLocked()
	s.mu.Unlock()
}

// queueLocked records an event as waiting for its webhook delivery; the caller holds s.mu.
func (s *Sandbox) queueLocked(e gateways.Event) { s.pending = append(s.pending, e) }

// delivered forgets a webhook delivery that is done (answered 2xx, or given up on).
func (s *Sandbox) delivered(eventID string) {
	s.mu.Lock()
	defer s.unlock()
	s.pending = slices.DeleteFunc(s.pending, func(e gateways.Event) bool { return e.ID == eventID })
}

// state is what a restart keeps. The test switches (DeclineOffSession, DelayChargeAnswers,
// DropWebhooks) are not kept: a new run starts with them off.
type state struct {
	Customers     []savedCustomer               `json:"customers"`
	Methods       []savedMethod                 `json:"methods"`
	Sessions      []savedSession                `json:"sessions"`
	SessionByKey  map[string]string             `json:"session_by_key"`
	Charges       []savedCharge                 `json:"charges"`
	FailedCharges []savedCharge                 `json:"failed_charges"`
	Refunds       []savedRefund                 `json:"refunds"`
	ChargeByKey   map[string]savedOutcome       `json:"charge_by_key"`
	ChargesPerKey map[string]int                `json:"charges_per_key"`
	RefundByKey   map[string]savedRefundOutcome `json:"refund_by_key"`
	// Pending are the events whose webhook delivery has not succeeded yet, oldest first.
	Pending []gateways.Event `json:"pending_webhooks"`
}

type savedCustomer struct {
	Ref        string   `json:"ref"`
	ID         int64    `json:"id"`
	Methods    []string `json:"methods"`
	DefaultRef string   `json:"default_ref"`
}

// savedCard is a test card without its number, as a saved card keeps it.
type savedCard struct {
	Brand     string    `json:"brand"`
	Last4     string    `json:"last4"`
	Behaviour behaviour `json:"behaviour"`
	ExpMonth  int       `json:"exp_month"`
	ExpYear   int       `json:"exp_year"`
}

type savedMethod struct {
	Ref         string    `json:"ref"`
	CustomerRef string    `json:"customer_ref"`
	Card        savedCard `json:"card"`
	Detached    bool      `json:"detached"`
}

type savedSession struct {
	Ref       string                   `json:"ref"`
	Setup     bool                     `json:"setup"`
	Req       gateways.CheckoutRequest `json:"req"`
	Paid      bool                     `json:"paid"`
	Expired   bool                     `json:"expired"`
	ChargeRef string                   `json:"charge_ref"`
	Pending   *savedCard               `json:"pending"`
}

type savedCharge struct {
	Ref         string        `json:"ref"`
	InvoiceID   int64         `json:"invoice_id"`
	CustomerRef string        `json:"customer_ref"`
	Amount      billing.Money `json:"amount"`
	Refunded    billing.Money `json:"refunded"`
	Created     time.Time     `json:"created"`
}

type savedRefund struct {
	Ref       string        `json:"ref"`
	ChargeRef string        `json:"charge_ref"`
	InvoiceID int64         `json:"invoice_id"`
	Amount    billing.Money `json:"amount"`
	Created   time.Time     `json:"created"`
}

// savedOutcome is a ChargeSaved answer replayed for its idempotency key; Err is set for a card's
// refusal (the only failures remembered).
type savedOutcome struct {
	Req    gateways.ChargeRequest `json:"req"`
	Charge gateways.Charge        `json:"charge"`
	Err    *savedError            `json:"err,omitempty"`
}

type savedError struct {
	Kind        string `json:"kind"` // "declined" or "authentication_required"
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
	PaymentRef  string `json:"payment_ref"`
	HTTPStatus  int    `json:"http_status"`
}

type savedRefundOutcome struct {
	ChargeRef string          `json:"charge_ref"`
	Amount    billing.Money   `json:"amount"`
	Refund    gateways.Refund `json:"refund"`
}

func saveCard(c testCard, month, year int) savedCard {
	return savedCard{Brand: c.brand, Last4: c.last4, Behaviour: c.behaviour, ExpMonth: month, ExpYear: year}
}

func (c savedCard) card() testCard {
	return testCard{brand: c.Brand, last4: c.Last4, behaviour: c.Behaviour}
}

func saveCharge(c *charge) savedCharge {
	return savedCharge{Ref: c.ref, InvoiceID: c.invoiceID, CustomerRef: c.customerRef, Amount: c.amount, Refunded: c.refunded, Created: c.created}
}

func (c savedCharge) charge() *charge {
	return &charge{ref: c.Ref, invoiceID: c.InvoiceID, customerRef: c.CustomerRef, amount: c.Amount, refunded: c.Refunded, created: c.Created}
}

// saveError keeps a card's refusal; other errors are never remembered for a key.
func saveError(err error) *savedError {
	var ge *gateways.Error
	if err == nil || !errors.As(err, &ge) {
		return nil
	}
	kind := "declined"
	if ge.Kind == gateways.ErrAuthenticationRequired {
		kind = "authentication_required"
	}
	return &savedError{Kind: kind, Code: ge.Code, DeclineCode: ge.DeclineCode, Message: ge.Message, PaymentRef: ge.PaymentRef, HTTPStatus: ge.HTTPStatus}
}

func (e *savedError) err() error {
	if e == nil {
		return nil
	}
	kind := gateways.ErrDeclined
	if e.Kind == "authentication_required" {
		kind = gateways.ErrAuthenticationRequired
	}
	return &gateways.Error{Gateway: Name, Kind: kind, Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message,
		PaymentRef: e.PaymentRef, HTTPStatus: e.HTTPStatus}
}

// saveLocked saves the state if a store keeps it; the caller holds s.mu.
func (s *Sandbox) saveLocked() {
	if s.keep == nil {
		return
	}
	st := state{SessionByKey: s.sessionByKey, ChargesPerKey: s.chargesPerKey, ChargeByKey: map[string]savedOutcome{},
		RefundByKey: map[string]savedRefundOutcome{}, Pending: s.pending}
	for _, c := range s.customers {
		st.Customers = append(st.Customers, savedCustomer{Ref: c.ref, ID: c.id, Methods: c.methods, DefaultRef: c.defaultRef})
	}
	slices.SortFunc(st.Customers, func(a, b savedCustomer) int { return int(a.ID - b.ID) })
	for _, m := range s.methods {
		st.Methods = append(st.Methods, savedMethod{Ref: m.ref, CustomerRef: m.customerRef, Card: saveCard(m.card, m.expMonth, m.expYear), Detached: m.detached})
	}
	slices.SortFunc(st.Methods, func(a, b savedMethod) int { return strings.Compare(a.Ref, b.Ref) })
	for _, ss := range s.sessions {
		v := savedSession{Ref: ss.ref, Setup: ss.setup, Req: ss.req, Paid: ss.paid, Expired: ss.expired, ChargeRef: ss.chargeRef}
		if p := ss.pending; p != nil {
			c := saveCard(p.card, p.expMonth, p.expYear)
			v.Pending = &c
		}
		st.Sessions = append(st.Sessions, v)
	}
	slices.SortFunc(st.Sessions, func(a, b savedSession) int { return strings.Compare(a.Ref, b.Ref) })
	for _, c := range s.charges {
		st.Charges = append(st.Charges, saveCharge(c))
	}
	slices.SortFunc(st.Charges, func(a, b savedCharge) int { return strings.Compare(a.Ref, b.Ref) })
	for _, c := range s.failedCharges {
		st.FailedCharges = append(st.FailedCharges, saveCharge(c))
	}
	for _, r := range s.refunds {
		st.Refunds = append(st.Refunds, savedRefund{Ref: r.ref, ChargeRef: r.chargeRef, InvoiceID: r.invoiceID, Amount: r.amount, Created: r.created})
	}
	for key, o := range s.chargeByKey {
		st.ChargeByKey[key] = savedOutcome{Req: o.req, Charge: o.charge, Err: saveError(o.err)}
	}
	for key, o := range s.refundByKey {
		st.RefundByKey[key] = savedRefundOutcome{ChargeRef: o.chargeRef, Amount: o.amount, Refund: o.refund}
	}
	s.keep.Save(context.Background(), st)
}

// restore puts saved state in place of the empty one New made.
func (s *Sandbox) restore(st state) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range st.Customers {
		s.customers[c.Ref] = &customer{ref: c.Ref, id: c.ID, methods: c.Methods, defaultRef: c.DefaultRef}
		s.customerByID[c.ID] = c.Ref
	}
	for _, m := range st.Methods {
		s.methods[m.Ref] = &method{ref: m.Ref, customerRef: m.CustomerRef, card: m.Card.card(), expMonth: m.Card.ExpMonth,
			expYear: m.Card.ExpYear, detached: m.Detached}
	}
	for _, v := range st.Sessions {
		ss := &session{ref: v.Ref, setup: v.Setup, req: v.Req, paid: v.Paid, expired: v.Expired, chargeRef: v.ChargeRef}
		if p := v.Pending; p != nil {
			ss.pending = &enteredCard{card: p.card(), expMonth: p.ExpMonth, expYear: p.ExpYear}
		}
		s.sessions[ss.ref] = ss
	}
	for k, v := range st.SessionByKey {
		s.sessionByKey[k] = v
	}
	for _, c := range st.Charges {
		s.charges[c.Ref] = c.charge()
	}
	for _, c := range st.FailedCharges {
		s.failedCharges = append(s.failedCharges, c.charge())
	}
	for _, r := range st.Refunds {
		s.refunds = append(s.refunds, &refund{ref: r.Ref, chargeRef: r.ChargeRef, invoiceID: r.InvoiceID, amount: r.Amount, created: r.Created})
	}
	for k, o := range st.ChargeByKey {
		s.chargeByKey[k] = &chargeOutcome{req: o.Req, charge: o.Charge, err: o.Err.err()}
	}
	for k, n := range st.ChargesPerKey {
		s.chargesPerKey[k] = n
	}
	for k, o := range st.RefundByKey {
		s.refundByKey[k] = refundOutcome{chargeRef: o.ChargeRef, amount: o.Amount, refund: o.Refund}
	}
	s.pending = st.Pending
}
