package synergycp

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv/simstore/simstoretest"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/synergycp/sim"
)

// startSaved serves a simulator opened on the simstore in schema, as one run of `ezscale dev`
// would, and a client of it.
func startSaved(t *testing.T, clk *clock, dsn, schema string) *fixture {
	t.Helper()
	s, err := sim.Open(context.Background(), sim.Options{Token: "admin-key-123", BuildDelay: buildDelay, Now: clk.Now},
		simstoretest.Open(t, dsn, schema), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(panels.Config{Type: panels.SynergyCP, BaseURL: srv.URL + "/", Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: s, http: srv, c: c, clock: clk}
}

func TestRestartedSimulatorKeepsClientsAndServers(t *testing.T) {
	ctx := context.Background()
	dsn, schema := simstoretest.Schema(t)
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	f := startSaved(t, clk, dsn, schema)
	acct := f.account(t, 7)
	svc := f.create(t, 4001, e3())
	clk.Advance(2 * buildDelay)
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("before restart: state %s, want active", d.State)
	}
	if err := f.c.Power(ctx, svc, panels.PowerStart); err != nil {
		t.Fatalf("power on: %v", err)
	}

	f.http.Close() // the dev server stops; a new run starts on the same database
	f = startSaved(t, clk, dsn, schema)

	if again := f.account(t, 7); again.ID != acct.ID {
		t.Fatalf("customer 7 after restart is client %s, want the same %s", again.ID, acct.ID)
	}
	if d := f.details(t, svc); d.State != panels.StateActive {
		t.Fatalf("after restart: state %s, want active", d.State)
	}
	if st := f.sim.PowerState(serverID(t, svc)); st != "on" {
		t.Fatalf("power after restart %q, want on", st)
	}
	if err := f.c.Power(ctx, svc, panels.PowerRestart); err != nil {
		t.Fatalf("power after restart: %v", err)
	}
	if _, err := f.c.LoginURL(ctx, acct, svc); err != nil {
		t.Fatalf("panel login after restart: %v", err)
	}
	if found, ok, err := f.c.FindService(ctx, acct, 4001); err != nil || !ok || found.ID != svc.ID {
		t.Fatalf("FindService after restart: %v %v %v, want %s", found, ok, err, svc.ID)
	}
	next := f.create(t, 4002, e3())
	if next.ID == svc.ID {
		t.Fatalf("a create after restart took server %s, which service 4001 holds", next.ID)
	}
	if n := f.sim.ServiceCount(); n != 2 {
		t.Fatalf("ServiceCount after restart and a create = %d, want 2", n)
	}
}
