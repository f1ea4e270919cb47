package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// rawAPI calls the API without Client, to pin the wire format other clients rely on.
func (e *env) rawAPI(method, path, key, body string) (status int, out map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set(IdempotencyHeader, "raw-"+path)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestAPIErrorsAreJSONWithKindAndStatus(t *testing.T) {
	e := newEnv(t)
	_, pm := e.saveCard(cardAuthenticate)
	charge := `{"payment_method_ref":"` + pm + `","amount":500,"currency":"USD"}`

	cases := []struct {
		name, method, path, key, body string
		status                        int
		kind, code                    string
	}{
		{"no key", "POST", "/sandbox/api/v1/charges", "", charge, 401, "invalid_request", "invalid_api_key"},
		{"malformed JSON", "POST", "/sandbox/api/v1/charges", testAPIKey, `{"amount":`, 400, "invalid_request", "invalid_json"},
		{"unknown route", "GET", "/sandbox/api/v1/invoices", testAPIKey, "", 404, "invalid_request", "not_found"},
		{"unknown customer", "GET", "/sandbox/api/v1/customers/cus_sb_nope/payment_methods", testAPIKey, "", 400, "invalid_request", "invalid_request"},
		{"authentication off-session", "POST", "/sandbox/api/v1/charges", testAPIKey, charge, 402, "authentication_required", "authentication_required"},
	}
	for _, tc := range cases {
		status, out := e.rawAPI(tc.method, tc.path, tc.key, tc.body)
		detail, _ := out["error"].(map[string]any)
		if status != tc.status || detail["kind"] != tc.kind || detail["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d with kind %s code %s", tc.name, status, out, tc.status, tc.kind, tc.code)
		}
		if tc.kind == "authentication_required" && !strings.HasPrefix(detail["payment_ref"].(string), "ch_sb_") {
			t.Errorf("%s: payment_ref %v, want the refused charge's ch_sb_ ref", tc.name, detail["payment_ref"])
		}
	}
	if n := e.sb.ChargeCount(); n != 1 {
		t.Errorf("ChargeCount = %d, want only the hosted checkout's 1", n)
	}
}
