package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

// savedMethod is the payment method renewals of a subscription charge.
type savedMethod struct {
	Gateway     gateways.Gateway
	CustomerRef string
	MethodRef   string
}

// renewalMethod returns the payment method a renewal of sub charges: the one saved on the
// subscription, or else the customer's default payment method at any configured gateway, which
// is then saved on the subscription for the renewals after it. An order paid entirely with
// account credit saves no method at its first payment, and a customer may add a card in the
// portal at any time: both are found here. ok is false when the customer has no saved payment
// method anywhere; the invoice is then left for the customer to pay.
func (b *Billing) renewalMethod(ctx context.Context, sub store.Subscription) (m savedMethod, ok bool, err error) {
	if sub.PaymentMethodRef != "" {
		// A method saved at a gateway no longer configured cannot be charged: look further.
		if gw, err := b.Gateways.Get(sub.Gateway); err == nil {
			return savedMethod{Gateway: gw, CustomerRef: sub.GatewayCustomerRef, MethodRef: sub.PaymentMethodRef}, true, nil
		}
	}
	m, ok, err = b.customerDefaultMethod(ctx, sub.CustomerID)
	if err != nil || !ok {
		return savedMethod{}, false, err
	}
	if err := b.Store.SetSubscriptionPaymentMethod(ctx, sub.ID, m.Gateway.Name(), m.CustomerRef, m.MethodRef); err != nil {
		return savedMethod{}, false, storeErr(err)
	}
	return m, true, nil
}

// customerDefaultMethod looks for the customer's saved payment methods at each configured
// gateway, in name order, as the portal's payment methods page lists them, and returns the
// default one (or the first saved) of the first gateway that has any.
func (b *Billing) customerDefaultMethod(ctx context.Context, customerID int64) (savedMethod, bool, error) {
	u, err := b.Store.UserByID(ctx, customerID)
	if err != nil {
		return savedMethod{}, false, storeErr(err)
	}
	names := make([]string, 0, len(b.Gateways))
	for name := range b.Gateways {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		gw := b.Gateways[name]
		ref, err := gw.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
		if err != nil {
			if gateways.Retryable(err) {
				return savedMethod{}, false, fmt.Errorf("gateway customer of %d at %s: %w", u.ID, name, err)
			}
			continue // this gateway cannot hold methods for the customer; others may
		}
		methods, err := gw.PaymentMethods(ctx, ref)
		if err != nil {
			if gateways.Retryable(err) {
				return savedMethod{}, false, fmt.Errorf("payment methods of %s at %s: %w", ref, name, err)
			}
			continue
		}
		method := ""
		for _, m := range methods {
			if m.Default || method == "" {
				method = m.Ref
			}
		}
		if method != "" {
			return savedMethod{Gateway: gw, CustomerRef: ref, MethodRef: method}, true, nil
		}
	}
	return savedMethod{}, false, nil
}
