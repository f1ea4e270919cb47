package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

func productRow(p store.Product) web.ProductRow {
	return web.ProductRow{ID: p.ID, Name: p.Name, Type: p.Type, PanelType: p.PanelType.String, PanelPlanID: p.PanelPlanID, Options: formatSettings(p.PanelOptions, false)}
}

func (s *server) adminProducts(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Products(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v web.AdminProducts
	for _, p := range list {
		v.Products = append(v.Products, productRow(p))
	}
	s.render(w, r, http.StatusOK, "admin_products", s.page(r, "Products", v))
}

func (s *server) adminProductPanelForm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	prod, err := s.Store.ProductByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "Map "+prod.Name, web.ProductPanelForm{Product: productRow(prod), Types: panelTypes()})
	p.Form = map[string]string{"panel_type": prod.PanelType.String, "panel_plan_id": prod.PanelPlanID, "panel_options": formatSettings(prod.PanelOptions, false)}
	s.render(w, r, http.StatusOK, "admin_product_panel", p)
}

// adminSaveProductPanel maps a product onto a panel type, plan and options.
func (s *server) adminSaveProductPanel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	prod, err := s.Store.ProductByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := map[string]string{
		"panel_type":    strings.TrimSpace(r.PostFormValue("panel_type")),
		"panel_plan_id": strings.TrimSpace(r.PostFormValue("panel_plan_id")),
		"panel_options": r.PostFormValue("panel_options"),
	}
	p := s.page(r, "Map "+prod.Name, web.ProductPanelForm{Product: productRow(prod), Types: panelTypes()})
	p.Form = f
	if !slices.Contains(panelTypes(), f["panel_type"]) {
		p.Errors["panel_type"] = "Choose the panel type."
	}
	if f["panel_plan_id"] == "" || len(f["panel_plan_id"]) > 100 {
		p.Errors["panel_plan_id"] = "Enter the panel's plan, package or egg id."
	}
	opts, err := parseExtra(f["panel_options"])
	if err != nil {
		p.Errors["panel_options"] = err.Error()
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_product_panel", p)
		return
	}
	if err := s.Store.SetProductPanel(r.Context(), prod.ID, f["panel_type"], f["panel_plan_id"], opts); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/products", http.StatusSeeOther)
}
