package billing

import (
	"errors"
	"testing"
)

func productLine(id int64, amount Money) Line {
	return Line{Kind: LineProduct, Description: "Product", Amount: amount, ProductID: id, Taxable: true}
}

func discountTotal(lines []Line) int64 {
	var s int64
	for _, l := range lines {
		s += l.Amount.Amount
	}
	return s
}

func TestApplyCouponsDiscountsEligibleLines(t *testing.T) {
	now := day("2024-06-01")
	vps, web := productLine(1, money(1999, "USD")), productLine(2, money(500, "USD"))
	setup := Line{Kind: LineSetup, Description: "Setup", Amount: money(1000, "USD"), ProductID: 1, Taxable: true}
	for _, tc := range []struct {
		name   string
		lines  []Line
		coupon Coupon
		want   []int64 // discount line amounts in order
	}{
		{"25% of 19.99 = 4.9975 → 5.00", []Line{vps}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 2500, Duration: CouponOnce}, []int64{-500}},
		{"percent on every product", []Line{vps, web}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 1000, Duration: CouponOnce}, []int64{-200, -50}},
		{"restricted to product 2", []Line{vps, web}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 1000, Duration: CouponOnce, ProductIDs: []int64{2}}, []int64{-50}},
		{"100% leaves zero, not less", []Line{vps}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 10000, Duration: CouponOnce}, []int64{-1999}},
		{"fixed per line in the invoice currency", []Line{vps, web}, Coupon{Code: "F", Kind: CouponFixed, Fixed: []Money{money(400, "EUR"), money(300, "USD")}, Duration: CouponOnce}, []int64{-300, -300}},
		{"fixed larger than the line stops at zero", []Line{web}, Coupon{Code: "F", Kind: CouponFixed, Fixed: []Money{money(10000, "USD")}, Duration: CouponOnce}, []int64{-500}},
		{"setup fees only with IncludeSetup", []Line{vps, setup}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 5000, Duration: CouponOnce}, []int64{-1000}},
		{"setup fees included", []Line{vps, setup}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 5000, Duration: CouponOnce, IncludeSetup: true}, []int64{-1000, -500}},
		{"JPY percent", []Line{productLine(1, money(1234, "JPY"))}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 1500, Duration: CouponOnce}, []int64{-185}},   // 185.1
		{"KWD percent", []Line{productLine(1, money(12345, "KWD"))}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 3333, Duration: CouponOnce}, []int64{-4115}}, // 4114.589
		{"zero-amount lines are skipped", []Line{productLine(1, money(0, "USD")), web}, Coupon{Code: "Q", Kind: CouponPercent, PercentBP: 1000, Duration: CouponOnce}, []int64{-50}},
	} {
		got, err := ApplyCoupons(tc.lines, []Coupon{tc.coupon}, CouponContext{Now: now, CustomerID: 7})
		if err != nil {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d discount lines %+v; want %v", tc.name, len(got), got, tc.want)
			continue
		}
		for i, l := range got {
			if l.Amount.Amount != tc.want[i] || l.Kind != LineDiscount || l.CouponCode != tc.coupon.Code || l.Amount.Currency != tc.lines[0].Amount.Currency || !l.Taxable {
				t.Errorf("%s: line %d = %+v; want %d", tc.name, i, l, tc.want[i])
			}
		}
	}
}

func TestCouponDurationCountsAppliedCycles(t *testing.T) {
	lines := []Line{productLine(1, money(1000, "USD"))}
	for _, tc := range []struct {
		coupon Coupon
		cycles int // of 6, how many get the discount
	}{
		{Coupon{Code: "ONCE", Kind: CouponPercent, PercentBP: 5000, Duration: CouponOnce}, 1},
		{Coupon{Code: "THREE", Kind: CouponPercent, PercentBP: 5000, Duration: CouponRepeating, Cycles: 3}, 3},
		{Coupon{Code: "ALWAYS", Kind: CouponPercent, PercentBP: 5000, Duration: CouponForever}, 6},
	} {
		use := CouponUse{}
		discounted := 0
		for cycle := 1; cycle <= 6; cycle++ {
			// The code expires after the first invoice: a granted recurring discount keeps going.
			ctx := CouponContext{Now: day("2024-01-01").AddDate(0, cycle-1, 0), CustomerID: 1, Usage: map[string]CouponUse{tc.coupon.Code: use}}
			tc.coupon.ExpiresAt = day("2024-01-15")
			got, err := ApplyCoupons(lines, []Coupon{tc.coupon}, ctx)
			if err != nil {
				t.Fatalf("%s cycle %d: %v", tc.coupon.Code, cycle, err)
			}
			if len(got) > 0 {
				discounted++
				if use.CyclesApplied == 0 {
					use.Uses++
				}
				use.CyclesApplied++
			}
		}
		if discounted != tc.cycles {
			t.Errorf("%s: discounted %d of 6 cycles; want %d", tc.coupon.Code, discounted, tc.cycles)
		}
	}
}

func TestCouponRedemptionErrors(t *testing.T) {
	now := day("2024-06-01")
	lines := []Line{productLine(1, money(1000, "USD"))}
	base := Coupon{Code: "SAVE", Kind: CouponPercent, PercentBP: 1000, Duration: CouponForever}
	with := func(f func(*Coupon)) Coupon { c := base; f(&c); return c }
	for _, tc := range []struct {
		name    string
		coupons []Coupon
		usage   map[string]CouponUse
		lines   []Line
		want    error
	}{
		{"expired at the instant", []Coupon{with(func(c *Coupon) { c.ExpiresAt = now })}, nil, lines, ErrCouponExpired},
		{"expired yesterday", []Coupon{with(func(c *Coupon) { c.ExpiresAt = now.AddDate(0, 0, -1) })}, nil, lines, ErrCouponExpired},
		{"all uses taken", []Coupon{with(func(c *Coupon) { c.MaxUses = 10 })}, map[string]CouponUse{"SAVE": {Uses: 10}}, lines, ErrCouponExhausted},
		{"used by this customer", []Coupon{with(func(c *Coupon) { c.OncePerCustomer = true })}, map[string]CouponUse{"SAVE": {Uses: 1, PerCustomer: map[int64]int{7: 1}}}, lines, ErrCouponAlreadyUsed},
		{"restricted to another product", []Coupon{with(func(c *Coupon) { c.ProductIDs = []int64{99} })}, nil, lines, ErrCouponNotApplicable},
		{"nothing to discount", []Coupon{base}, nil, []Line{{Kind: LineSetup, Amount: money(500, "USD"), ProductID: 1}}, ErrCouponNotApplicable},
		{"fixed without this currency", []Coupon{with(func(c *Coupon) { c.Kind = CouponFixed; c.Fixed = []Money{money(500, "EUR")} })}, nil, lines, ErrCouponCurrency},
		{"not stackable", []Coupon{base, with(func(c *Coupon) { c.Code = "MORE"; c.Stackable = true })}, nil, lines, ErrCouponNotStackable},
		{"not stackable, second", []Coupon{with(func(c *Coupon) { c.Stackable = true }), with(func(c *Coupon) { c.Code = "MORE" })}, nil, lines, ErrCouponNotStackable},
		{"percent over 100", []Coupon{with(func(c *Coupon) { c.PercentBP = 10001 })}, nil, lines, ErrInvalidCoupon},
		{"percent zero", []Coupon{with(func(c *Coupon) { c.PercentBP = 0 })}, nil, lines, ErrInvalidCoupon},
		{"repeating for zero cycles", []Coupon{with(func(c *Coupon) { c.Duration = CouponRepeating })}, nil, lines, ErrInvalidCoupon},
		{"unknown duration", []Coupon{with(func(c *Coupon) { c.Duration = "weekly" })}, nil, lines, ErrInvalidCoupon},
		{"same code twice", []Coupon{with(func(c *Coupon) { c.Stackable = true }), with(func(c *Coupon) { c.Stackable = true })}, nil, lines, ErrInvalidCoupon},
		{"negative fixed", []Coupon{with(func(c *Coupon) { c.Kind = CouponFixed; c.Fixed = []Money{money(-5, "USD")} })}, nil, lines, ErrInvalidCoupon},
		{"mixed-currency lines", []Coupon{base}, nil, []Line{productLine(1, money(1, "USD")), productLine(2, money(1, "EUR"))}, ErrCurrencyMismatch},
	} {
		_, err := ApplyCoupons(tc.lines, tc.coupons, CouponContext{Now: now, CustomerID: 7, Usage: tc.usage})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestCouponsThatAreNotRedeemedSkipRedemptionChecks(t *testing.T) {
	now := day("2024-06-01")
	lines := []Line{productLine(1, money(1000, "USD"))}
	c := Coupon{Code: "LOYAL", Kind: CouponPercent, PercentBP: 1000, Duration: CouponForever,
		ExpiresAt: day("2024-01-01"), MaxUses: 1, OncePerCustomer: true}
	usage := map[string]CouponUse{"LOYAL": {Uses: 1, PerCustomer: map[int64]int{7: 1}, CyclesApplied: 4}}
	got, err := ApplyCoupons(lines, []Coupon{c}, CouponContext{Now: now, CustomerID: 7, Usage: usage})
	if err != nil || discountTotal(got) != -100 {
		t.Fatalf("continuing forever coupon: %v, %v; want USD -1.00", got, err)
	}
	// A once coupon used up is inert, so it does not block a non-stackable one.
	spent := Coupon{Code: "WELCOME", Kind: CouponPercent, PercentBP: 5000, Duration: CouponOnce}
	usage["WELCOME"] = CouponUse{Uses: 1, CyclesApplied: 1}
	got, err = ApplyCoupons(lines, []Coupon{spent, c}, CouponContext{Now: now, CustomerID: 7, Usage: usage})
	if err != nil || discountTotal(got) != -100 {
		t.Fatalf("spent once coupon next to a non-stackable one: %v, %v; want only USD -1.00", got, err)
	}
	// A continuing coupon whose product left the invoice gives nothing, and no error.
	got, err = ApplyCoupons([]Line{productLine(2, money(1000, "USD"))}, []Coupon{{Code: "LOYAL", Kind: CouponPercent, PercentBP: 1000,
		Duration: CouponForever, ProductIDs: []int64{1}}}, CouponContext{Now: now, Usage: usage})
	if err != nil || len(got) != 0 {
		t.Fatalf("continuing coupon for a product no longer billed: %v, %v; want none", got, err)
	}
}

func TestStackedCouponsApplyInOrderToWhatIsLeft(t *testing.T) {
	lines := []Line{productLine(1, money(1000, "USD"))}
	half := Coupon{Code: "HALF", Kind: CouponPercent, PercentBP: 5000, Duration: CouponOnce, Stackable: true}
	fiver := Coupon{Code: "FIVE", Kind: CouponFixed, Fixed: []Money{money(500, "USD")}, Duration: CouponOnce, Stackable: true}
	three := Coupon{Code: "THREE", Kind: CouponFixed, Fixed: []Money{money(300, "USD")}, Duration: CouponOnce, Stackable: true}
	for _, tc := range []struct {
		name    string
		coupons []Coupon
		want    []int64
	}{
		{"percent then fixed", []Coupon{half, three}, []int64{-500, -300}},
		{"fixed then percent", []Coupon{three, half}, []int64{-300, -350}},
		{"fixed coupons beyond the price stop at zero", []Coupon{fiver, renamed(fiver, "FIVE2"), three}, []int64{-500, -500}},
	} {
		got, err := ApplyCoupons(lines, tc.coupons, CouponContext{Now: day("2024-01-01")})
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %+v, %v; want %v", tc.name, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i].Amount.Amount != tc.want[i] {
				t.Errorf("%s: line %d = %d; want %d", tc.name, i, got[i].Amount.Amount, tc.want[i])
			}
		}
	}
}

func renamed(c Coupon, code string) Coupon { c.Code = code; return c }
