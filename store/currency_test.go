package store_test

import (
	"context"
	"testing"

	"github.com/ezscale/billing/store/storetest"
)

func TestAccountCurrencyIsThatOfTheNewestInvoice(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "currency@example.com")
	if got, err := s.AccountCurrency(ctx, u.ID); err != nil || got != "" {
		t.Fatalf("AccountCurrency of a new customer = %q, %v; want none", got, err)
	}
	if _, err := s.CreateInvoice(ctx, newInvoice(u.ID, "cur-usd")); err != nil {
		t.Fatal(err)
	}
	eur := newInvoice(u.ID, "cur-eur")
	eur.Currency = "EUR"
	for i := range eur.Lines {
		eur.Lines[i].Amount.Currency = "EUR"
	}
	if _, err := s.CreateInvoice(ctx, eur); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AccountCurrency(ctx, u.ID); err != nil || got != "EUR" {
		t.Fatalf("AccountCurrency after a USD then an EUR invoice = %q, %v; want EUR", got, err)
	}
}
