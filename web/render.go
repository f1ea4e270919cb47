package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
)

//go:embed templates static
var files embed.FS

// pageSpec says which layout a page uses and which view type its Page.Data holds.
type pageSpec struct {
	layout string
	view   reflect.Type // nil when the page takes no Data
}

func viewOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// pages is every page the renderer knows; a file in templates/pages without an
// entry here (or the other way round) makes NewRenderer fail.
var pages = map[string]pageSpec{
	"home":                {layout: "marketing"},
	"login":               {layout: "marketing"},
	"register":            {layout: "marketing"},
	"verify_sent":         {layout: "marketing"},
	"verify_result":       {layout: "marketing", view: viewOf[VerifyResult]()},
	"verify_needed":       {layout: "portal"},
	"forgot":              {layout: "marketing"},
	"reset":               {layout: "marketing"},
	"error":               {layout: "marketing", view: viewOf[ErrorPage]()},
	"account_dashboard":   {layout: "portal", view: viewOf[AccountDashboard]()},
	"account_profile":     {layout: "portal", view: viewOf[Profile]()},
	"admin_dashboard":     {layout: "admin", view: viewOf[AdminDashboard]()},
	"admin_audit":         {layout: "admin", view: viewOf[AuditLog]()},
	"admin_staff":         {layout: "admin", view: viewOf[AdminStaff]()},
	"admin_services":      {layout: "admin", view: viewOf[AdminServices]()},
	"admin_service_new":   {layout: "admin", view: viewOf[ServiceForm]()},
	"admin_service":       {layout: "admin", view: viewOf[AdminService]()},
	"admin_panels":        {layout: "admin", view: viewOf[AdminPanels]()},
	"admin_panel_form":    {layout: "admin", view: viewOf[PanelForm]()},
	"admin_products":      {layout: "admin", view: viewOf[AdminProducts]()},
	"admin_product_panel": {layout: "admin", view: viewOf[ProductPanelForm]()},
	"account_service":     {layout: "portal", view: viewOf[AccountService]()},
	"dev_mail":            {layout: "dev", view: viewOf[MailList]()},
	"dev_mail_message":    {layout: "dev", view: viewOf[MailMessage]()},

	// The catalog admin: groups, products, prices and order fields.
	"admin_catalog":         {layout: "admin", view: viewOf[AdminCatalog]()},
	"admin_catalog_group":   {layout: "admin", view: viewOf[CatalogGroupForm]()},
	"admin_catalog_product": {layout: "admin", view: viewOf[CatalogProductForm]()},

	// Invoices: the customer's list, detail and PDF link; the admin list and detail.
	"account_invoices": {layout: "portal", view: viewOf[AccountInvoices]()},
	"account_invoice":  {layout: "portal", view: viewOf[AccountInvoice]()},
	"admin_invoices":   {layout: "admin", view: viewOf[AdminInvoices]()},
	"admin_invoice":    {layout: "admin", view: viewOf[AdminInvoice]()},

	// Credit notes: the customer's list and detail, the admin list and detail (creditnote_pages.go).
	"account_credit_notes": {layout: "portal", view: viewOf[AccountCreditNotes]()},
	"account_credit_note":  {layout: "portal", view: viewOf[AccountCreditNote]()},
	"admin_credit_notes":   {layout: "admin", view: viewOf[AdminCreditNotes]()},
	"admin_credit_note":    {layout: "admin", view: viewOf[AdminCreditNote]()},

	// Checkout and the customer's subscriptions and payment methods (billing_pages.go).
	"order_catalog":           {layout: "marketing", view: viewOf[OrderCatalog]()},
	"order_configure":         {layout: "portal", view: viewOf[OrderConfigure]()},
	"order_review":            {layout: "portal", view: viewOf[OrderReview]()},
	"account_invoice_pay":     {layout: "portal", view: viewOf[InvoicePay]()},
	"account_subscriptions":   {layout: "portal", view: viewOf[AccountSubscriptions]()},
	"account_subscription":    {layout: "portal", view: viewOf[AccountSubscription]()},
	"account_plan_change":     {layout: "portal", view: viewOf[PlanChangePreview]()},
	"account_payment_methods": {layout: "portal", view: viewOf[PaymentMethods]()},

	// Subscriptions for staff (admin_billing_pages.go).
	"admin_subscriptions":    {layout: "admin", view: viewOf[AdminSubscriptions]()},
	"admin_subscription":     {layout: "admin", view: viewOf[AdminSubscription]()},
	"admin_coupons":          {layout: "admin", view: viewOf[AdminCoupons]()},
	"admin_billing_settings": {layout: "admin", view: viewOf[BillingSettings]()},

	// Customers, and the outcome of bulk actions on services and invoices (customer_pages.go).
	"admin_customers":   {layout: "admin", view: viewOf[AdminCustomers]()},
	"admin_customer":    {layout: "admin", view: viewOf[AdminCustomer]()},
	"admin_bulk_result": {layout: "admin", view: viewOf[BulkResult]()},
}

// PageNames lists every page Render accepts, sorted.
func PageNames() []string {
	names := make([]string, 0, len(pages))
	for name := range pages {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Renderer renders pages; every page is parsed with its layout and the
// partials once, in NewRenderer.
type Renderer struct {
	sets map[string]*template.Template
}

// NewRenderer parses every page with its layout and the shared partials.
func NewRenderer() (*Renderer, error) {
	onDisk, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("list page templates: %w", err)
	}
	for _, f := range onDisk {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if _, ok := pages[name]; !ok {
			return nil, fmt.Errorf("template %s has no entry in the page table", f)
		}
	}
	r := &Renderer{sets: make(map[string]*template.Template, len(pages))}
	for name, spec := range pages {
		t, err := template.New(name).Funcs(funcs).ParseFS(files,
			"templates/partials/*.html",
			"templates/layouts/"+spec.layout+".html",
			"templates/pages/"+name+".html",
		)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("page %s: layout %s must define \"layout\" and the page \"content\"", name, spec.layout)
		}
		r.sets[name] = t
	}
	return r, nil
}

// Render writes the named page with the given data. Unknown page names and a
// Data of the wrong type are errors; nothing is written when rendering fails.
func (r *Renderer) Render(w io.Writer, page string, data Page) error {
	t, ok := r.sets[page]
	if !ok {
		return fmt.Errorf("render %q: unknown page", page)
	}
	view, err := normalizeView(pages[page].view, data.Data)
	if err != nil {
		return fmt.Errorf("render %q: %w", page, err)
	}
	data.Data = view
	if data.Theme != "dark" {
		data.Theme = "light"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %q: %w", page, err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// normalizeView checks that data holds the page's view type (a value or a
// non-nil pointer to one) and returns the value; nil becomes the zero view so
// templates never meet a nil Data.
func normalizeView(want reflect.Type, data any) (any, error) {
	if want == nil {
		return data, nil
	}
	if data == nil {
		return reflect.Zero(want).Interface(), nil
	}
	v := reflect.ValueOf(data)
	if v.Type() == want {
		return data, nil
	}
	if v.Kind() == reflect.Pointer && v.Type().Elem() == want {
		if v.IsNil() {
			return reflect.Zero(want).Interface(), nil
		}
		return v.Elem().Interface(), nil
	}
	return nil, fmt.Errorf("template data is %T, want web.%s", data, want.Name())
}
