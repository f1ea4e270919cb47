package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const SignatureHeader = "Sandbox-Signature"

// Tolerance is how far a signature's time may be from the sandbox clock, either way.
const Tolerance = 5 * time.Minute

// wireEvent is an event as the sandbox delivers it.
type wireEvent struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Kind        string `json:"kind,omitempty"`
	Created     int64  `json:"created"`
	InvoiceID   int64  `json:"invoice_id,omitempty"`
	PaymentRef  string `json:"payment_ref,omitempty"`
	RefundRef   string `json:"refund_ref,omitempty"`
	CustomerRef string `json:"customer_ref,omitempty"`
	Amount      int64  `json:"amount,omitempty"`
	Currency    string `json:"currency,omitempty"`
	// Refunds lists the refunds a refund event reports, each by its id.
	Refunds []wireRefund `json:"refunds,omitempty"`
}

type wireRefund struct {
	Ref      string `json:"ref"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
}

// signer signs events and verifies deliveries with the shared secret against a clock. The
// Sandbox signs with it and Client verifies with it, so a delivery parses the same way in the
// process hosting the sandbox and in one that only talks to it.
type signer struct {
	secret []byte
	now    func() time.Time
}

// SignedEvent encodes an event as a webhook delivery signed with the sandbox secret at the
// sandbox's current time, for tests and for apps that route Notify through their webhook path.
func (s *Sandbox) SignedEvent(e gateways.Event) (body []byte, header http.Header) {
	return s.signer.signedEvent(e)
}

// ParseWebhook verifies the Sandbox-Signature of a delivery and decodes its event. A missing,
// forged or stale (more than Tolerance from now) signature gives an error wrapping
// gateways.ErrInvalidWebhook. Several v1 values are accepted, any one of which may match.
func (s *Sandbox) ParseWebhook(_ context.Context, body []byte, header http.Header) (gateways.Event, error) {
	return s.signer.parse(body, header)
}

func (k signer) signedEvent(e gateways.Event) (body []byte, header http.Header) {
	w := wireEvent{ID: e.ID, Type: e.Type, Kind: string(e.Kind), Created: e.Created.Unix(), InvoiceID: e.InvoiceID,
		PaymentRef: e.PaymentRef, RefundRef: e.RefundRef, CustomerRef: e.CustomerRef, Amount: e.Amount.Amount, Currency: e.Amount.Currency}
	for _, r := range e.Refunds {
		w.Refunds = append(w.Refunds, wireRefund{Ref: r.Ref, Amount: r.Amount.Amount, Currency: r.Amount.Currency, Status: string(r.Status)})
	}
	body, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("sandbox: encode event %s: %v", e.ID, err)) // a struct of strings and ints always encodes
	}
	t := k.now().Unix()
	header = http.Header{}
	header.Set(SignatureHeader, fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(k.sign(t, body))))
	return body, header
}

func (k signer) parse(body []byte, header http.Header) (gateways.Event, error) {
	if len(k.secret) == 0 {
		return gateways.Event{}, fmt.Errorf("sandbox: webhook secret is not configured: %w", gateways.ErrInvalidWebhook)
	}
	t, sigs, err := parseSignature(header.Get(SignatureHeader))
	if err != nil {
		return gateways.Event{}, fmt.Errorf("sandbox: %s: %v: %w", SignatureHeader, err, gateways.ErrInvalidWebhook)
	}
	if age := k.now().Sub(time.Unix(t, 0)); age > Tolerance || age < -Tolerance {
		return gateways.Event{}, fmt.Errorf("sandbox: signature time %d is %s from now, over %s: %w",
			t, age.Round(time.Second), Tolerance, gateways.ErrInvalidWebhook)
	}
	want := k.sign(t, body)
	valid := false
	for _, sig := range sigs {
		valid = valid || hmac.Equal(sig, want)
	}
	if !valid {
		return gateways.Event{}, fmt.Errorf("sandbox: signature does not match the body: %w", gateways.ErrInvalidWebhook)
	}
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return gateways.Event{}, fmt.Errorf("sandbox: decode event: %v: %w", err, gateways.ErrInvalidWebhook)
	}
	if w.ID == "" || w.Type == "" {
		return gateways.Event{}, fmt.Errorf("sandbox: event without id or type: %w", gateways.ErrInvalidWebhook)
	}
	e := gateways.Event{ID: w.ID, Type: w.Type, Kind: gateways.EventKind(w.Kind), Created: time.Unix(w.Created, 0).UTC(),
		InvoiceID: w.InvoiceID, PaymentRef: w.PaymentRef, RefundRef: w.RefundRef, CustomerRef: w.CustomerRef}
	for _, r := range w.Refunds {
		amount, err := billing.New(r.Amount, r.Currency)
		if err != nil {
			return gateways.Event{}, fmt.Errorf("sandbox: event %s refund %s amount: %v: %w", w.ID, r.Ref, err, gateways.ErrInvalidWebhook)
		}
		e.Refunds = append(e.Refunds, gateways.RefundState{Ref: r.Ref, Amount: amount, Status: gateways.RefundStatus(r.Status)})
	}
	if w.Currency != "" {
		if e.Amount, err = billing.New(w.Amount, w.Currency); err != nil {
			return gateways.Event{}, fmt.Errorf("sandbox: event %s amount: %v: %w", w.ID, err, gateways.ErrInvalidWebhook)
		}
	}
	if e.Kind == "" { // an event written without its kind: its type says what it means
		e.Kind = eventKinds[e.Type]
	}
	if e.Kind == gateways.EventRefund && len(e.Refunds) == 0 && e.Amount.IsPositive() {
		// One refund event per refund: without a refund id, the event's id names it.
		ref := e.RefundRef
		if ref == "" {
			ref = e.ID
		}
		e.Refunds = []gateways.RefundState{{Ref: ref, Amount: e.Amount, Status: gateways.RefundSucceeded}}
	}
	return e, nil
}

func (k signer) sign(t int64, body []byte) []byte {
	mac := hmac.New(sha256.New, k.secret)
	mac.Write([]byte(strconv.FormatInt(t, 10) + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// parseSignature reads "t=<unix>,v1=<hex>[,v1=<hex>...]"; unknown keys are skipped.
func parseSignature(h string) (t int64, sigs [][]byte, err error) {
	if h == "" {
		return 0, nil, fmt.Errorf("missing")
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if t, err = strconv.ParseInt(v, 10, 64); err != nil {
				return 0, nil, fmt.Errorf("timestamp %q is not a number", v)
			}
			seenT = true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil {
				return 0, nil, fmt.Errorf("v1 is not hex")
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT || len(sigs) == 0 {
		return 0, nil, fmt.Errorf("needs t= and v1=")
	}
	return t, sigs, nil
}
