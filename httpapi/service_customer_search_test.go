package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

var customerOption = regexp.MustCompile(`(?s)<select id="f-customer_id".*?</select>`)

// customerChoices are the customer options of the create-service form (without the placeholder).
func customerChoices(t *testing.T, body string) []string {
	t.Helper()
	sel := customerOption.FindString(body)
	if sel == "" {
		t.Fatalf("no customer select on the create-service form:\n%s", body)
	}
	var out []string
	for _, m := range regexp.MustCompile(`<option value="(\d+)"`).FindAllStringSubmatch(sel, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCreateServiceFindsTheCustomerBySearchAndNeverListsThemAll gives the shop 45 customers and
// checks that the create-service form lists none of them until staff search, at most 20 for a
// broad search (with a note of how many more matched), and exactly the one for an email
// address or an id, chosen already; a service is then created for the chosen customer.
func TestCreateServiceFindsTheCustomerBySearchAndNeverListsThemAll(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	var ids []int64
	for i := range 45 {
		h := "x" // never logs in
		u, err := st.Store.CreateUser(ctx, store.NewUser{Email: fmt.Sprintf("shopper%02d@example.com", i), Name: fmt.Sprintf("Shopper %02d", i),
			PasswordHash: h, Role: store.RoleCustomer, Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")

	blank := admin.get("/admin/services/new")
	if blank.Status != http.StatusOK {
		t.Fatalf("create-service form: status %d", blank.Status)
	}
	if got := customerChoices(t, blank.Body); len(got) != 0 {
		t.Errorf("the form lists %d customers before any search, want none", len(got))
	}
	if strings.Contains(blank.Body, "shopper00@example.com") || !strings.Contains(blank.Body, `data-testid="service-customer-search"`) {
		t.Error("the form before a search: want a search box and no customer")
	}

	broad := admin.get("/admin/services/new?customer_q=shopper")
	if got := customerChoices(t, broad.Body); len(got) != 20 {
		t.Errorf("a search matching 45 customers lists %d, want 20", len(got))
	}
	if !strings.Contains(broad.Body, "25 more match") {
		t.Error("a broad search does not say how many more matched")
	}
	if len(broad.Body) >= len(blank.Body)+20*300 {
		t.Errorf("the page with 20 matches is %d bytes, the blank one %d: more than the 20 rows", len(broad.Body), len(blank.Body))
	}

	for _, q := range []string{"shopper07@example.com", "Shopper 07", "#" + itoa(ids[7])} {
		r := admin.get("/admin/services/new?customer_q=" + url.QueryEscape(q))
		got := customerChoices(t, r.Body)
		if len(got) != 1 || got[0] != itoa(ids[7]) {
			t.Errorf("search %q lists %v, want customer %d alone", q, got, ids[7])
			continue
		}
		if !strings.Contains(r.Body, `<option value="`+itoa(ids[7])+`" selected>`) {
			t.Errorf("search %q: the one match is not chosen", q)
		}
	}
	// A bare number is an id or part of a name or address: the customer with that id is among the matches.
	if got := customerChoices(t, admin.get("/admin/services/new?customer_q="+itoa(ids[7])).Body); !slices.Contains(got, itoa(ids[7])) {
		t.Errorf("search %d lists %v, without customer %d", ids[7], got, ids[7])
	}
	if r := admin.get("/admin/services/new?customer_q=nobody-by-that-name"); !strings.Contains(r.Body, `data-testid="no-customers"`) {
		t.Error("a search without matches does not say so")
	}
	// A link from a customer's page names the customer: listed and chosen without a search.
	if got := customerChoices(t, admin.get("/admin/services/new?customer_id="+itoa(ids[3])).Body); len(got) != 1 || got[0] != itoa(ids[3]) {
		t.Errorf("the form for customer %d lists %v, want that customer", ids[3], got)
	}

	id := createService(t, admin, ids[7], productID(t, st, "vps-2gb"), "")
	svc, err := st.Store.ServiceByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if svc.CustomerID != ids[7] {
		t.Errorf("service %d belongs to customer %d, want %d", id, svc.CustomerID, ids[7])
	}
}
