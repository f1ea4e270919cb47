package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

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

// permNobody is held by no role: the write is never made while impersonating.
const permNobody permission = "nobody"

// impersonatedWrites maps every write a customer session can make, as "METHOD /route-pattern",
// to the admin permission a member of staff needs for the same action in the admin panel; while
// impersonating, a staff member may make the write only when their own role holds it. A write
// not listed here is refused to every impersonating staff member, so a new portal route stays
// closed until it is given a permission here (TestEveryPortalWriteHasAnImpersonationPermission
// fails until then).
var impersonatedWrites = map[string]permission{
	"POST /order/{id}/review":                    permCustomersView,   // prices the order, changes nothing
	"POST /order/{id}/place":                     permServicesManage,  // creates a service, as the admin's "new service"
	"POST /account/profile":                      permCustomersEdit,   // as the admin's profile edit
	"POST /account/password":                     permNobody,          // see auditImpersonatedWrites
	"POST /account/services/{id}/power":          permServicesOperate, // as the admin's power action
	"POST /account/services/{id}/reset-password": permServicesManage,  // changes the server's credentials
	"POST /account/services/{id}/login":          permServicesOperate, // signs in to the panel, changes nothing
	"POST /account/invoices/{id}/pay":            permInvoicesManage,
	"POST /account/subscriptions/{id}/change":    permServicesManage, // as the admin's change-package
	"POST /account/subscriptions/{id}/cancel":    permServicesManage, // as the admin's subscription cancel
	"POST /account/payment-methods/default":      permCustomersEdit,
	"POST /account/payment-methods/remove":       permCustomersEdit,
	"POST /account/payment-methods/add":          permCustomersEdit,
}

// limitImpersonatedWrites refuses, with 403 and a page saying why, a write that a member of staff
// impersonating the customer could not make in the admin panel with their own role (and any
// write it cannot find in impersonatedWrites). Reading stays open to every impersonating staff
// member; the customer's own session is untouched.
func (s *server) limitImpersonatedWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		staff := impersonator(r)
		if staff == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		var route string
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.Routes != nil {
			route = rctx.Routes.Find(chi.NewRouteContext(), r.Method, path)
		}
		p, ok := impersonatedWrites[r.Method+" "+route]
		if !ok && route != "" {
			s.Log.Error("portal write has no impersonation permission", "route", r.Method+" "+route)
		}
		if !ok || !staff.Staff() || !hasPermission(staff.Role, p) {
			s.renderError(w, r, http.StatusForbidden, "Not allowed for your role",
				"While signed in as a customer you can do only what your own staff role allows in the admin panel, and it does not include this. You can still look around; ask an administrator if this needs doing.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
