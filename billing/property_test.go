package billing

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Property tests: random journeys of a subscription (plan changes, renewal invoices with
// coupons, tax and credit, payments and refunds, credit movements) checked against
// independent big-integer oracles. The seed is fixed so every CI run checks the same
// sequences; BILLING_PROP_SEED=<n> explores another. A failure names the seed and sequence.

const propSeed uint64 = 20240229

const (
	propSequences = 100_000
	propShards    = 8
	propMaxReport = 20 // violations printed in full; all are counted
)

func propertySeed(t *testing.T) uint64 {
	if s := os.Getenv("BILLING_PROP_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("BILLING_PROP_SEED=%q: %v", s, err)
		}
		return v
	}
	return propSeed
}

// prop reports invariant violations for one sequence (or one fuzz input).
type prop struct {
	errorf func(format string, args ...any)
}

func (p prop) failf(format string, args ...any) { p.errorf(format, args...) }

func TestPropertyRandomSequencesKeepEveryInvariant(t *testing.T) {
	seed := propertySeed(t)
	var violations atomic.Int64
	started := time.Now()
	t.Run("shards", func(t *testing.T) {
		for shard := range propShards {
			t.Run(strconv.Itoa(shard), func(t *testing.T) {
				t.Parallel()
				for i := shard; i < propSequences; i += propShards {
					p := prop{errorf: func(format string, args ...any) {
						if violations.Add(1) <= propMaxReport {
							t.Errorf("seed %d sequence %d (rerun: BILLING_PROP_SEED=%d go test -run TestPropertyRandomSequences ./billing/): %s",
								seed, i, seed, fmt.Sprintf(format, args...))
						}
					}}
					p.sequence(rand.New(rand.NewPCG(seed, uint64(i))))
				}
			})
		}
	})
	if n := violations.Load(); n != 0 {
		t.Fatalf("seed %d: %d invariant violations in %d sequences", seed, n, propSequences)
	}
	t.Logf("seed %d: %d sequences, 0 violations, %v", seed, propSequences, time.Since(started).Round(time.Millisecond))
}

// sequence is one random journey of a subscription.
func (p prop) sequence(r *rand.Rand) {
	currencies := []string{"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "KWD", "BHD"}
	cur := currencies[r.IntN(len(currencies))]
	p.allocate(r, cur)
	p.mulRatio(r)

	j := journey{p: p, r: r, cur: cur, customer: r.Int64N(1000) + 1}
	j.start = randDate(r)
	j.cycle = []Cycle{Monthly, Quarterly, SemiAnnual, Annual, Biennial, Triennial}[r.IntN(6)]
	j.price = randPrice(r, cur)
	j.ledger, _ = NewCreditLedger(cur)
	j.coupons, j.usage = randCoupons(r, cur, j.start)
	j.applied = map[string]int{}
	j.tax = randTax(r)
	for n := range 1 + r.IntN(4) {
		j.period(n)
	}
}

type journey struct {
	p        prop
	r        *rand.Rand
	cur      string
	customer int64
	start    time.Time
	cycle    Cycle
	price    Money
	ledger   *CreditLedger
	coupons  []Coupon
	usage    map[string]CouponUse
	applied  map[string]int // cycles each coupon discounted, counted by the test
	tax      taxCase
	balance  int64 // the test's own credit balance
}

// period runs the n-th billing period: maybe a plan change, the invoice, its settlement, and
// some credit movements.
func (j *journey) period(n int) {
	p, r := j.p, j.r
	pStart, pEnd := j.cycle.DueDate(j.start, n), j.cycle.DueDate(j.start, n+1)
	p.dueDates(j.cycle, j.start, n, pStart, pEnd)

	var items []Line
	items = append(items, Line{Kind: LineProduct, Description: "Plan", Amount: j.price, ProductID: 1, Taxable: r.IntN(4) != 0})
	if r.IntN(3) == 0 {
		newPrice := randPrice(r, j.cur)
		if pr, ok := p.proration(r, j.price, newPrice, pStart, pEnd); ok {
			j.price = newPrice
			switch {
			case pr.Net.IsPositive():
				items = append(items, Line{Kind: LineProration, Description: "Upgrade", Amount: pr.Net, ProductID: 1, Taxable: true})
			case pr.Net.IsNegative():
				j.credit(CreditAdd, -pr.Net.Amount) // downgrade credit goes to the account
			}
		}
	}
	for id := int64(2); id <= 3; id++ {
		if r.IntN(3) == 0 {
			items = append(items, Line{Kind: LineProduct, Description: "Addon", Amount: randPrice(r, j.cur), ProductID: id, Taxable: r.IntN(2) == 0})
		}
	}
	if r.IntN(4) == 0 {
		items = append(items, Line{Kind: LineSetup, Description: "Setup", Amount: randPrice(r, j.cur), ProductID: 4, Taxable: r.IntN(2) == 0})
	}

	now := pStart.Add(time.Duration(r.IntN(86400)) * time.Second)
	in := InvoiceInput{
		Currency: j.cur, Items: items, Coupons: j.coupons,
		CouponContext: CouponContext{Now: now, CustomerID: j.customer, Usage: j.usage},
		TaxRules:      j.tax.rules, Tax: j.tax.ctx, CreditAvailable: j.ledger.Balance(),
	}
	inv, used, err := BuildInvoice(in)
	if err != nil {
		if !isCouponError(err) {
			p.failf("BuildInvoice(%+v): unexpected error %v", in, err)
			return
		}
		in.Coupons = nil
		if inv, used, err = BuildInvoice(in); err != nil {
			p.failf("BuildInvoice without coupons: %v", err)
			return
		}
	}
	p.invoice(in, inv, used, j.tax)
	j.recordCoupons(inv, in.Coupons, now)
	if used.IsPositive() {
		j.credit(CreditUse, used.Amount)
	}
	total, _ := inv.Total()
	if !total.IsNegative() {
		j.settle(total)
	} else {
		j.credit(CreditAdd, -total.Amount) // a credit invoice credits the account
	}
	for range r.IntN(3) {
		kinds := []CreditKind{CreditAdd, CreditUse, CreditRefund, CreditAdjust}
		amount := randPrice(r, j.cur).Amount
		if r.IntN(2) == 0 {
			amount = j.balance + int64(r.IntN(3)) - 1 // around the balance: the edge
		}
		j.credit(kinds[r.IntN(len(kinds))], amount)
	}
	j.ledgerSum()
}

// credit moves account credit and checks the ledger against the test's own balance.
func (j *journey) credit(kind CreditKind, amount int64) {
	p := j.p
	m := Money{Amount: amount, Currency: j.cur}
	var err error
	delta := amount
	switch kind {
	case CreditAdd:
		err = j.ledger.Add(m, "add")
	case CreditUse:
		err = j.ledger.Use(m, "use")
		delta = -amount
	case CreditRefund:
		err = j.ledger.RefundToCredit(m, "refund")
	case CreditAdjust:
		if j.r.IntN(2) == 0 {
			m.Amount, delta = -amount, -amount
		}
		err = j.ledger.Adjust(m, "adjust")
	}
	valid := amount > 0 || (kind == CreditAdjust && amount != 0)
	want := valid && j.balance+delta >= 0
	if (err == nil) != want {
		p.failf("credit %s %d on balance %d: error %v, want success %v", kind, delta, j.balance, err, want)
	}
	if err == nil {
		j.balance += delta
	} else if !errors.Is(err, ErrInsufficientCredit) && !errors.Is(err, ErrInvalidAmount) {
		p.failf("credit %s %d: unexpected error %v", kind, delta, err)
	}
	if b := j.ledger.Balance(); b.Amount != j.balance || b.Amount < 0 {
		p.failf("credit balance %v, expected %d (never negative)", b, j.balance)
	}
}

// ledgerSum checks that the credit balance is the sum of the ledger's entries.
func (j *journey) ledgerSum() {
	var sum int64
	for _, e := range j.ledger.Entries() {
		sum += e.Amount.Amount
	}
	if sum != j.balance || j.ledger.Balance().Amount != sum {
		j.p.failf("credit entries sum to %d, balance %v, expected %d", sum, j.ledger.Balance(), j.balance)
	}
}

func (j *journey) recordCoupons(inv Invoice, coupons []Coupon, now time.Time) {
	for _, c := range coupons {
		hit := false
		for _, l := range inv.Lines {
			hit = hit || l.CouponCode == c.Code
		}
		if !hit {
			continue
		}
		use := j.usage[c.Code]
		if use.CyclesApplied == 0 {
			use.Uses++
			pc := map[int64]int{}
			for k, v := range use.PerCustomer {
				pc[k] = v
			}
			pc[j.customer]++
			use.PerCustomer = pc
			if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
				j.p.failf("coupon %s expiring %s redeemed at %s", c.Code, c.ExpiresAt, now)
			}
		}
		use.CyclesApplied++
		j.usage[c.Code] = use
		j.applied[c.Code]++
		limit := map[CouponDuration]int{CouponOnce: 1, CouponRepeating: c.Cycles, CouponForever: math.MaxInt}[c.Duration]
		if j.applied[c.Code] > limit {
			j.p.failf("coupon %s (%s, %d cycles) discounted %d cycles", c.Code, c.Duration, c.Cycles, j.applied[c.Code])
		}
		if c.MaxUses > 0 && use.Uses > c.MaxUses {
			j.p.failf("coupon %s redeemed %d times, max %d", c.Code, use.Uses, c.MaxUses)
		}
		if c.OncePerCustomer && use.PerCustomer[j.customer] > 1 {
			j.p.failf("once-per-customer coupon %s redeemed %d times by customer %d", c.Code, use.PerCustomer[j.customer], j.customer)
		}
	}
}

// settle pays and refunds an invoice at random and checks the settlement against sums kept here.
func (j *journey) settle(total Money) {
	p, r := j.p, j.r
	s, err := NewSettlement(total)
	if err != nil {
		p.failf("NewSettlement(%v): %v", total, err)
		return
	}
	if r.IntN(10) == 0 {
		if err := s.Pay(Payment{Amount: Money{Amount: 1, Currency: j.cur}, Gateway: "stripe", TransactionID: "draft"}); !errors.Is(err, ErrNotIssued) {
			p.failf("payment on a draft: %v, want ErrNotIssued", err)
		}
	}
	s.Issue()
	var paid, refunded int64
	var txns []string
	for k := range 1 + r.IntN(6) {
		switch r.IntN(5) {
		case 0, 1: // pay the amount due, or part of it, or more
			amount := max(1, total.Amount-paid)
			if r.IntN(3) == 0 {
				amount = 1 + r.Int64N(amount)
			} else if r.IntN(10) == 0 {
				amount += r.Int64N(1000)
			}
			id := "txn" + strconv.Itoa(k)
			dup := len(txns) > 0 && r.IntN(5) == 0
			if dup {
				id = txns[r.IntN(len(txns))]
			}
			err := s.Pay(Payment{Amount: Money{Amount: amount, Currency: j.cur}, Gateway: "stripe", TransactionID: id})
			switch {
			case dup && !errors.Is(err, ErrDuplicatePayment):
				p.failf("duplicate payment %s: %v, want ErrDuplicatePayment", id, err)
			case !dup && err != nil:
				p.failf("payment %d: %v", amount, err)
			case !dup:
				paid += amount
				txns = append(txns, id)
			}
		default: // refund some, all, or too much
			left := paid - refunded
			amount := left
			switch r.IntN(3) {
			case 0:
				amount = left + 1 + r.Int64N(100)
			case 1:
				if left > 0 {
					amount = 1 + r.Int64N(left)
				}
			}
			id := "re" + strconv.Itoa(k)
			err := s.Refund(Refund{Amount: Money{Amount: amount, Currency: j.cur}, Gateway: "stripe", RefundID: id})
			switch {
			case amount <= 0:
				if !errors.Is(err, ErrInvalidAmount) {
					p.failf("refund of %d: %v, want ErrInvalidAmount", amount, err)
				}
			case amount > left:
				if !errors.Is(err, ErrRefundExceedsPaid) {
					p.failf("refund %d with %d paid and %d refunded: %v, want ErrRefundExceedsPaid", amount, paid, refunded, err)
				}
			case err != nil:
				p.failf("refund %d with %d paid and %d refunded: %v", amount, paid, refunded, err)
			default:
				refunded += amount
				if r.IntN(2) == 0 {
					j.credit(CreditRefund, amount) // refunded to account credit
				}
			}
		}
		p.settlementState(s, total.Amount, paid, refunded)
	}
}

func (p prop) settlementState(s *Settlement, total, paid, refunded int64) {
	if s.Paid().Amount != paid || s.Refunded().Amount != refunded || s.NetPaid().Amount != paid-refunded {
		p.failf("settlement paid %v refunded %v net %v; want %d, %d, %d", s.Paid(), s.Refunded(), s.NetPaid(), paid, refunded, paid-refunded)
	}
	if s.Refunded().Amount > s.Paid().Amount {
		p.failf("refunded %v exceeds paid %v", s.Refunded(), s.Paid())
	}
	if due := max(0, total-paid); s.AmountDue().Amount != due {
		p.failf("amount due %v; want %d (total %d, paid %d)", s.AmountDue(), due, total, paid)
	}
	want := StatusUnpaid
	switch {
	case refunded > 0 && total > 0 && paid-refunded >= total: // only an overpayment went back
		want = StatusPaid
	case refunded > 0 && refunded == paid:
		want = StatusRefunded
	case refunded > 0:
		want = StatusPartiallyRefunded
	case paid >= total:
		want = StatusPaid
	}
	if s.Status() != want {
		p.failf("status %s; want %s (total %d paid %d refunded %d)", s.Status(), want, total, paid, refunded)
	}
}

func isCouponError(err error) bool {
	for _, e := range []error{ErrCouponExpired, ErrCouponExhausted, ErrCouponAlreadyUsed, ErrCouponNotApplicable, ErrCouponNotStackable, ErrCouponCurrency} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ---- invariants of single operations, shared with the fuzz targets ----

// allocate checks that shares sum to the amount and each is within one unit of its exact share.
func (p prop) allocate(r *rand.Rand, cur string) {
	amount := randAmount(r)
	weights := make([]int64, 1+r.IntN(8))
	for i := range weights {
		switch r.IntN(4) {
		case 0:
			weights[i] = []int64{0, 0, 0, 0, 0, 0, 0, 0, math.MaxInt64, -1}[r.IntN(10)]
		case 1:
			weights[i] = r.Int64N(10)
		case 2:
			weights[i] = r.Int64N(1_000_000)
		default:
			weights[i] = r.Int64N(math.MaxInt64 / 16)
		}
	}
	p.allocation(Money{Amount: amount, Currency: cur}, weights)
}

func (p prop) allocation(m Money, weights []int64) {
	parts, err := m.Allocate(weights...)
	W := new(big.Int)
	valid := len(weights) > 0
	for _, w := range weights {
		valid = valid && w >= 0
		W.Add(W, big.NewInt(w))
	}
	valid = valid && W.Sign() > 0 && W.IsInt64()
	if !valid {
		if !errors.Is(err, ErrInvalidWeights) {
			p.failf("Allocate(%v, %v): error %v, want ErrInvalidWeights", m, weights, err)
		}
		return
	}
	if err != nil || len(parts) != len(weights) {
		p.failf("Allocate(%v, %v) = %v, %v", m, weights, parts, err)
		return
	}
	sum := new(big.Int)
	A := big.NewInt(m.Amount)
	for i, part := range parts {
		sum.Add(sum, big.NewInt(part.Amount))
		// |part × W − amount × w| < W: the part is the floor or ceiling of its exact share.
		diff := new(big.Int).Mul(big.NewInt(part.Amount), W)
		diff.Sub(diff, new(big.Int).Mul(A, big.NewInt(weights[i])))
		if diff.CmpAbs(W) >= 0 || part.Currency != m.Currency || (weights[i] == 0 && part.Amount != 0) {
			p.failf("Allocate(%v, %v): part %d = %v is not within one unit of its share", m, weights, i, part)
		}
	}
	if sum.Cmp(A) != 0 {
		p.failf("Allocate(%v, %v) = %v sums to %v: a minor unit was lost or invented", m, weights, parts, sum)
	}
}

// mulRatio checks MulRatio against the exact rational rounded half away from zero.
func (p prop) mulRatio(r *rand.Rand) {
	p.mulRatioCase(randAmount(r), randFactor(r), randFactor(r))
}

func (p prop) mulRatioCase(a, num, den int64) {
	got, err := Money{Amount: a, Currency: "USD"}.MulRatio(num, den)
	if den == 0 {
		if !errors.Is(err, ErrDivisionByZero) {
			p.failf("MulRatio(%d, %d/0): %v, want ErrDivisionByZero", a, num, err)
		}
		return
	}
	exact := new(big.Int).Mul(big.NewInt(a), big.NewInt(num))
	want := roundHalfAway(exact, big.NewInt(den))
	inRange := new(big.Int).Abs(want).Cmp(big.NewInt(math.MaxInt64)) <= 0
	if !inRange {
		if !errors.Is(err, ErrOverflow) {
			p.failf("MulRatio(%d, %d/%d) = %v, %v; exact rounds to %v, want ErrOverflow", a, num, den, got, err, want)
		}
		return
	}
	if err != nil || got.Amount != want.Int64() {
		p.failf("MulRatio(%d, %d/%d) = %v, %v; want %v", a, num, den, got.Amount, err, want)
		return
	}
	// Within half a unit of the exact rational: |got × den − a × num| × 2 <= |den|.
	dev := new(big.Int).Mul(big.NewInt(got.Amount), big.NewInt(den))
	dev.Sub(dev, exact).Abs(dev).Lsh(dev, 1)
	if dev.CmpAbs(big.NewInt(den)) > 0 {
		p.failf("MulRatio(%d, %d/%d) = %d is more than half a unit from exact", a, num, den, got.Amount)
	}
}

// roundHalfAway rounds num/den to the nearest integer, halves away from zero.
func roundHalfAway(num, den *big.Int) *big.Int {
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(num), new(big.Int).Abs(den), new(big.Int))
	if m.Lsh(m, 1).CmpAbs(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if num.Sign()*den.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

// dueDates checks the anchored due dates of a subscription.
func (p prop) dueDates(c Cycle, start time.Time, n int, from, to time.Time) {
	if next := c.NextDueAnchored(from, start.Day()); !next.Equal(to) {
		p.failf("%s from %s: NextDueAnchored(%s, %d) = %s, DueDate(%d) = %s", c, start.Format(time.DateOnly),
			from.Format(time.DateOnly), start.Day(), next.Format(time.DateOnly), n+1, to.Format(time.DateOnly))
	}
	if want := min(start.Day(), daysIn(to.Year(), to.Month())); to.Day() != want {
		p.failf("%s from %s: due %s is not on anchor day %d clamped", c, start.Format(time.DateOnly), to.Format(time.DateOnly), start.Day())
	}
	months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month())
	days := DaysBetween(from, to)
	if months != c.Months() || days < 28*months || days > 31*months {
		p.failf("%s period %s..%s spans %d months, %d days", c, from.Format(time.DateOnly), to.Format(time.DateOnly), months, days)
	}
}

// proration changes plan at a random moment of the period (sometimes outside it) and checks
// the result against exact rationals. It reports whether the change was valid.
func (p prop) proration(r *rand.Rand, oldPrice, newPrice Money, start, end time.Time) (Proration, bool) {
	total := int(end.Sub(start) / (24 * time.Hour))
	offset := r.IntN(total + 1)
	if r.IntN(50) == 0 {
		offset = []int{-1, total + 1}[r.IntN(2)]
	}
	at := start.AddDate(0, 0, offset).Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
	if r.IntN(2) == 0 {
		at = at.In(time.FixedZone("", (r.IntN(27)-12)*3600)) // the UTC date is what counts
	}
	return p.prorationCase(ChangeInput{OldPrice: oldPrice, NewPrice: newPrice, PeriodStart: start, PeriodEnd: end, ChangeAt: at}, total, total-offset)
}

func (p prop) prorationCase(in ChangeInput, total, remaining int) (Proration, bool) {
	pr, err := Prorate(in)
	if remaining < 0 || remaining > total {
		if !errors.Is(err, ErrChangeOutsidePeriod) {
			p.failf("Prorate(%+v) with %d of %d days left: %v, want ErrChangeOutsidePeriod", in, remaining, total, err)
		}
		return Proration{}, false
	}
	if err != nil {
		p.failf("Prorate(%+v): %v", in, err)
		return Proration{}, false
	}
	O, N := in.OldPrice.Amount, in.NewPrice.Amount
	if pr.TotalDays != total || pr.RemainingDays != remaining {
		p.failf("Prorate(%+v): %d of %d days; want %d of %d", in, pr.RemainingDays, pr.TotalDays, remaining, total)
	}
	t, rem := big.NewInt(int64(total)), big.NewInt(int64(remaining))
	share := func(price int64) *big.Int { return new(big.Int).Mul(big.NewInt(price), rem) }
	diff := share(N - O)
	// The headline invariant: |Net| never exceeds the price difference for the remaining days
	// rounded, and it is exactly that rounding.
	bound := roundHalfAway(new(big.Int).Abs(diff), t)
	if big.NewInt(pr.Net.Amount).CmpAbs(bound) > 0 || pr.Net.Amount != roundHalfAway(diff, t).Int64() {
		p.failf("Prorate %d → %d, %d/%d days: net %d, want round((N−O)·r/t) = %v", O, N, remaining, total, pr.Net.Amount, roundHalfAway(diff, t))
	}
	if pr.Charge.Amount-pr.Credit.Amount != pr.Net.Amount {
		p.failf("Prorate %d → %d: charge %d − credit %d ≠ net %d", O, N, pr.Charge.Amount, pr.Credit.Amount, pr.Net.Amount)
	}
	for _, f := range []struct {
		name  string
		got   int64
		price int64
	}{{"credit", pr.Credit.Amount, O}, {"charge", pr.Charge.Amount, N}} {
		// floor or ceiling of price × r / t: |got × t − price × r| < t; and 0 <= got <= price.
		dev := new(big.Int).Mul(big.NewInt(f.got), t)
		dev.Sub(dev, share(f.price))
		if dev.CmpAbs(t) >= 0 || f.got < 0 || f.got > f.price {
			p.failf("Prorate %d → %d, %d/%d days: %s %d is not within a unit of %d×%d/%d", O, N, remaining, total, f.name, f.got, f.price, remaining, total)
		}
	}
	for _, m := range []Money{pr.Credit, pr.Charge, pr.Net} {
		if m.Currency != in.OldPrice.Currency {
			p.failf("Prorate currency %q; want %q", m.Currency, in.OldPrice.Currency)
		}
	}
	return pr, true
}

// invoice checks a built invoice: totals are sums of lines, discounts never push a line below
// zero, tax matches an independent computation, credit never makes the total negative.
func (p prop) invoice(in InvoiceInput, inv Invoice, used Money, tc taxCase) {
	var total, sub, disc, tax, credit, taxable big.Int
	items := map[int64]int64{} // product/setup line amounts by product id (unique in these tests)
	for _, l := range in.Items {
		if l.Kind == LineProduct || l.Kind == LineSetup {
			items[l.ProductID] = l.Amount.Amount
		}
	}
	for _, l := range inv.Lines {
		a := big.NewInt(l.Amount.Amount)
		total.Add(&total, a)
		if l.Amount.Currency != in.Currency {
			p.failf("invoice line %+v not in %s", l, in.Currency)
		}
		if l.Taxable {
			taxable.Add(&taxable, a)
		}
		switch l.Kind {
		case LineProduct, LineSetup, LineProration:
			sub.Add(&sub, a)
		case LineDiscount:
			disc.Add(&disc, a)
			if _, ok := items[l.ProductID]; !ok || l.Amount.Amount >= 0 {
				p.failf("discount line %+v is not negative or discounts no product line", l)
			}
			items[l.ProductID] += l.Amount.Amount
		case LineTax:
			tax.Add(&tax, a)
		case LineCredit:
			credit.Add(&credit, a)
		default:
			p.failf("invoice line of kind %q", l.Kind)
		}
	}
	for id, left := range items {
		if left < 0 {
			p.failf("discounts make product %d's line negative: %d left", id, left)
		}
	}
	for _, f := range []struct {
		name string
		fn   func() (Money, error)
		want *big.Int
	}{{"Total", inv.Total, &total}, {"Subtotal", inv.Subtotal, &sub}, {"DiscountTotal", inv.DiscountTotal, &disc},
		{"TaxTotal", inv.TaxTotal, &tax}, {"CreditTotal", inv.CreditTotal, &credit}} {
		got, err := f.fn()
		if err != nil || big.NewInt(got.Amount).Cmp(f.want) != 0 || got.Currency != in.Currency {
			p.failf("invoice %s = %v, %v; sum of lines is %v", f.name, got, err, f.want)
		}
	}
	parts := new(big.Int).Add(&sub, &disc)
	parts.Add(parts, &tax).Add(parts, &credit)
	if parts.Cmp(&total) != 0 {
		p.failf("subtotal %v + discounts %v + tax %v + credit %v ≠ total %v", &sub, &disc, &tax, &credit, &total)
	}

	// Tax, recomputed from the rules this test generated.
	wantTax := new(big.Int)
	wantReverse := tc.reverse && !tc.ctx.Exempt
	if !tc.ctx.Exempt && !wantReverse {
		var l1 *big.Int
		for level, rate := range tc.rates {
			if rate < 0 {
				continue
			}
			base := new(big.Int).Set(&taxable)
			if level == 1 && tc.compound && l1 != nil {
				base.Add(base, l1)
			}
			amt := roundHalfAway(base.Mul(base, big.NewInt(rate)), big.NewInt(TaxRateScale))
			if level == 0 {
				l1 = amt
			}
			wantTax.Add(wantTax, amt)
		}
	}
	if tax.Cmp(wantTax) != 0 || inv.ReverseCharge != wantReverse {
		p.failf("tax %v reverse charge %v on taxable %v with %+v; want %v, %v", &tax, inv.ReverseCharge, &taxable, tc, wantTax, wantReverse)
	}
	if wantReverse && (len(inv.Notes) != 1 || inv.Notes[0] != ReverseChargeNote) {
		p.failf("reverse-charge invoice notes %v", inv.Notes)
	}

	// Credit: min(available, total before credit), never below zero.
	before := new(big.Int).Sub(&total, &credit).Int64()
	avail := in.CreditAvailable.Amount
	wantUsed := max(0, min(avail, before))
	if used.Amount != wantUsed || credit.Int64() != -wantUsed || used.Currency != in.Currency {
		p.failf("credit used %v (line %v) with %d available on %d due; want %d", used, &credit, avail, before, wantUsed)
	}
	if before >= 0 && total.Sign() < 0 {
		p.failf("credit made the invoice total negative: %v", &total)
	}
}

// ---- generators ----

func randDate(r *rand.Rand) time.Time {
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(41*366))
}

// randPrice is a non-negative price, mostly realistic, sometimes huge.
func randPrice(r *rand.Rand, cur string) Money {
	var a int64
	switch r.IntN(8) {
	case 0:
		a = 0
	case 1, 2:
		a = r.Int64N(1000)
	case 3, 4, 5:
		a = r.Int64N(100_000)
	case 6:
		a = r.Int64N(100_000_000)
	default:
		a = r.Int64N(1_000_000_000_000_000) // 10^15: sums of a few still fit
	}
	return Money{Amount: a, Currency: cur}
}

// randAmount is any int64, biased to small values and to the extremes.
func randAmount(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return r.Int64N(2001) - 1000
	case 1:
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, math.MaxInt64 - 1}[r.IntN(7)]
	case 2:
		return int64(r.Uint64())
	default:
		return r.Int64N(2_000_000_000) - 1_000_000_000
	}
}

func randFactor(r *rand.Rand) int64 {
	switch r.IntN(5) {
	case 0:
		return r.Int64N(21) - 10
	case 1:
		return int64(r.Uint64())
	case 2:
		return []int64{math.MaxInt64, math.MinInt64, 1, -1, 2}[r.IntN(5)]
	default:
		return r.Int64N(100_000) + 1
	}
}

func randCoupons(r *rand.Rand, cur string, start time.Time) ([]Coupon, map[string]CouponUse) {
	usage := map[string]CouponUse{}
	var coupons []Coupon
	for i := range r.IntN(4) {
		c := Coupon{Code: "C" + strconv.Itoa(i), Stackable: r.IntN(3) != 0, OncePerCustomer: r.IntN(4) == 0, IncludeSetup: r.IntN(2) == 0}
		if r.IntN(2) == 0 {
			c.Kind, c.PercentBP = CouponPercent, 1+r.Int64N(PercentScale)
		} else {
			c.Kind = CouponFixed
			c.Fixed = []Money{{Amount: 1 + r.Int64N(20_000), Currency: cur}}
			if r.IntN(10) == 0 {
				c.Fixed[0].Currency = "XPF" // not the invoice currency
			}
		}
		c.Duration = []CouponDuration{CouponOnce, CouponRepeating, CouponForever}[r.IntN(3)]
		if c.Duration == CouponRepeating {
			c.Cycles = 1 + r.IntN(3)
		}
		if r.IntN(3) == 0 {
			c.ProductIDs = []int64{1 + r.Int64N(5)} // 5 is never billed
		}
		if r.IntN(3) == 0 {
			c.ExpiresAt = start.AddDate(0, 0, r.IntN(200)-30)
		}
		if r.IntN(3) == 0 {
			c.MaxUses = 1 + r.IntN(3)
		}
		use := CouponUse{Uses: r.IntN(3)}
		if r.IntN(4) == 0 {
			use.PerCustomer = map[int64]int{}
		}
		coupons = append(coupons, c)
		usage[c.Code] = use
	}
	return coupons, usage
}

// taxCase is a random tax setup and what the test expects of it.
type taxCase struct {
	rules    []TaxRule
	ctx      TaxContext
	rates    [2]int64 // expected rate per level, -1 for none
	compound bool
	reverse  bool // the VAT id was generated valid and seller/buyer qualify
}

// propEU lists EU countries with a VAT id of valid and of invalid format for each.
func propEU() []struct{ country, valid, invalid string } {
	return []struct{ country, valid, invalid string }{
		{"DE", "DE123456789", "DE12345678"}, {"FR", "FR40303265045", "FR4030326504"},
		{"NL", "NL123456789B01", "NL123456789"}, {"GR", "EL123456789", "GR123456789"},
		{"AT", "ATU12345678", "AT12345678"}, {"IE", "IE1234567WA", "IE12345"}, {"ES", "ESX1234567X", "ES1234"},
	}
}

func randCountry(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		eu := propEU()
		return eu[r.IntN(len(eu))].country
	}
	nonEU := []string{"US", "CA", "GB", "JP", "AU", "CH"}
	return nonEU[r.IntN(len(nonEU))]
}

func randTax(r *rand.Rand) taxCase {
	tc := taxCase{rates: [2]int64{-1, -1}}
	tc.ctx = TaxContext{Country: randCountry(r), SellerCountry: randCountry(r), Exempt: r.IntN(10) == 0}
	if r.IntN(2) == 0 {
		tc.ctx.State = []string{"S1", "S2"}[r.IntN(2)]
	}
	validVAT := false
	for _, eu := range propEU() {
		if eu.country == tc.ctx.Country {
			switch r.IntN(3) {
			case 0:
				tc.ctx.VATID, validVAT = eu.valid, true
			case 1:
				tc.ctx.VATID = eu.invalid
			}
		}
	}
	tc.reverse = validVAT && IsEU(tc.ctx.SellerCountry) && tc.ctx.SellerCountry != tc.ctx.Country
	rate := func() int64 {
		if r.IntN(10) == 0 {
			return r.Int64N(TaxRateScale + 1)
		}
		return r.Int64N(30_001)
	}
	tc.compound = r.IntN(2) == 0
	for level := 1; level <= 2; level++ {
		add := func(country, state string) {
			rt := rate()
			tc.rules = append(tc.rules, TaxRule{Level: level, Name: fmt.Sprintf("L%d %s %s", level, country, state),
				Country: country, State: state, RateMilliPercent: rt, Compound: level == 2 && tc.compound})
			if country == "" || (country == tc.ctx.Country && (state == "" || state == tc.ctx.State)) {
				tc.rates[level-1] = rt // added in order of specificity: the last match wins
			}
		}
		if r.IntN(4) == 0 {
			add("", "")
		}
		if r.IntN(3) != 0 {
			add(tc.ctx.Country, "")
		}
		if r.IntN(3) == 0 {
			add(tc.ctx.Country, "S1")
		}
		if r.IntN(3) == 0 { // a rule for some other country: must not match
			other := randCountry(r)
			for other == tc.ctx.Country {
				other = randCountry(r)
			}
			tc.rules = append(tc.rules, TaxRule{Level: level, Name: "other", Country: other, RateMilliPercent: rate()})
		}
	}
	return tc
}
