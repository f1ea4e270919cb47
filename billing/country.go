package billing

import "strings"

// countryCurrencies is the currency a customer in a country (ISO 3166 alpha-2) expects to pay
// in, for the countries whose currency a hosting shop commonly sells in.
var countryCurrencies = map[string]string{
	"GB": "GBP", "US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "JP": "JPY", "CH": "CHF",
	"SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN", "CZ": "CZK",
	// The euro area.
	"AT": "EUR", "BE": "EUR", "HR": "EUR", "CY": "EUR", "EE": "EUR", "FI": "EUR", "FR": "EUR",
	"DE": "EUR", "GR": "EUR", "IE": "EUR", "IT": "EUR", "LV": "EUR", "LT": "EUR", "LU": "EUR",
	"MT": "EUR", "NL": "EUR", "PT": "EUR", "SK": "EUR", "SI": "EUR", "ES": "EUR",
}

// CountryCurrency is the currency a customer in country (ISO 3166 alpha-2, any case) expects
// to pay in, or "" for a country not listed.
func CountryCurrency(country string) string {
	return countryCurrencies[strings.ToUpper(country)]
}
