package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// adminStaff lists the staff with their roles and the form to add one.
func (s *server) adminStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.staffPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form["role"] = store.RoleSupport
	s.render(w, r, http.StatusOK, "admin_staff", p)
}

func (s *server) staffPage(r *http.Request) (web.Page, error) {
	staff, err := s.Store.ListStaff(r.Context())
	if err != nil {
		return web.Page{}, err
	}
	view := web.AdminStaff{}
	for _, role := range store.StaffRoles() {
		view.Roles = append(view.Roles, web.Option{Value: role, Label: roleLabel(role)})
	}
	me := currentUser(r).ID
	for _, u := range staff {
		view.Staff = append(view.Staff, web.StaffRow{
			ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, RoleLabel: roleLabel(u.Role),
			Self: u.ID == me, CreatedAt: u.CreatedAt,
		})
	}
	return s.page(r, "Staff", view), nil
}

// adminCreateStaff adds a member of staff with the role and initial password an administrator chose.
func (s *server) adminCreateStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.staffPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	email := store.NormalizeEmail(r.PostFormValue("email"))
	role := r.PostFormValue("role")
	password := r.PostFormValue("password")
	p.Form = map[string]string{"name": name, "email": email, "role": role}
	if name == "" || len(name) > maxNameLength {
		p.Errors["name"] = "Enter their name (up to 200 characters)."
	}
	if !validEmail(email) {
		p.Errors["email"] = "Enter a valid email address."
	}
	if !store.IsStaffRole(role) {
		p.Errors["role"] = "Choose a role."
	}
	if msg := auth.CheckPasswordPolicy(password); msg != "" {
		p.Errors["password"] = msg
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_staff", p)
		return
	}
	hash, err := auth.HashPassword(password, auth.DefaultParams())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.Store.CreateStaff(r.Context(), store.NewUser{Email: email, Name: name, PasswordHash: hash, Role: role})
	if errors.Is(err, store.ErrConflict) {
		p.Errors["email"] = "An account with this address already exists."
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusConflict, "admin_staff", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]string{"email": u.Email, "role": u.Role})
	s.audit(r, "staff.created", userTarget(u.ID), details)
	http.Redirect(w, r, "/admin/staff?notice=staff-created", http.StatusSeeOther)
}

// adminSetStaffRole changes a member of staff's role. The last administrator cannot be demoted:
// the page says so and nothing changes.
func (s *server) adminSetStaffRole(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	role := r.PostFormValue("role")
	before, err := s.Store.UserByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, err = s.Store.SetStaffRole(r.Context(), id, role)
	if errors.Is(err, store.ErrLastAdmin) || errors.Is(err, store.ErrInvalid) {
		p, perr := s.staffPage(r)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		status := http.StatusConflict
		p.Error = before.Name + " is the only administrator. Make someone else an administrator first."
		if errors.Is(err, store.ErrInvalid) {
			status, p.Error = http.StatusUnprocessableEntity, "Choose one of the staff roles."
		}
		s.render(w, r, status, "admin_staff", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]string{"from": before.Role, "to": role})
	s.audit(r, "staff.role_changed", userTarget(id), details)
	http.Redirect(w, r, "/admin/staff?notice=staff-role-changed", http.StatusSeeOther)
}
