package billing

import "testing"

func BenchmarkProrate(b *testing.B) {
	in := ChangeInput{OldPrice: money(1000, "USD"), NewPrice: money(2500, "USD"),
		PeriodStart: day("2024-03-01"), PeriodEnd: day("2024-04-01"), ChangeAt: day("2024-03-17")}
	for b.Loop() {
		if _, err := Prorate(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildInvoice(b *testing.B) {
	in := InvoiceInput{
		Currency: "EUR",
		Items: []Line{
			productLine(1, money(1999, "EUR")),
			productLine(2, money(500, "EUR")),
			{Kind: LineSetup, Description: "Setup", Amount: money(1000, "EUR"), ProductID: 3, Taxable: true},
		},
		Coupons:         []Coupon{{Code: "TEN", Kind: CouponPercent, PercentBP: 1000, Duration: CouponForever}},
		CouponContext:   CouponContext{Now: day("2024-06-01"), CustomerID: 1},
		TaxRules:        []TaxRule{{Level: 1, Name: "VAT", Country: "NL", RateMilliPercent: 21000}},
		Tax:             TaxContext{Country: "NL", SellerCountry: "NL"},
		CreditAvailable: money(300, "EUR"),
	}
	for b.Loop() {
		if _, _, err := BuildInvoice(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildInvoiceReverseCharge(b *testing.B) {
	in := InvoiceInput{
		Currency: "EUR",
		Items:    []Line{productLine(1, money(1999, "EUR"))},
		TaxRules: []TaxRule{{Level: 1, Name: "VAT", Country: "FR", RateMilliPercent: 20000}},
		Tax:      TaxContext{Country: "FR", VATID: "FR40303265045", SellerCountry: "DE"},
	}
	for b.Loop() {
		if _, _, err := BuildInvoice(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAllocate(b *testing.B) {
	m := money(1_000_000, "USD")
	for b.Loop() {
		if _, err := m.Allocate(3, 7, 11, 13, 17); err != nil {
			b.Fatal(err)
		}
	}
}
