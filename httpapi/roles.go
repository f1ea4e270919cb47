package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/store"
)

// permission is one thing a member of staff may do in the admin panel. Every /admin route is
// wrapped with s.can (or s.canFor) in server.go; templates ask Viewer.Can with the same names to
// hide links and buttons the viewer's role cannot use.
type permission string

const (
	permDashboard            permission = "dashboard"
	permCustomersView        permission = "customers.view"
	permCustomersEdit        permission = "customers.edit"        // profile, status, close account
	permCustomersCredit      permission = "customers.credit"      // add or remove account credit
	permCustomersNotes       permission = "customers.notes"       // add, edit and pin notes
	permCustomersImpersonate permission = "customers.impersonate" // log in as the customer
	permInvoicesView         permission = "invoices.view"
	permInvoicesManage       permission = "invoices.manage"  // mark paid, cancel, refund
	permCreditNotesView      permission = "creditnotes.view" // credit notes and their PDFs
	permServicesView         permission = "services.view"
	permServicesOperate      permission = "services.operate" // suspend, unsuspend, retry, power
	permServicesManage       permission = "services.manage"  // create, terminate, change package, resolve by hand, archive
	permCatalogView          permission = "catalog.view"
	permCatalogEdit          permission = "catalog.edit"
	permPanels               permission = "panels" // panel servers and product-to-panel mapping
	permAuditView            permission = "audit.view"
	permStaffManage          permission = "staff.manage"
)

// allPermissions lists every permission; the administrator holds them all.
var allPermissions = []permission{
	permDashboard,
	permCustomersView, permCustomersEdit, permCustomersCredit, permCustomersNotes, permCustomersImpersonate,
	permInvoicesView, permInvoicesManage, permCreditNotesView,
	permServicesView, permServicesOperate, permServicesManage,
	permCatalogView, permCatalogEdit,
	permPanels, permAuditView, permStaffManage,
}

// rolePermissions is the one table of who may do what. Roles not listed (customers) hold nothing.
var rolePermissions = map[string][]permission{
	store.RoleAdmin: allPermissions,
	store.RoleBilling: {
		permDashboard,
		permCustomersView, permCustomersEdit, permCustomersCredit,
		permInvoicesView, permInvoicesManage, permCreditNotesView,
		permCatalogView, permServicesView, permAuditView,
	},
	store.RoleSupport: {
		permDashboard,
		permCustomersView, permCustomersNotes, permCustomersImpersonate,
		permServicesView, permServicesOperate,
		permInvoicesView,
	},
}

// roleLabels are the role names staff see.
var roleLabels = map[string]string{
	store.RoleAdmin:    "Administrator",
	store.RoleBilling:  "Billing",
	store.RoleSupport:  "Support",
	store.RoleCustomer: "Customer",
}

func roleLabel(role string) string {
	if l, ok := roleLabels[role]; ok {
		return l
	}
	return role
}

// hasPermission reports whether role holds p.
func hasPermission(role string, p permission) bool {
	for _, q := range rolePermissions[role] {
		if q == p {
			return true
		}
	}
	return false
}

// permissionSet is every permission by name with whether role holds it, for templates.
func permissionSet(role string) map[string]bool {
	out := make(map[string]bool, len(allPermissions))
	for _, p := range allPermissions {
		out[string(p)] = hasPermission(role, p)
	}
	return out
}

// can lets the request through to h only when the signed-in staff member's role holds p; others
// get the 403 page. It runs inside requireStaff, so there is always a user.
func (s *server) can(p permission, h http.HandlerFunc) http.HandlerFunc {
	return s.canFor(func(*http.Request) permission { return p }, h)
}

// canFor is can for routes whose permission depends on the request, such as the action in
// /admin/services/{id}/{action}.
func (s *server) canFor(perm func(*http.Request) permission, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := currentUser(r)
		if u == nil || !u.Staff() || !hasPermission(u.Role, perm(r)) {
			s.forbidden(w, r)
			return
		}
		h(w, r)
	}
}

// forbidden is the 403 page for a member of staff whose role does not allow the request.
func (s *server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusForbidden, "Not allowed for your role",
		"Your staff role does not include this part of the admin panel. Ask an administrator if you need it.")
}

// serviceActionPermission maps /admin/services/{id}/{action}: the day-to-day operations are
// support's; terminating, changing the package and resolving a failed build by hand (which can
// refund) are the administrator's. Unknown actions need the stronger permission and then 404.
func serviceActionPermission(r *http.Request) permission {
	switch chi.URLParam(r, "action") {
	case "suspend", "unsuspend", "retry", "power":
		return permServicesOperate
	}
	return permServicesManage
}
