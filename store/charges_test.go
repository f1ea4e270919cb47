package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

// The charge claim: one holder at a time, taken again by the same key (a retried activity),
// released by the payment that settles the invoice, and lapsing when its worker died.
func TestChargeClaimIsHeldOnceRetakenBySameKeyAndLapses(t *testing.T) {
	s, dsn := storetest.NewWithURL(t)
	ctx := context.Background()
	u := newCustomer(t, s, "claim@example.com")
	inv, err := s.CreateInvoice(ctx, newInvoice(u.ID, "claim"))
	if err != nil {
		t.Fatal(err)
	}
	claim := func(key string) store.ChargeClaim {
		t.Helper()
		c, err := s.BeginCharge(ctx, inv.ID, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := claim("due"); !c.Claimed || c.Due != usd(2160) {
		t.Fatalf("first claim = %+v; want claimed for USD 21.60", c)
	}
	if c := claim("due"); !c.Claimed {
		t.Fatalf("the same key again = %+v; want claimed (a retried activity)", c)
	}
	if c := claim("retry-1"); c.Claimed || c.Why != "another charge of this invoice is in progress" {
		t.Fatalf("another key while held = %+v; want refused", c)
	}
	// The worker holding it died eleven minutes ago: the claim lapses.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE invoices SET charging_since = now() - interval '11 minutes' WHERE id = $1`, inv.ID); err != nil {
		t.Fatal(err)
	}
	if c := claim("retry-1"); !c.Claimed {
		t.Fatalf("another key after the claim lapsed = %+v; want claimed", c)
	}
	if _, err := s.RecordPayment(ctx, store.Payment{InvoiceID: inv.ID, Gateway: "sandbox", GatewayTxnID: "ch_1", Amount: usd(2160), CreatedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Invoice(ctx, inv.ID)
	if got.ChargingKey != "" {
		t.Fatalf("claim %q left after the invoice was paid", got.ChargingKey)
	}
	if c := claim("retry-2"); c.Claimed || c.Why != "paid" {
		t.Fatalf("claim of a paid invoice = %+v; want refused as paid", c)
	}
}
