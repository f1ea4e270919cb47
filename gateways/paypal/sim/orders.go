package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ezscale/billing/billing"
)

// Order statuses (docs/gateways.md).
const (
	OrderCreated   = "CREATED"
	OrderApproved  = "APPROVED"
	OrderCompleted = "COMPLETED"
)

// ErrNotFound is returned by the test helpers for an unknown order id.
var ErrNotFound = errors.New("sim: no such order")

type order struct {
	id        string
	status    string
	unit      unitJSON // as created, without payments
	money     billing.Money
	returnURL string
	cancelURL string
	base      string // scheme://host the order was created through, for links
	payerID   string
	captureID string
	created   time.Time
	updated   time.Time
}

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

type unitJSON struct {
	ReferenceID string        `json:"reference_id,omitempty"`
	CustomID    string        `json:"custom_id,omitempty"`
	InvoiceID   string        `json:"invoice_id,omitempty"`
	Description string        `json:"description,omitempty"`
	Amount      *amount       `json:"amount,omitempty"`
	Payments    *paymentsJSON `json:"payments,omitempty"`
}

type paymentsJSON struct {
	Captures []captureJSON `json:"captures"`
}

type payerJSON struct {
	Name         map[string]string `json:"name,omitempty"`
	EmailAddress string            `json:"email_address,omitempty"`
	PayerID      string            `json:"payer_id,omitempty"`
}

type orderJSON struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	Intent        string     `json:"intent,omitempty"`
	Payer         *payerJSON `json:"payer,omitempty"`
	PurchaseUnits []unitJSON `json:"purchase_units,omitempty"`
	Links         []link     `json:"links"`
	CreateTime    string     `json:"create_time,omitempty"`
	UpdateTime    string     `json:"update_time,omitempty"`
}

type createOrderRequest struct {
	Intent             string     `json:"intent"`
	PurchaseUnits      []unitJSON `json:"purchase_units"`
	ApplicationContext *struct {
		ReturnURL string `json:"return_url"`
		CancelURL string `json:"cancel_url"`
	} `json:"application_context"`
}

// createOrder is POST /v2/checkout/orders: 201 with the minimal representation (id, status,
// links) unless Prefer: return=representation asks for the whole order; 200 with the same
// body for a repeated PayPal-Request-Id. The simulator takes one purchase unit.
func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	var req createOrderRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, detail{Location: "body", Issue: "MALFORMED_REQUEST_JSON", Description: err.Error()})
		return
	}
	if req.Intent != "CAPTURE" {
		writeError(w, http.StatusBadRequest, detail{Field: "/intent", Value: req.Intent, Location: "body",
			Issue: "INVALID_PARAMETER_VALUE", Description: "The simulator supports intent CAPTURE only."})
		return
	}
	if len(req.PurchaseUnits) != 1 {
		writeError(w, http.StatusBadRequest, detail{Field: "/purchase_units", Location: "body",
			Issue: "INVALID_ARRAY_LENGTH", Description: "The simulator takes exactly one purchase unit."})
		return
	}
	unit := req.PurchaseUnits[0]
	unit.Payments = nil
	m, aerr := parseAmount(unit.Amount, "/purchase_units/@reference_id=='"+unit.ReferenceID+"'/amount")
	if aerr != nil {
		aerr.write(w)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replayed(w, r) {
		return
	}
	now := s.now().UTC()
	o := &order{id: newID(), status: OrderCreated, unit: unit, money: m, base: baseURL(r), created: now, updated: now}
	if ac := req.ApplicationContext; ac != nil {
		o.returnURL, o.cancelURL = ac.ReturnURL, ac.CancelURL
	}
	s.orders[o.id] = o
	body := orderJSON{ID: o.id, Status: o.status, Links: o.links()}
	if r.Header.Get("Prefer") == "return=representation" {
		body = s.orderJSON(o)
	}
	s.remember(w, r, http.StatusCreated, body)
}

// getOrder is GET /v2/checkout/orders/{id}: the whole order, captures included.
func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		notFound(w, "order", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, s.orderJSON(o))
}

// Approve does what the buyer does on the approve page: a CREATED order becomes APPROVED and
// a CHECKOUT.ORDER.APPROVED delivery is signed. Approving an approved order does nothing.
func (s *Server) Approve(orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return fmt.Errorf("approve order %s: %w", orderID, ErrNotFound)
	}
	switch o.status {
	case OrderApproved:
		return nil
	case OrderCreated:
	default:
		return fmt.Errorf("approve order %s: order is %s", orderID, o.status)
	}
	o.status = OrderApproved
	o.payerID = "SIMPAYER" + newID()[:5]
	o.updated = s.now().UTC()
	s.emit(eventOrderApproved, "checkout-order", s.orderJSON(o))
	return nil
}

// OrderStatus reports an order's status, or "" for an unknown id.
func (s *Server) OrderStatus(orderID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[orderID]; ok {
		return o.status
	}
	return ""
}

// DeclineNextCapture makes the next capture of an order fail with 422 and issue, e.g.
// INSTRUMENT_DECLINED or PAYER_ACTION_REQUIRED; the order keeps its status.
func (s *Server) DeclineNextCapture(orderID, issue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declines[orderID] = issue
}

// captureOrder is POST /v2/checkout/orders/{id}/capture. Only an APPROVED order is captured
// (422 ORDER_NOT_APPROVED, or ORDER_ALREADY_CAPTURED, otherwise); a repeated PayPal-Request-Id
// answers 200 with the first capture. An invoice_id already captured on another order is
// refused with DUPLICATE_INVOICE_ID, as PayPal accounts with unique invoice ids do.
func (s *Server) captureOrder(w http.ResponseWriter, r *http.Request) {
	// plutov sends {"payment_source":null}; an empty body is fine too.
	var req struct {
		PaymentSource json.RawMessage `json:"payment_source"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, detail{Location: "body", Issue: "MALFORMED_REQUEST_JSON", Description: err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replayed(w, r) {
		return
	}
	id := r.PathValue("id")
	o, ok := s.orders[id]
	if !ok {
		notFound(w, "order", id)
		return
	}
	if issue := s.declines[id]; issue != "" {
		delete(s.declines, id)
		unprocessable(w, issue, "The simulator was told to refuse this capture.")
		return
	}
	switch o.status {
	case OrderApproved:
	case OrderCompleted:
		unprocessable(w, "ORDER_ALREADY_CAPTURED", "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.")
		return
	default:
		unprocessable(w, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.")
		return
	}
	if inv := o.unit.InvoiceID; inv != "" {
		for _, c := range s.captures {
			if c.invoiceID == inv {
				unprocessable(w, "DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account setting requires that Invoice Id be unique for each transaction.")
				return
			}
		}
	}
	now := s.now().UTC()
	c := &capture{id: newID(), orderID: o.id, money: o.money, customID: o.unit.CustomID, invoiceID: o.unit.InvoiceID,
		status: CaptureCompleted, base: o.base, created: now, updated: now}
	s.captures[c.id] = c
	o.status, o.captureID, o.updated = OrderCompleted, c.id, now
	s.emit(eventCaptureCompleted, "capture", c.json())

	body := s.orderJSON(o)
	if s.opts.OmitCaptureDetails {
		body.PurchaseUnits = nil
	}
	s.remember(w, r, http.StatusCreated, body)
}

// orderJSON is the whole order. Call with s.mu held.
func (s *Server) orderJSON(o *order) orderJSON {
	unit := o.unit
	if c, ok := s.captures[o.captureID]; ok {
		unit.Payments = &paymentsJSON{Captures: []captureJSON{c.json()}}
	}
	out := orderJSON{ID: o.id, Status: o.status, Intent: "CAPTURE", PurchaseUnits: []unitJSON{unit}, Links: o.links(),
		CreateTime: o.created.Format(time.RFC3339), UpdateTime: o.updated.Format(time.RFC3339)}
	if o.payerID != "" {
		out.Payer = &payerJSON{Name: map[string]string{"given_name": "Sim", "surname": "Buyer"},
			EmailAddress: "buyer@example.com", PayerID: o.payerID}
	}
	return out
}

func (o *order) links() []link {
	self := o.base + "/v2/checkout/orders/" + o.id
	links := []link{{Href: self, Rel: "self", Method: http.MethodGet}}
	switch o.status {
	case OrderCreated:
		links = append(links, link{Href: o.base + "/checkoutnow?token=" + o.id, Rel: "approve", Method: http.MethodGet},
			link{Href: self, Rel: "update", Method: http.MethodPatch},
			link{Href: self + "/capture", Rel: "capture", Method: http.MethodPost})
	case OrderApproved:
		links = append(links, link{Href: self + "/capture", Rel: "capture", Method: http.MethodPost})
	}
	return links
}
