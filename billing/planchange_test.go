package billing

import (
	"testing"
	"time"
)

func eurT(a int64) Money { return Money{Amount: a, Currency: "EUR"} }

var (
	vat20   = []TaxRule{{Level: 1, Name: "VAT", Country: "DE", RateMilliPercent: 20000}}
	buyerDE = TaxContext{Country: "DE", SellerCountry: "DE"}
	march1  = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	april1  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

func TestDowngradeOnTheOrderDayWithAFreeCouponCreditsNothing(t *testing.T) {
	free := Coupon{Code: "FREE", Kind: CouponPercent, PercentBP: PercentScale, Duration: CouponOnce}
	c, err := PricePlanChange(PlanChangeInput{OldPrice: eurT(2500), NewPrice: eurT(1000), OldProductID: 2, NewProductID: 1,
		Coupons: []Coupon{free}, TaxRules: vat20, Tax: buyerDE, PeriodStart: march1, PeriodEnd: april1, ChangeAt: march1})
	if err != nil {
		t.Fatal(err)
	}
	// Both plans cost 0.00 this period after the 100% coupon: nothing was paid, nothing is credited.
	if !c.Proration.Net.IsZero() || c.CreditTotal.Amount != 0 || len(c.CreditNote) != 0 {
		t.Fatalf("net %s, credit note %v (total %s); want nothing credited for a period paid 0.00", c.Proration.Net, c.CreditNote, c.CreditTotal)
	}
}

func TestDowngradeCreditsThePeriodPriceAfterDiscountsWithItsVAT(t *testing.T) {
	ten := Coupon{Code: "TEN", Kind: CouponPercent, PercentBP: 1000, Duration: CouponRepeating, Cycles: 3}
	at := time.Date(2026, 3, 17, 9, 0, 0, 0, time.UTC) // 15 of 31 days left
	c, err := PricePlanChange(PlanChangeInput{OldPrice: eurT(2500), NewPrice: eurT(1000), OldProductID: 2, NewProductID: 1,
		Coupons: []Coupon{ten}, TaxRules: vat20, Tax: buyerDE, PeriodStart: march1, PeriodEnd: april1, ChangeAt: at})
	if err != nil {
		t.Fatal(err)
	}
	// Period prices 22.50 and 9.00; net −13.50×15/31 = −6.532 → −6.53; VAT 20% of 6.53 = 1.306
	// → 1.31; credit note 7.84.
	if c.Proration.Net != eurT(-653) || c.CreditTotal != eurT(784) {
		t.Fatalf("net %s credit total %s; want EUR -6.53 and EUR 7.84", c.Proration.Net, c.CreditTotal)
	}
	if len(c.CreditNote) != 2 || c.CreditNote[0].Amount != eurT(653) || c.CreditNote[1].Kind != LineTax || c.CreditNote[1].Amount != eurT(131) {
		t.Fatalf("credit note lines %+v; want 6.53 net and 1.31 VAT", c.CreditNote)
	}
	if len(c.Items) != 0 {
		t.Fatalf("a downgrade has invoice items %+v", c.Items)
	}
}

func TestUpgradeChargesTheRemainingDaysAfterTheSameDiscounts(t *testing.T) {
	five := Coupon{Code: "FIVE", Kind: CouponFixed, Fixed: []Money{eurT(500)}, Duration: CouponForever}
	at := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC) // 16 of 31 days left
	c, err := PricePlanChange(PlanChangeInput{OldPrice: eurT(1000), NewPrice: eurT(2500), OldProductID: 1, NewProductID: 2,
		Coupons: []Coupon{five}, TaxRules: vat20, Tax: buyerDE, PeriodStart: march1, PeriodEnd: april1, ChangeAt: at})
	if err != nil {
		t.Fatal(err)
	}
	// The 5.00 is off the period once: 5.00 → 20.00 per period, net 15.00×16/31 = 7.742 → 7.74
	// (not (25.00×16/31 − 5.00) − …, which would give the 5.00 again).
	if c.OldPeriodPrice != eurT(500) || c.NewPeriodPrice != eurT(2000) || c.Proration.Net != eurT(774) {
		t.Fatalf("period prices %s → %s, net %s; want 5.00 → 20.00, 7.74", c.OldPeriodPrice, c.NewPeriodPrice, c.Proration.Net)
	}
	inv, _, err := BuildInvoice(InvoiceInput{Currency: "EUR", Items: c.Items, TaxRules: vat20, Tax: buyerDE})
	if err != nil {
		t.Fatal(err)
	}
	// 7.74 + VAT 1.548 → 1.55 = 9.29.
	if total, _ := inv.Total(); total != eurT(929) {
		t.Fatalf("upgrade invoice %s (lines %+v); want EUR 9.29", total, inv.Lines)
	}
}

func TestFullCreditReturnsExactlyTheInvoicedTax(t *testing.T) {
	rules := []TaxRule{{Level: 1, Name: "GST", RateMilliPercent: 5000}, {Level: 2, Name: "QST", RateMilliPercent: 9975, Compound: true}}
	for _, price := range []int64{1, 3, 999, 1999, 10001, 123457} {
		p := Money{Amount: price, Currency: "CAD"}
		c, err := PricePlanChange(PlanChangeInput{OldPrice: p, NewPrice: Money{Currency: "CAD"}, TaxRules: rules,
			PeriodStart: march1, PeriodEnd: april1, ChangeAt: march1})
		if err != nil {
			t.Fatal(err)
		}
		invoiced, _ := ComputeTax(p, rules, TaxContext{})
		want, _ := p.Add(invoiced.Total)
		if c.CreditTotal != want {
			t.Fatalf("full credit of %s: %s (lines %+v); want the invoiced %s with tax %s", p, c.CreditTotal, c.CreditNote, want, invoiced.Total)
		}
	}
}

func TestCreditTaxRoundsHalfUpPerLevelAndNeverExceedsTheInvoicedTax(t *testing.T) {
	rules := []TaxRule{{Level: 1, Name: "GST", RateMilliPercent: 5000}, {Level: 2, Name: "QST", RateMilliPercent: 9975, Compound: true}}
	invoiced, _ := ComputeTax(Money{Amount: 10000, Currency: "CAD"}, rules, TaxContext{}) // 5.00, 105.00×9.975% = 10.47
	// 10.10: GST 0.505 → 0.51; QST (10.10 + 0.51)×9.975% = 1.0583 → 1.06.
	lines, err := CreditTax(Money{Amount: 1010, Currency: "CAD"}, invoiced)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Amount.Amount != 51 || lines[1].Amount.Amount != 106 {
		t.Fatalf("credit tax %+v; want 0.51 and 1.06", lines)
	}
	if _, err := CreditTax(Money{Amount: 10001, Currency: "CAD"}, invoiced); err == nil {
		t.Fatal("crediting more than the invoiced base succeeded")
	}
}
