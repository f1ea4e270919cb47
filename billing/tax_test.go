package billing

import (
	"errors"
	"testing"
)

func TestComputeTaxLevelsAndCompounding(t *testing.T) {
	gst := TaxRule{Level: 1, Name: "GST", Country: "CA", RateMilliPercent: 5000}
	qst := TaxRule{Level: 2, Name: "QST", Country: "CA", State: "QC", RateMilliPercent: 9975}
	pstCompound := TaxRule{Level: 2, Name: "PST", Country: "CA", State: "QC", RateMilliPercent: 9500, Compound: true}
	for _, tc := range []struct {
		name  string
		base  Money
		rules []TaxRule
		ctx   TaxContext
		lines []int64 // amounts per level applied
		bases []int64
	}{
		{"one level", money(10000, "CAD"), []TaxRule{gst}, TaxContext{Country: "CA"}, []int64{500}, []int64{10000}},
		{"two levels, not compound", money(10000, "CAD"), []TaxRule{gst, qst}, TaxContext{Country: "CA", State: "QC"}, []int64{500, 998}, []int64{10000, 10000}}, // 997.5 → 998
		{"compound: 9.5% of 105.00 = 9.975 → 9.98", money(10000, "CAD"), []TaxRule{gst, pstCompound}, TaxContext{Country: "CA", State: "QC"}, []int64{500, 998}, []int64{10000, 10500}},
		{"compound on 19.99", money(1999, "CAD"), []TaxRule{gst, pstCompound}, TaxContext{Country: "ca", State: "qc"}, []int64{100, 199}, []int64{1999, 2099}}, // 99.95 → 100; 9.5% of 20.99 = 199.405 → 199
		{"state rule does not reach other states", money(10000, "CAD"), []TaxRule{gst, qst}, TaxContext{Country: "CA", State: "ON"}, []int64{500}, []int64{10000}},
		{"no rule for the country", money(10000, "USD"), []TaxRule{gst, qst}, TaxContext{Country: "US"}, nil, nil},
		{"JPY consumption tax 10%", money(1234, "JPY"), []TaxRule{{Level: 1, Name: "JCT", Country: "JP", RateMilliPercent: 10000}}, TaxContext{Country: "JP"}, []int64{123}, []int64{1234}},
		{"Bahrain VAT 10% in fils", money(12345, "BHD"), []TaxRule{{Level: 1, Name: "VAT", Country: "BH", RateMilliPercent: 10000}}, TaxContext{Country: "BH"}, []int64{1235}, []int64{12345}},                             // 1234.5 → 1235
		{"NY 8.875% sales tax", money(1000, "USD"), []TaxRule{{Level: 1, Name: "Sales tax", Country: "US", State: "NY", RateMilliPercent: 8875}}, TaxContext{Country: "US", State: "NY"}, []int64{89}, []int64{1000}},      // 88.75 → 89
		{"credit invoice: negative base rounds away from zero", money(-1050, "EUR"), []TaxRule{{Level: 1, Name: "VAT", Country: "NL", RateMilliPercent: 21000}}, TaxContext{Country: "NL"}, []int64{-221}, []int64{-1050}}, // -220.5
		{"all-countries rule", money(10000, "EUR"), []TaxRule{{Level: 1, Name: "Tax", RateMilliPercent: 1000}}, TaxContext{Country: "BR"}, []int64{100}, []int64{10000}},
	} {
		res, err := ComputeTax(tc.base, tc.rules, tc.ctx)
		if err != nil {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if len(res.Lines) != len(tc.lines) {
			t.Errorf("%s: %d tax lines %+v; want %d", tc.name, len(res.Lines), res.Lines, len(tc.lines))
			continue
		}
		var sum int64
		for i, l := range res.Lines {
			if l.Amount.Amount != tc.lines[i] || l.Base.Amount != tc.bases[i] || l.Level != i+1 {
				t.Errorf("%s: line %d = level %d %d on %d; want level %d %d on %d", tc.name, i, l.Level, l.Amount.Amount, l.Base.Amount, i+1, tc.lines[i], tc.bases[i])
			}
			sum += l.Amount.Amount
		}
		if res.Total.Amount != sum || res.Total.Currency != tc.base.Currency || res.ReverseCharge {
			t.Errorf("%s: total %v reverse %v; want %d %s and no reverse charge", tc.name, res.Total, res.ReverseCharge, sum, tc.base.Currency)
		}
	}
}

func TestComputeTaxPrefersTheMostSpecificRule(t *testing.T) {
	rules := []TaxRule{
		{Level: 1, Name: "World", RateMilliPercent: 1000},
		{Level: 1, Name: "US", Country: "US", RateMilliPercent: 2000},
		{Level: 1, Name: "Texas", Country: "US", State: "TX", RateMilliPercent: 6250},
	}
	for _, tc := range []struct {
		country, state, want string
	}{{"US", "TX", "Texas"}, {"US", "CA", "US"}, {"FR", "", "World"}} {
		res, err := ComputeTax(money(10000, "USD"), rules, TaxContext{Country: tc.country, State: tc.state})
		if err != nil || len(res.Lines) != 1 || res.Lines[0].Name != tc.want {
			t.Errorf("%s/%s: lines %+v, %v; want rule %s", tc.country, tc.state, res.Lines, err, tc.want)
		}
	}
	clash := append(rules, TaxRule{Level: 1, Name: "US again", Country: "US", RateMilliPercent: 3000})
	if _, err := ComputeTax(money(10000, "USD"), clash, TaxContext{Country: "US", State: "CA"}); !errors.Is(err, ErrTaxRuleConflict) {
		t.Errorf("two country rules for level 1: error = %v; want ErrTaxRuleConflict", err)
	}
	// The clash does not matter to a customer a more specific rule covers.
	if _, err := ComputeTax(money(10000, "USD"), clash, TaxContext{Country: "US", State: "TX"}); err != nil {
		t.Errorf("Texas customer with a clash at country level: %v", err)
	}
}

func TestComputeTaxRejectsBadRules(t *testing.T) {
	for _, r := range []TaxRule{
		{Level: 3, Name: "L3", RateMilliPercent: 1000},
		{Level: 0, Name: "L0", RateMilliPercent: 1000},
		{Level: 1, Name: "negative", RateMilliPercent: -1},
		{Level: 1, Name: "over 100%", RateMilliPercent: TaxRateScale + 1},
	} {
		if _, err := ComputeTax(money(100, "USD"), []TaxRule{r}, TaxContext{}); !errors.Is(err, ErrInvalidTaxRule) {
			t.Errorf("rule %+v: error = %v; want ErrInvalidTaxRule", r, err)
		}
	}
}

func TestExemptCustomersPayNoTax(t *testing.T) {
	res, err := ComputeTax(money(10000, "EUR"), []TaxRule{{Level: 1, Name: "VAT", Country: "DE", RateMilliPercent: 19000}}, TaxContext{Country: "DE", Exempt: true})
	if err != nil || len(res.Lines) != 0 || res.Total != money(0, "EUR") || res.ReverseCharge {
		t.Errorf("exempt customer: %+v, %v; want no tax", res, err)
	}
}

func TestEUReverseChargeNeedsAValidVATFormatInAnotherMemberState(t *testing.T) {
	rules := []TaxRule{
		{Level: 1, Name: "VAT", Country: "DE", RateMilliPercent: 19000},
		{Level: 1, Name: "VAT", Country: "FR", RateMilliPercent: 20000},
		{Level: 1, Name: "VAT", Country: "GR", RateMilliPercent: 24000},
		{Level: 1, Name: "VAT", Country: "NL", RateMilliPercent: 21000},
	}
	for _, tc := range []struct {
		name    string
		ctx     TaxContext
		reverse bool
		tax     int64
	}{
		{"FR business from a DE seller", TaxContext{Country: "FR", VATID: "FR40303265045", SellerCountry: "DE"}, true, 0},
		{"VAT id without prefix, spaced", TaxContext{Country: "FR", VATID: "40 303 265 045", SellerCountry: "DE"}, true, 0},
		{"Dutch format with B", TaxContext{Country: "NL", VATID: "nl123456789b01", SellerCountry: "DE"}, true, 0},
		{"Greece uses EL", TaxContext{Country: "GR", VATID: "EL123456789", SellerCountry: "DE"}, true, 0},
		{"Austrian U prefix", TaxContext{Country: "AT", VATID: "ATU12345678", SellerCountry: "DE"}, true, 0},
		{"invalid format: VAT charged", TaxContext{Country: "FR", VATID: "FR123", SellerCountry: "DE"}, false, 2000},
		{"VAT id of another country", TaxContext{Country: "DE", VATID: "FR40303265045", SellerCountry: "NL"}, false, 1900},
		{"no VAT id: consumer pays VAT", TaxContext{Country: "FR", SellerCountry: "DE"}, false, 2000},
		{"same country as the seller", TaxContext{Country: "DE", VATID: "DE123456789", SellerCountry: "DE"}, false, 1900},
		{"seller outside the EU", TaxContext{Country: "FR", VATID: "FR40303265045", SellerCountry: "US"}, false, 2000},
		{"buyer outside the EU", TaxContext{Country: "US", VATID: "FR40303265045", SellerCountry: "DE"}, false, 0},
		{"exempt wins over reverse charge", TaxContext{Country: "FR", VATID: "FR40303265045", SellerCountry: "DE", Exempt: true}, false, 0},
	} {
		res, err := ComputeTax(money(10000, "EUR"), rules, tc.ctx)
		if err != nil {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if res.ReverseCharge != tc.reverse || res.Total.Amount != tc.tax {
			t.Errorf("%s: reverse charge %v, tax %v; want %v, %d", tc.name, res.ReverseCharge, res.Total, tc.reverse, tc.tax)
		}
		if tc.reverse && (res.Note != ReverseChargeNote || len(res.Lines) != 0) {
			t.Errorf("%s: note %q lines %v; want %q and no lines", tc.name, res.Note, res.Lines, ReverseChargeNote)
		}
	}
}

func TestValidVATIDChecksEachMemberStateFormat(t *testing.T) {
	for _, tc := range []struct {
		country, id string
		valid       bool
	}{
		{"AT", "ATU12345678", true}, {"AT", "AT12345678", false},
		{"BE", "BE0123456789", true}, {"BE", "BE2123456789", false},
		{"BG", "BG123456789", true}, {"BG", "BG1234567890", true}, {"BG", "BG12345678", false},
		{"CY", "CY12345678X", true}, {"CY", "CY123456789", false},
		{"CZ", "CZ12345678", true}, {"CZ", "CZ1234567890", true}, {"CZ", "CZ1234567", false},
		{"DE", "DE123456789", true}, {"DE", "DE12345678", false}, {"DE", "DE1234567890", false},
		{"DK", "DK12345678", true}, {"EE", "EE123456789", true},
		{"GR", "EL123456789", true}, {"EL", "123456789", true}, {"GR", "GR123456789", false},
		{"ES", "ESX1234567X", true}, {"ES", "ES12345678Z", true}, {"ES", "ESX123456", false},
		{"FI", "FI12345678", true}, {"FR", "FRXX123456789", true}, {"FR", "FRIO123456789", false},
		{"HR", "HR12345678901", true}, {"HU", "HU12345678", true},
		{"IE", "IE1234567WA", true}, {"IE", "IE1A23456B", true}, {"IE", "IE1234567", false},
		{"IT", "IT12345678901", true}, {"IT", "IT1234567890", false},
		{"LT", "LT123456789", true}, {"LT", "LT123456789012", true}, {"LT", "LT1234567890", false},
		{"LU", "LU12345678", true}, {"LV", "LV12345678901", true}, {"MT", "MT12345678", true},
		{"NL", "NL123456789B01", true}, {"NL", "NL123456789", false},
		{"PL", "PL1234567890", true}, {"PT", "PT123456789", true},
		{"RO", "RO12", true}, {"RO", "RO1234567890", true}, {"RO", "RO0123", false},
		{"SE", "SE123456789001", true}, {"SE", "SE123456789012", false},
		{"SI", "SI12345678", true}, {"SI", "SI02345678", false},
		{"SK", "SK1234567890", true}, {"SK", "SK0234567890", false},
		{"DE", "de 123.456-789", true},
		{"DE", "", false}, {"GB", "GB123456789", false}, {"US", "123456789", false},
	} {
		if got := ValidVATID(tc.country, tc.id); got != tc.valid {
			t.Errorf("ValidVATID(%s, %q) = %v; want %v", tc.country, tc.id, got, tc.valid)
		}
	}
}

func TestFormatRateShowsMilliPercentExactly(t *testing.T) {
	for rate, want := range map[int64]string{21000: "21%", 9975: "9.975%", 8875: "8.875%", 500: "0.5%", 0: "0%", 100000: "100%", -500: "-0.5%"} {
		if got := FormatRate(rate); got != want {
			t.Errorf("FormatRate(%d) = %q; want %q", rate, got, want)
		}
	}
}
