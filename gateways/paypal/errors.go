package paypal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/plutov/paypal/v4"

	"github.com/ezscale/billing/gateways"
)

// mapError turns a plutov failure into a *gateways.Error, keeping PayPal's error name (Code),
// first detail issue (DeclineCode), message and debug_id (in Message; PayPal support asks for
// it). Anything that is not a PayPal error response (network failure, timeout, a body that is
// not PayPal JSON) is temporary: retrying with the same PayPal-Request-Id is safe.
func mapError(op string, err error) *gateways.Error {
	var pe *paypal.ErrorResponse
	if !errors.As(err, &pe) {
		return &gateways.Error{Gateway: Name, Kind: gateways.ErrTemporary, Message: fmt.Sprintf("%s: %v", op, err)}
	}
	status := 0
	if pe.Response != nil {
		status = pe.Response.StatusCode
	}
	var issues []string
	for _, d := range pe.Details {
		if d.Issue != "" {
			issues = append(issues, d.Issue)
		}
	}
	ge := &gateways.Error{Gateway: Name, Kind: errorKind(status, issues), Code: pe.Name, HTTPStatus: status,
		Message: errorMessage(op, status, pe)}
	if len(issues) > 0 {
		ge.DeclineCode = issues[0]
	}
	return ge
}

// errorKind decides between retry, dunning and a bug on our side. The issue lists come from
// the orders.capture-422 schema and PayPal's Orders v2 error catalogue.
func errorKind(status int, issues []string) error {
	if status == http.StatusTooManyRequests || status >= 500 || status == http.StatusConflict {
		return gateways.ErrTemporary // 409: a refund of that capture is still in progress
	}
	for _, issue := range issues {
		switch issue {
		case "PREVIOUS_REQUEST_IN_PROGRESS":
			return gateways.ErrTemporary
		case "PAYER_ACTION_REQUIRED", "ORDER_NOT_APPROVED", "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING":
			// The buyer has to come back to PayPal (approve, or pick another funding source).
			return gateways.ErrAuthenticationRequired
		case "INSTRUMENT_DECLINED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY", "CARD_EXPIRED",
			"CARD_CLOSED", "COMPLIANCE_VIOLATION", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
			"PAYER_ACCOUNT_RESTRICTED", "PAYER_ACCOUNT_LOCKED_OR_CLOSED", "TRANSACTION_LIMIT_EXCEEDED":
			return gateways.ErrDeclined
		}
	}
	// 400 bad parameters, 401 wrong credentials, 404 unknown id, other 422 business rules
	// (ORDER_ALREADY_CAPTURED, REFUND_AMOUNT_EXCEEDED, DUPLICATE_INVOICE_ID, ...).
	return gateways.ErrInvalidRequest
}

// errorMessage is "<op>: <PayPal message>; <issue>: <description> (debug_id <id>)".
func errorMessage(op string, status int, pe *paypal.ErrorResponse) string {
	var b strings.Builder
	b.WriteString(op + ": ")
	if pe.Message != "" {
		b.WriteString(pe.Message)
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", status, http.StatusText(status))
	}
	for _, d := range pe.Details {
		if d.Issue != "" && d.Description != "" {
			fmt.Fprintf(&b, "; %s: %s", d.Issue, d.Description)
		}
	}
	if pe.DebugID != "" {
		fmt.Fprintf(&b, " (debug_id %s)", pe.DebugID)
	}
	return b.String()
}
