package stripe

import (
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v79"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// Our amounts are ISO 4217 minor units; Stripe's integer amounts follow ISO for most currencies
// but not all (docs.stripe.com/currencies, "Zero-decimal", "Three-decimal" and "Special cases").
// The rules below are the whole difference; docs/gateways.md explains them.

// stripeZeroDecimal are the currencies Stripe takes in whole units
// (docs.stripe.com/currencies#zero-decimal). All but MGA have no minor unit in ISO 4217 either;
// UGX is on the list but is refused below until verified.
var stripeZeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// stripeThreeDecimal are the currencies Stripe takes in thousandths whose last digit must be 0
// (docs.stripe.com/currencies#three-decimal).
var stripeThreeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// CheckAmount reports whether Stripe can take m, with a message a customer can read when it
// cannot (gateways.AmountChecker). Nothing is rounded: an amount Stripe would refuse or change
// is refused here, before any request.
func (g *Gateway) CheckAmount(m billing.Money) error {
	_, err := toStripe(m)
	return err
}

// toStripe converts our amount to the integer Stripe expects for its currency.
func toStripe(m billing.Money) (int64, error) {
	exp, err := billing.CurrencyExponent(m.Currency)
	if err != nil {
		return 0, fmt.Errorf("amount %d %q: %w", m.Amount, m.Currency, gateways.ErrInvalidRequest)
	}
	if !m.IsPositive() {
		return 0, fmt.Errorf("amount %s must be positive: %w", m, gateways.ErrInvalidRequest)
	}
	refuse := func(rule string) (int64, error) {
		return 0, gateways.UnsupportedAmount(fmt.Sprintf("Stripe cannot charge %s: %s", m, rule))
	}
	c := m.Currency
	switch {
	case c == "UGX":
		// Stripe lists UGX as zero-decimal, yet integrators report live charges needing ×100.
		return refuse("Stripe's rules for UGX are unclear, so UGX is not offered through Stripe")
	case c == "ISK":
		// ISK has no minor unit, but Stripe takes it in two-decimal form (multiples of 100)
		// since 2023-04-14 (docs.stripe.com/currencies#special-cases).
		if m.Amount > maxStripeAmount/100 {
			return refuse("the amount is too large")
		}
		return m.Amount * 100, nil
	case c == "MGA":
		// Two decimals in ISO 4217, none at Stripe.
		if m.Amount%100 != 0 {
			return refuse("amounts in MGA must be whole ariary")
		}
		return m.Amount / 100, nil
	case stripeZeroDecimal[c]:
		return m.Amount, nil
	case exp == 0:
		return refuse(fmt.Sprintf("Stripe does not take %s", c))
	case stripeThreeDecimal[c]:
		if m.Amount%10 != 0 {
			return refuse(fmt.Sprintf("amounts in %s must be whole multiples of 0.010", c))
		}
		return m.Amount, nil
	case exp != 2:
		return refuse(fmt.Sprintf("Stripe does not take %s", c))
	}
	return m.Amount, nil
}

// maxStripeAmount bounds amounts so the ×100 of ISK cannot overflow; Stripe's own limit is
// far lower (eight digits for most currencies).
const maxStripeAmount = int64(1) << 53

// money turns a Stripe amount back into ours, undoing toStripe; an unknown currency keeps its
// upper-cased code and the amount as Stripe sent it.
func money(amount int64, c stripe.Currency) billing.Money {
	code := strings.ToUpper(string(c))
	switch code {
	case "ISK":
		amount /= 100
	case "MGA":
		amount *= 100
	}
	m, err := billing.New(amount, code)
	if err != nil {
		return billing.Money{Amount: amount, Currency: code}
	}
	return m
}

// currency is Stripe's lower-case spelling of our ISO code.
func currency(m billing.Money) string { return strings.ToLower(m.Currency) }
