package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ezscale/billing/billing"
)

// Capture and refund statuses (docs/gateways.md).
const (
	CaptureCompleted         = "COMPLETED"
	CapturePartiallyRefunded = "PARTIALLY_REFUNDED"
	CaptureRefunded          = "REFUNDED"
	RefundCompleted          = "COMPLETED"
	RefundPending            = "PENDING"
)

type capture struct {
	id        string
	orderID   string
	money     billing.Money
	refunded  int64 // minor units
	customID  string
	invoiceID string
	status    string
	base      string
	created   time.Time
	updated   time.Time
}

type refund struct {
	id        string
	status    string
	captureID string
	money     billing.Money
	customID  string
	invoiceID string
	base      string
	created   time.Time
}

type captureJSON struct {
	ID                        string         `json:"id"`
	Status                    string         `json:"status"`
	Amount                    amount         `json:"amount"`
	FinalCapture              bool           `json:"final_capture"`
	CustomID                  string         `json:"custom_id,omitempty"`
	InvoiceID                 string         `json:"invoice_id,omitempty"`
	SellerReceivableBreakdown breakdownJSON  `json:"seller_receivable_breakdown"`
	SupplementaryData         map[string]any `json:"supplementary_data"`
	Links                     []link         `json:"links"`
	CreateTime                string         `json:"create_time"`
	UpdateTime                string         `json:"update_time"`
}

type breakdownJSON struct {
	GrossAmount amount `json:"gross_amount"`
	PaypalFee   amount `json:"paypal_fee"`
	NetAmount   amount `json:"net_amount"`
}

type refundJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Amount     amount `json:"amount"`
	CustomID   string `json:"custom_id,omitempty"`
	InvoiceID  string `json:"invoice_id,omitempty"`
	Links      []link `json:"links"`
	CreateTime string `json:"create_time"`
	UpdateTime string `json:"update_time"`
}

func (c *capture) json() captureJSON {
	fee, _ := c.money.MulRatio(3, 100) // a flat 3% fee; cannot overflow for a positive amount
	net, _ := c.money.Sub(fee)
	self := c.base + "/v2/payments/captures/" + c.id
	return captureJSON{
		ID: c.id, Status: c.status, Amount: formatAmount(c.money), FinalCapture: true,
		CustomID: c.customID, InvoiceID: c.invoiceID,
		SellerReceivableBreakdown: breakdownJSON{GrossAmount: formatAmount(c.money), PaypalFee: formatAmount(fee), NetAmount: formatAmount(net)},
		SupplementaryData:         map[string]any{"related_ids": map[string]string{"order_id": c.orderID}},
		Links: []link{{Href: self, Rel: "self", Method: http.MethodGet},
			{Href: self + "/refund", Rel: "refund", Method: http.MethodPost},
			{Href: c.base + "/v2/checkout/orders/" + c.orderID, Rel: "up", Method: http.MethodGet}},
		CreateTime: c.created.Format(time.RFC3339), UpdateTime: c.updated.Format(time.RFC3339),
	}
}

func (f *refund) json() refundJSON {
	return refundJSON{
		ID: f.id, Status: f.status, Amount: formatAmount(f.money), CustomID: f.customID, InvoiceID: f.invoiceID,
		Links: []link{{Href: f.base + "/v2/payments/refunds/" + f.id, Rel: "self", Method: http.MethodGet},
			{Href: f.base + "/v2/payments/captures/" + f.captureID, Rel: "up", Method: http.MethodGet}},
		CreateTime: f.created.Format(time.RFC3339), UpdateTime: f.created.Format(time.RFC3339),
	}
}

// getCapture is GET /v2/payments/captures/{id}.
func (s *Server) getCapture(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.captures[r.PathValue("id")]
	if !ok {
		notFound(w, "capture", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, c.json())
}

// refundCapture is POST /v2/payments/captures/{id}/refund: no amount refunds what is left,
// an amount refunds that much. Refunds are bounded by the captured amount (422
// REFUND_AMOUNT_EXCEEDED, or CAPTURE_FULLY_REFUNDED when nothing is left); a repeated
// PayPal-Request-Id answers 200 with the first refund.
func (s *Server) refundCapture(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount      *amount `json:"amount"`
		InvoiceID   string  `json:"invoice_id"`
		NoteToPayer string  `json:"note_to_payer"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, detail{Location: "body", Issue: "MALFORMED_REQUEST_JSON", Description: err.Error()})
		return
	}
	var asked billing.Money
	if req.Amount != nil {
		m, aerr := parseAmount(req.Amount, "/amount")
		if aerr != nil {
			aerr.write(w)
			return
		}
		asked = m
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replayed(w, r) {
		return
	}
	id := r.PathValue("id")
	c, ok := s.captures[id]
	if !ok {
		notFound(w, "capture", id)
		return
	}
	left := billing.Money{Amount: c.money.Amount - c.refunded, Currency: c.money.Currency}
	switch {
	case left.IsZero():
		unprocessable(w, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
		return
	case req.Amount == nil:
		asked = left
	case asked.Currency != c.money.Currency:
		unprocessable(w, "REFUND_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")
		return
	case asked.Amount > left.Amount:
		unprocessable(w, "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")
		return
	}
	invoiceID := req.InvoiceID
	if invoiceID == "" {
		invoiceID = c.invoiceID
	}
	now := s.now().UTC()
	status := RefundCompleted
	if s.opts.PendingRefunds {
		status = RefundPending
	}
	f := &refund{id: newID(), status: status, captureID: c.id, money: asked, customID: c.customID, invoiceID: invoiceID, base: c.base, created: now}
	s.refunds[f.id] = f
	c.refunded += asked.Amount
	c.status, c.updated = CapturePartiallyRefunded, now
	if c.refunded == c.money.Amount {
		c.status = CaptureRefunded
	}
	s.emit(eventCaptureRefunded, "refund", f.json())
	s.remember(w, r, http.StatusCreated, f.json())
}

// CaptureState is what the simulator holds about one capture.
type CaptureState struct {
	ID       string
	OrderID  string
	Status   string // COMPLETED, PARTIALLY_REFUNDED or REFUNDED
	Amount   billing.Money
	Refunded billing.Money
}

// Captures lists every capture made, in no particular order; more than one per order would be
// a double charge.
func (s *Server) Captures() []CaptureState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CaptureState, 0, len(s.captures))
	for _, c := range s.captures {
		out = append(out, CaptureState{ID: c.id, OrderID: c.orderID, Status: c.status, Amount: c.money,
			Refunded: billing.Money{Amount: c.refunded, Currency: c.money.Currency}})
	}
	return out
}
