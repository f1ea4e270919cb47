package sim

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv/simstore/simstoretest"
)

func TestRestartContinuesFromSavedState(t *testing.T) {
	dsn, schema := simstoretest.Schema(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	open := func() *Sim {
		s, err := Open(context.Background(), Options{Now: func() time.Time { return now }, BuildDelay: time.Minute, PortsPerNode: 2},
			simstoretest.Open(t, dsn, schema), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	u := app(t, s, "POST", "/api/application/users", `{"external_id":"cus-7","email":"u@example.com","username":"user-7","first_name":"U","last_name":"S"}`)
	if u.status != 201 {
		t.Fatalf("create user: %d %+v", u.status, u.errors)
	}
	created := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-1"`))
	if created.status != 201 {
		t.Fatalf("create server: %d %+v", created.status, created.errors)
	}
	ident := created.body["attributes"].(map[string]any)["identifier"].(string)
	now = now.Add(time.Minute)
	if a := call(t, s, s.ClientKey(), jsonAccept, "POST", "/api/client/servers/"+ident+"/power", `{"signal":"start"}`); a.status != 204 {
		t.Fatalf("power: %d %+v", a.status, a.errors)
	}
	userKey, _ := s.IssueClientKey(2)
	app(t, s, "GET", "/api/application/users/2", "") // a request saves the key issued outside one

	s = open() // a new run of the dev server on the same database

	if a := app(t, s, "GET", "/api/application/users/external/cus-7", ""); a.status != 200 {
		t.Fatalf("user after restart: %d %+v", a.status, a.errors)
	}
	if a := app(t, s, "GET", "/api/application/servers/external/svc-1", ""); a.status != 200 {
		t.Fatalf("server after restart: %d %+v", a.status, a.errors)
	}
	if st := s.PowerState(ident); st != "running" {
		t.Fatalf("power state after restart %q, want running", st)
	}
	if a := call(t, s, userKey, jsonAccept, "GET", "/api/client/account", ""); a.status != 200 {
		t.Fatalf("the user's client key after restart: %d %+v", a.status, a.errors)
	}
	if a := app(t, s, "POST", "/api/application/servers/1/suspend", ""); a.status != 204 {
		t.Fatalf("suspend after restart: %d %+v", a.status, a.errors)
	}
	if a := app(t, s, "POST", "/api/application/users", `{"external_id":"cus-8","email":"v@example.com","username":"user-8","first_name":"V","last_name":"S"}`); a.status != 201 || a.body["attributes"].(map[string]any)["id"] != 3.0 {
		t.Fatalf("new user after restart: %d %+v, want id 3", a.status, a.body)
	}
	a := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-2"`))
	if a.status != 201 || a.body["attributes"].(map[string]any)["id"] != 2.0 || a.body["attributes"].(map[string]any)["identifier"] == ident {
		t.Fatalf("new server after restart: %d %+v, want id 2 with an identifier of its own", a.status, a.body)
	}
	// Four ports in all: the restored server and the new one hold two of them.
	if n := s.FreeAllocations(); n != 2 {
		t.Fatalf("free allocations after restart and a create = %d, want 2", n)
	}
}
