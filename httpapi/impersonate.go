package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ezscale/billing/store"
)

// Impersonation ("log in as customer") swaps sessions rather than stacking them. Starting it
// replaces the staff member's session with a new one for the customer whose row records the
// impersonator; the staff session is deleted, so its cookie value is dead and nothing the customer
// session does can reach it. Exiting deletes the impersonation session and issues the staff member
// a brand-new session (the same rotation as a login). Keeping the staff session alive in a second
// cookie would leave a live admin credential in a browser that is, for the moment, the customer's.

// startImpersonation signs the staff member in as a customer. Only customers can be impersonated:
// taking on another member of staff's identity would sidestep the role table.
func (s *server) startImpersonation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	customer, err := s.Store.UserByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if customer.Role != store.RoleCustomer {
		s.renderError(w, r, http.StatusForbidden, "Staff cannot be impersonated",
			"Only customer accounts can be signed in to from the admin panel.")
		return
	}
	staff := *currentUser(r)
	if err := s.startSessionAs(w, r, customer, &staff); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(asImpersonation(r, customer, staff), "impersonation.start", userTarget(customer.ID), nil)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// exitImpersonation ends an impersonation session and signs the staff member back in to /admin.
// A staff member who has lost their staff role meanwhile is signed out instead.
func (s *server) exitImpersonation(w http.ResponseWriter, r *http.Request) {
	customer, staff := currentUser(r), impersonator(r)
	if customer == nil || staff == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	details, _ := json.Marshal(map[string]any{"staff_id": staff.ID})
	s.audit(r, "impersonation.end", userTarget(customer.ID), details)
	if !staff.Staff() {
		if err := s.Store.DeleteSession(r.Context(), currentSession(r)); err != nil {
			s.fail(w, r, err)
			return
		}
		s.clearCookie(w, sessionCookie)
		s.newCSRFCookie(w)
		http.Redirect(w, r, "/login?notice=logged-out", http.StatusSeeOther)
		return
	}
	// startSession deletes the impersonation session (the cookie's) in the same transaction.
	if err := s.startSession(w, r, *staff); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// asImpersonation is r as the customer's session will see it, so the entry that starts an
// impersonation names both identities like every entry after it.
func asImpersonation(r *http.Request, customer, staff store.User) *http.Request {
	ctx := context.WithValue(r.Context(), userKey, &customer)
	ctx = context.WithValue(ctx, impersonatorKey, &staff)
	return r.WithContext(ctx)
}
