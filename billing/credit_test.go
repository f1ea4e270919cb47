package billing

import (
	"errors"
	"testing"
)

func TestCreditLedgerBalanceIsTheSumOfEntries(t *testing.T) {
	l, err := NewCreditLedger("usd")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op      func() error
		balance int64
	}{
		{func() error { return l.Add(money(1000, "USD"), "goodwill") }, 1000},
		{func() error { return l.Use(money(300, "USD"), "invoice 7") }, 700},
		{func() error { return l.RefundToCredit(money(250, "USD"), "refund of invoice 3") }, 950},
		{func() error { return l.Adjust(money(-950, "USD"), "correction") }, 0},
		{func() error { return l.Adjust(money(5, "USD"), "correction") }, 5},
	}
	for i, s := range steps {
		if err := s.op(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := l.Balance(); got != money(s.balance, "USD") {
			t.Fatalf("step %d: balance %v; want %d", i, got, s.balance)
		}
	}
	if n := len(l.Entries()); n != len(steps) {
		t.Errorf("%d entries; want %d", n, len(steps))
	}
}

func TestCreditLedgerRefusesToGoNegativeAndChangesNothing(t *testing.T) {
	l, _ := NewCreditLedger("EUR")
	if err := l.Add(money(500, "EUR"), "promo"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
		want error
	}{
		{"use more than the balance", func() error { return l.Use(money(501, "EUR"), "") }, ErrInsufficientCredit},
		{"adjust below zero", func() error { return l.Adjust(money(-501, "EUR"), "") }, ErrInsufficientCredit},
		{"record a raw use below zero", func() error { return l.Record(CreditEntry{Kind: CreditUse, Amount: money(-600, "EUR")}) }, ErrInsufficientCredit},
		{"use zero", func() error { return l.Use(money(0, "EUR"), "") }, ErrInvalidAmount},
		{"add a negative", func() error { return l.Add(money(-1, "EUR"), "") }, ErrInvalidAmount},
		{"refund zero", func() error { return l.RefundToCredit(money(0, "EUR"), "") }, ErrInvalidAmount},
		{"adjust by zero", func() error { return l.Adjust(money(0, "EUR"), "") }, ErrInvalidAmount},
		{"use recorded as positive", func() error { return l.Record(CreditEntry{Kind: CreditUse, Amount: money(1, "EUR")}) }, ErrInvalidAmount},
		{"unknown kind", func() error { return l.Record(CreditEntry{Kind: "gift", Amount: money(1, "EUR")}) }, ErrInvalidAmount},
		{"another currency", func() error { return l.Add(money(1, "USD"), "") }, ErrCurrencyMismatch},
		{"overflow", func() error { return l.Add(money(1<<63-1, "EUR"), "") }, ErrOverflow},
	} {
		if err := tc.op(); !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v; want %v", tc.name, err, tc.want)
		}
		if l.Balance() != money(500, "EUR") || len(l.Entries()) != 1 {
			t.Fatalf("%s changed the ledger: balance %v, %d entries", tc.name, l.Balance(), len(l.Entries()))
		}
	}
	if err := l.Use(money(500, "EUR"), "invoice 9"); err != nil || !l.Balance().IsZero() {
		t.Errorf("using the whole balance: %v, balance %v", err, l.Balance())
	}
}
