package billing

import (
	"errors"
	"slices"
	"testing"
)

func eurM(cents int64) Money { return Money{Amount: cents, Currency: "EUR"} }

// taxedInvoice is one taxable product line of base cents and one tax line per amount in taxes.
func taxedInvoice(base int64, taxes ...int64) Invoice {
	inv := Invoice{Currency: "EUR", Lines: []Line{{Kind: LineProduct, Description: "VPS", Amount: eurM(base), Taxable: true}}}
	for i, t := range taxes {
		inv.Lines = append(inv.Lines, Line{Kind: LineTax, Description: []string{"VAT 21%", "QST 9.975%"}[i], Amount: eurM(t)})
	}
	return inv
}

func TestCreditNoteTaxReturnsTheInvoicedShareRoundedHalfUp(t *testing.T) {
	withDiscount := taxedInvoice(2000, 378) // 20.00 less a 2.00 discount = 18.00 taxable, 21% = 3.78
	withDiscount.Lines = append(withDiscount.Lines, Line{Kind: LineDiscount, Amount: eurM(-200), Taxable: true})
	tests := []struct {
		name        string
		inv         Invoice
		net, before int64   // net credited now and by earlier notes
		taxBefore   []int64 // tax credited by earlier notes, per tax line
		want        []int64 // tax credited now, per tax line with something to return
	}{
		{"full credit returns exactly the invoiced tax", taxedInvoice(1999, 420), 1999, 0, nil, []int64{420}},
		{"partial credit: 10.00 × 4.20 / 19.99 = 2.101 → 2.10", taxedInvoice(1999, 420), 1000, 0, nil, []int64{210}},
		{"half a cent rounds up: 0.50 × 21% = 0.105 → 0.11", taxedInvoice(1000, 210), 50, 0, nil, []int64{11}},
		{"Stripe's example: 20.00 of 100.00 at 25% → 5.00", taxedInvoice(10000, 2500), 2000, 0, nil, []int64{500}},
		{"the note that exhausts the base takes the exact rest", taxedInvoice(1999, 420), 999, 1000, []int64{210}, []int64{210}},
		{"three one-cent credits of a 3-cent base: the last returns the cent", taxedInvoice(3, 1), 1, 2, []int64{0}, []int64{1}},
		{"one-cent credit of a 3-cent base: 0.33 → nothing", taxedInvoice(3, 1), 1, 0, nil, nil},
		{"rounding up never passes what is left", taxedInvoice(2, 1), 1, 1, []int64{1}, nil},
		{"discounts lower the base: 9.00 of 18.00 → 1.89", withDiscount, 900, 0, nil, []int64{189}},
		{"two levels, compound: 50.00 of CAD-like 100.00 with 5.00 and 10.47", taxedInvoice(10000, 500, 1047), 5000, 0, nil, []int64{250, 524}},
		{"no tax lines (reverse charge): nothing", taxedInvoice(10000), 10000, 0, nil, nil},
		{"nothing credited now: nothing", taxedInvoice(1000, 210), 0, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before []Money
			for _, a := range tc.taxBefore {
				before = append(before, eurM(a))
			}
			lines, err := CreditNoteTax(tc.inv, eurM(tc.net), eurM(tc.before), before)
			if err != nil {
				t.Fatalf("CreditNoteTax(net %d after %d): %v", tc.net, tc.before, err)
			}
			var got []int64
			for _, l := range lines {
				if l.Kind != LineTax || l.Description == "" || l.Amount.Currency != "EUR" {
					t.Errorf("line %+v: want a described EUR tax line", l)
				}
				got = append(got, l.Amount.Amount)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("crediting %d after %d of base with tax %v returned tax %v; want %v", tc.net, tc.before, tc.inv.Lines, got, tc.want)
			}
		})
	}
}

func TestCreditNoteTaxOverSeveralNotesSumsToTheInvoicedTax(t *testing.T) {
	inv := taxedInvoice(1999, 420) // 19.99 at 21%
	credited, creditedTax := eurM(0), []Money{eurM(0)}
	for _, net := range []int64{333, 333, 333, 1000} {
		lines, err := CreditNoteTax(inv, eurM(net), credited, creditedTax)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			creditedTax[0].Amount += l.Amount.Amount
		}
		credited.Amount += net
	}
	if credited.Amount != 1999 || creditedTax[0].Amount != 420 {
		t.Fatalf("four notes credited net %d and tax %d; want 1999 and exactly the invoiced 420", credited.Amount, creditedTax[0].Amount)
	}
}

func TestCreditNoteTaxRefusesMoreThanTheBase(t *testing.T) {
	inv := taxedInvoice(1000, 210)
	if _, err := CreditNoteTax(inv, eurM(600), eurM(500), []Money{eurM(105)}); !errors.Is(err, ErrInvalidAmount) {
		t.Fatalf("crediting 6.00 after 5.00 of a 10.00 base: err = %v; want ErrInvalidAmount", err)
	}
	if _, err := CreditNoteTax(inv, eurM(-1), eurM(0), nil); !errors.Is(err, ErrInvalidAmount) {
		t.Fatalf("negative net: err = %v; want ErrInvalidAmount", err)
	}
	if _, err := CreditNoteTax(inv, Money{Amount: 100, Currency: "USD"}, eurM(0), nil); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("USD net on a EUR invoice: err = %v; want ErrCurrencyMismatch", err)
	}
}

func TestCreditNoteReasonsHaveLabels(t *testing.T) {
	for _, r := range CreditNoteReasons {
		if !r.Valid() || r.Label() == string(r) {
			t.Errorf("reason %q: valid %v, label %q; want valid with a readable label", r, r.Valid(), r.Label())
		}
	}
	if CreditNoteReason("whim").Valid() {
		t.Error(`reason "whim" is valid; want only the listed reasons`)
	}
}
