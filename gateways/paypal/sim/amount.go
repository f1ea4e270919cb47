package sim

import (
	"net/http"
	"strings"

	"github.com/ezscale/billing/billing"
)

// amount is PayPal's money: a currency and a decimal string, never a number.
type amount struct {
	Currency string `json:"currency_code"`
	Value    string `json:"value"`
}

// apiErr is a failure to answer with writeError.
type apiErr struct {
	status int
	detail detail
}

func (e *apiErr) write(w http.ResponseWriter) { writeError(w, e.status, e.detail) }

// parseAmount checks an amount as PayPal does and reads it into minor units. PayPal takes
// JPY, HUF and TWD without decimals and other currencies with at most their ISO decimals.
func parseAmount(a *amount, field string) (billing.Money, *apiErr) {
	if a == nil || a.Currency == "" || a.Value == "" {
		return billing.Money{}, &apiErr{http.StatusBadRequest, detail{Field: field, Location: "body",
			Issue: "MISSING_REQUIRED_PARAMETER", Description: "A required field / parameter is missing."}}
	}
	exp, err := billing.CurrencyExponent(a.Currency)
	if err != nil {
		return billing.Money{}, &apiErr{http.StatusUnprocessableEntity, detail{Field: field + "/currency_code", Value: a.Currency,
			Location: "body", Issue: "CURRENCY_NOT_SUPPORTED", Description: "Currency code is not currently supported."}}
	}
	if noDecimals(a.Currency) {
		exp = 0
	}
	whole, frac, hasPoint := strings.Cut(a.Value, ".")
	if whole == "" || (hasPoint && frac == "") || !digits(whole) || !digits(frac) {
		return billing.Money{}, &apiErr{http.StatusBadRequest, detail{Field: field + "/value", Value: a.Value, Location: "body",
			Issue: "INVALID_PARAMETER_SYNTAX", Description: "The value of a field does not conform to the expected format."}}
	}
	if len(frac) > exp {
		return billing.Money{}, &apiErr{http.StatusUnprocessableEntity, detail{Field: field + "/value", Value: a.Value, Location: "body",
			Issue: "DECIMAL_PRECISION", Description: "If the currency supports decimals, only two decimal place precision is supported."}}
	}
	m, err := billing.ParseDecimal(a.Value, a.Currency)
	if err != nil || !m.IsPositive() {
		return billing.Money{}, &apiErr{http.StatusUnprocessableEntity, detail{Field: field + "/value", Value: a.Value, Location: "body",
			Issue: "CANNOT_BE_ZERO_OR_NEGATIVE", Description: "Must be greater than zero."}}
	}
	return m, nil
}

// formatAmount writes minor units back as PayPal's decimal string.
func formatAmount(m billing.Money) amount {
	v := m.Decimal()
	if noDecimals(m.Currency) {
		v = strings.TrimSuffix(v, ".00")
	}
	return amount{Currency: m.Currency, Value: v}
}

// noDecimals are the currencies PayPal refuses decimals for (its currency-codes reference).
func noDecimals(currency string) bool {
	return currency == "JPY" || currency == "HUF" || currency == "TWD"
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
