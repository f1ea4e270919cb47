package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

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
			if c := billing.CountryCurrency(p.Country); slices.Contains(sold, c) {
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
