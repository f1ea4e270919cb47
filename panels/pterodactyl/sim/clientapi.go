package sim

import (
	"net/http"
)

// account is GET /api/client/account: the key's own user.
func (s *Sim) account(w http.ResponseWriter, r *http.Request) {
	k := keyOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[k.userID]
	if u == nil {
		notFound(w)
		return
	}
	item(w, http.StatusOK, "user", map[string]any{
		"id": u.id, "admin": u.rootAdmin, "username": u.username, "email": u.email,
		"first_name": u.firstName, "last_name": u.lastName, "language": u.language,
	})
}

// clientServer resolves {server} for the key's user as AuthenticateServerAccess does: owners and
// root admins only (others get 404), and a server that is suspended or not installed answers 409.
// The caller must hold s.mu.
func (s *Sim) clientServer(w http.ResponseWriter, r *http.Request) *server {
	k := keyOf(r)
	sv := s.serverByIdentifier(r.PathValue("server"))
	u := s.users[k.userID]
	if sv == nil || u == nil || (!u.rootAdmin && sv.userID != u.id) {
		notFound(w)
		return nil
	}
	if st := s.statusOf(sv); st != nil {
		detail := "This server is currently in an unsupported state, please try again later."
		switch *st {
		case "suspended":
			detail = "This server is currently suspended and the functionality requested is unavailable."
		case "installing", "install_failed":
			detail = "This server has not yet completed its installation process, please try again later."
		}
		writeError(w, http.StatusConflict, "ConflictHttpException", detail)
		return nil
	}
	return sv
}

// resources is GET /api/client/servers/{server}/resources.
func (s *Sim) resources(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.clientServer(w, r)
	if sv == nil {
		return
	}
	item(w, http.StatusOK, "stats", map[string]any{
		"current_state": s.powerOf(sv), "is_suspended": sv.suspended,
		"resources": map[string]any{"memory_bytes": 0, "cpu_absolute": 0, "disk_bytes": 0, "network_rx_bytes": 0, "network_tx_bytes": 0, "uptime": 0},
	})
}

// power is POST /api/client/servers/{server}/power {"signal": start|stop|restart|kill} → 204.
func (s *Sim) power(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.clientServer(w, r)
	if sv == nil {
		return
	}
	var v validation
	signal, _ := v.str(body, "signal", true, false, 0)
	switch signal {
	case "start", "restart":
		sv.power = "running"
	case "stop", "kill":
		sv.power = "offline"
	case "":
	default:
		v.fail("signal", "in", "The selected signal is invalid.")
	}
	if v.write(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
