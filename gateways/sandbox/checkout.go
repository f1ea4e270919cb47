package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// session is one hosted checkout page paying one invoice.
type session struct {
	ref       string
	setup     bool // saves a card without paying (StartSetup)
	req       gateways.CheckoutRequest
	paid      bool
	expired   bool // ExpireCheckout closed it unpaid: the page refuses to pay
	chargeRef string
	pending   *enteredCard // a 3155 card waiting for the customer to authenticate
}

// StartCheckout creates a hosted test-card page at BaseURL/sandbox/checkout/{id}. Paying there
// saves the card to CustomerRef (when given) for off-session renewals, marks the session paid
// and redirects to SuccessURL. The same idempotency key returns the same page.
func (s *Sandbox) StartCheckout(_ context.Context, r gateways.CheckoutRequest) (gateways.Checkout, error) {
	if err := validAmount(r.Amount); err != nil {
		return gateways.Checkout{}, err
	}
	if r.SuccessURL == "" {
		return gateways.Checkout{}, invalid("start checkout: success URL is required")
	}
	s.mu.Lock()
	defer s.unlock()
	if r.CustomerRef != "" {
		if _, ok := s.customers[r.CustomerRef]; !ok {
			return gateways.Checkout{}, invalid(fmt.Sprintf("start checkout: no such customer %q", r.CustomerRef))
		}
	}
	if ref, ok := s.sessionByKey[r.IdempotencyKey]; ok && r.IdempotencyKey != "" {
		return gateways.Checkout{Ref: ref, URL: s.checkoutURL(ref)}, nil
	}
	sess := &session{ref: newID("cs"), req: r}
	s.sessions[sess.ref] = sess
	if r.IdempotencyKey != "" {
		s.sessionByKey[r.IdempotencyKey] = sess.ref
	}
	return gateways.Checkout{Ref: sess.ref, URL: s.checkoutURL(sess.ref)}, nil
}

// StartSetup creates a hosted test-card page that saves a card to CustomerRef without charging
// it (for renewals); like a card saved at checkout, it becomes the default. It redirects to
// SuccessURL. The same idempotency key returns the same page.
func (s *Sandbox) StartSetup(_ context.Context, r gateways.SetupRequest) (gateways.Checkout, error) {
	if r.CustomerRef == "" || r.SuccessURL == "" {
		return gateways.Checkout{}, invalid("start setup: customer and success URL are required")
	}
	s.mu.Lock()
	defer s.unlock()
	if _, ok := s.customers[r.CustomerRef]; !ok {
		return gateways.Checkout{}, invalid(fmt.Sprintf("start setup: no such customer %q", r.CustomerRef))
	}
	key := "setup:" + r.IdempotencyKey
	if ref, ok := s.sessionByKey[key]; ok && r.IdempotencyKey != "" {
		return gateways.Checkout{Ref: ref, URL: s.checkoutURL(ref)}, nil
	}
	sess := &session{ref: newID("seti"), setup: true, req: gateways.CheckoutRequest{CustomerRef: r.CustomerRef,
		Description: "Save a card for renewals", SuccessURL: r.SuccessURL, CancelURL: r.CancelURL}}
	s.sessions[sess.ref] = sess
	if r.IdempotencyKey != "" {
		s.sessionByKey[key] = sess.ref
	}
	return gateways.Checkout{Ref: sess.ref, URL: s.checkoutURL(sess.ref)}, nil
}

func (s *Sandbox) checkoutURL(ref string) string { return s.baseURL + checkoutPath(ref) }

func checkoutPath(ref string) string { return "/sandbox/checkout/" + url.PathEscape(ref) }

// page is what a template renders: copies taken under the lock, never the card number.
type page struct {
	Amount      string
	Description string
	CancelURL   string
	Error       string
	Expiry      string // kept after a failed attempt so the customer need not retype it
	Last4       string // the card being authenticated
}

// outcome is what a form submission leads to: a redirect, or a page with a status.
type outcome struct {
	redirect string
	template string
	status   int
	page     page
	events   []gateways.Event
}

func (s *Sandbox) showCheckout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var o outcome
	if ok {
		o = s.checkoutPageLocked(sess, http.StatusOK, "")
	}
	s.mu.Unlock()
	if !ok {
		s.render(w, "missing", http.StatusNotFound, page{})
		return
	}
	s.finish(w, r, o)
}

// submitCard charges the typed test card: success pays the session, a decline shows the error
// on the form again, and the authentication card moves to the authentication step.
func (s *Sandbox) submitCard(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	in := cardInput{number: r.PostFormValue("number"), expiry: r.PostFormValue("expiry"), cvc: r.PostFormValue("cvc")}
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var o outcome
	if ok {
		o = s.submitCardLocked(sess, in)
	}
	s.unlock()
	if !ok {
		s.render(w, "missing", http.StatusNotFound, page{})
		return
	}
	s.finish(w, r, o)
}

func (s *Sandbox) submitCardLocked(sess *session, in cardInput) outcome {
	if sess.paid {
		return outcome{redirect: sess.req.SuccessURL}
	}
	if sess.expired {
		return expiredOutcome(sess)
	}
	card, problem := in.parse(s.now())
	if problem != "" {
		o := s.checkoutPageLocked(sess, http.StatusUnprocessableEntity, problem)
		o.page.Expiry = in.expiry
		return o
	}
	switch card.card.behaviour {
	case succeeds, failsLater:
		return s.payLocked(sess, card)
	case authenticate:
		sess.pending = &card
		return outcome{redirect: checkoutPath(sess.ref) + "/authenticate"}
	}
	o := s.failLocked(sess, "Your card was declined. Try again or use another card.")
	o.page.Expiry = in.expiry
	return o
}

func (s *Sandbox) showAuthentication(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var o outcome
	switch {
	case !ok:
	case sess.paid:
		o = outcome{redirect: sess.req.SuccessURL}
	case sess.expired:
		o = expiredOutcome(sess)
	case sess.pending == nil:
		o = outcome{redirect: checkoutPath(sess.ref)}
	default:
		o = outcome{template: "authenticate", status: http.StatusOK, page: s.pageLocked(sess)}
		o.page.Last4 = sess.pending.card.last4
	}
	s.mu.Unlock()
	if !ok {
		s.render(w, "missing", http.StatusNotFound, page{})
		return
	}
	s.finish(w, r, o)
}

// submitAuthentication is the customer's answer to the bank: approve pays the session with the
// pending card, fail returns to the form with the error.
func (s *Sandbox) submitAuthentication(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	action := r.PostFormValue("action")
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var o outcome
	switch {
	case !ok:
	case sess.paid:
		o = outcome{redirect: sess.req.SuccessURL}
	case sess.expired:
		o = expiredOutcome(sess)
	case sess.pending == nil:
		o = outcome{redirect: checkoutPath(sess.ref)}
	case action == "approve":
		card := *sess.pending
		sess.pending = nil
		o = s.payLocked(sess, card)
	default:
		sess.pending = nil
		o = s.failLocked(sess, "Authentication failed. Try again or use another card.")
	}
	s.unlock()
	if !ok {
		s.render(w, "missing", http.StatusNotFound, page{})
		return
	}
	s.finish(w, r, o)
}

// payLocked records the payment, saves the card to the session's customer and sends the
// customer on to SuccessURL. The caller holds s.mu.
func (s *Sandbox) payLocked(sess *session, card enteredCard) outcome {
	if sess.setup { // nothing to charge: save the card and go back
		sess.paid = true
		if cus, ok := s.customers[sess.req.CustomerRef]; ok {
			s.saveCardLocked(cus, card)
		}
		return outcome{redirect: sess.req.SuccessURL}
	}
	ref := newID("ch")
	amount := sess.req.Amount
	s.charges[ref] = &charge{ref: ref, invoiceID: sess.req.InvoiceID, customerRef: sess.req.CustomerRef,
		amount: amount, refunded: billing.Money{Currency: amount.Currency}, created: s.now().UTC()}
	sess.paid, sess.chargeRef = true, ref
	if cus, ok := s.customers[sess.req.CustomerRef]; ok {
		s.saveCardLocked(cus, card)
	}
	e := s.newEvent(EventPaymentSucceeded, sess.req.InvoiceID, ref, sess.req.CustomerRef, amount)
	return outcome{redirect: sess.req.SuccessURL, events: []gateways.Event{e}}
}

// failLocked records a refused attempt and shows the form again with the reason.
func (s *Sandbox) failLocked(sess *session, reason string) outcome {
	o := s.checkoutPageLocked(sess, http.StatusPaymentRequired, reason)
	if !sess.setup { // saving a card moves no money: there is no payment to report
		ref := newID("ch")
		s.failedCharges = append(s.failedCharges, &charge{ref: ref, invoiceID: sess.req.InvoiceID, customerRef: sess.req.CustomerRef,
			amount: sess.req.Amount, created: s.now().UTC()})
		o.events = []gateways.Event{s.newEvent(EventPaymentFailed, sess.req.InvoiceID, ref, sess.req.CustomerRef, sess.req.Amount)}
	}
	return o
}

func (s *Sandbox) checkoutPageLocked(sess *session, status int, problem string) outcome {
	if sess.paid {
		return outcome{redirect: sess.req.SuccessURL}
	}
	if sess.expired {
		return expiredOutcome(sess)
	}
	p := s.pageLocked(sess)
	p.Error = problem
	return outcome{template: "checkout", status: status, page: p}
}

// expiredOutcome is the page of a checkout closed unpaid: 410 Gone, nothing to pay.
func expiredOutcome(sess *session) outcome {
	return outcome{template: "expired", status: http.StatusGone, page: page{Description: sess.req.Description, CancelURL: sess.req.CancelURL}}
}

// ExpireCheckout closes an unpaid hosted page so it can no longer be paid, as Stripe expires a
// Checkout Session (gateways.CheckoutExpirer). A page already paid or expired is left as it is
// and is not an error; an unknown ref is ErrInvalidRequest.
func (s *Sandbox) ExpireCheckout(_ context.Context, checkoutRef string) error {
	s.mu.Lock()
	defer s.unlock()
	sess, ok := s.sessions[checkoutRef]
	if !ok {
		return invalid(fmt.Sprintf("expire checkout: no such checkout %q", checkoutRef))
	}
	if !sess.paid {
		sess.expired, sess.pending = true, nil
	}
	return nil
}

var _ gateways.CheckoutExpirer = (*Sandbox)(nil)

func (s *Sandbox) pageLocked(sess *session) page {
	p := page{Description: sess.req.Description, CancelURL: sess.req.CancelURL}
	if !sess.setup {
		p.Amount = sess.req.Amount.String()
	}
	return p
}

// finish delivers the outcome's events, then redirects or renders.
func (s *Sandbox) finish(w http.ResponseWriter, r *http.Request, o outcome) {
	s.emit(o.events...)
	if o.redirect != "" {
		http.Redirect(w, r, o.redirect, http.StatusSeeOther)
		return
	}
	s.render(w, o.template, o.status, o.page)
}

func (s *Sandbox) render(w http.ResponseWriter, name string, status int, p page) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "sandbox: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
