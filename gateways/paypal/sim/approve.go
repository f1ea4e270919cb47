package sim

import (
	"html/template"
	"net/http"
	"net/url"
)

// approvePageHTML is the buyer's page: what they pay, and buttons to approve or cancel.
const approvePageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PayPal simulator</title></head>
<body>
<h1>PayPal simulator</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{with .Order}}<p>Pay <strong>{{.Amount.Currency}} {{.Amount.Value}}</strong>{{with .Description}} for {{.}}{{end}}.</p>
<form method="post" action="/checkoutnow">
<input type="hidden" name="token" value="{{.ID}}">
<button name="action" value="approve">Approve</button>
<button name="action" value="cancel">Cancel</button>
</form>{{end}}
</body></html>
`

// parseApprovePage parses approvePageHTML; it is a constant, so failing is a bug.
func parseApprovePage() *template.Template {
	return template.Must(template.New("approve").Parse(approvePageHTML))
}

type approveView struct {
	Error string
	Order *struct {
		ID          string
		Description string
		Amount      amount
	}
}

// approvePage is GET /checkoutnow?token=<order id>, the order's approve link.
func (s *Server) approvePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("token")
	s.mu.Lock()
	o, ok := s.orders[id]
	var view approveView
	switch {
	case !ok:
		view.Error = "No such order."
	case o.status != OrderCreated:
		view.Error = "This order is " + o.status + "."
	default:
		view.Order = &struct {
			ID          string
			Description string
			Amount      amount
		}{o.id, o.unit.Description, formatAmount(o.money)}
	}
	s.mu.Unlock()
	status := http.StatusOK
	if !ok {
		status = http.StatusNotFound
	}
	s.render(w, status, view)
}

// approveForm is the page's POST: approve and go to return_url, or go to cancel_url, each with
// ?token=<order id> as PayPal adds it (and PayerID on approval).
func (s *Server) approveForm(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("token")
	s.mu.Lock()
	o, ok := s.orders[id]
	var returnURL, cancelURL string
	if ok {
		returnURL, cancelURL = o.returnURL, o.cancelURL
	}
	s.mu.Unlock()
	if !ok {
		s.render(w, http.StatusNotFound, approveView{Error: "No such order."})
		return
	}
	if r.PostFormValue("action") == "cancel" {
		s.redirect(w, r, cancelURL, url.Values{"token": {id}})
		return
	}
	if err := s.Approve(id); err != nil {
		s.render(w, http.StatusConflict, approveView{Error: err.Error()})
		return
	}
	s.mu.Lock()
	payerID := o.payerID
	s.mu.Unlock()
	s.redirect(w, r, returnURL, url.Values{"token": {id}, "PayerID": {payerID}})
}

// redirect sends the buyer to target with params added to its query, or shows a done page
// when the order has no such URL.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if target == "" || err != nil {
		s.render(w, http.StatusOK, approveView{Error: "Done; you can close this window."})
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (s *Server) render(w http.ResponseWriter, status int, view approveView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = s.page.Execute(w, view) // the buyer's connection is all that can fail here
}
