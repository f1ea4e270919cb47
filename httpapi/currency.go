package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ezscale/billing/store"
)

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

// defaultCurrency is the shop's currency for a visitor it knows nothing about.
func (s *server) defaultCurrency() string {
	if s.Settings.DefaultCurrency != "" {
		return s.Settings.DefaultCurrency
	}
	return "USD"
}

// shopCurrency is the currency the order pages show prices in, one of sold: the one the visitor
// chose (?currency=), else the one the customer already pays in, else their country's, else the
// shop's default, else the first sold.
func (s *server) shopCurrency(r *http.Request, sold []string) string {
	if len(sold) == 0 {
		return ""
	}
	if c := strings.ToUpper(r.URL.Query().Get("currency")); slices.Contains(sold, c) {
		return c
	}
	if u := currentUser(r); u != nil {
		ctx := r.Context()
		c, err := s.Store.AccountCurrency(ctx, u.ID)
		if err != nil {
			s.Log.Warn("account currency", "user", u.ID, "err", err)
		}
		if slices.Contains(sold, c) {
			return c
		}
		if p, err := s.Store.ProfileByUser(ctx, u.ID); err == nil {
			if c := countryCurrencies[strings.ToUpper(p.Country)]; slices.Contains(sold, c) {
				return c
			}
		}
	}
	if c := s.defaultCurrency(); slices.Contains(sold, c) {
		return c
	}
	return sold[0]
}

// currencies lists the distinct currencies of prices, sorted.
func currencies(prices []store.Price) []string {
	var out []string
	for _, p := range prices {
		if !slices.Contains(out, p.Currency) {
			out = append(out, p.Currency)
		}
	}
	slices.Sort(out)
	return out
}
