package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// The customer's saved payment methods at each gateway that keeps them: list, add (on the
// gateway's hosted setup page, for gateways that have one), choose the default renewals
// charge, remove. Card data never reaches us.

// withoutSavedMethods are gateways that keep no saved methods for us (gateways/paypal:
// PaymentMethods always answers none), so the page does not offer them.
var withoutSavedMethods = map[string]bool{"paypal": true}

// savedMethodGateways are the configured gateways that keep saved payment methods.
func (s *server) savedMethodGateways() []string {
	return slices.DeleteFunc(s.gatewayNames(), func(n string) bool { return withoutSavedMethods[n] })
}

// savedMethods returns the customer's reference at a gateway and the methods saved there.
func (s *server) savedMethods(ctx context.Context, u *store.User, name string) (gateways.Gateway, string, []gateways.PaymentMethod, error) {
	g, err := s.Gateways.Get(name)
	if err != nil {
		return nil, "", nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ref, err := g.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		return nil, "", nil, fmt.Errorf("gateway customer for %d at %s: %w", u.ID, name, err)
	}
	ms, err := g.PaymentMethods(ctx, ref)
	if err != nil {
		return nil, "", nil, fmt.Errorf("payment methods of %s at %s: %w", ref, name, err)
	}
	return g, ref, ms, nil
}

// setupStarter is a gateway with a hosted page that saves a card without a payment.
type setupStarter interface {
	StartSetup(ctx context.Context, r gateways.SetupRequest) (gateways.Checkout, error)
}

func (s *server) paymentMethodsPage(r *http.Request) web.Page {
	u := currentUser(r)
	var v web.PaymentMethods
	for _, name := range s.savedMethodGateways() {
		gm := web.GatewayMethods{Gateway: gatewayOptions([]string{name})[0].Label, Name: name}
		if g, err := s.Gateways.Get(name); err == nil {
			_, gm.CanAdd = g.(setupStarter)
		}
		_, _, ms, err := s.savedMethods(r.Context(), u, name)
		if err != nil {
			s.Log.Warn("list payment methods", "customer", u.ID, "gateway", name, "err", err)
			gm.Error = "Your saved payment methods could not be loaded right now. Please try again in a minute."
		}
		for _, m := range ms {
			gm.Methods = append(gm.Methods, web.PaymentMethodRow{Ref: name + ":" + m.Ref, Brand: m.Brand, Last4: m.Last4,
				Expiry: fmt.Sprintf("%02d/%d", m.ExpMonth, m.ExpYear), Default: m.Default})
		}
		v.Gateways = append(v.Gateways, gm)
	}
	v.Nonce = rand.Text()
	return s.page(r, "Payment methods", v)
}

func (s *server) accountPaymentMethods(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Get("done") == "added" {
		s.afterCardAdded(r, q.Get("gateway"))
	}
	p := s.paymentMethodsPage(r)
	p.Flash = paymentMethodNotice(r.URL.Query().Get("done"))
	s.render(w, r, http.StatusOK, "account_payment_methods", p)
}

func paymentMethodNotice(code string) string {
	switch code {
	case "added":
		return "Your new card is saved and is now your default: renewals will be charged to it."
	case "default":
		return "Your default payment method has been changed. Renewals will be charged to it."
	case "removed":
		return "The payment method has been removed."
	}
	return ""
}

// postedMethod finds the method named by the form ("gateway:ref") among the customer's own
// saved methods; a method of someone else's is never found.
func (s *server) postedMethod(w http.ResponseWriter, r *http.Request) (gateways.Gateway, string, []gateways.PaymentMethod, gateways.PaymentMethod, bool) {
	u := currentUser(r)
	value := r.PostFormValue("method")
	for _, name := range s.savedMethodGateways() {
		if len(value) <= len(name)+1 || value[:len(name)+1] != name+":" {
			continue
		}
		g, ref, ms, err := s.savedMethods(r.Context(), u, name)
		if err != nil {
			s.Log.Warn("list payment methods", "customer", u.ID, "gateway", name, "err", err)
			s.refuseOnPaymentMethods(w, r, http.StatusBadGateway, "The payment gateway could not be reached. Please try again in a minute.")
			return nil, "", nil, gateways.PaymentMethod{}, false
		}
		if i := slices.IndexFunc(ms, func(m gateways.PaymentMethod) bool { return m.Ref == value[len(name)+1:] }); i >= 0 {
			return g, ref, ms, ms[i], true
		}
	}
	s.refuseOnPaymentMethods(w, r, http.StatusNotFound, "That payment method is not saved on your account.")
	return nil, "", nil, gateways.PaymentMethod{}, false
}

func (s *server) refuseOnPaymentMethods(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := s.paymentMethodsPage(r)
	p.Error = msg
	s.render(w, r, status, "account_payment_methods", p)
}

// setDefaultPaymentMethod makes a saved method the default at its gateway and on every live
// subscription billed there, so renewals charge it.
func (s *server) setDefaultPaymentMethod(w http.ResponseWriter, r *http.Request) {
	g, ref, _, m, ok := s.postedMethod(w, r)
	if !ok {
		return
	}
	u := currentUser(r)
	if err := g.SetDefaultPaymentMethod(r.Context(), ref, m.Ref); err != nil {
		s.Log.Warn("set default payment method", "customer", u.ID, "gateway", g.Name(), "err", err)
		s.refuseOnPaymentMethods(w, r, http.StatusBadGateway, "The payment gateway did not accept the change. Please try again in a minute.")
		return
	}
	if err := s.Store.SetCustomerPaymentMethod(r.Context(), u.ID, g.Name(), m.Ref); err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]any{"gateway": g.Name(), "last4": m.Last4})
	s.audit(r, "payment_method.default", userTarget(u.ID), details)
	http.Redirect(w, r, "/account/payment-methods?done=default", http.StatusSeeOther)
}

// removePaymentMethod detaches a saved method. The only method left at a gateway cannot be
// removed while a subscription billed there is running: its renewals would have nothing to
// charge. When the default goes, the next saved method becomes the default.
func (s *server) removePaymentMethod(w http.ResponseWriter, r *http.Request) {
	g, ref, ms, m, ok := s.postedMethod(w, r)
	if !ok {
		return
	}
	u := currentUser(r)
	if len(ms) == 1 {
		subs, err := s.Store.Subscriptions(r.Context(), store.SubscriptionFilter{CustomerID: u.ID})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if slices.ContainsFunc(subs, func(sub store.Subscription) bool { return running(sub) && sub.Gateway == g.Name() }) {
			s.refuseOnPaymentMethods(w, r, http.StatusConflict,
				"This is your only saved payment method and an active subscription renews with it. Pay with another card first, then remove this one.")
			return
		}
	}
	if err := g.DetachPaymentMethod(r.Context(), m.Ref); err != nil {
		s.Log.Warn("detach payment method", "customer", u.ID, "gateway", g.Name(), "err", err)
		s.refuseOnPaymentMethods(w, r, http.StatusBadGateway, "The payment gateway did not remove the card. Please try again in a minute.")
		return
	}
	// Live subscriptions at this gateway follow the default that remains, so none points at
	// the removed method.
	remaining := slices.DeleteFunc(slices.Clone(ms), func(o gateways.PaymentMethod) bool { return o.Ref == m.Ref })
	def := ""
	for _, o := range remaining {
		if o.Default {
			def = o.Ref
		}
	}
	if def == "" && len(remaining) > 0 {
		def = remaining[0].Ref
		if err := g.SetDefaultPaymentMethod(r.Context(), ref, def); err != nil {
			s.Log.Warn("set default after removal", "customer", u.ID, "gateway", g.Name(), "err", err)
		}
	}
	if err := s.Store.SetCustomerPaymentMethod(r.Context(), u.ID, g.Name(), def); err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]any{"gateway": g.Name(), "last4": m.Last4})
	s.audit(r, "payment_method.remove", userTarget(u.ID), details)
	http.Redirect(w, r, "/account/payment-methods?done=removed", http.StatusSeeOther)
}

// addPaymentMethod sends the customer to the gateway's page to save a card without paying.
// The form's nonce makes a double submission the same page.
func (s *server) addPaymentMethod(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	name := r.PostFormValue("gateway")
	g, err := s.Gateways.Get(name)
	starter, ok := g.(setupStarter)
	if err != nil || !ok || withoutSavedMethods[name] {
		s.refuseOnPaymentMethods(w, r, http.StatusUnprocessableEntity, "Cards cannot be added at that payment provider from here.")
		return
	}
	currency := "USD"
	if subs, err := s.Store.Subscriptions(r.Context(), store.SubscriptionFilter{CustomerID: u.ID, Limit: 1}); err == nil && len(subs) > 0 {
		currency = subs[0].Currency
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	ref, err := g.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err == nil {
		page := s.Settings.BaseURL + "/account/payment-methods"
		var co gateways.Checkout
		co, err = starter.StartSetup(ctx, gateways.SetupRequest{CustomerRef: ref, Currency: currency,
			SuccessURL: page + "?done=added&gateway=" + url.QueryEscape(name), CancelURL: page,
			IdempotencyKey: fmt.Sprintf("setup:%d:%s", u.ID, r.PostFormValue("nonce"))})
		if err == nil {
			http.Redirect(w, r, co.URL, http.StatusSeeOther)
			return
		}
	}
	s.Log.Warn("start card setup", "customer", u.ID, "gateway", name, "err", err)
	s.refuseOnPaymentMethods(w, r, http.StatusBadGateway, "The payment provider could not be reached. Please try again in a minute.")
}

// afterCardAdded points the customer's live subscriptions at the gateway's default card once
// the customer is back from saving a new one.
func (s *server) afterCardAdded(r *http.Request, name string) {
	u := currentUser(r)
	if withoutSavedMethods[name] {
		return
	}
	_, _, ms, err := s.savedMethods(r.Context(), u, name)
	if err != nil {
		return
	}
	for _, m := range ms {
		if m.Default {
			if err := s.Store.SetCustomerPaymentMethod(r.Context(), u.ID, name, m.Ref); err != nil {
				s.Log.Warn("point subscriptions at the new card", "customer", u.ID, "err", err)
			}
			return
		}
	}
}
