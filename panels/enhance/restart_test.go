package enhance

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv/simstore/simstoretest"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/enhance/sim"
)

// startSaved serves a simulator opened on the simstore in schema, as one run of `ezscale dev`
// would, and a client of it.
func startSaved(t *testing.T, clk *clock, dsn, schema string) *fixture {
	t.Helper()
	s, err := sim.Open(context.Background(), sim.Options{Token: "secret-token", BuildDelay: buildDelay, Now: clk.now},
		simstoretest.Open(t, dsn, schema), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(panels.Config{Type: panels.Enhance, BaseURL: srv.URL + "/api/", Token: s.Token(),
		Extra: map[string]string{"org_id": s.OrgID()}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: s, srv: srv, c: c, clock: clk}
}

func TestRestartedSimulatorKeepsCustomersAndWebsites(t *testing.T) {
	ctx := context.Background()
	dsn, schema := simstoretest.Schema(t)
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := startSaved(t, clk, dsn, schema)
	acct := f.account(t, 7)
	svc := f.service(t, acct, 501)
	clk.step(buildDelay)
	if err := f.c.Suspend(ctx, svc, "overdue"); err != nil {
		t.Fatalf("suspend: %v", err)
	}

	f.srv.Close() // the dev server stops; a new run starts on the same database
	f = startSaved(t, clk, dsn, schema)

	if again := f.account(t, 7); again.ID != acct.ID {
		t.Fatalf("customer 7 after restart is org %s, want the same %s", again.ID, acct.ID)
	}
	d, err := f.c.Details(ctx, svc)
	if err != nil || d.State != panels.StateSuspended {
		t.Fatalf("after restart: %+v %v, want suspended", d, err)
	}
	if err := f.c.Unsuspend(ctx, svc); err != nil {
		t.Fatalf("unsuspend after restart: %v", err)
	}
	if _, err := f.c.LoginURL(ctx, acct, svc); err != nil {
		t.Fatalf("panel login after restart: %v", err)
	}
	if found, ok, err := f.c.FindService(ctx, acct, 501); err != nil || !ok || found.ID != svc.ID {
		t.Fatalf("FindService after restart: %v %v %v, want %s", found, ok, err, svc.ID)
	}
	other := f.account(t, 8)
	if other.ID == acct.ID {
		t.Fatalf("a new customer after restart got org %s, which customer 7 holds", other.ID)
	}
	next := f.service(t, other, 502)
	if next.ID == svc.ID {
		t.Fatalf("a create after restart got id %s, which service 501 holds", next.ID)
	}
	if n := f.sim.ServiceCount(); n != 2 {
		t.Fatalf("ServiceCount after restart and a create = %d, want 2", n)
	}
}
