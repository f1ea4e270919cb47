package billing

import "testing"

func TestCountryCurrency(t *testing.T) {
	for country, want := range map[string]string{"GB": "GBP", "gb": "GBP", "US": "USD", "DE": "EUR", "ie": "EUR", "JP": "JPY", "BR": "", "": ""} {
		if got := CountryCurrency(country); got != want {
			t.Errorf("CountryCurrency(%q) = %q; want %q", country, got, want)
		}
	}
	for country, cur := range countryCurrencies {
		if _, err := CurrencyExponent(cur); err != nil {
			t.Errorf("%s pays in %q, which is no ISO 4217 currency: %v", country, cur, err)
		}
	}
}
