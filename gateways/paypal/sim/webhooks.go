package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"time"
)

// Event types the simulator emits on its own.
const (
	eventOrderApproved    = "CHECKOUT.ORDER.APPROVED"
	eventCaptureCompleted = "PAYMENT.CAPTURE.COMPLETED"
	eventCaptureRefunded  = "PAYMENT.CAPTURE.REFUNDED"
)

// certURL is where PayPal would publish the signing certificate; verification only compares it.
const certURL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-sim"

// Delivery is one webhook delivery as PayPal POSTs it: the raw event and its transmission
// headers (PAYPAL-AUTH-ALGO, PAYPAL-CERT-URL, PAYPAL-TRANSMISSION-ID/-SIG/-TIME).
type Delivery struct {
	EventType string
	Body      []byte
	Header    http.Header
}

type eventJSON struct {
	ID              string          `json:"id"`
	EventVersion    string          `json:"event_version"`
	CreateTime      string          `json:"create_time"`
	ResourceType    string          `json:"resource_type"`
	ResourceVersion string          `json:"resource_version"`
	EventType       string          `json:"event_type"`
	Summary         string          `json:"summary"`
	Resource        json.RawMessage `json:"resource"`
}

// Deliveries lists every delivery the simulator signed, oldest first: the ones its state
// changes emit (CHECKOUT.ORDER.APPROVED on approval, PAYMENT.CAPTURE.COMPLETED on capture,
// PAYMENT.CAPTURE.REFUNDED on refund) and those made with SignedEvent.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		out[i] = Delivery{EventType: d.EventType, Body: bytes.Clone(d.Body), Header: d.Header.Clone()}
	}
	return out
}

// SignedEvent builds a delivery of any event type around resource (marshalled to JSON) and
// records its transmission, so the verify endpoint answers SUCCESS for it, e.g. to test
// PAYMENT.CAPTURE.DENIED.
func (s *Server) SignedEvent(eventType, resourceType string, resource any) (Delivery, error) {
	raw, err := json.Marshal(resource)
	if err != nil {
		return Delivery{}, fmt.Errorf("sim: encode %s resource: %w", eventType, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.sign(eventType, resourceType, raw)
	return Delivery{EventType: d.EventType, Body: bytes.Clone(d.Body), Header: d.Header.Clone()}, nil
}

// emit signs a delivery for a state change. Call with s.mu held.
func (s *Server) emit(eventType, resourceType string, resource any) {
	s.sign(eventType, resourceType, mustJSON(resource))
}

// sign wraps a resource in an event envelope, makes up transmission headers and records them.
// Call with s.mu held.
func (s *Server) sign(eventType, resourceType string, resource json.RawMessage) Delivery {
	now := s.now().UTC()
	body := mustJSON(eventJSON{ID: "WH-" + newID() + "-" + newID(), EventVersion: "1.0", CreateTime: now.Format(time.RFC3339),
		ResourceType: resourceType, ResourceVersion: "2.0", EventType: eventType, Summary: "Simulated " + eventType, Resource: resource})
	sig := make([]byte, 256) // the size of an RSA-2048 signature; only compared, never checked
	_, _ = rand.Read(sig)
	h := http.Header{}
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	h.Set("PAYPAL-CERT-URL", certURL)
	h.Set("PAYPAL-TRANSMISSION-ID", randomHex(16))
	h.Set("PAYPAL-TRANSMISSION-SIG", base64.StdEncoding.EncodeToString(sig))
	h.Set("PAYPAL-TRANSMISSION-TIME", now.Format(time.RFC3339))
	d := Delivery{EventType: eventType, Body: body, Header: h}
	s.transmissions[h.Get("PAYPAL-TRANSMISSION-ID")] = d
	s.deliveries = append(s.deliveries, d)
	return d
}

// Deliver POSTs a delivery to a webhook URL, as PayPal would, and fails unless it answers 2xx.
func (s *Server) Deliver(ctx context.Context, url string, d Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return fmt.Errorf("sim: deliver %s: %w", d.EventType, err)
	}
	req.Header = d.Header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("sim: deliver %s to %s: %w", d.EventType, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sim: deliver %s to %s: status %d", d.EventType, url, resp.StatusCode)
	}
	return nil
}

// verifyWebhook is POST /v1/notifications/verify-webhook-signature. All seven fields are
// required (400 otherwise); the answer is 200 SUCCESS when the transmission is one the
// simulator signed, its headers and event are unchanged and webhook_id is ours, and 200
// FAILURE for anything else.
func (s *Server) verifyWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AuthAlgo         string          `json:"auth_algo"`
		CertURL          string          `json:"cert_url"`
		TransmissionID   string          `json:"transmission_id"`
		TransmissionSig  string          `json:"transmission_sig"`
		TransmissionTime string          `json:"transmission_time"`
		WebhookID        string          `json:"webhook_id"`
		WebhookEvent     json.RawMessage `json:"webhook_event"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, detail{Location: "body", Issue: "MALFORMED_REQUEST_JSON", Description: err.Error()})
		return
	}
	fields := []struct{ name, value string }{{"auth_algo", req.AuthAlgo}, {"cert_url", req.CertURL},
		{"transmission_id", req.TransmissionID}, {"transmission_sig", req.TransmissionSig},
		{"transmission_time", req.TransmissionTime}, {"webhook_id", req.WebhookID}, {"webhook_event", string(req.WebhookEvent)}}
	var missing []detail
	for _, f := range fields {
		if f.value == "" || f.value == "null" {
			missing = append(missing, detail{Field: "/" + f.name, Location: "body", Issue: "MISSING_REQUIRED_PARAMETER",
				Description: "A required field / parameter is missing."})
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, missing...)
		return
	}
	s.mu.Lock()
	d, ok := s.transmissions[req.TransmissionID]
	s.mu.Unlock()
	status := "FAILURE"
	if ok && req.WebhookID == s.opts.WebhookID && s.opts.WebhookID != "" &&
		req.AuthAlgo == d.Header.Get("PAYPAL-AUTH-ALGO") && req.CertURL == d.Header.Get("PAYPAL-CERT-URL") &&
		req.TransmissionSig == d.Header.Get("PAYPAL-TRANSMISSION-SIG") &&
		req.TransmissionTime == d.Header.Get("PAYPAL-TRANSMISSION-TIME") && sameJSON(req.WebhookEvent, d.Body) {
		status = "SUCCESS"
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification_status": status})
}

// sameJSON compares two JSON documents by value: clients re-encode the event (plutov sends it
// compacted and HTML-escaped), so bytes may differ where meaning does not.
func sameJSON(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
