package httpapi

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/ezscale/billing/auth"
	mailmsg "github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// dashboardInvoices is how many of the latest invoices the dashboard's Invoices card lists.
const dashboardInvoices = 5

func (s *server) accountDashboard(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	list, err := s.Store.Services(r.Context(), store.ServiceFilter{CustomerID: u.ID, Limit: 50})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AccountDashboard{UnverifiedEmail: !u.Verified()}
	for _, svc := range list {
		v.Services = append(v.Services, serviceRow(svc))
	}
	if v.Subscriptions, err = s.subscriptionRows(r.Context(), u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	invoices, err := s.Store.Invoices(r.Context(), store.InvoiceFilter{CustomerID: u.ID, Limit: dashboardInvoices})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, inv := range invoices {
		v.Invoices = append(v.Invoices, invoiceRow(inv, nil))
	}
	s.render(w, r, http.StatusOK, "account_dashboard", s.page(r, "Dashboard", v))
}

func (s *server) profileForm(w http.ResponseWriter, r *http.Request) {
	p, err := s.profilePage(r, currentUser(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_profile", p)
}

// profilePage is the profile page with the saved values in its forms and the login history.
func (s *server) profilePage(r *http.Request, u *store.User) (web.Page, error) {
	prof, err := s.Store.ProfileByUser(r.Context(), u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return web.Page{}, err
	}
	hist, err := s.Store.LoginHistory(r.Context(), u.ID, 10)
	if err != nil {
		return web.Page{}, err
	}
	p := s.page(r, "Profile", web.Profile{LoginHistory: loginRows(hist)})
	p.Form = profileForm(u.Name, prof)
	return p, nil
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// updateProfile validates and saves the customer's contact details.
func (s *server) updateProfile(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	f := map[string]string{}
	for _, k := range []string{"name", "company", "phone", "address1", "address2", "city", "state", "postcode", "country"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	f["country"] = strings.ToUpper(f["country"])
	p, err := s.profilePage(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form = f
	if f["name"] == "" {
		p.Errors["name"] = "Enter your name."
	}
	for k, v := range f {
		if len(v) > maxNameLength {
			p.Errors[k] = "Use up to 200 characters."
		}
	}
	if f["country"] != "" && !countryCode.MatchString(f["country"]) {
		p.Errors["country"] = "Use the two-letter country code, such as US, GB or DE."
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "account_profile", p)
		return
	}
	err = s.Store.UpdateProfile(r.Context(), f["name"], store.Profile{
		UserID: u.ID, Company: f["company"], Phone: f["phone"], Address1: f["address1"], Address2: f["address2"],
		City: f["city"], State: f["state"], Postcode: f["postcode"], Country: f["country"],
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "account.profile_updated", userTarget(u.ID), nil)
	http.Redirect(w, r, "/account/profile?notice=profile-saved", http.StatusSeeOther)
}

// changePassword checks the current password, sets the new one and logs out other devices.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	p, err := s.profilePage(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	password := r.PostFormValue("password")
	// The current-password check is a password guess like a login: the same throttle applies.
	try, wait, err := s.takePasswordTry(r, u.Email, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wait > 0 {
		s.tooMany(w, r, wait, "Too many attempts", "Too many wrong passwords for this account from here. Your password was not changed.")
		return
	}
	if auth.VerifyPassword(r.PostFormValue("current_password"), u.PasswordHash) != nil {
		s.passwordWrong(r, try)
		p.Errors["current_password"] = "This is not your current password."
	} else {
		s.passwordRight(r, try)
		if msg := auth.CheckPasswordPolicy(password); msg != "" {
			p.Errors["password"] = msg
		} else if password != r.PostFormValue("password_confirm") {
			p.Errors["password_confirm"] = "The two passwords do not match."
		}
	}
	if len(p.Errors) > 0 {
		p.Error = "Your password was not changed."
		s.render(w, r, http.StatusUnprocessableEntity, "account_profile", p)
		return
	}
	hash, err := auth.HashPassword(password, auth.DefaultParams())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Store.SetPassword(r.Context(), u.ID, hash, currentSession(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Mail.Send(r.Context(), mailmsg.PasswordChanged(u.Email, u.Name)); err != nil {
		s.Log.Error("mail password changed notice", "user", u.ID, "err", err)
	}
	s.audit(r, "account.password_changed", userTarget(u.ID), nil)
	http.Redirect(w, r, "/account/profile?notice=password-changed", http.StatusSeeOther)
}

// setTheme remembers the colour theme: on the user when logged in, in a cookie always.
// Script-enhanced toggles get 204; plain forms are redirected back.
func (s *server) setTheme(w http.ResponseWriter, r *http.Request) {
	t := r.PostFormValue("theme")
	if t != "light" && t != "dark" {
		s.renderError(w, r, http.StatusBadRequest, "Unknown theme", "Choose light or dark.")
		return
	}
	if u := currentUser(r); u != nil {
		if err := s.Store.SetTheme(r.Context(), u.ID, t); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: themeCookie, Value: t, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: s.Settings.SecureCookies, SameSite: http.SameSiteLaxMode})
	if r.Header.Get("X-CSRF-Token") != "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/"), http.StatusSeeOther)
}

func profileForm(name string, p store.Profile) map[string]string {
	return map[string]string{
		"name": name, "company": p.Company, "phone": p.Phone, "address1": p.Address1, "address2": p.Address2,
		"city": p.City, "state": p.State, "postcode": p.Postcode, "country": p.Country,
	}
}

func loginRows(in []store.LoginAttempt) []web.LoginRow {
	out := make([]web.LoginRow, 0, len(in))
	for _, a := range in {
		out = append(out, web.LoginRow{At: a.At, IP: a.IP, UserAgent: a.UserAgent, Success: a.Success, Email: a.Email})
	}
	return out
}
