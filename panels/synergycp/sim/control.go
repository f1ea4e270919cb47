package sim

import (
	"fmt"
	"html"
	"net/http"
)

// listControls is GET server/{id}/control (client key): the server's IPMI control.
func (s *Sim) listControls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	ok(w, paginate(r, []map[string]any{{"id": srv.controlID, "type": "ipmi", "name": "IPMI"}}))
}

// command is POST server/{id}/control/{control}/command (client key): {"power": "on"|"off"|
// "reset"|"soft"}, or one of the IPMI maintenance flags. A suspended access may not use it.
func (s *Sim) command(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Power      string   `json:"power"`
		ResetBMC   flexBool `json:"reset_bmc"`
		PXEBoot    flexBool `json:"pxe_boot"`
		AddUser    flexBool `json:"add_user"`
		DeleteUser flexBool `json:"delete_user"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	if pathID(r, "control") != srv.controlID {
		fail(w, http.StatusNotFound, "Control not found.")
		return
	}
	if srv.access == nil || !srv.access.active {
		fail(w, http.StatusConflict, "Access to this server is suspended.")
		return
	}
	switch in.Power {
	case "on", "reset", "soft":
		srv.power = "on"
	case "off":
		srv.power = "off"
	case "":
		if !in.ResetBMC.val && !in.PXEBoot.val && !in.AddUser.val && !in.DeleteUser.val {
			fail(w, http.StatusUnprocessableEntity, "The power field is required.")
			return
		}
	default:
		fail(w, http.StatusUnprocessableEntity, "The selected power is invalid.")
		return
	}
	ok(w, map[string]any{"id": srv.controlID, "power_status": srv.power})
}

// sso is GET auth/sso?key=<client key>&view_type=server&view_id=N: the browser landing of a
// single-sign-on link, answered as a page rather than JSON.
func (s *Sim) sso(w http.ResponseWriter, r *http.Request) {
	c := who(r)
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>SynergyCP</title><p>Signed in as client %d; viewing %s %s.</p>",
		c.clientID, html.EscapeString(q.Get("view_type")), html.EscapeString(q.Get("view_id")))
}
