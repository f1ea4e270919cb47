package sandbox

import (
	"context"
	"fmt"
	"slices"

	"github.com/ezscale/billing/gateways"
)

// PaymentMethods lists the customer's saved cards in the order they were saved, marking the default.
func (s *Sandbox) PaymentMethods(_ context.Context, customerRef string) ([]gateways.PaymentMethod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cus, ok := s.customers[customerRef]
	if !ok {
		return nil, invalid(fmt.Sprintf("payment methods: no such customer %q", customerRef))
	}
	out := make([]gateways.PaymentMethod, 0, len(cus.methods))
	for _, ref := range cus.methods {
		m := s.methods[ref]
		out = append(out, gateways.PaymentMethod{Ref: m.ref, Brand: m.card.brand, Last4: m.card.last4,
			ExpMonth: m.expMonth, ExpYear: m.expYear, Default: ref == cus.defaultRef})
	}
	return out, nil
}

// SetDefaultPaymentMethod makes one of the customer's saved cards the one renewals charge.
func (s *Sandbox) SetDefaultPaymentMethod(_ context.Context, customerRef, paymentMethodRef string) error {
	s.mu.Lock()
	defer s.unlock()
	cus, ok := s.customers[customerRef]
	if !ok {
		return invalid(fmt.Sprintf("set default payment method: no such customer %q", customerRef))
	}
	if !slices.Contains(cus.methods, paymentMethodRef) {
		return invalid(fmt.Sprintf("set default payment method: %q is not saved for customer %s", paymentMethodRef, customerRef))
	}
	cus.defaultRef = paymentMethodRef
	return nil
}

// DetachPaymentMethod removes a saved card from its customer; it can no longer be charged. A
// customer whose default is detached has no default until one is set, as at Stripe.
func (s *Sandbox) DetachPaymentMethod(_ context.Context, paymentMethodRef string) error {
	s.mu.Lock()
	defer s.unlock()
	m, ok := s.methods[paymentMethodRef]
	if !ok || m.detached {
		return invalid(fmt.Sprintf("detach payment method: no such attached payment method %q", paymentMethodRef))
	}
	m.detached = true
	cus := s.customers[m.customerRef]
	cus.methods = slices.DeleteFunc(cus.methods, func(ref string) bool { return ref == paymentMethodRef })
	if cus.defaultRef == paymentMethodRef {
		cus.defaultRef = ""
	}
	return nil
}

// saveCardLocked attaches a card paid with on the hosted page to the customer and makes it the
// default, since the customer just chose it to pay. A card the customer already has saved (same
// number and expiry, what Stripe calls its fingerprint) is not saved a second time: the saved
// method becomes the default, so the customer's list never shows one card twice. The caller
// holds s.mu.
func (s *Sandbox) saveCardLocked(cus *customer, c enteredCard) {
	for _, ref := range cus.methods {
		if m := s.methods[ref]; m.card == c.card && m.expMonth == c.expMonth && m.expYear == c.expYear {
			cus.defaultRef = ref
			return
		}
	}
	m := &method{ref: newID("pm"), customerRef: cus.ref, card: c.card, expMonth: c.expMonth, expYear: c.expYear}
	s.methods[m.ref] = m
	cus.methods = append(cus.methods, m.ref)
	cus.defaultRef = m.ref
}
