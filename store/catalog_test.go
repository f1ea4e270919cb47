package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func catalogFixture(t *testing.T) (*store.Store, store.ProductGroup, store.CatalogProduct) {
	t.Helper()
	s := storetest.New(t)
	ctx := context.Background()
	g, err := s.CreateProductGroup(ctx, store.ProductGroup{Slug: "game", Name: "Game servers"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProduct(ctx, store.CatalogProduct{
		Product:    store.Product{GroupID: g.ID, Slug: "mc-4gb", Name: "Minecraft 4 GB", Type: "game_server"},
		StockLimit: sql.NullInt64{Int64: 20, Valid: true},
		OrderFields: store.OrderFields{
			{Key: "hostname", Label: "Hostname", Required: true, Kind: "text"},
			{Key: "egg", Label: "Game", Kind: "select", Options: []string{"paper", "forge"}},
		},
		Prices: []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 1250, SetupFee: 500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, g, p
}

func TestCreateProductKeepsStockLimitOrderFieldsAndPrices(t *testing.T) {
	s, _, p := catalogFixture(t)
	got, err := s.CatalogProductByID(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.StockLimit.Int64 != 20 || len(got.OrderFields) != 2 || got.OrderFields[1].Options[1] != "forge" || !got.OrderFields[0].Required {
		t.Fatalf("stock %v order fields %+v; want 20 and hostname+egg", got.StockLimit, got.OrderFields)
	}
	if len(got.Prices) != 1 || got.Prices[0].Amount != 1250 || got.Prices[0].SetupFee != 500 {
		t.Fatalf("prices = %+v; want monthly USD 1250 + 500 setup", got.Prices)
	}
}

func TestSetProductPricesReplacesTheWholeList(t *testing.T) {
	s, _, p := catalogFixture(t)
	ctx := context.Background()
	want := []store.Price{
		{Cycle: "annual", Currency: "EUR", Amount: 12000},
		{Cycle: "monthly", Currency: "EUR", Amount: 1100, SetupFee: 0},
	}
	if err := s.SetProductPrices(ctx, p.ID, want); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ProductPrices(ctx, p.ID)
	if len(got) != 2 || got[0].Cycle != "monthly" || got[0].Amount != 1100 || got[1].Cycle != "annual" || got[1].Amount != 12000 {
		t.Fatalf("prices after replace = %+v; want EUR monthly 1100 then annual 12000, and the USD price gone", got)
	}
}

func TestAnInvalidPriceRefusesTheWholeList(t *testing.T) {
	s, _, p := catalogFixture(t)
	ctx := context.Background()
	for name, bad := range map[string]store.Price{
		"lower-case currency": {Cycle: "annual", Currency: "usd", Amount: 100},
		"unknown cycle":       {Cycle: "weekly", Currency: "USD", Amount: 100},
		"negative amount":     {Cycle: "annual", Currency: "USD", Amount: -1},
		"negative setup fee":  {Cycle: "annual", Currency: "USD", Amount: 1, SetupFee: -5},
		"duplicate":           {Cycle: "monthly", Currency: "EUR", Amount: 1},
	} {
		err := s.SetProductPrices(ctx, p.ID, []store.Price{{Cycle: "monthly", Currency: "EUR", Amount: 900}, bad})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v; want ErrInvalid", name, err)
		}
	}
	got, _ := s.ProductPrices(ctx, p.ID)
	if len(got) != 1 || got[0].Currency != "USD" || got[0].Amount != 1250 {
		t.Fatalf("prices after refused lists = %+v; want the original USD 1250 alone", got)
	}
	// UpdateProduct is refused as a whole too: the hidden flag is not saved.
	p.Hidden = true
	p.Prices = []store.Price{{Cycle: "monthly", Currency: "EURO", Amount: 1}}
	if err := s.UpdateProduct(ctx, p); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("update with a bad currency: err = %v; want ErrInvalid", err)
	}
	if after, _ := s.ProductByID(ctx, p.ID); after.Hidden {
		t.Fatal("a refused update hid the product")
	}
}

func TestProductAndGroupSlugsAreUnique(t *testing.T) {
	s, g, p := catalogFixture(t)
	ctx := context.Background()
	_, err := s.CreateProduct(ctx, store.CatalogProduct{Product: store.Product{GroupID: g.ID, Slug: "mc-4gb", Name: "Other", Type: "vps"}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second product with slug mc-4gb: err = %v; want ErrConflict", err)
	}
	other, err := s.CreateProduct(ctx, store.CatalogProduct{Product: store.Product{GroupID: g.ID, Slug: "mc-8gb", Name: "Minecraft 8 GB", Type: "game_server"}})
	if err != nil {
		t.Fatal(err)
	}
	other.Slug = p.Slug
	if err := s.UpdateProduct(ctx, other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("renaming mc-8gb to mc-4gb: err = %v; want ErrConflict", err)
	}
	if _, err := s.CreateProductGroup(ctx, store.ProductGroup{Slug: "game", Name: "Again"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second group with slug game: err = %v; want ErrConflict", err)
	}
}

func TestUpdateProductWithoutPricesKeepsThem(t *testing.T) {
	s, g, p := catalogFixture(t)
	ctx := context.Background()
	g.Name = "Games"
	if err := s.UpdateProductGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	p.Retired, p.Prices, p.StockLimit = true, nil, sql.NullInt64{}
	if err := s.UpdateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ := s.CatalogProductByID(ctx, p.ID)
	if !got.Retired || got.StockLimit.Valid || len(got.Prices) != 1 {
		t.Fatalf("after update: retired %v stock %v prices %d; want retired, no limit, 1 price kept", got.Retired, got.StockLimit, len(got.Prices))
	}
	groups, _ := s.ProductGroups(ctx)
	if len(groups) != 1 || groups[0].Name != "Games" {
		t.Fatalf("groups = %+v", groups)
	}
}
