package sim

import (
	"fmt"
	"net/http"
	"strings"
)

// clientView is a client as the API shows it.
type clientView struct {
	ID        int     `json:"id"`
	Email     string  `json:"email"`
	First     string  `json:"first"`
	Last      string  `json:"last"`
	Name      string  `json:"name"`
	BillingID *string `json:"billing_id"`
}

func (c *client) view() clientView {
	v := clientView{ID: c.id, Email: c.email, First: c.first, Last: c.last,
		Name: strings.TrimSpace(c.first + " " + c.last)}
	if c.billingID != "" {
		b := c.billingID
		v.BillingID = &b
	}
	return v
}

// listClients is GET client, filtered by billing_id and email.
func (s *Sim) listClients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var out []clientView
	for _, c := range s.clients {
		if v := q.Get("billing_id"); v != "" && c.billingID != v {
			continue
		}
		if v := q.Get("email"); v != "" && !strings.EqualFold(c.email, v) {
			continue
		}
		out = append(out, c.view())
	}
	s.mu.Unlock()
	ok(w, paginate(r, out))
}

// getClient is GET client/{id}.
func (s *Sim) getClient(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.clientByID(pathID(r, "id"))
	var v clientView
	if c != nil {
		v = c.view()
	}
	s.mu.Unlock()
	if c == nil {
		fail(w, http.StatusNotFound, "Client not found.")
		return
	}
	ok(w, v)
}

// createClient is POST client; email and billing id are unique, as the panel's validation has it.
func (s *Sim) createClient(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email     string     `json:"email"`
		First     string     `json:"first"`
		Last      string     `json:"last"`
		BillingID flexString `json:"billing_id"`
		Password  string     `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	in.Email = strings.TrimSpace(in.Email)
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []string
	if !strings.Contains(in.Email, "@") {
		errs = append(errs, "The email must be a valid email address.")
	}
	for _, c := range s.clients {
		if in.Email != "" && strings.EqualFold(c.email, in.Email) {
			errs = append(errs, "The email has already been taken.")
		}
		if in.BillingID != "" && c.billingID == string(in.BillingID) {
			errs = append(errs, "The billing id has already been taken.")
		}
	}
	if len(errs) > 0 {
		fail(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	c := &client{id: s.nextID("client"), email: in.Email, first: in.First, last: in.Last, billingID: string(in.BillingID)}
	s.clients = append(s.clients, c)
	ok(w, c.view())
}

// createKey is POST key: an API key owned by a client, for client-side calls and SSO.
func (s *Sim) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OwnerID   flexString `json:"owner_id"`
		OwnerType string     `json:"owner_type"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.OwnerType != "client" {
		fail(w, http.StatusUnprocessableEntity, "The selected owner type is invalid.")
		return
	}
	c := s.clientByID(in.OwnerID.int())
	if c == nil {
		fail(w, http.StatusUnprocessableEntity, "The selected owner id is invalid.")
		return
	}
	id := s.nextID("key")
	key := fmt.Sprintf("scp-client-%d-key-%d", c.id, id)
	s.keys[key] = c.id
	ok(w, map[string]any{"id": id, "key": key, "owner": map[string]any{"id": c.id, "type": "client"}})
}
