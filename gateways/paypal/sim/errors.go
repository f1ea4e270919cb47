package sim

import "net/http"

// errorBody is PayPal's REST error envelope (docs/gateways.md).
type errorBody struct {
	Name    string   `json:"name"`
	Message string   `json:"message"`
	DebugID string   `json:"debug_id"`
	Details []detail `json:"details,omitempty"`
	Links   []link   `json:"links,omitempty"`
}

// detail is one entry of details[]: which field was wrong and the issue code clients act on.
type detail struct {
	Field       string `json:"field,omitempty"`
	Value       string `json:"value,omitempty"`
	Location    string `json:"location,omitempty"`
	Issue       string `json:"issue"`
	Description string `json:"description,omitempty"`
}

// errorName is PayPal's error name and message per status.
func errorName(status int) (name, message string) {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."
	case http.StatusUnauthorized:
		return "AUTHENTICATION_FAILURE", "Authentication failed due to invalid authentication credentials or a missing Authorization header."
	case http.StatusForbidden:
		return "NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."
	case http.StatusNotFound:
		return "RESOURCE_NOT_FOUND", "The specified resource does not exist."
	case http.StatusConflict:
		return "RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."
	case http.StatusUnprocessableEntity:
		return "UNPROCESSABLE_ENTITY", "The requested action could not be performed, semantically incorrect, or failed business validation."
	case http.StatusTooManyRequests:
		return "RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."
	case http.StatusServiceUnavailable:
		return "SERVICE_UNAVAILABLE", "Service Unavailable."
	}
	return "INTERNAL_SERVER_ERROR", "An internal server error has occurred."
}

// writeError answers status with the envelope, its details and an information link per issue.
func writeError(w http.ResponseWriter, status int, details ...detail) {
	name, message := errorName(status)
	body := errorBody{Name: name, Message: message, DebugID: randomHex(6)[:12], Details: details}
	for _, d := range details {
		body.Links = append(body.Links, link{Href: "https://developer.paypal.com/api/rest/reference/orders/v2/errors/#" + d.Issue,
			Rel: "information_link", Method: "GET"})
	}
	writeJSON(w, status, body)
}

// unprocessable is a 422 business-rule failure with one issue.
func unprocessable(w http.ResponseWriter, issue, description string) {
	writeError(w, http.StatusUnprocessableEntity, detail{Issue: issue, Description: description})
}

// notFound is a 404 for an unknown order, capture or refund id.
func notFound(w http.ResponseWriter, kind, id string) {
	writeError(w, http.StatusNotFound, detail{Field: kind + "_id", Value: id, Location: "path", Issue: "INVALID_RESOURCE_ID",
		Description: "Specified resource ID does not exist. Please check the resource ID and try again."})
}
