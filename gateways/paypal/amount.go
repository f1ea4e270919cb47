package paypal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// value formats a positive amount as PayPal's decimal string ("19.99", "500"). Our minor units
// are ISO 4217's, and so are PayPal's decimals except for HUF and TWD, which PayPal takes in
// whole units only although ISO gives them two decimals (developer.paypal.com
// /api/rest/reference/currency-codes/): those must be whole and lose their ".00".
func value(m billing.Money) (string, error) {
	if err := checkAmount(m); err != nil {
		return "", err
	}
	d := m.Decimal()
	if wholeUnitsOnly(m.Currency) {
		d = strings.TrimSuffix(d, ".00") // checkAmount made sure it is whole
	}
	return d, nil
}

// CheckAmount reports whether PayPal can take m, with a message a customer can read when it
// cannot (gateways.AmountChecker): HUF, JPY and TWD only in whole units. JPY has no minor unit
// in ISO 4217, so every JPY amount we hold is whole already.
func (g *Gateway) CheckAmount(m billing.Money) error { return checkAmount(m) }

var _ gateways.AmountChecker = (*Gateway)(nil)

// amountError reports a refused amount as a *gateways.Error like every other failure. An
// unsupported amount keeps its customer-readable refusal as the Kind, which matches both
// gateways.ErrUnsupportedAmount and gateways.ErrInvalidRequest.
func amountError(op string, err error) *gateways.Error {
	if errors.Is(err, gateways.ErrUnsupportedAmount) {
		return &gateways.Error{Gateway: Name, Kind: err, Message: op}
	}
	return &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Message: op + ": " + err.Error()}
}

func checkAmount(m billing.Money) error {
	if _, err := billing.CurrencyExponent(m.Currency); err != nil {
		return fmt.Errorf("amount %d %q: %v: %w", m.Amount, m.Currency, err, gateways.ErrInvalidRequest)
	}
	if !m.IsPositive() {
		return fmt.Errorf("amount %s must be positive: %w", m, gateways.ErrInvalidRequest)
	}
	if wholeUnitsOnly(m.Currency) && m.Amount%100 != 0 {
		return gateways.UnsupportedAmount(fmt.Sprintf("PayPal cannot charge %s: amounts in %s must be whole units", m, m.Currency))
	}
	return nil
}

// wholeUnitsOnly reports the currencies PayPal refuses decimals for while ISO 4217 has two.
func wholeUnitsOnly(currency string) bool { return currency == "HUF" || currency == "TWD" }

// money reads a PayPal amount back into minor units, never through a float.
func money(m *paypal.Money) (billing.Money, error) {
	if m == nil {
		return billing.Money{}, fmt.Errorf("no amount")
	}
	return billing.ParseDecimal(m.Value, m.Currency)
}

// unitMoney reads an order or capture amount, which plutov types separately from Money.
func unitMoney(a *paypal.PurchaseUnitAmount) (billing.Money, error) {
	if a == nil {
		return billing.Money{}, fmt.Errorf("no amount")
	}
	return money(&paypal.Money{Currency: a.Currency, Value: a.Value})
}
