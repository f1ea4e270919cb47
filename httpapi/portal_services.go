package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// customerService loads the path's service only when it belongs to the logged-in customer.
func (s *server) customerService(w http.ResponseWriter, r *http.Request) (store.Service, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.Service{}, false
	}
	svc, err := s.Store.CustomerService(r.Context(), currentUser(r).ID, id)
	if err != nil {
		s.fail(w, r, err) // someone else's service is a 404, never a 403: its existence stays private
		return store.Service{}, false
	}
	return svc, true
}

func (s *server) accountService(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.customerService(w, r)
	if !ok {
		return
	}
	s.renderAccountService(w, r, svc, http.StatusOK, "", "")
}

func (s *server) renderAccountService(w http.ResponseWriter, r *http.Request, svc store.Service, status int, newPassword, errMsg string) {
	events, err := s.Store.ServiceEvents(r.Context(), svc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var timeline []web.EventRow
	for _, e := range eventRows(events) {
		if e.Kind == "status" || e.Kind == "created" {
			timeline = append(timeline, web.EventRow{At: e.At, Kind: e.Kind, Message: e.Message})
		}
	}
	ab := panels.AbilitiesOf(panels.Type(svc.PanelType))
	live := svc.Status == billing.ServiceActive
	canLogin := ab.Login && (live || svc.Status == billing.ServiceSuspended)
	p := s.page(r, svc.ProductName, web.AccountService{
		Service: serviceRow(svc), IPv6: svc.IPv6, Timeline: timeline,
		CanPower: ab.Power && live, CanResetPassword: ab.ResetPassword && live, CanLogin: canLogin,
		NewPassword: newPassword,
	})
	p.Error = errMsg
	if n := r.URL.Query().Get("done"); n != "" {
		p.Flash = "Done: " + n + "."
	}
	if canLogin {
		// "Open control panel" answers with a redirect to the panel's single sign-on link,
		// which every panel serves on its configured URL's origin.
		allowFormRedirects(w, []string{urlOrigin(svc.PanelBaseURL)})
	}
	s.render(w, r, status, "account_service", p)
}

func (s *server) servicePower(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.customerService(w, r)
	if !ok {
		return
	}
	action := panels.PowerAction(r.PostFormValue("action"))
	if action != panels.PowerStart && action != panels.PowerStop && action != panels.PowerRestart {
		s.renderAccountService(w, r, svc, http.StatusBadRequest, "", "Choose start, stop or restart.")
		return
	}
	if svc.Status != billing.ServiceActive || !panels.AbilitiesOf(panels.Type(svc.PanelType)).Power {
		s.renderAccountService(w, r, svc, http.StatusConflict, "", "Power control is not available for this service right now.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.Control.Power(ctx, svc.ID, action); err != nil {
		s.Log.Warn("power action", "service", svc.ID, "action", action, "err", err)
		s.renderAccountService(w, r, svc, http.StatusBadGateway, "", panelMessage(err))
		return
	}
	s.audit(r, "service.power_"+string(action), serviceTarget(svc.ID), nil)
	_ = s.Store.AddServiceEvent(r.Context(), store.ServiceEvent{ServiceID: svc.ID, Kind: "power", Message: string(action) + " requested", Actor: "customer:" + strconv.FormatInt(svc.CustomerID, 10)})
	http.Redirect(w, r, fmt.Sprintf("/account/services/%d?done=%s", svc.ID, action), http.StatusSeeOther)
}

func (s *server) serviceResetPassword(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.customerService(w, r)
	if !ok {
		return
	}
	if svc.Status != billing.ServiceActive || !panels.AbilitiesOf(panels.Type(svc.PanelType)).ResetPassword {
		s.renderAccountService(w, r, svc, http.StatusConflict, "", "Password reset is not available for this service.")
		return
	}
	if !s.allow(w, r, "service-reset:"+strconv.FormatInt(svc.ID, 10), time.Hour, 5) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	pw, err := s.Control.ResetPassword(ctx, svc.ID)
	if err != nil {
		s.renderAccountService(w, r, svc, http.StatusBadGateway, "", panelMessage(err))
		return
	}
	s.audit(r, "service.reset_password", serviceTarget(svc.ID), nil)
	_ = s.Store.AddServiceEvent(r.Context(), store.ServiceEvent{ServiceID: svc.ID, Kind: "password", Message: "password reset by the customer", Actor: "customer:" + strconv.FormatInt(svc.CustomerID, 10)})
	// The new password is shown once, on this answer only; the page is not cached.
	s.renderAccountService(w, r, svc, http.StatusOK, pw, "")
}

func (s *server) serviceLogin(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.customerService(w, r)
	if !ok {
		return
	}
	if !panels.AbilitiesOf(panels.Type(svc.PanelType)).Login || (svc.Status != billing.ServiceActive && svc.Status != billing.ServiceSuspended) {
		s.renderAccountService(w, r, svc, http.StatusConflict, "", "The control panel is not available for this service.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	link, err := s.Control.LoginURL(ctx, svc.ID)
	if err != nil {
		s.renderAccountService(w, r, svc, http.StatusBadGateway, "", panelMessage(err))
		return
	}
	s.audit(r, "service.panel_login", serviceTarget(svc.ID), nil)
	http.Redirect(w, r, link, http.StatusSeeOther)
}

// panelMessage is what a customer is told when the panel fails: never the panel's internals.
func panelMessage(err error) string {
	switch {
	case errors.Is(err, panels.ErrConflict), errors.Is(err, panels.ErrLocked):
		return "The control panel is busy with this service. Please try again in a minute."
	case errors.Is(err, panels.ErrUnsupported):
		return "This action is not available for this service."
	}
	return "The control panel did not answer. Please try again shortly; our team has been notified."
}
