package sandbox

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// The JSON bodies of the API under /sandbox/api/v1/, shared by the server (api.go) and Client.
// Amounts travel as integer minor units plus the currency code, exactly as billing.Money holds
// them, so an idempotent retry arrives as the same request it was the first time.

// IdempotencyHeader carries the idempotency key of checkout, charge and refund calls.
const IdempotencyHeader = "Idempotency-Key"

type customerJSON struct {
	ID    int64  `json:"id"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

type refJSON struct {
	Ref string `json:"ref"`
}

type checkoutRequestJSON struct {
	InvoiceID   int64  `json:"invoice_id,omitempty"`
	CustomerRef string `json:"customer_ref,omitempty"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
	SuccessURL  string `json:"success_url"`
	CancelURL   string `json:"cancel_url,omitempty"`
}

type checkoutJSON struct {
	Ref string `json:"ref"`
	URL string `json:"url"`
}

type chargeRequestJSON struct {
	InvoiceID        int64  `json:"invoice_id,omitempty"`
	CustomerRef      string `json:"customer_ref,omitempty"`
	PaymentMethodRef string `json:"payment_method_ref,omitempty"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	Description      string `json:"description,omitempty"`
}

type chargeJSON struct {
	Ref      string `json:"ref"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type refundRequestJSON struct {
	InvoiceID int64  `json:"invoice_id,omitempty"`
	ChargeRef string `json:"charge_ref"`
	Amount    int64  `json:"amount,omitempty"` // with Currency empty too, the rest of the charge
	Currency  string `json:"currency,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

type refundJSON struct {
	Ref      string `json:"ref"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type paymentMethodJSON struct {
	Ref      string `json:"ref"`
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	Default  bool   `json:"default"`
}

type paymentMethodsJSON struct {
	Data []paymentMethodJSON `json:"data"`
}

type setDefaultJSON struct {
	PaymentMethodRef string `json:"payment_method_ref"`
}

type transactionJSON struct {
	Kind       string `json:"kind"`
	Ref        string `json:"ref"`
	PaymentRef string `json:"payment_ref,omitempty"`
	InvoiceID  int64  `json:"invoice_id,omitempty"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	Created    string `json:"created"` // RFC 3339 with nanoseconds, so [from, to) bounds compare exactly
}

type transactionsJSON struct {
	Data []transactionJSON `json:"data"`
}

// errorJSON is every failed API call's body: {"error":{"kind":...}}.
type errorJSON struct {
	Error errorDetailJSON `json:"error"`
}

type errorDetailJSON struct {
	Kind        string `json:"kind"` // one of the kind* names below
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message,omitempty"`
	PaymentRef  string `json:"payment_ref,omitempty"`
}

// Error kinds on the wire, one per gateways error a call can fail with.
const (
	kindDeclined               = "declined"
	kindAuthenticationRequired = "authentication_required"
	kindInvalidRequest         = "invalid_request"
	kindTemporary              = "temporary"
)

// kindOf names a gateways error kind on the wire, with the HTTP status it is sent with.
func kindOf(kind error) (name string, status int) {
	switch {
	case errors.Is(kind, gateways.ErrDeclined):
		return kindDeclined, http.StatusPaymentRequired
	case errors.Is(kind, gateways.ErrAuthenticationRequired):
		return kindAuthenticationRequired, http.StatusPaymentRequired
	case errors.Is(kind, gateways.ErrInvalidRequest):
		return kindInvalidRequest, http.StatusBadRequest
	case errors.Is(kind, gateways.ErrTemporary):
		return kindTemporary, http.StatusServiceUnavailable
	}
	return kindTemporary, http.StatusInternalServerError
}

// kindError is the gateways error kind a wire name stands for. An unknown name is a request
// this client does not understand, so not worth retrying.
func kindError(name string) error {
	switch name {
	case kindDeclined:
		return gateways.ErrDeclined
	case kindAuthenticationRequired:
		return gateways.ErrAuthenticationRequired
	case kindTemporary:
		return gateways.ErrTemporary
	}
	return gateways.ErrInvalidRequest
}

// encodeError turns a sandbox failure into its wire body and HTTP status. Anything that is not
// a *gateways.Error is a bug on our side, reported as a retryable 500.
func encodeError(err error) (errorJSON, int) {
	var ge *gateways.Error
	if !errors.As(err, &ge) {
		return errorJSON{Error: errorDetailJSON{Kind: kindTemporary, Code: "internal_error", Message: err.Error()}},
			http.StatusInternalServerError
	}
	kind, status := kindOf(ge.Kind)
	if ge.HTTPStatus != 0 {
		status = ge.HTTPStatus // e.g. 401 for a missing API key
	}
	return errorJSON{Error: errorDetailJSON{Kind: kind, Code: ge.Code, DeclineCode: ge.DeclineCode,
		Message: ge.Message, PaymentRef: ge.PaymentRef}}, status
}

// decodeError turns an API error answer back into the *gateways.Error the sandbox returned. A
// 5xx, 408 or 429 is always ErrTemporary, whatever its body says; any other answer without the
// error JSON is a request we got wrong.
func decodeError(status int, body errorJSON, bodyOK bool) *gateways.Error {
	d := body.Error
	ge := &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: d.Code, DeclineCode: d.DeclineCode,
		Message: d.Message, PaymentRef: d.PaymentRef, HTTPStatus: status}
	switch {
	case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		ge.Kind = gateways.ErrTemporary
	case bodyOK:
		ge.Kind = kindError(d.Kind)
	}
	if !bodyOK {
		ge.Code = fmt.Sprintf("http_%d", status)
	}
	return ge
}

// moneyOf rebuilds an amount exactly as it was sent, so an idempotent retry compares equal.
func moneyOf(amount int64, currency string) billing.Money {
	return billing.Money{Amount: amount, Currency: currency}
}

func toPaymentMethodJSON(m gateways.PaymentMethod) paymentMethodJSON {
	return paymentMethodJSON{Ref: m.Ref, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear, Default: m.Default}
}

func (m paymentMethodJSON) paymentMethod() gateways.PaymentMethod {
	return gateways.PaymentMethod{Ref: m.Ref, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear, Default: m.Default}
}
