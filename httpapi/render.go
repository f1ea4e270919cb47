package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// notice is the one-line message a redirect can ask the next page to show (?notice=code).
// Only these fixed texts can be shown, so the query cannot inject content.
func notice(code string) string {
	switch code {
	case "password-reset":
		return "Your password has been changed. Log in with the new one."
	case "password-changed":
		return "Your password has been changed. Other devices have been logged out."
	case "profile-saved":
		return "Your profile has been saved."
	case "logged-out":
		return "You have been logged out."
	case "staff-created":
		return "The staff member has been added. They can log in with the password you chose."
	case "staff-role-changed":
		return "The role has been changed; it applies from their next click."
	}
	return ""
}

// page fills the fields every template needs from the request.
func (s *server) page(r *http.Request, title string, data any) web.Page {
	p := web.Page{
		Title:   title,
		Path:    r.URL.Path,
		Theme:   theme(r),
		CSRF:    csrfFromContext(r),
		Flash:   notice(r.URL.Query().Get("notice")),
		Form:    map[string]string{},
		Errors:  map[string]string{},
		DevMode: s.Sink != nil,
		Data:    data,
	}
	if u := currentUser(r); u != nil {
		p.Viewer = &web.Viewer{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Verified: u.Verified(), Perms: permissionSet(u.Role), RoleLabel: roleLabel(u.Role)}
		if staff := impersonator(r); staff != nil {
			p.Impersonation = &web.Impersonation{Customer: u.Name + " (" + u.Email + ")", Staff: staff.Name + " (" + staff.Email + ")"}
		}
	}
	return p
}

// theme is the user's remembered theme, else the browser's cookie, else light.
func theme(r *http.Request) string {
	if u := currentUser(r); u != nil {
		return u.Theme
	}
	if c, err := r.Cookie(themeCookie); err == nil && (c.Value == "dark" || c.Value == "light") {
		return c.Value
	}
	return "light"
}

// formsGoToGateway reports whether the page has a form whose answer redirects to a gateway's
// hosted page: placing an order, paying an invoice, adding a card.
func formsGoToGateway(page string) bool {
	switch page {
	case "order_review", "account_invoice_pay", "account_payment_methods":
		return true
	}
	return false
}

// render writes a page with the given status. Rendering happens into a buffer first so a
// template error becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p web.Page) {
	var buf bytes.Buffer
	if err := s.Pages.Render(&buf, name, p); err != nil {
		s.Log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if name != "error" {
		// Error pages never set the CSRF cookie: a 404 for an icon the browser fetches while
		// it loads a form would otherwise replace the secret of that form's token.
		s.issueCSRFCookie(w, r)
	}
	if formsGoToGateway(name) {
		allowFormRedirects(w, s.hostedOrigins)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, "error", s.page(r, title, web.ErrorPage{Status: status, Title: title, Message: msg}))
}

// fail maps an error to a response in one place: not found → 404, anything else → logged 500.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.notFound(w, r)
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		s.Log.Error("request failed", "path", r.URL.Path, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "We have been notified. Please try again in a moment.")
	}
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "Page not found", "The page you asked for does not exist.")
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", s.page(r, "Hosting that just works", nil))
}
