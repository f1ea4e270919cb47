package sim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels/simkit"
)

// roles are the member roles the spec enumerates.
var roles = []string{"Owner", "SuperAdmin", "Business", "SiteAccess", "Support", "Sysadmin"}

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orgs/{org}", s.getOrg)
	mux.HandleFunc("GET /api/orgs/{org}/customers", s.listCustomers)
	mux.HandleFunc("POST /api/orgs/{org}/customers", s.createCustomer)
	mux.HandleFunc("POST /api/logins", s.createLogin)
	mux.HandleFunc("GET /api/orgs/{org}/members", s.listMembers)
	mux.HandleFunc("POST /api/orgs/{org}/members", s.createMember)
	mux.HandleFunc("GET /api/orgs/{org}/members/{member}/sso", s.sso)
	mux.HandleFunc("GET /api/orgs/{org}/plans", s.listPlans)
	mux.HandleFunc("GET /api/servers/groups", s.listServerGroups)
	mux.HandleFunc("GET /api/orgs/{org}/customers/{customer}/subscriptions", s.listSubscriptions)
	mux.HandleFunc("POST /api/orgs/{org}/customers/{customer}/subscriptions", s.createSubscription)
	mux.HandleFunc("GET /api/orgs/{org}/subscriptions/{id}", s.getSubscription)
	mux.HandleFunc("PATCH /api/orgs/{org}/subscriptions/{id}", s.updateSubscription)
	mux.HandleFunc("DELETE /api/orgs/{org}/subscriptions/{id}", s.deleteSubscription)
	mux.HandleFunc("GET /api/orgs/{org}/websites", s.listWebsites)
	mux.HandleFunc("POST /api/orgs/{org}/websites", s.createWebsite)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// page answers a list with the {"items": [...], "total": N} envelope, honouring offset and limit.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	offset, limit := 0, len(items)
	var err error
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			fail(w, http.StatusBadRequest, "invalid_input", "offset must be a non-negative integer")
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			fail(w, http.StatusBadRequest, "invalid_input", "limit must be a non-negative integer")
			return
		}
	}
	start := min(offset, len(items))
	end := min(start+limit, len(items))
	out := make([]T, 0, end-start)
	out = append(out, items[start:end]...)
	simkit.JSON(w, http.StatusOK, map[string]any{"items": out, "total": len(items)})
}

// customerOrg finds a customer org of the reseller, answering 404 when there is none. Callers
// hold s.mu.
func (s *Sim) customerOrg(w http.ResponseWriter, id string) (*org, bool) {
	o, ok := s.orgs[id]
	if !ok || o.parent != s.reseller {
		fail(w, http.StatusNotFound, "not_found", "organisation "+id+" not found")
		return nil, false
	}
	return o, true
}

// resellerOrg checks that the path's org is our reseller: unknown orgs are 404, and a customer
// org, which cannot have customers or plans of its own, is 403. Callers hold s.mu.
func (s *Sim) resellerOrg(w http.ResponseWriter, id string) bool {
	if _, ok := s.orgs[id]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+id+" not found")
		return false
	}
	if id != s.reseller {
		fail(w, http.StatusForbidden, "forbidden", "insufficient privileges: organisation "+id+" is not a reseller")
		return false
	}
	return true
}

func (s *Sim) getOrg(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[r.PathValue("org")]
	if !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+r.PathValue("org")+" not found")
		return
	}
	simkit.JSON(w, http.StatusOK, map[string]any{
		"id": o.id, "name": o.name, "status": "active", "isMasterOrg": o.parent == "", "parentId": o.parent,
		"createdAt": stamp(o.createdAt),
	})
}

func (s *Sim) listCustomers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resellerOrg(w, r.PathValue("org")) {
		return
	}
	items := []map[string]any{}
	for _, id := range s.orgOrder {
		o := s.orgs[id]
		if o.parent == s.reseller {
			items = append(items, map[string]any{"id": o.id, "name": o.name, "status": "active", "createdAt": stamp(o.createdAt)})
		}
	}
	page(w, r, items)
}

func (s *Sim) createCustomer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resellerOrg(w, r.PathValue("org")) {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		fail(w, http.StatusBadRequest, "invalid_input", "name is required")
		return
	}
	o := &org{id: s.uuid(), name: in.Name, parent: s.reseller, createdAt: s.now()}
	s.orgs[o.id] = o
	s.orgOrder = append(s.orgOrder, o.id)
	created(w, o.id)
}

// createLogin makes a login in the realm; emails are unique across the realm (409).
func (s *Sim) createLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := r.URL.Query().Get("orgId")
	if orgID == "" {
		fail(w, http.StatusBadRequest, "invalid_input", "orgId query parameter is required")
		return
	}
	if _, ok := s.orgs[orgID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+orgID+" not found")
		return
	}
	switch {
	case !strings.Contains(in.Email, "@"):
		fail(w, http.StatusBadRequest, "invalid_input", "email is invalid")
		return
	case strings.TrimSpace(in.Name) == "":
		fail(w, http.StatusBadRequest, "invalid_input", "name is required")
		return
	case len(in.Password) < 8:
		fail(w, http.StatusBadRequest, "invalid_input", "password must be at least 8 characters")
		return
	}
	for _, l := range s.logins {
		if strings.EqualFold(l.email, in.Email) {
			fail(w, http.StatusConflict, "already_exists", "a login with this email already exists")
			return
		}
	}
	l := &login{id: s.uuid(), email: in.Email, name: in.Name, password: in.Password}
	s.logins[l.id] = l
	created(w, l.id)
}

func (s *Sim) listMembers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := r.PathValue("org")
	if _, ok := s.orgs[orgID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+orgID+" not found")
		return
	}
	items := []map[string]any{}
	for _, m := range s.members {
		if m.orgID != orgID {
			continue
		}
		l := s.logins[m.loginID]
		items = append(items, map[string]any{
			"id": m.id, "loginId": m.loginID, "email": l.email, "name": l.name, "roles": m.roles,
			"createdAt": stamp(m.createdAt),
		})
	}
	page(w, r, items)
}

func (s *Sim) createMember(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LoginID string   `json:"loginId"`
		Roles   []string `json:"roles"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := r.PathValue("org")
	if _, ok := s.orgs[orgID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+orgID+" not found")
		return
	}
	if len(in.Roles) == 0 {
		fail(w, http.StatusBadRequest, "invalid_input", "at least one role is required")
		return
	}
	for _, role := range in.Roles {
		if !slices.Contains(roles, role) {
			fail(w, http.StatusBadRequest, "invalid_input", "unknown role "+role)
			return
		}
	}
	if _, ok := s.logins[in.LoginID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "login "+in.LoginID+" not found")
		return
	}
	for _, m := range s.members {
		if m.orgID == orgID && m.loginID == in.LoginID {
			fail(w, http.StatusConflict, "already_exists", "login is already a member of this organisation")
			return
		}
	}
	m := &member{id: s.uuid(), orgID: orgID, loginID: in.LoginID, roles: in.Roles, createdAt: s.now()}
	s.members = append(s.members, m)
	created(w, m.id)
}

// sso answers 201 with the one-time login URL as a JSON string, as the spec says.
func (s *Sim) sso(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID, memberID := r.PathValue("org"), r.PathValue("member")
	for _, m := range s.members {
		if m.orgID == orgID && m.id == memberID {
			s.nextSSO++
			scheme := "https"
			if r.TLS == nil {
				scheme = "http"
			}
			link := scheme + "://" + r.Host + "/login/sso?" + url.Values{
				"token": {strconv.FormatInt(s.nextSSO, 10) + "-" + m.loginID},
			}.Encode()
			simkit.JSON(w, http.StatusCreated, link)
			return
		}
	}
	fail(w, http.StatusNotFound, "not_found", "member "+memberID+" not found")
}

func (s *Sim) listServerGroups(w http.ResponseWriter, r *http.Request) {
	page(w, r, []map[string]any{{"id": DefaultServerGroupID, "name": "default"}})
}
