package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func dollars(n int64) billing.Money { return billing.Money{Amount: n, Currency: "USD"} }

func TestImportDerivesInvoiceStatusFromDatedPaymentsAndNumbersInBatchOrder(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	day := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	c := &store.HistoricCustomer{Email: "old@example.com", Name: "Old Customer", PasswordHash: "x", CreatedAt: day}
	line := []billing.Line{{Kind: billing.LineProduct, Description: "VPS", Amount: dollars(1000)}}
	pay := func(id string, n int64, at time.Time) store.HistoricPayment {
		return store.HistoricPayment{Gateway: "stripe", GatewayTxnID: id, Amount: dollars(n), At: at, CreatedBy: "import:test"}
	}
	paid := &store.HistoricInvoice{Customer: c, Currency: "USD", Lines: line, IssuedAt: day, DueAt: day, CreatedBy: "import:test",
		IdempotencyKey: "t:1", Payments: []store.HistoricPayment{pay("a", 400, day.Add(time.Hour)), pay("b", 600, day.Add(48*time.Hour))}}
	refunded := &store.HistoricInvoice{Customer: c, Currency: "USD", Lines: line, IssuedAt: day.AddDate(0, 1, 0), DueAt: day.AddDate(0, 1, 0),
		CreatedBy: "import:test", IdempotencyKey: "t:2", Payments: []store.HistoricPayment{pay("c", 1000, day.AddDate(0, 1, 0))},
		Refunds: []store.HistoricRefund{{Payment: 0, GatewayRefundID: "r1", Amount: dollars(300), At: day.AddDate(0, 1, 3), CreatedBy: "import:test"}}}
	cancelled := &store.HistoricInvoice{Customer: c, Currency: "USD", Lines: line, IssuedAt: day.AddDate(0, 2, 0), DueAt: day.AddDate(0, 2, 0),
		CancelledAt: day.AddDate(0, 3, 0), CreatedBy: "import:test", IdempotencyKey: "t:3"}
	if err := s.Import(ctx, &store.ImportBatch{Customers: []*store.HistoricCustomer{c}, Invoices: []*store.HistoricInvoice{paid, refunded, cancelled}}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		inv    *store.HistoricInvoice
		number string
		status billing.Status
		paidAt time.Time
	}{
		{paid, "INV-1001", billing.StatusPaid, day.Add(48 * time.Hour)},
		{refunded, "INV-1002", billing.StatusPartiallyRefunded, day.AddDate(0, 1, 0)},
		{cancelled, "INV-1003", billing.StatusCancelled, time.Time{}},
	}
	for _, w := range want {
		got, err := s.Invoice(ctx, w.inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != w.number || got.Status != w.status || !got.PaidAt.Time.Equal(w.paidAt) || got.CustomerID != c.ID {
			t.Errorf("invoice %s: number %s, status %s, paid at %v; want %s, %s, %v", w.inv.IdempotencyKey, got.Number, got.Status, got.PaidAt.Time, w.number, w.status, w.paidAt)
		}
	}
	// The live series continues after the imported numbers.
	live, err := s.CreateInvoice(ctx, store.NewInvoice{CustomerID: c.ID, Currency: "USD", Lines: line, DueAt: day, IdempotencyKey: "live:1", CreatedBy: "test"})
	if err != nil || live.Number != "INV-1004" {
		t.Fatalf("next live invoice: %s, %v; want INV-1004", live.Number, err)
	}
}

func TestImportWritesNothingWhenARefundExceedsItsPayment(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	c := &store.HistoricCustomer{Email: "bad@example.com", Name: "Bad Import", PasswordHash: "x", CreatedAt: at}
	inv := &store.HistoricInvoice{Customer: c, Currency: "USD", Lines: []billing.Line{{Kind: billing.LineProduct, Description: "VPS", Amount: dollars(500)}},
		IssuedAt: at, DueAt: at, CreatedBy: "import:test", IdempotencyKey: "bad:1",
		Payments: []store.HistoricPayment{{Gateway: "paypal", GatewayTxnID: "p1", Amount: dollars(500), At: at, CreatedBy: "import:test"}},
		Refunds:  []store.HistoricRefund{{Payment: 0, GatewayRefundID: "r1", Amount: dollars(501), At: at, CreatedBy: "import:test"}}}
	err := s.Import(ctx, &store.ImportBatch{Customers: []*store.HistoricCustomer{c}, Invoices: []*store.HistoricInvoice{inv}})
	if !errors.Is(err, billing.ErrRefundExceedsPaid) {
		t.Fatalf("import: %v; want ErrRefundExceedsPaid", err)
	}
	if _, err := s.UserByEmail(ctx, c.Email); !errors.Is(err, store.ErrNotFound) || c.ID != 0 {
		t.Fatalf("customer after a failed import: id %d, lookup %v; want nothing written", c.ID, err)
	}
}
