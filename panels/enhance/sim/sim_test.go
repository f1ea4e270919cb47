package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`)

type call struct {
	t     *testing.T
	srv   *httptest.Server
	token string
}

// do sends a request and returns the status and raw body.
func (c call) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+"/api"+path, in)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func decodeID(t *testing.T, raw []byte) any {
	t.Helper()
	var out struct{ ID any }
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("creation body %q: %v", raw, err)
	}
	return out.ID
}

// TestAnswersFollowTheReference pins the documented shapes: uuid strings for orgs, logins,
// members and websites, integers for subscriptions, 201 {id} on create, 204 with no body on
// PATCH and DELETE, 404 for a deleted subscription, 401 without the bearer token.
func TestAnswersFollowTheReference(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := call{t: t, srv: srv, token: s.Token()}
	reseller := s.OrgID()

	status, raw := c.do("POST", "/orgs/"+reseller+"/customers", map[string]string{"name": "Jane Doe"})
	org, _ := decodeID(t, raw).(string)
	if status != http.StatusCreated || !uuidRE.MatchString(org) {
		t.Fatalf("create customer: %d %s, want 201 with a uuid", status, raw)
	}
	status, raw = c.do("POST", "/logins?orgId="+org, map[string]string{"email": "j@example.com", "name": "Jane", "password": "long-enough"})
	if login, _ := decodeID(t, raw).(string); status != http.StatusCreated || !uuidRE.MatchString(login) {
		t.Fatalf("create login: %d %s", status, raw)
	}
	if status, raw = c.do("POST", "/logins?orgId="+org, map[string]string{"email": "J@example.com", "name": "Jane", "password": "long-enough"}); status != http.StatusConflict {
		t.Fatalf("duplicate login email: %d %s, want 409", status, raw)
	}
	status, raw = c.do("POST", "/orgs/"+reseller+"/customers/"+org+"/subscriptions", map[string]any{"planId": 1, "friendlyName": "ezs-1"})
	if id, ok := decodeID(t, raw).(float64); status != http.StatusCreated || !ok || id != 17 {
		t.Fatalf("create subscription: %d %s, want 201 {\"id\": 17}", status, raw)
	}
	status, raw = c.do("POST", "/orgs/"+org+"/websites", map[string]any{"domain": "example.com", "subscriptionId": 17})
	if site, _ := decodeID(t, raw).(string); status != http.StatusCreated || !uuidRE.MatchString(site) {
		t.Fatalf("create website: %d %s", status, raw)
	}
	if status, raw = c.do("PATCH", "/orgs/"+org+"/subscriptions/17", map[string]any{"isSuspended": true}); status != http.StatusNoContent || len(raw) != 0 {
		t.Fatalf("suspend: %d %q, want 204 and no body", status, raw)
	}
	status, raw = c.do("GET", "/orgs/"+org+"/websites?subscriptionId=17", nil)
	var sites struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	_ = json.Unmarshal(raw, &sites)
	if status != http.StatusOK || sites.Total != 1 || sites.Items[0]["status"] != "disabled" {
		t.Fatalf("websites of a suspended subscription: %d %s", status, raw)
	}
	if status, raw = c.do("DELETE", "/orgs/"+org+"/subscriptions/17", nil); status != http.StatusNoContent || len(raw) != 0 {
		t.Fatalf("delete: %d %q, want 204 and no body", status, raw)
	}
	if status, _ = c.do("DELETE", "/orgs/"+org+"/subscriptions/17", nil); status != http.StatusNotFound {
		t.Fatalf("delete again: %d, want 404", status)
	}
	if s.ServiceCount() != 0 || s.WebsiteCount() != 0 {
		t.Fatalf("after delete %d subscriptions and %d websites live", s.ServiceCount(), s.WebsiteCount())
	}

	anon := call{t: t, srv: srv}
	status, raw = anon.do("GET", "/orgs/"+reseller+"/customers", nil)
	var body map[string]string
	_ = json.Unmarshal(raw, &body)
	if status != http.StatusUnauthorized || body["code"] == "" || body["detail"] == "" {
		t.Fatalf("no bearer: %d %s, want 401 with an HttpError body", status, raw)
	}
	if status, raw = anon.do("GET", "/orgs/"+reseller+"/plans", nil); status != http.StatusOK {
		t.Fatalf("plans without auth (open per the spec): %d %s", status, raw)
	}
}
