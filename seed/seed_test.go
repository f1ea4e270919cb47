package seed_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestDemoSeedIsIdempotentAndLoginsWork(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	for i := range 2 {
		if err := seed.Demo(ctx, slog.New(slog.DiscardHandler), s); err != nil {
			t.Fatalf("seed run %d: %v", i+1, err)
		}
	}
	counts, err := s.CountUsers(ctx)
	if err != nil || counts.Customers != 1 || counts.Staff != 1 || counts.Unverified != 0 {
		t.Fatalf("after two seeds: %+v, %v; want exactly one verified customer and one admin", counts, err)
	}
	n, err := s.CountProducts(ctx)
	if err != nil || n != 5 {
		t.Fatalf("products = %d, %v; want 5", n, err)
	}
	for _, l := range seed.DemoLogins() {
		u, err := s.UserByEmail(ctx, l.Email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != l.Role || auth.VerifyPassword(l.Password, u.PasswordHash) != nil {
			t.Fatalf("demo login %s: role %s, password check failed", l.Email, u.Role)
		}
	}
	admin, _ := s.UserByEmail(ctx, seed.DemoLogins()[0].Email)
	if !admin.Staff() || admin.Role != store.RoleAdmin {
		t.Fatalf("demo admin is not staff: %+v", admin)
	}
}
