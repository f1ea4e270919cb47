package paypal

import (
	"fmt"
	"strings"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/billing"
)

// value formats a positive amount as PayPal's decimal string ("19.99", "500"). Our minor units
// are ISO 4217's, and so are PayPal's decimals except for HUF and TWD, which PayPal takes in
// whole units only although ISO gives them two decimals (developer.paypal.com
// /api/rest/reference/currency-codes/): those must be whole and lose their ".00".
func value(m billing.Money) (string, error) {
	if _, err := billing.CurrencyExponent(m.Currency); err != nil {
		return "", fmt.Errorf("amount %d %q: %w", m.Amount, m.Currency, err)
	}
	if !m.IsPositive() {
		return "", fmt.Errorf("amount %s must be positive", m)
	}
	d := m.Decimal()
	if wholeUnitsOnly(m.Currency) {
		whole, ok := strings.CutSuffix(d, ".00")
		if !ok {
			return "", fmt.Errorf("amount %s: PayPal takes %s in whole units only", m, m.Currency)
		}
		d = whole
	}
	return d, nil
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
