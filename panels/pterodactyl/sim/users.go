package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/ezscale/billing/panels/simkit"
)

// usernamePattern is the panel's Username rule (applied after lowercasing).
var usernamePattern = regexp.MustCompile(`^[a-z0-9]([\w.-]+)[a-z0-9]$`)

func (s *Sim) userAttrs(u *user) map[string]any {
	var ext any
	if u.externalID != nil {
		ext = *u.externalID
	}
	return map[string]any{
		"id": u.id, "external_id": ext, "uuid": u.uuid, "username": u.username, "email": u.email,
		"first_name": u.firstName, "last_name": u.lastName, "language": u.language,
		"root_admin": u.rootAdmin, "2fa": false,
		"created_at": stamp(u.created), "updated_at": stamp(u.updated),
	}
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var out []map[string]any
	for _, id := range sortedKeys(s.users) {
		u := s.users[id]
		if f := q.Get("filter[email]"); f != "" && !strings.EqualFold(f, u.email) {
			continue
		}
		if f := q.Get("filter[username]"); f != "" && f != u.username {
			continue
		}
		if f := q.Get("filter[uuid]"); f != "" && f != u.uuid {
			continue
		}
		if f := q.Get("filter[external_id]"); f != "" && (u.externalID == nil || *u.externalID != f) {
			continue
		}
		out = append(out, s.userAttrs(u))
	}
	s.mu.Unlock()
	list(w, r, "user", out)
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		notFound(w)
		return
	}
	item(w, http.StatusOK, "user", s.userAttrs(u))
}

func (s *Sim) getUserByExternalID(w http.ResponseWriter, r *http.Request) {
	ext := r.PathValue("external_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.externalID != nil && *u.externalID == ext {
			item(w, http.StatusOK, "user", s.userAttrs(u))
			return
		}
	}
	notFound(w)
}

// userFields validates a create or update body (StoreUserRequest / UpdateUserRequest: the same
// required fields, uniqueness ignoring the user being updated).
func (s *Sim) userFields(v *validation, body map[string]any, self int) user {
	var u user
	u.email, _ = v.str(body, "email", true, false, 191)
	if u.email != "" && !strings.Contains(u.email, "@") {
		v.fail("email", "email", "The email field must be a valid email address.")
	}
	username, _ := v.str(body, "username", true, false, 191)
	u.username = strings.ToLower(username)
	if u.username != "" && !usernamePattern.MatchString(u.username) {
		v.fail("username", "p_username", "The username must start and end with alpha-numeric characters and contain only letters, numbers, dashes, underscores, and periods.")
	}
	u.firstName, _ = v.str(body, "first_name", true, false, 191)
	u.lastName, _ = v.str(body, "last_name", true, false, 191)
	if ext, ok := v.str(body, "external_id", false, true, 191); ok {
		u.externalID = &ext
	}
	u.password, _ = v.str(body, "password", false, true, 0)
	u.language, _ = v.str(body, "language", false, true, 5)
	u.rootAdmin, _ = v.boolean(body, "root_admin", false)
	for _, other := range s.users {
		if other.id == self {
			continue
		}
		if u.email != "" && strings.EqualFold(other.email, u.email) && !v.failed("email") {
			v.fail("email", "unique", "The email has already been taken.")
		}
		if u.username != "" && other.username == u.username && !v.failed("username") {
			v.fail("username", "unique", "The username has already been taken.")
		}
		if u.externalID != nil && other.externalID != nil && *other.externalID == *u.externalID && !v.failed("external_id") {
			v.fail("external_id", "unique", "The external id has already been taken.")
		}
	}
	return u
}

func (s *Sim) createUser(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var v validation
	u := s.userFields(&v, body, 0)
	if v.write(w) {
		return
	}
	now := s.now()
	u.id = s.nextUser
	s.nextUser++
	u.uuid = fakeUUID(fmt.Sprintf("user:%d", u.id))
	if u.language == "" {
		u.language = "en"
	}
	u.created, u.updated = now, now
	s.users[u.id] = &u
	out := map[string]any{
		"object": "user", "attributes": s.userAttrs(&u),
		"meta": map[string]any{"resource": fmt.Sprintf("%s/api/application/users/%d", origin(r), u.id)},
	}
	simkit.JSON(w, http.StatusCreated, out)
}

func (s *Sim) updateUser(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		notFound(w)
		return
	}
	var v validation
	in := s.userFields(&v, body, id)
	if v.write(w) {
		return
	}
	u.email, u.username, u.firstName, u.lastName = in.email, in.username, in.firstName, in.lastName
	if _, sent := body["external_id"]; sent {
		u.externalID = in.externalID
	}
	if in.password != "" {
		u.password = in.password
	}
	if in.language != "" {
		u.language = in.language
	}
	if _, sent := body["root_admin"]; sent {
		u.rootAdmin = in.rootAdmin
	}
	u.updated = s.now()
	item(w, http.StatusOK, "user", s.userAttrs(u))
}

func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[id] == nil {
		notFound(w)
		return
	}
	for _, sv := range s.servers {
		if sv.userID == id {
			displayError(w, "DisplayException", "Cannot delete a user with active servers attached to their account.")
			return
		}
	}
	delete(s.users, id)
	for k, key := range s.keys {
		if !key.application && key.userID == id {
			delete(s.keys, k)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// origin is the scheme and host the request reached, for resource links.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
