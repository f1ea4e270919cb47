package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// Event types the sandbox emits, through Notify and in SignedEvent bodies.
const (
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentFailed    = "payment.failed"
	EventRefundSucceeded  = "refund.succeeded"
)

// ChargeSaved charges a saved card off-session: a 4242 card succeeds, a card saved from 3155
// fails with ErrAuthenticationRequired. The first answer for an idempotency key, success or
// failure, is replayed to every later call with that key, so a retry is never a second charge;
// reusing a key for a different request is ErrInvalidRequest, as at Stripe.
func (s *Sandbox) ChargeSaved(_ context.Context, r gateways.ChargeRequest) (gateways.Charge, error) {
	if r.IdempotencyKey == "" {
		return gateways.Charge{}, invalid("charge saved card: idempotency key is required")
	}
	if err := validAmount(r.Amount); err != nil {
		return gateways.Charge{}, err
	}
	s.mu.Lock()
	if prev, ok := s.chargeByKey[r.IdempotencyKey]; ok {
		s.mu.Unlock()
		if prev.req != r {
			return gateways.Charge{}, invalid(fmt.Sprintf("idempotency key %q was used for a different charge", r.IdempotencyKey))
		}
		return prev.charge, prev.err
	}
	out, event := s.chargeSavedLocked(r)
	if out.err == nil || isCardFailure(out.err) {
		s.chargeByKey[r.IdempotencyKey] = out // invalid requests are not remembered: a corrected retry may pass
	}
	delay := s.chargeAnswerDelay
	s.unlock()
	if event != nil {
		s.emit(*event)
	}
	time.Sleep(delay)
	return out.charge, out.err
}

// chargeSavedLocked makes the charge for a new idempotency key; the caller holds s.mu.
func (s *Sandbox) chargeSavedLocked(r gateways.ChargeRequest) (*chargeOutcome, *gateways.Event) {
	out := &chargeOutcome{req: r}
	m, err := s.chargeableMethodLocked(r.CustomerRef, r.PaymentMethodRef)
	if err != nil {
		out.err = err
		return out, nil
	}
	ref := newID("ch")
	behaviour := m.card.behaviour
	if s.declineOffSession || behaviour == failsLater {
		behaviour = declines
	}
	switch behaviour {
	case succeeds:
		s.charges[ref] = &charge{ref: ref, invoiceID: r.InvoiceID, customerRef: m.customerRef,
			amount: r.Amount, refunded: billing.Money{Currency: r.Amount.Currency}, created: s.now().UTC()}
		s.chargesPerKey[r.IdempotencyKey]++
		out.charge = gateways.Charge{Ref: ref, Status: gateways.ChargeSucceeded, Amount: r.Amount}
		e := s.newEvent(EventPaymentSucceeded, r.InvoiceID, ref, m.customerRef, r.Amount)
		return out, &e
	case authenticate:
		out.err = authenticationRequired(ref)
	default: // declining cards are never saved; refuse anything else that slipped in
		out.err = declined(ref)
	}
	s.failedCharges = append(s.failedCharges, &charge{ref: ref, invoiceID: r.InvoiceID, customerRef: m.customerRef,
		amount: r.Amount, created: s.now().UTC()})
	e := s.newEvent(EventPaymentFailed, r.InvoiceID, ref, m.customerRef, r.Amount)
	return out, &e
}

// chargeableMethodLocked finds the attached card a charge uses: the one named, or the
// customer's default when none is. The caller holds s.mu.
func (s *Sandbox) chargeableMethodLocked(customerRef, methodRef string) (*method, error) {
	if methodRef == "" {
		cus, ok := s.customers[customerRef]
		if !ok {
			return nil, invalid(fmt.Sprintf("no such customer %q", customerRef))
		}
		if cus.defaultRef == "" {
			return nil, invalid(fmt.Sprintf("customer %s has no default payment method", customerRef))
		}
		methodRef = cus.defaultRef
	}
	m, ok := s.methods[methodRef]
	if !ok || m.detached {
		return nil, invalid(fmt.Sprintf("no such payment method %q", methodRef))
	}
	if customerRef != "" && m.customerRef != customerRef {
		return nil, invalid(fmt.Sprintf("payment method %s does not belong to customer %s", methodRef, customerRef))
	}
	return m, nil
}

// isCardFailure reports whether err is the card's answer (declined, authentication) rather
// than a mistake in our request.
func isCardFailure(err error) bool {
	ge, ok := err.(*gateways.Error)
	return ok && (ge.Kind == gateways.ErrDeclined || ge.Kind == gateways.ErrAuthenticationRequired)
}

// Refund returns all (zero Amount) or part of a charge, never more than was charged minus what
// was already refunded. The same idempotency key returns the same refund; reusing it for a
// different refund is ErrInvalidRequest.
func (s *Sandbox) Refund(_ context.Context, r gateways.RefundRequest) (gateways.Refund, error) {
	if r.IdempotencyKey == "" {
		return gateways.Refund{}, invalid("refund: idempotency key is required")
	}
	s.mu.Lock()
	if prev, ok := s.refundByKey[r.IdempotencyKey]; ok {
		s.mu.Unlock()
		if prev.chargeRef != r.ChargeRef || prev.amount != r.Amount {
			return gateways.Refund{}, invalid(fmt.Sprintf("idempotency key %q was used for a different refund", r.IdempotencyKey))
		}
		return prev.refund, nil
	}
	refund, event, err := s.refundLocked(r)
	if err == nil {
		s.refundByKey[r.IdempotencyKey] = refundOutcome{chargeRef: r.ChargeRef, amount: r.Amount, refund: refund}
	}
	s.unlock()
	if err != nil {
		return gateways.Refund{}, err
	}
	s.emit(event)
	return refund, nil
}

// refundLocked checks the bounds and records a refund; the caller holds s.mu.
func (s *Sandbox) refundLocked(r gateways.RefundRequest) (gateways.Refund, gateways.Event, error) {
	ch, ok := s.charges[r.ChargeRef]
	if !ok {
		return gateways.Refund{}, gateways.Event{}, invalid(fmt.Sprintf("refund: no such charge %q", r.ChargeRef))
	}
	left, err := ch.amount.Sub(ch.refunded)
	if err != nil {
		return gateways.Refund{}, gateways.Event{}, invalid(fmt.Sprintf("refund charge %s: %v", ch.ref, err))
	}
	amount := r.Amount
	if amount.IsZero() {
		amount = left
	}
	if amount.Currency != ch.amount.Currency {
		return gateways.Refund{}, gateways.Event{}, invalid(fmt.Sprintf("refund %s of charge %s in %s", amount, ch.ref, ch.amount.Currency))
	}
	if !amount.IsPositive() || amount.Amount > left.Amount {
		return gateways.Refund{}, gateways.Event{}, invalid(fmt.Sprintf("refund %s of charge %s: only %s of %s is left to refund",
			amount, ch.ref, left, ch.amount))
	}
	ch.refunded.Amount += amount.Amount // cannot overflow: refunded + amount <= ch.amount
	re := gateways.Refund{Ref: newID("re"), Status: string(gateways.RefundSucceeded), Amount: amount}
	s.refunds = append(s.refunds, &refund{ref: re.Ref, chargeRef: ch.ref, invoiceID: ch.invoiceID, amount: amount, created: s.now().UTC()})
	ev := s.newEvent(EventRefundSucceeded, ch.invoiceID, ch.ref, ch.customerRef, amount)
	ev.RefundRef = re.Ref
	ev.Refunds = []gateways.RefundState{{Ref: re.Ref, Amount: amount, Status: gateways.RefundSucceeded}}
	return re, ev, nil
}
