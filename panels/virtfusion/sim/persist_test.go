package sim

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv/simstore/simstoretest"
)

// start serves a simulator opened on the simstore in schema, as one run of `ezscale dev` would.
func (f *fixture) start(dsn, schema string) {
	f.t.Helper()
	s, err := Open(context.Background(), Options{Now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }},
		simstoretest.Open(f.t, dsn, schema), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.s, f.srv = s, httptest.NewServer(s)
	f.t.Cleanup(f.srv.Close)
}

func TestRestartContinuesFromSavedState(t *testing.T) {
	dsn, schema := simstoretest.Schema(t)
	f := &fixture{t: t, now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.start(dsn, schema)
	if status, body := f.call("POST", "/users", `{"name":"A","email":"a@example.com","extRelationId":7}`); status != 201 {
		t.Fatalf("create user: %d %v", status, body)
	}
	if status, body := f.call("POST", "/servers", `{"packageId":1,"userId":1,"hypervisorId":1}`); status != 201 {
		t.Fatalf("create server: %d %v", status, body)
	}
	if status, body := f.call("POST", "/servers/1/build", `{"operatingSystemId":1,"name":"ezs-42"}`); status != 200 {
		t.Fatalf("build: %d %v", status, body)
	}
	f.advance(time.Minute)
	if status, body := f.call("POST", "/servers/1/suspend", ""); status != 200 && status != 204 {
		t.Fatalf("suspend: %d %v", status, body)
	}

	f.srv.Close() // the dev server stops; a new run starts on the same database
	f.start(dsn, schema)

	if status, body := f.call("GET", "/users/7/byExtRelation", ""); status != 200 {
		t.Fatalf("user after restart: %d %v", status, body)
	}
	status, body := f.call("GET", "/servers/1", "")
	data, _ := body["data"].(map[string]any)
	if status != 200 || data["name"] != "ezs-42" || data["suspended"] != true {
		t.Fatalf("server after restart: %d %v, want ezs-42 suspended", status, body)
	}
	if n := f.s.ServicesFor("42"); n != 1 {
		t.Fatalf("ServicesFor(42) after restart = %d, want 1", n)
	}
	if status, body := f.call("POST", "/servers/1/unsuspend", ""); status != 200 && status != 204 {
		t.Fatalf("unsuspend after restart: %d %v", status, body)
	}
	if status, body := f.call("POST", "/servers/1/power/restart", ""); status != 200 {
		t.Fatalf("power after restart: %d %v", status, body)
	}
	if status, body := f.call("POST", "/users/7/authenticationTokens", ""); status != 200 {
		t.Fatalf("panel login after restart: %d %v", status, body)
	}
	if status, body := f.call("POST", "/users", `{"name":"B","email":"b@example.com","extRelationId":8}`); status != 201 || body["data"].(map[string]any)["id"] != 2.0 {
		t.Fatalf("new user after restart: %d %v, want id 2", status, body)
	}
	if status, body := f.call("POST", "/servers", `{"packageId":1,"userId":1,"hypervisorId":1}`); status != 201 || body["data"].(map[string]any)["id"] != 2.0 {
		t.Fatalf("new server after restart: %d %v, want id 2", status, body)
	}
	if n := f.s.ServiceCount(); n != 2 {
		t.Fatalf("ServiceCount after restart and a create = %d, want 2", n)
	}
}
