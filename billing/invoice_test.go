package billing

import (
	"errors"
	"testing"
)

func mustTotals(t *testing.T, inv Invoice) (sub, disc, tax, credit, total int64) {
	t.Helper()
	for _, f := range []struct {
		fn  func() (Money, error)
		out *int64
	}{{inv.Subtotal, &sub}, {inv.DiscountTotal, &disc}, {inv.TaxTotal, &tax}, {inv.CreditTotal, &credit}, {inv.Total, &total}} {
		m, err := f.fn()
		if err != nil {
			t.Fatalf("invoice totals: %v", err)
		}
		*f.out = m.Amount
	}
	return
}

// The worked example of BuildInvoice's doc comment.
func TestBuildInvoiceDiscountsThenTaxesThenCredits(t *testing.T) {
	inv, used, err := BuildInvoice(InvoiceInput{
		Currency:        "USD",
		Items:           []Line{productLine(1, money(2000, "USD"))},
		Coupons:         []Coupon{{Code: "TEN", Kind: CouponPercent, PercentBP: 1000, Duration: CouponOnce}},
		CouponContext:   CouponContext{Now: day("2024-06-01"), CustomerID: 1},
		TaxRules:        []TaxRule{{Level: 1, Name: "VAT", Country: "GB", RateMilliPercent: 20000}},
		Tax:             TaxContext{Country: "GB"},
		CreditAvailable: money(500, "USD"),
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, disc, tax, credit, total := mustTotals(t, inv)
	if sub != 2000 || disc != -200 || tax != 360 || credit != -500 || total != 1660 || used != money(500, "USD") {
		t.Errorf("subtotal %d discount %d tax %d credit %d total %d used %v; want 2000 -200 360 -500 1660 USD 5.00",
			sub, disc, tax, credit, total, used)
	}
	wantKinds := []LineKind{LineProduct, LineDiscount, LineTax, LineCredit}
	for i, l := range inv.Lines {
		if i >= len(wantKinds) || l.Kind != wantKinds[i] {
			t.Fatalf("line kinds %+v; want %v", inv.Lines, wantKinds)
		}
	}
	if inv.Lines[2].Description != "VAT 20%" {
		t.Errorf("tax line %q; want %q", inv.Lines[2].Description, "VAT 20%")
	}
}

func TestBuildInvoiceCreditNeverMakesTheTotalNegative(t *testing.T) {
	for _, tc := range []struct {
		name            string
		items           []Line
		credit          Money
		wantUsed, total int64
	}{
		{"more credit than due", []Line{productLine(1, money(1000, "EUR"))}, money(5000, "EUR"), 1000, 0},
		{"no credit", []Line{productLine(1, money(1000, "EUR"))}, Money{}, 0, 1000},
		{"zero credit in the currency", []Line{productLine(1, money(1000, "EUR"))}, money(0, "EUR"), 0, 1000},
		{"downgrade invoice is already a credit", []Line{{Kind: LineProration, Description: "Downgrade", Amount: money(-726, "EUR")}}, money(5000, "EUR"), 0, -726},
		{"free order", []Line{productLine(1, money(0, "EUR"))}, money(5000, "EUR"), 0, 0},
	} {
		inv, used, err := BuildInvoice(InvoiceInput{Currency: "EUR", Items: tc.items, CreditAvailable: tc.credit})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		_, _, _, credit, total := mustTotals(t, inv)
		if used.Amount != tc.wantUsed || credit != -tc.wantUsed || total != tc.total || used.Currency != "EUR" {
			t.Errorf("%s: used %v credit line %d total %d; want used %d total %d", tc.name, used, credit, total, tc.wantUsed, tc.total)
		}
	}
}

func TestBuildInvoiceTaxesOnlyTheDiscountedTaxableBase(t *testing.T) {
	items := []Line{
		productLine(1, money(10000, "EUR")),
		{Kind: LineSetup, Description: "Setup", Amount: money(2000, "EUR"), ProductID: 1, Taxable: false},
		{Kind: LineProration, Description: "Upgrade", Amount: money(726, "EUR"), ProductID: 1, Taxable: true},
	}
	inv, _, err := BuildInvoice(InvoiceInput{
		Currency: "EUR", Items: items,
		Coupons:  []Coupon{{Code: "Q", Kind: CouponPercent, PercentBP: 2500, Duration: CouponOnce, IncludeSetup: true}},
		TaxRules: []TaxRule{{Level: 1, Name: "BTW", Country: "NL", RateMilliPercent: 21000}},
		Tax:      TaxContext{Country: "NL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Taxable: 100.00 − 25.00 + 7.26 = 82.26; 21% = 17.2746 → 17.27. Setup 20.00 − 5.00 untaxed.
	base, _ := inv.TaxableBase()
	sub, disc, tax, _, total := mustTotals(t, inv)
	if base.Amount != 8226 || sub != 12726 || disc != -3000 || tax != 1727 || total != 11453 {
		t.Errorf("base %v subtotal %d discount %d tax %d total %d; want 8226 12726 -3000 1727 11453", base, sub, disc, tax, total)
	}
}

func TestBuildInvoiceNotesReverseCharge(t *testing.T) {
	inv, _, err := BuildInvoice(InvoiceInput{
		Currency: "EUR", Items: []Line{productLine(1, money(10000, "EUR"))},
		TaxRules: []TaxRule{{Level: 1, Name: "VAT", Country: "FR", RateMilliPercent: 20000}},
		Tax:      TaxContext{Country: "FR", VATID: "FR40303265045", SellerCountry: "DE"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, tax, _, total := mustTotals(t, inv)
	if !inv.ReverseCharge || len(inv.Notes) != 1 || inv.Notes[0] != ReverseChargeNote || tax != 0 || total != 10000 {
		t.Errorf("reverse charge %v notes %v tax %d total %d; want true [%s] 0 10000", inv.ReverseCharge, inv.Notes, tax, total, ReverseChargeNote)
	}
}

func TestBuildInvoiceRejectsBadInput(t *testing.T) {
	ok := []Line{productLine(1, money(1000, "USD"))}
	for _, tc := range []struct {
		name string
		in   InvoiceInput
		want error
	}{
		{"unknown currency", InvoiceInput{Currency: "XYZ", Items: ok}, ErrUnknownCurrency},
		{"item in another currency", InvoiceInput{Currency: "EUR", Items: ok}, ErrCurrencyMismatch},
		{"tax line as an item", InvoiceInput{Currency: "USD", Items: []Line{{Kind: LineTax, Amount: money(1, "USD")}}}, ErrInvalidLine},
		{"negative product", InvoiceInput{Currency: "USD", Items: []Line{productLine(1, money(-1, "USD"))}}, ErrInvalidLine},
		{"credit in another currency", InvoiceInput{Currency: "USD", Items: ok, CreditAvailable: money(1, "EUR")}, ErrCurrencyMismatch},
		{"negative credit", InvoiceInput{Currency: "USD", Items: ok, CreditAvailable: money(-1, "USD")}, ErrInvalidAmount},
		{"coupon error is passed on", InvoiceInput{Currency: "USD", Items: ok, Coupons: []Coupon{{Code: "X", Kind: CouponPercent, PercentBP: 100, Duration: CouponOnce, ProductIDs: []int64{9}}}}, ErrCouponNotApplicable},
	} {
		if _, _, err := BuildInvoice(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestInvoiceTotalsRefuseLinesInAnotherCurrency(t *testing.T) {
	inv := Invoice{Currency: "USD", Lines: []Line{productLine(1, money(100, "USD")), productLine(2, money(100, "EUR"))}}
	if _, err := inv.Total(); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("Total with a EUR line on a USD invoice: %v; want ErrCurrencyMismatch", err)
	}
}
