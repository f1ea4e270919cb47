package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fixture struct {
	t   *testing.T
	s   *Sim
	srv *httptest.Server
	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.s = New(Options{Now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }})
	f.srv = httptest.NewServer(f.s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// call sends a request with the simulator's token (or the given auth header) and decodes the answer.
func (f *fixture) call(method, path, body string, auth ...string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.s.Token())
	if len(auth) > 0 {
		req.Header.Set("Authorization", auth[0])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			f.t.Fatalf("%s %s answered non-JSON %q", method, path, b)
		}
	}
	return res.StatusCode, out
}

func TestAuthIsBearerTokenAnsweredInLaravelShape(t *testing.T) {
	f := newFixture(t)
	for _, auth := range []string{"", "Bearer wrong", f.s.Token()} {
		status, body := f.call("GET", "/connect", "", auth)
		if status != 401 || body["message"] != "Unauthenticated." {
			t.Errorf("Authorization %q: %d %v, want 401 Unauthenticated.", auth, status, body)
		}
	}
	if status, _ := f.call("GET", "/connect", ""); status != 200 {
		t.Fatalf("right token: %d", status)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	f := newFixture(t)
	if status, body := f.call("GET", "/nope", ""); status != 404 || body["message"] == nil {
		t.Fatalf("unknown route: %d %v", status, body)
	}
}

func TestDeleteWithoutDelayWaitsFiveMinutes(t *testing.T) {
	f := newFixture(t)
	f.call("POST", "/users", `{"name":"A","email":"a@example.com","extRelationId":1}`)
	if status, body := f.call("POST", "/servers", `{"packageId":1,"userId":1,"hypervisorId":1}`); status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	if status, _ := f.call("DELETE", "/servers/1", ""); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	f.advance(5*time.Minute - time.Second)
	if n := f.s.ServiceCount(); n != 1 {
		t.Fatalf("before the grace period ends: %d servers, want 1", n)
	}
	f.advance(time.Second)
	if n := f.s.ServiceCount(); n != 0 {
		t.Fatalf("after the grace period: %d servers, want 0", n)
	}
	if status, body := f.call("DELETE", "/servers/1", ""); status != 404 || body["msg"] != "server not found" {
		t.Fatalf("delete of a deleted server: %d %v", status, body)
	}
}

func TestPaginatorShapeAndLimits(t *testing.T) {
	f := newFixture(t)
	status, body := f.call("GET", "/compute/hypervisors/groups/1/resources?results=1&page=2", "")
	data, _ := body["data"].([]any)
	if status != 200 || body["total"] != 2.0 || body["last_page"] != 2.0 || body["current_page"] != 2.0 || len(data) != 1 {
		t.Fatalf("page 2 of 2: %d %v", status, body)
	}
	if body["next_page_url"] != nil || body["prev_page_url"] == nil {
		t.Fatalf("page links: next %v prev %v", body["next_page_url"], body["prev_page_url"])
	}
	if status, body := f.call("GET", "/compute/hypervisors/groups?results=500", ""); status != 422 || body["errors"] == nil {
		t.Fatalf("results=500: %d %v, want 422 errors", status, body)
	}
}

func TestDryRunCreatesNothing(t *testing.T) {
	f := newFixture(t)
	f.call("POST", "/users", `{"name":"A","email":"a@example.com","extRelationId":1}`)
	if status, _ := f.call("POST", "/servers?dryRun=true", `{"packageId":1,"userId":1,"hypervisorId":1}`); status != 200 {
		t.Fatalf("dry run: %d", status)
	}
	if n := f.s.ServiceCount(); n != 0 {
		t.Fatalf("dry run created %d servers", n)
	}
}
