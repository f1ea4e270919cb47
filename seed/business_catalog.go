package seed

import (
	"context"
	"fmt"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// cycleDiscountPercent is what a longer cycle saves on paying monthly. Annual is "two months
// free" (10 × monthly), as the base catalog prices it.
var cycleDiscountPercent = map[billing.Cycle]int64{
	billing.Monthly: 0, billing.Quarterly: 3, billing.SemiAnnual: 5, billing.Biennial: 20, billing.Triennial: 25,
}

// demoCycles are the cycles every product of the demo business is sold in.
var demoCycles = []billing.Cycle{billing.Monthly, billing.Quarterly, billing.SemiAnnual, billing.Annual, billing.Biennial, billing.Triennial}

// fullPrices prices every demo cycle in USD and EUR from the monthly prices (minor units).
func fullPrices(usd, eur, setupUSD, setupEUR int64) []store.Price {
	var out []store.Price
	for _, cur := range []struct {
		code           string
		monthly, setup int64
	}{{"USD", usd, setupUSD}, {"EUR", eur, setupEUR}} {
		for _, c := range demoCycles {
			amount := cur.monthly * 10
			if c != billing.Annual {
				amount = cur.monthly * int64(c.Months()) * (100 - cycleDiscountPercent[c]) / 100
			}
			out = append(out, store.Price{Cycle: string(c), Currency: cur.code, Amount: amount, SetupFee: cur.setup})
		}
	}
	return out
}

// businessCatalog is the demo business's catalog: the base catalog's products, now sold in
// every cycle and both currencies, and more plans of each type (two to four per type), so
// upgrades and downgrades have somewhere to go. The base catalog stays as it is for `ezscale
// seed` and the tests that build on it.
func businessCatalog() []store.CatalogEntry {
	base := map[string]store.CatalogEntry{}
	for _, e := range catalog() {
		base[e.Product.Slug] = e
	}
	with := func(slug string, prices []store.Price) store.CatalogEntry {
		e := base[slug]
		e.Prices = prices
		return e
	}
	vps, ded, web, game := base["vps-2gb"].Group, base["e3-1240"].Group, base["web-starter"].Group, base["minecraft-4gb"].Group
	return []store.CatalogEntry{
		with("vps-2gb", fullPrices(800, 750, 0, 0)),
		{Group: vps, Product: store.Product{Slug: "vps-4gb", Name: "VPS 4 GB", Type: "vps", Description: "2 vCPU, 4 GB RAM, 80 GB NVMe", Sort: 2}, Prices: fullPrices(1400, 1300, 0, 0)},
		with("vps-8gb", fullPrices(2400, 2200, 0, 0)),
		{Group: vps, Product: store.Product{Slug: "vps-16gb", Name: "VPS 16 GB", Type: "vps", Description: "8 vCPU, 16 GB RAM, 320 GB NVMe", Sort: 3}, Prices: fullPrices(4400, 4000, 0, 0)},
		with("e3-1240", fullPrices(8900, 8300, 4900, 4500)),
		{Group: ded, Product: store.Product{Slug: "e-2388g", Name: "Xeon E-2388G", Type: "dedicated", Description: "8 cores, 64 GB RAM, 2x 2 TB NVMe", Sort: 2}, Prices: fullPrices(14900, 13900, 9900, 8900)},
		{Group: ded, Product: store.Product{Slug: "epyc-7443p", Name: "EPYC 7443P", Type: "dedicated", Description: "24 cores, 256 GB RAM, 4x 3.84 TB NVMe", Sort: 3}, Prices: fullPrices(27900, 25900, 0, 0)},
		with("web-starter", fullPrices(499, 449, 0, 0)),
		{Group: web, Product: store.Product{Slug: "web-business", Name: "Web Business", Type: "web_hosting", Description: "50 websites, 100 GB storage, daily backups", Sort: 2}, Prices: fullPrices(999, 899, 0, 0)},
		{Group: web, Product: store.Product{Slug: "web-agency", Name: "Web Agency", Type: "web_hosting", Description: "Unlimited websites, 300 GB storage, staging", Sort: 3}, Prices: fullPrices(1999, 1799, 0, 0)},
		with("minecraft-4gb", fullPrices(1200, 1100, 0, 0)),
		{Group: game, Product: store.Product{Slug: "minecraft-8gb", Name: "Minecraft 8 GB", Type: "game_server", Description: "8 GB RAM modded server", Sort: 2}, Prices: fullPrices(2200, 2000, 0, 0)},
		{Group: game, Product: store.Product{Slug: "rust-16gb", Name: "Rust 16 GB", Type: "game_server", Description: "16 GB RAM Rust server, 200 slots", Sort: 3}, Prices: fullPrices(3600, 3300, 0, 0)},
	}
}

// upsertBusinessCatalog writes the demo business's catalog; running it again changes nothing.
func upsertBusinessCatalog(ctx context.Context, s *store.Store) error {
	for _, e := range businessCatalog() {
		if _, err := s.UpsertCatalogEntry(ctx, e); err != nil {
			return fmt.Errorf("seed business catalog: %w", err)
		}
	}
	return nil
}
