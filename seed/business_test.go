package seed_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

var demoNow = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// seedBusiness seeds a tenth-size demo business (30 customers, 50 subscriptions, 80 invoices)
// into a fresh database, with one panel server of each type so subscriptions get services.
func seedBusiness(t *testing.T, seedValue uint64) (*store.Store, seed.BusinessCounts) {
	t.Helper()
	s := storetest.New(t)
	ctx := context.Background()
	for _, typ := range []string{"virtfusion", "pterodactyl", "synergycp", "enhance"} {
		if _, err := s.CreatePanelServer(ctx, store.PanelServer{Name: "dev-" + typ, Type: typ, BaseURL: "http://127.0.0.1:1",
			TokenSealed: []byte("x"), ExtraSealed: []byte("x"), Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := seed.Business(ctx, slog.New(slog.DiscardHandler), s, seed.BusinessOptions{Scale: 0.1, Seed: seedValue, Now: demoNow})
	if err != nil {
		t.Fatalf("seed demo business: %v", err)
	}
	return s, n
}

func TestDemoBusinessHasTheAskedCountsAndEveryPattern(t *testing.T) {
	s, n := seedBusiness(t, 1)
	ctx := context.Background()
	if n.Customers != 30 || n.Subscriptions != 50 || n.Invoices != 80 || n.Services != 50 {
		t.Fatalf("wrote %+v; want 30 customers, 50 subscriptions and services, 80 invoices", n)
	}
	f, err := s.ImportSummary(ctx, seed.CreatedBy)
	if err != nil {
		t.Fatal(err)
	}
	if f.Customers != 30 || f.Subscriptions != 50 || f.Invoices != 80 || f.Services != 50 || f.Payments != n.Payments || f.Refunds != n.Refunds {
		t.Fatalf("database holds %+v; the seed reported %+v", f, n)
	}
	for _, typ := range store.ProductTypes {
		if f.ProductTypes[typ] == 0 {
			t.Errorf("no subscription of product type %s: %v", typ, f.ProductTypes)
		}
	}
	for _, c := range []string{"monthly", "quarterly", "semiannual", "annual", "biennial", "triennial"} {
		if f.Cycles[c] == 0 {
			t.Errorf("no subscription billed %s: %v", c, f.Cycles)
		}
	}
	if len(f.InvoiceMonths) < 20 {
		t.Errorf("invoices issued in %d distinct months; want at least 20: %v", len(f.InvoiceMonths), f.InvoiceMonths)
	}
	for _, st := range []string{"paid", "unpaid", "refunded", "partially_refunded", "cancelled"} {
		if f.InvoiceStatuses[st] == 0 {
			t.Errorf("no %s invoice: %v", st, f.InvoiceStatuses)
		}
	}
	for _, st := range []string{"active", "cancelled", "suspended", "terminated", "past_due"} {
		if f.SubscriptionStatuses[st] == 0 {
			t.Errorf("no %s subscription: %v", st, f.SubscriptionStatuses)
		}
	}
	if f.ProrationInvoices == 0 || f.CreditAdds == 0 {
		t.Errorf("%d proration invoices and %d credit grants; want upgrades and downgrades", f.ProrationInvoices, f.CreditAdds)
	}
	if first, last := f.InvoiceMonths[0], f.InvoiceMonths[len(f.InvoiceMonths)-1]; f.InvoicesByMonth[last] <= f.InvoicesByMonth[first] {
		t.Errorf("invoices in %s: %d, in %s: %d; want growth", first, f.InvoicesByMonth[first], last, f.InvoicesByMonth[last])
	}
}

// Every invoice's status, paid date and payments agree as RecordPayment and RecordRefund
// would have left them: paid invoices are paid in full, unpaid and cancelled ones have no
// money, refunds never exceed their payment, credit never goes below zero.
func TestDemoBusinessLedgerIsConsistent(t *testing.T) {
	s, _ := seedBusiness(t, 2)
	ctx := context.Background()
	invs, err := s.Invoices(ctx, store.InvoiceFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 80 {
		t.Fatalf("%d invoices listed; want 80", len(invs))
	}
	for _, inv := range invs {
		tot := inv.Totals
		switch inv.Status {
		case billing.StatusPaid:
			if tot.Paid.Amount != tot.Total.Amount || tot.Refunded.Amount != 0 || !inv.PaidAt.Valid {
				t.Errorf("paid invoice %s: total %s, paid %s, refunded %s, paid at %v", inv.Number, tot.Total, tot.Paid, tot.Refunded, inv.PaidAt)
			}
		case billing.StatusUnpaid, billing.StatusCancelled:
			if tot.Paid.Amount != 0 || inv.PaidAt.Valid {
				t.Errorf("%s invoice %s has %s paid (paid at %v)", inv.Status, inv.Number, tot.Paid, inv.PaidAt)
			}
		case billing.StatusRefunded:
			if tot.Refunded.Amount != tot.Paid.Amount || tot.Paid.Amount != tot.Total.Amount {
				t.Errorf("refunded invoice %s: total %s, paid %s, refunded %s", inv.Number, tot.Total, tot.Paid, tot.Refunded)
			}
		case billing.StatusPartiallyRefunded:
			if tot.Refunded.Amount <= 0 || tot.Refunded.Amount >= tot.Paid.Amount || tot.Paid.Amount != tot.Total.Amount {
				t.Errorf("partially refunded invoice %s: total %s, paid %s, refunded %s", inv.Number, tot.Total, tot.Paid, tot.Refunded)
			}
		default:
			t.Errorf("invoice %s has status %s", inv.Number, inv.Status)
		}
		if inv.PaidAt.Valid && (inv.PaidAt.Time.Before(inv.IssuedAt.Time) || inv.PaidAt.Time.After(demoNow)) {
			t.Errorf("invoice %s issued %s paid %s (now %s)", inv.Number, inv.IssuedAt.Time, inv.PaidAt.Time, demoNow)
		}
		if inv.IssuedAt.Time.After(demoNow) || inv.IssuedAt.Time.Before(demoNow.AddDate(-2, 0, -1)) {
			t.Errorf("invoice %s issued %s, outside the two years before %s", inv.Number, inv.IssuedAt.Time, demoNow)
		}
		if inv.Status == billing.StatusUnpaid && inv.DueAt.Before(demoNow.AddDate(0, 0, -30)) {
			t.Errorf("invoice %s is unpaid since %s: dunning would have terminated it", inv.Number, inv.DueAt)
		}
	}
	f, err := s.ImportSummary(ctx, seed.CreatedBy)
	if err != nil {
		t.Fatal(err)
	}
	if f.NegativeCreditBalances != 0 {
		t.Errorf("%d customers have a negative credit balance", f.NegativeCreditBalances)
	}
	if !f.NumbersGapFree {
		t.Errorf("invoice numbers are not sequential and gap-free in issue order")
	}
}

func TestDemoBusinessIsTheSameForTheSameSeedAndDiffersForAnother(t *testing.T) {
	ctx := context.Background()
	facts := func(v uint64) store.ImportSummary {
		s, _ := seedBusiness(t, v)
		f, err := s.ImportSummary(ctx, seed.CreatedBy)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b, c := facts(7), facts(7), facts(8)
	if !sameFacts(a, b) {
		t.Fatalf("seed 7 twice gave different businesses:\n%+v\n%+v", a, b)
	}
	if sameFacts(a, c) {
		t.Fatalf("seeds 7 and 8 gave the same business: %+v", a)
	}
}

func sameFacts(a, b store.ImportSummary) bool {
	if a.Invoices != b.Invoices || a.Payments != b.Payments || a.Refunds != b.Refunds || len(a.TotalsByMonth) != len(b.TotalsByMonth) ||
		len(a.SubscriptionStatuses) != len(b.SubscriptionStatuses) {
		return false
	}
	for m, v := range a.TotalsByMonth {
		if b.TotalsByMonth[m] != v {
			return false
		}
	}
	for k, v := range a.SubscriptionStatuses {
		if b.SubscriptionStatuses[k] != v {
			return false
		}
	}
	return a.Emails == b.Emails
}

func TestDemoBusinessRefusesASecondRun(t *testing.T) {
	s, _ := seedBusiness(t, 1)
	ctx := context.Background()
	_, err := seed.Business(ctx, slog.New(slog.DiscardHandler), s, seed.BusinessOptions{Scale: 0.1, Seed: 3, Now: demoNow})
	if !errors.Is(err, seed.ErrBusinessExists) {
		t.Fatalf("second run: %v; want ErrBusinessExists", err)
	}
	f, err := s.ImportSummary(ctx, seed.CreatedBy)
	if err != nil || f.Customers != 30 || f.Invoices != 80 {
		t.Fatalf("after the refused run: %+v, %v; want the first business unchanged", f, err)
	}
}
