package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// user is a VirtFusion user; extRelationID is the billing system's customer id (0 = none).
type user struct {
	id            int
	extRelationID int
	name, email   string
	created       time.Time
}

func (u *user) view() map[string]any {
	var ext any
	if u.extRelationID != 0 {
		ext = u.extRelationID
	}
	return map[string]any{
		"id": u.id, "admin": false, "extRelationId": ext, "selfService": 0,
		"selfServiceHourlyGroupProfiles": []any{}, "selfServiceResourceGroupProfiles": []any{},
		"selfServiceHourlyResourcePack": nil,
		"name":                          u.name, "email": u.email, "timezone": "UTC", "suspended": false, "twoFactorAuth": false,
		"created": stamp(u.created), "updated": stamp(u.created),
	}
}

func (s *Sim) userByExtRelation(raw string) *user {
	ext, err := strconv.Atoi(raw)
	if err != nil || ext <= 0 {
		return nil
	}
	for _, u := range s.users {
		if u.extRelationID == ext {
			return u
		}
	}
	return nil
}

// GET /users/{ext}/byExtRelation
func (s *Sim) userByExt(q *request) {
	u := s.userByExtRelation(q.r.PathValue("ext"))
	if u == nil {
		q.json(http.StatusNotFound, msg("ext_relation_id not found"))
		return
	}
	q.json(http.StatusOK, map[string]any{"data": u.view()})
}

// POST /users: name and email required, email and extRelationId unique.
func (s *Sim) createUser(q *request) {
	b, ok := q.body()
	if !ok {
		return
	}
	name, email := strField(b, "name"), strField(b, "email")
	var problems []string
	if name == "" {
		problems = append(problems, "The name field is required.")
	}
	if email == "" {
		problems = append(problems, "The email field is required.")
	} else if !strings.Contains(email, "@") {
		problems = append(problems, "The email must be a valid email address.")
	}
	ext := 0
	if _, present := b["extRelationId"]; present {
		n, ok := intField(b, "extRelationId")
		if !ok || n <= 0 {
			problems = append(problems, "The ext relation id must be an integer.")
		}
		ext = n
	}
	for _, u := range s.users {
		if ext > 0 && u.extRelationID == ext {
			problems = append(problems, "The ext relation id has already been taken.")
		}
		if email != "" && strings.EqualFold(u.email, email) {
			problems = append(problems, "The email has already been taken.")
		}
	}
	if len(problems) > 0 {
		q.json(http.StatusUnprocessableEntity, errs(problems...))
		return
	}
	s.nextUser++
	u := &user{id: s.nextUser, extRelationID: ext, name: name, email: email, created: q.now}
	s.users[u.id] = u
	v := u.view()
	s.passwordSeq++
	v["password"] = fmt.Sprintf("Pw%06d-panel", s.passwordSeq)
	q.json(http.StatusCreated, map[string]any{"data": v})
}

// POST /users/{ext}/authenticationTokens: one-time SSO tokens valid for 60 seconds.
func (s *Sim) authTokens(q *request) {
	if s.userByExtRelation(q.r.PathValue("ext")) == nil {
		q.json(http.StatusNotFound, msg("ext_relation_id not found"))
		return
	}
	s.nextToken++
	t1 := fmt.Sprintf("%032x", s.nextToken*7919)
	t2 := fmt.Sprintf("%032x", s.nextToken*104729)
	complete := "/token_authenticate/?" + url.Values{"1": {t1}, "2": {t2}}.Encode()
	q.json(http.StatusOK, map[string]any{"data": map[string]any{"authentication": map[string]any{
		"tokens":            map[string]any{"1": t1, "2": t2},
		"endpoint":          "/token_authenticate",
		"endpoint_complete": complete,
		"expiry":            map[string]any{"ttl": 60, "expires": stamp(q.now.Add(time.Minute))},
	}}})
}
