package billing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TaxRateScale is the denominator of rates in milli-percent: 21% is 21000, 8.875% is 8875.
const TaxRateScale = 100_000

// ReverseChargeNote is the text an invoice carries when EU reverse charge applies.
const ReverseChargeNote = "Reverse charge"

// TaxRule is one tax, as in WHMCS's tax table: a level (1 or 2), where it applies and its rate.
// Rates are integers in milli-percent so sales-tax rates such as 8.875% are exact.
type TaxRule struct {
	Level            int    // 1 or 2; level 2 may compound on level 1
	Name             string // shown on the invoice, e.g. "VAT", "GST", "QST"
	Country          string // ISO 3166-1 alpha-2; empty means every country
	State            string // state or province within Country; empty means the whole country
	RateMilliPercent int64  // 0..100000 (0%..100%)
	Compound         bool   // level 2 only: taxed on the base plus the level-1 tax
}

// TaxContext is who is buying and who is selling, as far as tax is concerned.
type TaxContext struct {
	Country       string // buyer's ISO 3166-1 alpha-2 country ("GR" or "EL" for Greece)
	State         string // buyer's state or province
	Exempt        bool   // the customer is marked tax-exempt: no tax at all
	VATID         string // buyer's VAT number, with or without its country prefix
	SellerCountry string // seller's country, for EU reverse charge
}

// TaxLine is one tax charged on an invoice.
type TaxLine struct {
	Level            int
	Name             string
	RateMilliPercent int64
	Compound         bool
	Base             Money // amount the rate was applied to
	Amount           Money // Base × rate, rounded half away from zero
}

// TaxResult is the tax on one invoice.
type TaxResult struct {
	Lines         []TaxLine
	Total         Money
	ReverseCharge bool   // EU B2B supply: no VAT charged, the buyer accounts for it
	Note          string // ReverseChargeNote when ReverseCharge
}

// ComputeTax taxes base (the invoice's taxable amount after discounts) for ctx.
//
// Order of decisions: an exempt customer pays nothing; an EU buyer in another EU country than
// the seller with a VAT id of valid format for that country (ValidVATID; no VIES lookup) pays
// nothing and the result is marked ReverseCharge; otherwise, for each level, the most specific
// matching rule applies (country and state, then country, then all countries), and two equally
// specific rules for one level are ErrTaxRuleConflict. A VAT id of invalid format does not
// stop VAT being charged.
//
// Rounding: each level is rounded half away from zero once, on the invoice base (not per line).
// Level 2 is computed on base, or on base + level-1 tax when its rule is Compound. Example: CAD
// 100.00 with GST 5% (level 1) and a compound 9.5% (level 2): 5.00, then 105.00 × 9.5% =
// 9.975 → 9.98, total tax CAD 14.98. A negative base (a credit invoice) gives negative tax.
func ComputeTax(base Money, rules []TaxRule, ctx TaxContext) (TaxResult, error) {
	result := TaxResult{Total: Money{Currency: base.Currency}}
	for i, r := range rules {
		if r.Level != 1 && r.Level != 2 {
			return TaxResult{}, fmt.Errorf("tax rule %d (%q): level %d: %w", i, r.Name, r.Level, ErrInvalidTaxRule)
		}
		if r.RateMilliPercent < 0 || r.RateMilliPercent > TaxRateScale {
			return TaxResult{}, fmt.Errorf("tax rule %d (%q): rate %d milli-percent: %w", i, r.Name, r.RateMilliPercent, ErrInvalidTaxRule)
		}
	}
	if ctx.Exempt {
		return result, nil
	}
	if ReverseChargeApplies(ctx) {
		result.ReverseCharge = true
		result.Note = ReverseChargeNote
		return result, nil
	}
	country := normCountry(ctx.Country)
	state := strings.ToUpper(strings.TrimSpace(ctx.State))
	level1 := Money{Currency: base.Currency}
	for level := 1; level <= 2; level++ {
		rule, ok, err := matchTaxRule(rules, level, country, state)
		if err != nil {
			return TaxResult{}, err
		}
		if !ok {
			continue
		}
		taxed := base
		if level == 2 && rule.Compound {
			if taxed, err = base.Add(level1); err != nil {
				return TaxResult{}, fmt.Errorf("compound tax %q: %w", rule.Name, err)
			}
		}
		amount, err := taxed.MulRatio(rule.RateMilliPercent, TaxRateScale)
		if err != nil {
			return TaxResult{}, fmt.Errorf("tax %q: %w", rule.Name, err)
		}
		if level == 1 {
			level1 = amount
		}
		result.Lines = append(result.Lines, TaxLine{Level: level, Name: rule.Name, RateMilliPercent: rule.RateMilliPercent,
			Compound: level == 2 && rule.Compound, Base: taxed, Amount: amount})
		if result.Total, err = result.Total.Add(amount); err != nil {
			return TaxResult{}, fmt.Errorf("total tax: %w", err)
		}
	}
	return result, nil
}

// matchTaxRule picks the most specific rule of one level: country+state (3), country (2), all (1).
func matchTaxRule(rules []TaxRule, level int, country, state string) (TaxRule, bool, error) {
	best, bestScore, tie := TaxRule{}, 0, false
	for _, r := range rules {
		if r.Level != level {
			continue
		}
		rc, rs := normCountry(r.Country), strings.ToUpper(strings.TrimSpace(r.State))
		score := 0
		switch {
		case rc == "" && rs == "":
			score = 1
		case rc == country && rs == "":
			score = 2
		case rc == country && rs == state:
			score = 3
		}
		if score == 0 || score < bestScore {
			continue
		}
		tie = score == bestScore
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	if tie {
		return TaxRule{}, false, fmt.Errorf("level %d tax for %s/%s: %w", level, country, state, ErrTaxRuleConflict)
	}
	return best, bestScore > 0, nil
}

// ReverseChargeApplies reports whether an EU seller must not charge VAT to this buyer: the
// buyer is in a different EU member state and gave a VAT id of valid format for that state.
func ReverseChargeApplies(ctx TaxContext) bool {
	seller, buyer := normCountry(ctx.SellerCountry), normCountry(ctx.Country)
	return IsEU(seller) && IsEU(buyer) && seller != buyer && ValidVATID(buyer, ctx.VATID)
}

// IsEU reports whether an ISO 3166-1 alpha-2 code (or "EL" for Greece) is an EU member state.
func IsEU(country string) bool {
	return vatPattern(normCountry(country)) != ""
}

// ValidVATID reports whether id has the format of a VAT number of the EU country: the
// country's own prefix ("EL" for Greece) is optional, spaces, dots and dashes are ignored,
// letters may be lower case. Only the format is checked (the VIES register is not asked),
// so a well-formed but unregistered number passes.
func ValidVATID(country, id string) bool {
	country = normCountry(country)
	pattern := vatPattern(country)
	if pattern == "" {
		return false
	}
	prefix := country
	if country == "GR" {
		prefix = "EL"
	}
	id = strings.TrimPrefix(strings.ToUpper(stripSeparators(id)), prefix)
	if len(id) < 2 || len(id) > 12 { // no member state's number is shorter or longer
		return false
	}
	// Compiled per call to keep the package free of mutable globals; this is microseconds and
	// runs once per invoice. Patterns follow the EU's VIES format table.
	return regexp.MustCompile(`^(?:` + pattern + `)$`).MatchString(id)
}

// stripSeparators drops the spaces, dots and dashes people type into VAT numbers.
func stripSeparators(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '.' && c != '-' {
			b = append(b, c)
		}
	}
	return string(b)
}

// vatPattern is the VAT number format (without prefix) of each EU member state; "" if not EU.
func vatPattern(country string) string {
	switch country {
	case "AT":
		return `U\d{8}`
	case "BE":
		return `[01]\d{9}`
	case "BG":
		return `\d{9,10}`
	case "CY":
		return `\d{8}[A-Z]`
	case "CZ":
		return `\d{8,10}`
	case "DE":
		return `\d{9}`
	case "DK":
		return `\d{8}`
	case "EE":
		return `\d{9}`
	case "GR":
		return `\d{9}`
	case "ES":
		return `[A-Z0-9]\d{7}[A-Z0-9]`
	case "FI":
		return `\d{8}`
	case "FR":
		return `[0-9A-HJ-NP-Z]{2}\d{9}`
	case "HR":
		return `\d{11}`
	case "HU":
		return `\d{8}`
	case "IE":
		return `\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]`
	case "IT":
		return `\d{11}`
	case "LT":
		return `\d{9}|\d{12}`
	case "LU":
		return `\d{8}`
	case "LV":
		return `\d{11}`
	case "MT":
		return `\d{8}`
	case "NL":
		return `\d{9}B\d{2}`
	case "PL":
		return `\d{10}`
	case "PT":
		return `\d{9}`
	case "RO":
		return `[1-9]\d{1,9}`
	case "SE":
		return `\d{10}01`
	case "SI":
		return `[1-9]\d{7}`
	case "SK":
		return `[1-9]\d{9}`
	}
	return ""
}

// normCountry upper-cases a country code and maps the VAT prefix EL to Greece's ISO code GR.
func normCountry(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "EL" {
		return "GR"
	}
	return c
}

// FormatRate renders a milli-percent rate for an invoice line: 21000 → "21%", 9975 → "9.975%".
func FormatRate(milliPercent int64) string {
	whole, frac := milliPercent/1000, milliPercent%1000
	if frac < 0 {
		frac = -frac
	}
	if frac == 0 {
		return strconv.FormatInt(whole, 10) + "%"
	}
	f := strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	sign := ""
	if milliPercent < 0 && whole == 0 {
		sign = "-"
	}
	return sign + strconv.FormatInt(whole, 10) + "." + f + "%"
}
