package paypal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// payPalError is what plutov returns for a non-2xx answer.
func payPalError(status int, name string, issues ...string) error {
	req := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "https", Host: "api-m.paypal.com", Path: "/v2/checkout/orders/X/capture"}}
	pe := &paypal.ErrorResponse{Response: &http.Response{StatusCode: status, Request: req}, Name: name, DebugID: "f1a2b3c4d5e6"}
	if name != "" { // the OAuth endpoint's errors have neither name nor message
		pe.Message = "msg"
	}
	for _, issue := range issues {
		pe.Details = append(pe.Details, paypal.ErrorResponseDetail{Issue: issue, Description: "about " + issue})
	}
	return fmt.Errorf("wrapped by plutov's caller: %w", pe)
}

func TestMapErrorKinds(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"server error", payPalError(500, "INTERNAL_SERVER_ERROR"), gateways.ErrTemporary},
		{"service unavailable", payPalError(503, "SERVICE_UNAVAILABLE"), gateways.ErrTemporary},
		{"rate limit", payPalError(429, "RATE_LIMIT_REACHED"), gateways.ErrTemporary},
		{"refund in progress", payPalError(409, "RESOURCE_CONFLICT"), gateways.ErrTemporary},
		{"previous request in progress", payPalError(422, "UNPROCESSABLE_ENTITY", "PREVIOUS_REQUEST_IN_PROGRESS"), gateways.ErrTemporary},
		{"network", errors.New("dial tcp: connection refused"), gateways.ErrTemporary},
		{"instrument declined", payPalError(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"), gateways.ErrDeclined},
		{"refused", payPalError(422, "UNPROCESSABLE_ENTITY", "TRANSACTION_REFUSED"), gateways.ErrDeclined},
		{"payer cannot pay", payPalError(422, "UNPROCESSABLE_ENTITY", "PAYER_CANNOT_PAY"), gateways.ErrDeclined},
		{"payer action", payPalError(422, "UNPROCESSABLE_ENTITY", "PAYER_ACTION_REQUIRED"), gateways.ErrAuthenticationRequired},
		{"not approved", payPalError(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED"), gateways.ErrAuthenticationRequired},
		{"issue in second detail", payPalError(422, "UNPROCESSABLE_ENTITY", "SOMETHING_ELSE", "INSTRUMENT_DECLINED"), gateways.ErrDeclined},
		{"already captured", payPalError(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED"), gateways.ErrInvalidRequest},
		{"bad parameter", payPalError(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE"), gateways.ErrInvalidRequest},
		{"bad credentials", payPalError(401, ""), gateways.ErrInvalidRequest},
		{"not found", payPalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"), gateways.ErrInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mapError("op", c.err); got.Kind != c.want {
				t.Errorf("mapError(%v).Kind = %v, want %v", c.err, got.Kind, c.want)
			}
		})
	}
}

func TestMapErrorKeepsPayPalDetails(t *testing.T) {
	ge := mapError("capture order X", payPalError(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"))
	if ge.Code != "UNPROCESSABLE_ENTITY" || ge.DeclineCode != "INSTRUMENT_DECLINED" || ge.HTTPStatus != 422 {
		t.Errorf("error = %+v, want code UNPROCESSABLE_ENTITY, decline code INSTRUMENT_DECLINED, status 422", ge)
	}
	for _, want := range []string{"capture order X: msg", "INSTRUMENT_DECLINED: about INSTRUMENT_DECLINED", "(debug_id f1a2b3c4d5e6)"} {
		if !strings.Contains(ge.Message, want) {
			t.Errorf("message %q lacks %q", ge.Message, want)
		}
	}
	if bare := mapError("op", payPalError(401, "")); !strings.Contains(bare.Message, "HTTP 401 Unauthorized") {
		t.Errorf("message of an error without a PayPal message = %q, want the HTTP status", bare.Message)
	}
}

func TestValueFormatsMinorUnitsAsPayPalDecimals(t *testing.T) {
	cases := []struct {
		in      billing.Money
		want    string
		invalid bool
	}{
		{in: billing.Money{Amount: 1999, Currency: "USD"}, want: "19.99"},
		{in: billing.Money{Amount: 5, Currency: "EUR"}, want: "0.05"},
		{in: billing.Money{Amount: 500, Currency: "JPY"}, want: "500"},
		{in: billing.Money{Amount: 1005, Currency: "KWD"}, want: "1.005"},
		{in: billing.Money{Amount: 50000, Currency: "HUF"}, want: "500"},
		{in: billing.Money{Amount: 120000, Currency: "TWD"}, want: "1200"},
		{in: billing.Money{Amount: 50050, Currency: "HUF"}, invalid: true},
		{in: billing.Money{Amount: 0, Currency: "USD"}, invalid: true},
		{in: billing.Money{Amount: -100, Currency: "USD"}, invalid: true},
		{in: billing.Money{Amount: 100, Currency: "XXX"}, invalid: true},
	}
	for _, c := range cases {
		got, err := value(c.in)
		if c.invalid {
			if err == nil {
				t.Errorf("value(%s) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("value(%s) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		// What we send reads back to the same minor units.
		if back, err := money(&paypal.Money{Currency: c.in.Currency, Value: got}); err != nil || back != c.in {
			t.Errorf("%q %s reads back as %s, %v; want %s", got, c.in.Currency, back, err, c.in)
		}
	}
}
