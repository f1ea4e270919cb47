// Package seed creates the demo data that `ezscale dev` and `ezscale seed` start from: one admin,
// one customer and a small catalog. Seeding goes through the store and is idempotent.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/store"
)

// Login is a demo account and its password, printed by `ezscale dev`.
type Login struct {
	Role, Email, Password string
}

// DemoLogins are the accounts Demo creates. They exist only in demo data.
func DemoLogins() []Login {
	return []Login{
		{Role: store.RoleAdmin, Email: "admin@demo.ezscale.test", Password: "demo-admin-password"},
		{Role: store.RoleCustomer, Email: "customer@demo.ezscale.test", Password: "demo-customer-password"},
	}
}

// Demo creates the demo accounts and catalog when they are missing; running it again changes nothing.
func Demo(ctx context.Context, log *slog.Logger, s *store.Store) error {
	names := map[string]string{store.RoleAdmin: "Demo Admin", store.RoleCustomer: "Demo Customer"}
	for _, l := range DemoLogins() {
		_, err := s.UserByEmail(ctx, l.Email)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		hash, err := auth.HashPassword(l.Password, auth.DefaultParams())
		if err != nil {
			return err
		}
		p := store.Profile{}
		if l.Role == store.RoleCustomer {
			p = store.Profile{Company: "Demo Gaming Ltd", Address1: "1 Example Street", City: "London", Postcode: "EC1A 1AA", Country: "GB"}
		}
		u, err := s.CreateUser(ctx, store.NewUser{Email: l.Email, Name: names[l.Role], PasswordHash: hash, Role: l.Role, Verified: true, Profile: p})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("seed %s: %w", l.Email, err)
		}
		if err == nil {
			log.Info("seeded demo account", "email", u.Email, "role", u.Role)
		}
	}
	return Catalog(ctx, s)
}

// Catalog creates or refreshes the demo catalog: one product of each type and cycle prices.
func Catalog(ctx context.Context, s *store.Store) error {
	for _, e := range catalog() {
		if _, err := s.UpsertCatalogEntry(ctx, e); err != nil {
			return fmt.Errorf("seed catalog: %w", err)
		}
	}
	return nil
}

func catalog() []store.CatalogEntry {
	monthly := func(usd, eur int64) []store.Price {
		return []store.Price{
			{Cycle: "monthly", Currency: "USD", Amount: usd},
			{Cycle: "annual", Currency: "USD", Amount: usd * 10},
			{Cycle: "monthly", Currency: "EUR", Amount: eur},
			{Cycle: "annual", Currency: "EUR", Amount: eur * 10},
		}
	}
	vps := store.ProductGroup{Slug: "cloud-vps", Name: "Cloud VPS", Description: "KVM virtual servers on NVMe storage", Sort: 1}
	ded := store.ProductGroup{Slug: "dedicated", Name: "Dedicated Servers", Description: "Bare metal with IPMI access", Sort: 2}
	web := store.ProductGroup{Slug: "web-hosting", Name: "Web Hosting", Description: "Managed websites with email", Sort: 3}
	game := store.ProductGroup{Slug: "game-servers", Name: "Game Servers", Description: "One-click game servers", Sort: 4}
	return []store.CatalogEntry{
		{Group: vps, Product: store.Product{Slug: "vps-2gb", Name: "VPS 2 GB", Type: "vps", Description: "2 vCPU, 2 GB RAM, 40 GB NVMe", Sort: 1}, Prices: monthly(800, 750)},
		{Group: vps, Product: store.Product{Slug: "vps-8gb", Name: "VPS 8 GB", Type: "vps", Description: "4 vCPU, 8 GB RAM, 160 GB NVMe", Sort: 2}, Prices: monthly(2400, 2200)},
		{Group: ded, Product: store.Product{Slug: "e3-1240", Name: "Xeon E3-1240 v6", Type: "dedicated", Description: "4 cores, 32 GB RAM, 2x 1 TB SSD", Sort: 1},
			Prices: []store.Price{{Cycle: "monthly", Currency: "USD", Amount: 8900, SetupFee: 4900}}},
		{Group: web, Product: store.Product{Slug: "web-starter", Name: "Web Starter", Type: "web_hosting", Description: "10 websites, 20 GB storage, free SSL", Sort: 1}, Prices: monthly(499, 449)},
		{Group: game, Product: store.Product{Slug: "minecraft-4gb", Name: "Minecraft 4 GB", Type: "game_server", Description: "4 GB RAM Paper or Vanilla server", Sort: 1}, Prices: monthly(1200, 1100)},
	}
}
