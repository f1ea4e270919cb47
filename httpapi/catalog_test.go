package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

func productForm(groupID int64, extra url.Values) url.Values {
	v := url.Values{
		"group_id": {itoa(groupID)}, "name": {"Minecraft 4 GB"}, "slug": {"mc-4gb-new"}, "type": {"game_server"},
		"description": {"Paper or Forge."}, "stock_limit": {"20"},
		"order_fields":  {"hostname | Hostname | required | text\negg | Game | optional | select: paper, forge\n"},
		"price_cycle_0": {"monthly"}, "price_currency_0": {"USD"}, "price_amount_0": {"12.50"}, "price_setup_0": {"5"},
		"price_cycle_1": {"annual"}, "price_currency_1": {"eur"}, "price_amount_1": {"120"}, "price_setup_1": {""},
		"price_cycle_2": {""}, "price_currency_2": {""}, "price_amount_2": {""}, "price_setup_2": {""},
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

func TestAdminBuildsTheCatalogWithPricesAndHidesAProduct(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")

	r := admin.post("/admin/catalog/groups", "/admin/catalog/groups/new", url.Values{"name": {"Game servers"}, "slug": {"game-new"}, "sort": {"5"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add group: status %d\n%s", r.Status, r.Body)
	}
	var group store.ProductGroup
	groups, _ := st.Store.ProductGroups(ctx)
	for _, g := range groups {
		if g.Slug == "game-new" {
			group = g
		}
	}
	if group.ID == 0 || group.Sort != 5 {
		t.Fatalf("group game-new not saved with sort 5: %+v", groups)
	}

	if r := admin.get("/admin/catalog/products/new"); r.Status != 200 || strings.Count(r.Body, `data-testid="price-row"`) < 6 {
		t.Fatalf("new product form: status %d, want 200 with at least 6 price rows", r.Status)
	}
	r = admin.post("/admin/catalog/products", "/admin/catalog/products/new", productForm(group.ID, nil))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add product: status %d\n%s", r.Status, r.Body)
	}
	id := productID(t, st, "mc-4gb-new")
	prod, err := st.Store.CatalogProductByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(prod.Prices) != 2 || prod.Prices[0].Currency != "EUR" || prod.Prices[0].Amount != 12000 ||
		prod.Prices[1].Amount != 1250 || prod.Prices[1].SetupFee != 500 {
		t.Fatalf("prices = %+v; want EUR annual 12000 and USD monthly 1250 + 500 setup", prod.Prices)
	}
	if prod.StockLimit.Int64 != 20 || len(prod.OrderFields) != 2 || prod.OrderFields[1].Options[0] != "paper" {
		t.Fatalf("stock %v order fields %+v", prod.StockLimit, prod.OrderFields)
	}

	page := "/admin/catalog/products/" + itoa(id)
	if r := admin.get(page); r.Status != 200 || !strings.Contains(r.Body, `value="12.50"`) || !strings.Contains(r.Body, "select: paper, forge") {
		t.Fatalf("edit form: status %d; want the saved price 12.50 and order fields shown", r.Status)
	}
	r = admin.post(page, page, productForm(group.ID, url.Values{"hidden": {"on"}}))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("hide product: status %d\n%s", r.Status, r.Body)
	}
	list := admin.get("/admin/catalog")
	if !strings.Contains(list.Body, "Minecraft 4 GB") || !strings.Contains(list.Body, `data-testid="badge-hidden"`) || !strings.Contains(list.Body, "USD 12.50 monthly") || !strings.Contains(list.Body, "5.00 setup") {
		t.Fatalf("catalog list does not show the hidden product with its price:\n%s", list.Body)
	}

	// A bad price refuses the whole form: the product stays as it was.
	bad := admin.post(page, page, productForm(group.ID, url.Values{"retired": {"on"}, "name": {"Renamed"}, "price_amount_0": {"12.5.0"}}))
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `data-testid="price-error"`) {
		t.Fatalf("price 12.5.0: status %d, want 422 with the row's error", bad.Status)
	}
	after, _ := st.Store.CatalogProductByID(ctx, id)
	if after.Retired || after.Name != "Minecraft 4 GB" || len(after.Prices) != 2 || after.Prices[1].Amount != 1250 {
		t.Fatalf("a refused form changed the product: %+v", after)
	}

	cust := newBrowser(t, st)
	createUser(t, st, "c@example.com", "password 12345", store.RoleCustomer)
	cust.login("c@example.com", "password 12345")
	for _, path := range []string{"/admin/catalog", "/admin/catalog/products/new", page} {
		if r := cust.get(path); r.Status != http.StatusForbidden {
			t.Fatalf("customer on %s: %d, want 403", path, r.Status)
		}
	}
}
