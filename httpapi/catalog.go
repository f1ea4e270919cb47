package httpapi

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// minPriceRows is how many price rows the product form offers beyond the ones filled in.
const minPriceRows = 6

var productTypeLabels = map[string]string{"vps": "VPS", "dedicated": "Dedicated server", "web_hosting": "Web hosting", "game_server": "Game server"}

func (s *server) adminCatalog(w http.ResponseWriter, r *http.Request) {
	groups, err := s.Store.ProductGroups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	products, err := s.Store.CatalogProducts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	prices, err := s.Store.CatalogPrices(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v web.AdminCatalog
	for _, g := range groups {
		row := web.CatalogGroupRow{ID: g.ID, Name: g.Name, Slug: g.Slug, Description: g.Description}
		for _, p := range products {
			if p.GroupID != g.ID {
				continue
			}
			pr := web.CatalogProductRow{ID: p.ID, Name: p.Name, Slug: p.Slug, Type: productTypeLabels[p.Type], Hidden: p.Hidden, Retired: p.Retired,
				NoPanel: !provisionable(p)}
			if p.StockLimit.Valid {
				pr.StockLimit = strconv.FormatInt(p.StockLimit.Int64, 10)
			}
			for _, price := range prices[p.ID] {
				pr.Prices = append(pr.Prices, priceSummary(price))
			}
			row.Products = append(row.Products, pr)
		}
		v.Groups = append(v.Groups, row)
	}
	s.render(w, r, http.StatusOK, "admin_catalog", s.page(r, "Catalog", v))
}

// priceSummary reads like "USD 12.50 monthly (+5.00 setup)".
func priceSummary(p store.Price) string {
	out := fmt.Sprintf("%s %s %s", p.Currency, minorToDecimal(p.Amount, p.Currency), p.Cycle)
	if p.SetupFee > 0 {
		out += fmt.Sprintf(" (+%s setup)", minorToDecimal(p.SetupFee, p.Currency))
	}
	return out
}

func minorToDecimal(amount int64, currency string) string {
	if _, err := billing.CurrencyExponent(currency); err != nil {
		return strconv.FormatInt(amount, 10) // a code billing does not know: show minor units as stored
	}
	return billing.Money{Amount: amount, Currency: currency}.Decimal()
}

// adminCatalogGroupForm shows the add form, or the edit form of /admin/catalog/groups/{id}.
func (s *server) adminCatalogGroupForm(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Add product group", web.CatalogGroupForm{})
	p.Form["sort"] = "0"
	if chi.URLParam(r, "id") != "" {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		g, err := s.Store.ProductGroupByID(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p = s.page(r, "Edit group "+g.Name, web.CatalogGroupForm{ID: g.ID})
		p.Form = map[string]string{"name": g.Name, "slug": g.Slug, "description": g.Description, "sort": strconv.Itoa(g.Sort)}
	}
	s.render(w, r, http.StatusOK, "admin_catalog_group", p)
}

// adminSaveCatalogGroup adds or edits a product group.
func (s *server) adminSaveCatalogGroup(w http.ResponseWriter, r *http.Request) {
	var id int64
	if chi.URLParam(r, "id") != "" {
		var ok bool
		if id, ok = pathID(r); !ok {
			s.notFound(w, r)
			return
		}
	}
	f := map[string]string{}
	for _, k := range []string{"name", "slug", "description", "sort"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p := s.page(r, "Product group", web.CatalogGroupForm{ID: id})
	p.Form = f
	validateName(p.Errors, f["name"])
	validateSlug(p.Errors, f["slug"])
	sortOrder, err := strconv.Atoi(f["sort"])
	if f["sort"] == "" {
		sortOrder, err = 0, nil
	}
	if err != nil {
		p.Errors["sort"] = "Enter a whole number."
	}
	if len(f["description"]) > 2000 {
		p.Errors["description"] = "Keep the description under 2000 characters."
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_catalog_group", p)
		return
	}
	g := store.ProductGroup{ID: id, Slug: f["slug"], Name: f["name"], Description: f["description"], Sort: sortOrder}
	if id == 0 {
		_, err = s.Store.CreateProductGroup(r.Context(), g)
	} else {
		err = s.Store.UpdateProductGroup(r.Context(), g)
	}
	if errors.Is(err, store.ErrConflict) {
		p.Errors["slug"] = "Another group has this slug."
		s.render(w, r, http.StatusConflict, "admin_catalog_group", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/catalog", http.StatusSeeOther)
}

func validateName(errs map[string]string, name string) {
	if name == "" || len(name) > 100 {
		errs["name"] = "Enter a name (up to 100 characters)."
	}
}

func validateSlug(errs map[string]string, slug string) {
	ok := slug != "" && len(slug) <= 60
	for _, c := range slug {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			ok = false
		}
	}
	if !ok {
		errs["slug"] = "Use lower-case letters, digits and dashes (up to 60)."
	}
}

// productFormView is the product form's view with its choices and the price rows from prices
// plus minPriceRows blank ones.
func (s *server) productFormView(r *http.Request, id int64, rows []web.PriceFormRow) (web.CatalogProductForm, error) {
	groups, err := s.Store.ProductGroups(r.Context())
	if err != nil {
		return web.CatalogProductForm{}, err
	}
	v := web.CatalogProductForm{ID: id}
	for _, g := range groups {
		v.Groups = append(v.Groups, web.Option{Value: strconv.FormatInt(g.ID, 10), Label: g.Name})
	}
	for _, t := range store.ProductTypes {
		v.Types = append(v.Types, web.Option{Value: t, Label: productTypeLabels[t]})
	}
	for _, c := range store.Cycles {
		v.Cycles = append(v.Cycles, web.Option{Value: c, Label: strings.ToUpper(c[:1]) + c[1:]})
	}
	// Keep filled rows, drop blank ones, then offer minPriceRows blank rows to fill.
	for _, row := range rows {
		if row.Cycle != "" || row.Currency != "" || row.Amount != "" || row.SetupFee != "" {
			row.N = len(v.PriceRows)
			v.PriceRows = append(v.PriceRows, row)
		}
	}
	for range minPriceRows {
		v.PriceRows = append(v.PriceRows, web.PriceFormRow{N: len(v.PriceRows)})
	}
	return v, nil
}

// adminCatalogProductForm shows the add form, or the edit form of /admin/catalog/products/{id}.
func (s *server) adminCatalogProductForm(w http.ResponseWriter, r *http.Request) {
	var prod store.CatalogProduct
	if chi.URLParam(r, "id") != "" {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		var err error
		if prod, err = s.Store.CatalogProductByID(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var rows []web.PriceFormRow
	for _, pr := range prod.Prices {
		rows = append(rows, web.PriceFormRow{Cycle: pr.Cycle, Currency: pr.Currency, Amount: minorToDecimal(pr.Amount, pr.Currency), SetupFee: minorToDecimal(pr.SetupFee, pr.Currency)})
	}
	v, err := s.productFormView(r, prod.ID, rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Add product"
	p := s.page(r, title, v)
	if prod.ID != 0 {
		p = s.page(r, "Edit "+prod.Name, v)
		p.Form = map[string]string{
			"group_id": strconv.FormatInt(prod.GroupID, 10), "name": prod.Name, "slug": prod.Slug, "type": prod.Type,
			"description": prod.Description, "order_fields": formatOrderFields(prod.OrderFields),
		}
		if prod.StockLimit.Valid {
			p.Form["stock_limit"] = strconv.FormatInt(prod.StockLimit.Int64, 10)
		}
		if prod.Hidden {
			p.Form["hidden"] = "on"
		}
		if prod.Retired {
			p.Form["retired"] = "on"
		}
	}
	s.render(w, r, http.StatusOK, "admin_catalog_product", p)
}

// adminSaveCatalogProduct adds or edits a product with its prices in one transaction; any
// invalid field or price saves nothing.
func (s *server) adminSaveCatalogProduct(w http.ResponseWriter, r *http.Request) {
	var id int64
	if chi.URLParam(r, "id") != "" {
		var ok bool
		if id, ok = pathID(r); !ok {
			s.notFound(w, r)
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	f := map[string]string{}
	for _, k := range []string{"group_id", "name", "slug", "type", "description", "stock_limit", "order_fields", "hidden", "retired"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	errs := map[string]string{}
	validateName(errs, f["name"])
	validateSlug(errs, f["slug"])
	prod := store.CatalogProduct{Product: store.Product{
		ID: id, Slug: f["slug"], Name: f["name"], Type: f["type"], Description: f["description"],
		Hidden: f["hidden"] != "", Retired: f["retired"] != "",
	}}
	groupID, err := strconv.ParseInt(f["group_id"], 10, 64)
	if err != nil || groupID <= 0 {
		errs["group_id"] = "Choose the group."
	}
	prod.GroupID = groupID
	if !slices.Contains(store.ProductTypes, f["type"]) {
		errs["type"] = "Choose the product type."
	}
	if len(f["description"]) > 5000 {
		errs["description"] = "Keep the description under 5000 characters."
	}
	if f["stock_limit"] != "" {
		n, err := strconv.ParseInt(f["stock_limit"], 10, 32)
		if err != nil || n < 0 {
			errs["stock_limit"] = "Enter a whole number of services, or leave blank for no limit."
		}
		prod.StockLimit = sql.NullInt64{Int64: n, Valid: true}
	}
	if prod.OrderFields, err = parseOrderFields(f["order_fields"]); err != nil {
		errs["order_fields"] = err.Error()
	}
	rows, prices, priceErr := parsePriceRows(r)
	if priceErr != "" {
		errs["prices"] = priceErr
	}
	prod.Prices = prices
	if prod.Prices == nil {
		prod.Prices = []store.Price{} // no rows filled: the product has no prices
	}
	v, err := s.productFormView(r, id, rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "Product", v)
	p.Form, p.Errors = f, errs
	if len(errs) > 0 {
		p.Error = "Please correct the highlighted fields; nothing was saved."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_catalog_product", p)
		return
	}
	if id == 0 {
		_, err = s.Store.CreateProduct(r.Context(), prod)
	} else {
		err = s.Store.UpdateProduct(r.Context(), prod)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		p.Errors["slug"] = "Another product has this slug."
		p.Error = "Please correct the highlighted fields; nothing was saved."
		s.render(w, r, http.StatusConflict, "admin_catalog_product", p)
		return
	case id == 0 && errors.Is(err, store.ErrNotFound):
		p.Errors["group_id"] = "That group no longer exists."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_catalog_product", p)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/catalog", http.StatusSeeOther)
}

// parsePriceRows reads the price_*_N inputs. Amounts are decimal strings in major units read
// with billing.ParseDecimal, never floats. It returns the rows as entered (with their errors),
// the prices when every row is valid, and a summary error for the prices table.
func parsePriceRows(r *http.Request) ([]web.PriceFormRow, []store.Price, string) {
	var rows []web.PriceFormRow
	var prices []store.Price
	seen := map[string]int{}
	bad := false
	for n := 0; n < 100; n++ {
		key := strconv.Itoa(n)
		if _, ok := r.PostForm["price_cycle_"+key]; !ok {
			if _, ok := r.PostForm["price_amount_"+key]; !ok {
				break
			}
		}
		row := web.PriceFormRow{
			Cycle:    strings.TrimSpace(r.PostFormValue("price_cycle_" + key)),
			Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("price_currency_" + key))),
			Amount:   strings.TrimSpace(r.PostFormValue("price_amount_" + key)),
			SetupFee: strings.TrimSpace(r.PostFormValue("price_setup_" + key)),
		}
		if row.Cycle == "" && row.Currency == "" && row.Amount == "" && row.SetupFee == "" {
			continue
		}
		price := store.Price{Cycle: row.Cycle, Currency: row.Currency}
		if !slices.Contains(store.Cycles, row.Cycle) {
			row.Errors = append(row.Errors, "Cycle: choose one.")
		}
		if _, err := billing.CurrencyExponent(row.Currency); err != nil {
			row.Errors = append(row.Errors, "Currency: enter a three-letter code such as USD.")
		} else {
			var ok bool
			if price.Amount, ok = parseMinor(row.Amount, row.Currency, false); !ok {
				row.Errors = append(row.Errors, "Amount: enter a decimal of 0 or more, such as 12.50.")
			}
			if price.SetupFee, ok = parseMinor(row.SetupFee, row.Currency, true); !ok {
				row.Errors = append(row.Errors, "Setup fee: enter a decimal of 0 or more, or leave blank.")
			}
		}
		dup := row.Cycle + " " + row.Currency
		if _, twice := seen[dup]; twice && len(row.Errors) == 0 {
			row.Errors = append(row.Errors, "Another row already prices "+row.Cycle+" in "+row.Currency+".")
		}
		seen[dup] = n
		if len(row.Errors) > 0 {
			bad = true
		}
		rows = append(rows, row)
		prices = append(prices, price)
	}
	if bad {
		return rows, nil, "Some prices are not valid; see the rows below."
	}
	return rows, prices, ""
}

// parseMinor reads a non-negative decimal in major units into minor units; blank is 0 when
// blankOK.
func parseMinor(s, currency string, blankOK bool) (int64, bool) {
	if s == "" {
		return 0, blankOK
	}
	m, err := billing.ParseDecimal(s, currency)
	if err != nil || m.Amount < 0 {
		return 0, false
	}
	return m.Amount, true
}

// parseOrderFields reads one order field per line: "key | Label | required|optional | text"
// or "... | select: a, b, c".
func parseOrderFields(text string) (store.OrderFields, error) {
	var out store.OrderFields
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 4 {
			return nil, fmt.Errorf("line %d: write key | Label | required or optional | text or select: choices", n+1)
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		of := store.OrderField{Key: parts[0], Label: parts[1]}
		switch parts[2] {
		case "required":
			of.Required = true
		case "optional":
		default:
			return nil, fmt.Errorf("line %d: the third part is required or optional", n+1)
		}
		kind, opts, isSelect := strings.Cut(parts[3], ":")
		of.Kind = strings.TrimSpace(kind)
		if isSelect {
			for _, o := range strings.Split(opts, ",") {
				if o = strings.TrimSpace(o); o != "" {
					of.Options = append(of.Options, o)
				}
			}
		}
		out = append(out, of)
		if err := (store.OrderFields{of}).Validate(); err != nil {
			return nil, fmt.Errorf("line %d: key in lower-case letters, digits and _, a label, and text or select with choices", n+1)
		}
	}
	if err := out.Validate(); err != nil {
		return nil, errors.New("each order field key may appear once")
	}
	return out, nil
}

// formatOrderFields writes order fields in the form parseOrderFields reads.
func formatOrderFields(fields store.OrderFields) string {
	var b strings.Builder
	for _, f := range fields {
		req := "optional"
		if f.Required {
			req = "required"
		}
		kind := f.Kind
		if f.Kind == "select" {
			kind = "select: " + strings.Join(f.Options, ", ")
		}
		fmt.Fprintf(&b, "%s | %s | %s | %s\n", f.Key, f.Label, req, kind)
	}
	return b.String()
}
