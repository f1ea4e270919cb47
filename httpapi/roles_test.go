package httpapi_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// adminRouteRoles says, for every /admin route, which staff roles besides the administrator may
// use it (the administrator may use them all; customers none). It is written out here, apart from
// httpapi/roles.go, so the test checks the table instead of repeating it. A route added to the
// router without an entry here fails TestEveryAdminRouteEnforcesStaffRoles.
var adminRouteRoles = map[string][]string{
	"GET /admin/":                                  {store.RoleBilling, store.RoleSupport},
	"GET /admin/audit":                             {store.RoleBilling},
	"POST /admin/invoices/{id}/refund":             {store.RoleBilling},
	"POST /admin/alerts/{id}/resolve":              {store.RoleBilling},
	"POST /admin/customers/{id}/credit":            {store.RoleBilling},
	"GET /admin/subscriptions":                     {store.RoleBilling, store.RoleSupport},
	"GET /admin/subscriptions/{id}":                {store.RoleBilling, store.RoleSupport},
	"POST /admin/subscriptions/{id}/suspend":       {store.RoleSupport},
	"POST /admin/subscriptions/{id}/unsuspend":     {store.RoleSupport},
	"POST /admin/subscriptions/{id}/retry-payment": {store.RoleBilling},
	"GET /admin/coupons":                           {store.RoleBilling},
	"POST /admin/coupons":                          {},
	"POST /admin/coupons/{id}/retire":              {},
	"GET /admin/billing":                           {},
	"POST /admin/billing/taxes":                    {},
	"POST /admin/billing/taxes/{id}/delete":        {},
	"POST /admin/billing/numbering":                {},
	"POST /admin/subscriptions/{id}/cancel":        {},
	"GET /admin/staff":                             {},
	"POST /admin/staff":                            {},
	"POST /admin/staff/{id}/role":                  {},
	"POST /admin/customers/{id}/impersonate":       {store.RoleSupport},
	"GET /admin/services":                          {store.RoleBilling, store.RoleSupport},
	"GET /admin/services/new":                      {},
	"POST /admin/services":                         {},
	"GET /admin/services/{id}":                     {store.RoleBilling, store.RoleSupport},
	"POST /admin/services/{id}/suspend":            {store.RoleSupport},
	"POST /admin/services/{id}/unsuspend":          {store.RoleSupport},
	"POST /admin/services/{id}/retry":              {store.RoleSupport},
	"POST /admin/services/{id}/terminate":          {},
	"POST /admin/services/{id}/change-package":     {},
	"POST /admin/services/{id}/mark-provisioned":   {},
	"POST /admin/services/{id}/abandon":            {},
	"GET /admin/panels":                            {},
	"GET /admin/panels/new":                        {},
	"POST /admin/panels":                           {},
	"GET /admin/panels/{id}":                       {},
	"POST /admin/panels/{id}":                      {},
	"POST /admin/panels/{id}/test":                 {},
	"GET /admin/products":                          {},
	"GET /admin/products/{id}/panel":               {},
	"POST /admin/products/{id}/panel":              {},
	"GET /admin/catalog":                           {store.RoleBilling},
	"GET /admin/catalog/groups/new":                {},
	"POST /admin/catalog/groups":                   {},
	"GET /admin/catalog/groups/{id}":               {},
	"POST /admin/catalog/groups/{id}":              {},
	"GET /admin/catalog/products/new":              {},
	"POST /admin/catalog/products":                 {},
	"GET /admin/catalog/products/{id}":             {},
	"POST /admin/catalog/products/{id}":            {},
	"GET /admin/invoices":                          {store.RoleBilling, store.RoleSupport},
	"GET /admin/invoices/{id}":                     {store.RoleBilling, store.RoleSupport},
	"GET /admin/invoices/{id}/pdf":                 {store.RoleBilling, store.RoleSupport},
	"POST /admin/invoices/{id}/mark-paid":          {store.RoleBilling},
	"POST /admin/invoices/{id}/cancel":             {store.RoleBilling},
	"GET /admin/credit-notes":                      {store.RoleBilling},
	"GET /admin/credit-notes/{id}":                 {store.RoleBilling},
	"GET /admin/credit-notes/{id}/pdf":             {store.RoleBilling},
	"GET /admin/customers":                         {store.RoleBilling, store.RoleSupport},
	"GET /admin/customers/{id}":                    {store.RoleBilling, store.RoleSupport},
	"POST /admin/customers/{id}/profile":           {store.RoleBilling},
	"POST /admin/customers/{id}/close":             {store.RoleBilling},
	"POST /admin/customers/{id}/reopen":            {store.RoleBilling},
	"POST /admin/customers/{id}/notes":             {store.RoleSupport},
	"POST /admin/customers/{id}/notes/{note}":      {store.RoleSupport},
	"POST /admin/customers/{id}/notes/{note}/pin":  {store.RoleSupport},
	"GET /admin/palette":                           {store.RoleBilling, store.RoleSupport},
	"POST /admin/services/bulk/suspend":            {store.RoleSupport},
	"POST /admin/services/bulk/unsuspend":          {store.RoleSupport},
	"POST /admin/services/bulk/archive":            {},
	"POST /admin/services/bulk/restore":            {},
	"POST /admin/services/{id}/archive":            {},
	"POST /admin/services/{id}/restore":            {},
	"POST /admin/invoices/bulk/mark-paid":          {store.RoleBilling},
	"POST /admin/invoices/bulk/cancel":             {store.RoleBilling},
}

// routeParamValues are what a walked route's parameters are replaced with. Ids name no record, so
// a request the role may make ends in 404 or a validation error and changes nothing; {action}
// routes are checked once per action, since the action decides the permission.
var routeParamValues = map[string][]string{
	"/admin/services/{id}/{action}":      {"suspend", "unsuspend", "retry", "terminate", "change-package", "mark-provisioned", "abandon", "archive", "restore"},
	"/admin/services/bulk/{action}":      {"suspend", "unsuspend", "archive", "restore"},
	"/admin/invoices/bulk/{action}":      {"mark-paid", "cancel"},
	"/admin/subscriptions/{id}/{action}": {"suspend", "unsuspend", "retry-payment", "cancel"},
}

var routeParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// adminRoutes walks the router and returns every /admin route as "METHOD /pattern" with the
// {action}-style parameters expanded.
func adminRoutes(t *testing.T, st *testenv.Stack) []string {
	t.Helper()
	routes, ok := st.Server.Config.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is %T, not a chi router", st.Server.Config.Handler)
	}
	seen := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/admin") {
			return nil
		}
		route = strings.ReplaceAll(route, "/*/", "/")
		expanded := []string{route}
		for _, m := range routeParam.FindAllStringSubmatch(route, -1) {
			values, ok := routeParamValues[route]
			if !ok || m[1] != "action" {
				continue
			}
			var next []string
			for _, r := range expanded {
				for _, v := range values {
					next = append(next, strings.Replace(r, m[0], v, 1))
				}
			}
			expanded = next
		}
		for _, r := range expanded {
			seen[method+" "+r] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func TestEveryAdminRouteEnforcesStaffRoles(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	roles := []string{store.RoleAdmin, store.RoleBilling, store.RoleSupport, store.RoleCustomer}
	clients := map[string]*browser{}
	tokens := map[string]string{}
	for _, role := range roles {
		email := role + "@example.com"
		createUser(t, st, email, "password 12345", role)
		c := newBrowser(t, st)
		if r := c.login(email, "password 12345"); r.Status != http.StatusSeeOther {
			t.Fatalf("login as %s: status %d", role, r.Status)
		}
		clients[role] = c
		home := "/admin"
		if role == store.RoleCustomer {
			home = "/account"
		}
		tokens[role] = c.csrf(home)
	}

	routes := adminRoutes(t, st)
	walked := map[string]bool{}
	for _, route := range routes {
		walked[route] = true
		allowed, ok := adminRouteRoles[route]
		if !ok {
			t.Errorf("%s has no entry in adminRouteRoles: wrap it with s.can(permission, ...) in server.go and say here which roles may use it", route)
			continue
		}
		method, pattern, _ := strings.Cut(route, " ")
		path := routeParam.ReplaceAllString(pattern, "999999")
		for _, role := range roles {
			want := role == store.RoleAdmin || contains(allowed, role)
			var res response
			if method == http.MethodGet {
				res = clients[role].get(path)
			} else {
				req, _ := http.NewRequest(method, st.URL(path), strings.NewReader(url.Values{"csrf": {tokens[role]}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res = clients[role].do(req)
			}
			switch {
			case role == store.RoleCustomer:
				if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Staff only") {
					t.Errorf("%s %s as a customer: status %d, want the 403 staff-only page", method, path, res.Status)
				}
			case want && res.Status == http.StatusForbidden:
				t.Errorf("%s %s as %s: 403 (%s), want allowed", method, path, role, pageTitle(res.Body))
			case !want && (res.Status != http.StatusForbidden || !strings.Contains(res.Body, "Not allowed for your role")):
				t.Errorf("%s %s as %s: status %d (%s), want the 403 role page", method, path, role, res.Status, pageTitle(res.Body))
			}
		}
	}
	for route := range adminRouteRoles {
		if !walked[route] {
			t.Errorf("adminRouteRoles lists %s but the router has no such route", route)
		}
	}
	if len(routes) < 30 {
		t.Fatalf("walked only %d admin routes: %v", len(routes), routes)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

func pageTitle(body string) string {
	if m := titleRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "no title"
}
