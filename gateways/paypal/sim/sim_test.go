package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client calls the simulator as a raw HTTP client would, to check wire shapes.
type client struct {
	t     *testing.T
	s     *Server
	token string
}

func newClient(t *testing.T) *client {
	t.Helper()
	s := New(Options{ClientID: "id", Secret: "secret", WebhookID: "WH-1"})
	t.Cleanup(s.Close)
	c := &client{t: t, s: s}
	status, body := c.do(http.MethodPost, "/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"), func(r *http.Request) {
		r.SetBasicAuth("id", "secret")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
	var tok map[string]any
	if err := json.Unmarshal(body, &tok); err != nil || status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	c.token, _ = tok["access_token"].(string)
	return c
}

func (c *client) do(method, path string, body io.Reader, edit func(*http.Request)) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	if edit != nil {
		edit(req)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func withRequestID(id string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("PayPal-Request-Id", id) }
}

const orderBody = `{"intent":"CAPTURE","purchase_units":[{"reference_id":"inv-42","custom_id":"42","invoice_id":"42","amount":{"currency_code":"USD","value":"19.99"}}],"application_context":{"return_url":"https://shop.test/ok","cancel_url":"https://shop.test/no"}}`

func TestTokenChecksBasicAuthAndGivesNumericExpiry(t *testing.T) {
	c := newClient(t)
	status, body := c.do(http.MethodPost, "/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"), func(r *http.Request) {
		r.Header.Del("Authorization")
		r.SetBasicAuth("id", "wrong")
	})
	if status != http.StatusUnauthorized || !strings.Contains(string(body), `"error":"invalid_client"`) {
		t.Errorf("wrong secret: %d %s, want 401 invalid_client", status, body)
	}
	c.token = ""
	status, body = c.do(http.MethodPost, "/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"), func(r *http.Request) {
		r.SetBasicAuth("id", "secret")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
	var tok struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || status != 200 || tok.AccessToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %s", status, body)
	}
	if n, err := json.Number(tok.ExpiresIn).Int64(); err != nil || n < 120 {
		t.Errorf("expires_in = %s, want a JSON number of at least 120", tok.ExpiresIn)
	}
}

func TestAPIWithoutTokenAnswersTheErrorEnvelope(t *testing.T) {
	c := newClient(t)
	c.token = "not-issued"
	status, body := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), nil)
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || status != 401 || e.Name != "AUTHENTICATION_FAILURE" || e.Message == "" || e.DebugID == "" {
		t.Errorf("unauthenticated create: %d %s, want 401 AUTHENTICATION_FAILURE with message and debug_id", status, body)
	}
}

func TestCreateOrderReplaysWithSameRequestID(t *testing.T) {
	c := newClient(t)
	status, first := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), withRequestID("key-1"))
	var o orderJSON
	if err := json.Unmarshal(first, &o); err != nil || status != http.StatusCreated || o.Status != OrderCreated {
		t.Fatalf("create: %d %s, want 201 CREATED", status, first)
	}
	rels := map[string]string{}
	for _, l := range o.Links {
		rels[l.Rel] = l.Href
	}
	if rels["approve"] != c.s.URL+"/checkoutnow?token="+o.ID || rels["capture"] == "" || rels["self"] == "" {
		t.Errorf("links = %v, want self, approve at /checkoutnow?token=%s and capture", rels, o.ID)
	}
	status, again := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), withRequestID("key-1"))
	if status != http.StatusOK || !bytes.Equal(again, first) {
		t.Errorf("replay: %d %s, want 200 with the first body %s", status, again, first)
	}
	if status, _ := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), withRequestID("key-2")); status != http.StatusCreated {
		t.Errorf("new request id: status %d, want 201", status)
	}
	if n := len(c.s.orders); n != 2 {
		t.Errorf("orders = %d after two keys, want 2", n)
	}
}

func TestCreateOrderChecksAmounts(t *testing.T) {
	c := newClient(t)
	for value, issue := range map[string]string{`"19.999"`: "DECIMAL_PRECISION", `"19,99"`: "INVALID_PARAMETER_SYNTAX", `"0.00"`: "CANNOT_BE_ZERO_OR_NEGATIVE"} {
		body := strings.Replace(orderBody, `"19.99"`, value, 1)
		status, resp := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(body), nil)
		var e errorBody
		if err := json.Unmarshal(resp, &e); err != nil || status < 400 || len(e.Details) != 1 || e.Details[0].Issue != issue {
			t.Errorf("amount %s: %d %s, want issue %s", value, status, resp, issue)
		}
	}
	jpy := strings.Replace(strings.Replace(orderBody, `"USD"`, `"JPY"`, 1), `"19.99"`, `"500.5"`, 1)
	if status, resp := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(jpy), nil); status != 422 || !strings.Contains(string(resp), "DECIMAL_PRECISION") {
		t.Errorf("JPY with decimals: %d %s, want 422 DECIMAL_PRECISION", status, resp)
	}
}

func TestApprovePageApprovesAndRedirectsWithToken(t *testing.T) {
	c := newClient(t)
	_, created := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), nil)
	var o orderJSON
	if err := json.Unmarshal(created, &o); err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(c.s.URL + "/checkoutnow?token=" + o.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post"`) || !strings.Contains(string(page), "Approve</button>") {
		t.Fatalf("approve page: %d %s", resp.StatusCode, page)
	}
	if status, _ := c.do(http.MethodPost, "/v2/checkout/orders/"+o.ID+"/capture", strings.NewReader(`{"payment_source":null}`), nil); status != 422 {
		t.Errorf("capture before approval: status %d, want 422", status)
	}

	resp, err = browser.PostForm(c.s.URL+"/checkoutnow", url.Values{"token": {o.ID}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "shop.test" || loc.Path != "/ok" || loc.Query().Get("token") != o.ID || loc.Query().Get("PayerID") == "" {
		t.Fatalf("approve: %d to %q, want 303 to https://shop.test/ok?token=%s&PayerID=...", resp.StatusCode, loc, o.ID)
	}
	if got := c.s.OrderStatus(o.ID); got != OrderApproved {
		t.Fatalf("status after approval = %q, want APPROVED", got)
	}
	status, body := c.do(http.MethodPost, "/v2/checkout/orders/"+o.ID+"/capture", strings.NewReader(`{"payment_source":null}`), withRequestID("cap-1"))
	var captured orderJSON
	if err := json.Unmarshal(body, &captured); err != nil || status != http.StatusCreated || captured.Status != OrderCompleted ||
		len(captured.PurchaseUnits) != 1 || captured.PurchaseUnits[0].Payments == nil || len(captured.PurchaseUnits[0].Payments.Captures) != 1 {
		t.Fatalf("capture: %d %s, want 201 COMPLETED with one capture", status, body)
	}
	if cp := captured.PurchaseUnits[0].Payments.Captures[0]; cp.Amount != (amount{"USD", "19.99"}) || cp.CustomID != "42" || cp.Status != CaptureCompleted {
		t.Errorf("capture = %+v, want COMPLETED USD 19.99 with custom_id 42", cp)
	}
}

func TestFailNextAnswersFaultsThenRecovers(t *testing.T) {
	c := newClient(t)
	c.s.FailNext(2, http.StatusTooManyRequests)
	for i := range 2 {
		status, body := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), nil)
		if status != 429 || !strings.Contains(string(body), `"name":"RATE_LIMIT_REACHED"`) {
			t.Errorf("request %d: %d %s, want 429 RATE_LIMIT_REACHED", i, status, body)
		}
	}
	if status, body := c.do(http.MethodPost, "/v2/checkout/orders", strings.NewReader(orderBody), nil); status != http.StatusCreated {
		t.Errorf("after the faults: %d %s, want 201", status, body)
	}
	if n := len(c.s.orders); n != 1 {
		t.Errorf("orders = %d, want 1: faults must not change state", n)
	}
}

func TestVerifyNeedsAllFieldsAndOnlyTrustsOwnDeliveries(t *testing.T) {
	c := newClient(t)
	d, err := c.s.SignedEvent("PAYMENT.CAPTURE.COMPLETED", "capture", map[string]string{"id": "CAP1"})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(webhookID string, event []byte) (int, string) {
		req := map[string]any{"auth_algo": d.Header.Get("PAYPAL-AUTH-ALGO"), "cert_url": d.Header.Get("PAYPAL-CERT-URL"),
			"transmission_id": d.Header.Get("PAYPAL-TRANSMISSION-ID"), "transmission_sig": d.Header.Get("PAYPAL-TRANSMISSION-SIG"),
			"transmission_time": d.Header.Get("PAYPAL-TRANSMISSION-TIME"), "webhook_id": webhookID, "webhook_event": json.RawMessage(event)}
		b, _ := json.Marshal(req)
		status, body := c.do(http.MethodPost, "/v1/notifications/verify-webhook-signature", bytes.NewReader(b), nil)
		var res struct {
			VerificationStatus string `json:"verification_status"`
		}
		_ = json.Unmarshal(body, &res)
		return status, res.VerificationStatus
	}
	if status, got := verify("WH-1", d.Body); status != 200 || got != "SUCCESS" {
		t.Errorf("own delivery: %d %q, want 200 SUCCESS", status, got)
	}
	if status, got := verify("WH-2", d.Body); status != 200 || got != "FAILURE" {
		t.Errorf("other webhook id: %d %q, want 200 FAILURE", status, got)
	}
	if status, got := verify("WH-1", bytes.Replace(d.Body, []byte("CAP1"), []byte("CAP2"), 1)); status != 200 || got != "FAILURE" {
		t.Errorf("changed event: %d %q, want 200 FAILURE", status, got)
	}
	if status, _ := verify("", d.Body); status != http.StatusBadRequest {
		t.Errorf("missing webhook_id: status %d, want 400", status)
	}
}
