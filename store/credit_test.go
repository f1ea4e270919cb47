package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestConcurrentCreditUsesNeverOverdraw(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "credit@example.com")
	if _, err := s.AddCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(1000), Note: "goodwill", CreatedBy: "admin:1", IdempotencyKey: "grant-1"}); err != nil {
		t.Fatal(err)
	}
	const n = 10 // ten uses of USD 3.00 against USD 10.00: exactly three can succeed
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UseCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(300), CreatedBy: "t", IdempotencyKey: fmt.Sprintf("use-%d", i)})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, billing.ErrInsufficientCredit):
				refused.Add(1)
			default:
				t.Errorf("use %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	bal, err := s.CreditBalance(ctx, u.ID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 3 || refused.Load() != n-3 || bal != usd(100) {
		t.Fatalf("%d uses succeeded, %d refused, balance %s; want 3, %d, USD 1.00", ok.Load(), refused.Load(), bal, n-3)
	}
}

func TestCreditEntryIsRecordedOncePerKey(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "credit-idem@example.com")
	add := store.CreditChange{CustomerID: u.ID, Amount: usd(500), CreatedBy: "t", IdempotencyKey: "grant"}
	first, err := s.AddCredit(ctx, add)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.AddCredit(ctx, add)
	if err != nil || !again.AlreadyRecorded || again.ID != first.ID {
		t.Fatalf("retried grant = %+v, %v; want AlreadyRecorded entry %d", again, err, first.ID)
	}
	if _, err := s.UseCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(500), CreatedBy: "t", IdempotencyKey: "grant"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("key reused for a different movement: err = %v; want ErrConflict", err)
	}
	use, err := s.UseCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(200), CreatedBy: "t", IdempotencyKey: "use"})
	if err != nil || use.Amount != usd(-200) || use.Kind != billing.CreditUse {
		t.Fatalf("use = %+v, %v; want a USD -2.00 use entry", use, err)
	}
	if _, err := s.AdjustCredit(ctx, store.CreditChange{CustomerID: u.ID, Amount: usd(-301), CreatedBy: "admin:1", IdempotencyKey: "adj"}); !errors.Is(err, billing.ErrInsufficientCredit) {
		t.Fatalf("adjusting USD 3.00 by -3.01: err = %v; want ErrInsufficientCredit", err)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "USD"); bal != usd(300) {
		t.Fatalf("balance = %s; want USD 3.00 (5.00 granted once, 2.00 used)", bal)
	}
	if bal, _ := s.CreditBalance(ctx, u.ID, "EUR"); !bal.IsZero() {
		t.Fatalf("EUR balance = %s; want 0", bal)
	}
	entries, err := s.CreditEntries(ctx, u.ID, "USD")
	if err != nil || len(entries) != 2 {
		t.Fatalf("entries = %+v, %v; want 2", entries, err)
	}
}
