package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ezscale/billing/gateways"
)

// apiPrefix is where the JSON API lives under the Handler.
const apiPrefix = "/sandbox/api/v1"

// apiBodyLimit bounds a request body; the largest, a checkout, is a few hundred bytes.
const apiBodyLimit = 64 << 10

// routeAPI adds the JSON API that Client calls, one route per Gateway method plus the stats
// crash tests read. Every route needs the API key.
func (s *Sandbox) routeAPI(mux *http.ServeMux) {
	mux.Handle("POST "+apiPrefix+"/customers", s.api(s.apiEnsureCustomer))
	mux.Handle("POST "+apiPrefix+"/checkouts", s.api(s.apiStartCheckout))
	mux.Handle("POST "+apiPrefix+"/charges", s.api(s.apiChargeSaved))
	mux.Handle("POST "+apiPrefix+"/refunds", s.api(s.apiRefund))
	mux.Handle("GET "+apiPrefix+"/customers/{ref}/payment_methods", s.api(s.apiPaymentMethods))
	mux.Handle("POST "+apiPrefix+"/customers/{ref}/default_payment_method", s.api(s.apiSetDefault))
	mux.Handle("POST "+apiPrefix+"/payment_methods/{ref}/detach", s.api(s.apiDetach))
	mux.Handle("POST "+apiPrefix+"/checkouts/{ref}/expire", s.api(s.apiExpireCheckout))
	mux.Handle("GET "+apiPrefix+"/transactions", s.api(s.apiTransactions))
	mux.Handle("GET "+apiPrefix+"/stats", s.api(s.apiStats))
	mux.Handle("/sandbox/api/", s.api(func(r *http.Request) (any, error) {
		return nil, &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: "not_found",
			Message: fmt.Sprintf("no API route %s %s", r.Method, r.URL.Path), HTTPStatus: http.StatusNotFound}
	}))
}

// apiCall is one API endpoint: it reads the request and returns the response body or the
// failure, which api encodes as the error JSON.
type apiCall func(r *http.Request) (any, error)

// api authenticates a call, runs it and writes its JSON answer.
func (s *Sandbox) api(call apiCall) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
			writeAPIError(w, &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: "invalid_api_key",
				Message: "missing or wrong API key (Authorization: Bearer <key>)", HTTPStatus: http.StatusUnauthorized})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, apiBodyLimit)
		out, err := call(r)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// authorized checks the bearer key in constant time; with no key configured nothing passes.
func (s *Sandbox) authorized(r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.apiKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) == 1
}

func (s *Sandbox) apiEnsureCustomer(r *http.Request) (any, error) {
	var in customerJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ref, err := s.EnsureCustomer(r.Context(), gateways.Customer{ID: in.ID, Email: in.Email, Name: in.Name})
	if err != nil {
		return nil, err
	}
	return refJSON{Ref: ref}, nil
}

func (s *Sandbox) apiStartCheckout(r *http.Request) (any, error) {
	var in checkoutRequestJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	co, err := s.StartCheckout(r.Context(), gateways.CheckoutRequest{InvoiceID: in.InvoiceID, CustomerRef: in.CustomerRef,
		Amount: moneyOf(in.Amount, in.Currency), Description: in.Description, SuccessURL: in.SuccessURL,
		CancelURL: in.CancelURL, IdempotencyKey: r.Header.Get(IdempotencyHeader)})
	if err != nil {
		return nil, err
	}
	return checkoutJSON{Ref: co.Ref, URL: co.URL}, nil
}

func (s *Sandbox) apiChargeSaved(r *http.Request) (any, error) {
	var in chargeRequestJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ch, err := s.ChargeSaved(r.Context(), gateways.ChargeRequest{InvoiceID: in.InvoiceID, CustomerRef: in.CustomerRef,
		PaymentMethodRef: in.PaymentMethodRef, Amount: moneyOf(in.Amount, in.Currency), Description: in.Description,
		IdempotencyKey: r.Header.Get(IdempotencyHeader)})
	if err != nil {
		return nil, err
	}
	return chargeJSON{Ref: ch.Ref, Status: string(ch.Status), Amount: ch.Amount.Amount, Currency: ch.Amount.Currency}, nil
}

func (s *Sandbox) apiRefund(r *http.Request) (any, error) {
	var in refundRequestJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	re, err := s.Refund(r.Context(), gateways.RefundRequest{InvoiceID: in.InvoiceID, ChargeRef: in.ChargeRef,
		Amount: moneyOf(in.Amount, in.Currency), Reason: in.Reason, IdempotencyKey: r.Header.Get(IdempotencyHeader)})
	if err != nil {
		return nil, err
	}
	return refundJSON{Ref: re.Ref, Status: re.Status, Amount: re.Amount.Amount, Currency: re.Amount.Currency}, nil
}

func (s *Sandbox) apiPaymentMethods(r *http.Request) (any, error) {
	pms, err := s.PaymentMethods(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	out := paymentMethodsJSON{Data: make([]paymentMethodJSON, 0, len(pms))}
	for _, m := range pms {
		out.Data = append(out.Data, toPaymentMethodJSON(m))
	}
	return out, nil
}

func (s *Sandbox) apiSetDefault(r *http.Request) (any, error) {
	var in setDefaultJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := s.SetDefaultPaymentMethod(r.Context(), r.PathValue("ref"), in.PaymentMethodRef); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Sandbox) apiDetach(r *http.Request) (any, error) {
	if err := s.DetachPaymentMethod(r.Context(), r.PathValue("ref")); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Sandbox) apiStats(*http.Request) (any, error) { return s.Stats(), nil }

// decodeBody reads a JSON request body; a malformed or oversized one is ErrInvalidRequest.
func decodeBody(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		status := http.StatusBadRequest
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			status = http.StatusRequestEntityTooLarge
		}
		return &gateways.Error{Gateway: Name, Kind: gateways.ErrInvalidRequest, Code: "invalid_json",
			Message: fmt.Sprintf("decode %s body: %v", r.URL.Path, err), HTTPStatus: status}
	}
	return nil
}

func writeAPIError(w http.ResponseWriter, err error) {
	body, status := encodeError(err)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our own structs of strings and numbers; a failure here is a bug
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"kind":"temporary","code":"internal_error","message":"encode response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
