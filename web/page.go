// Package web holds the server-rendered HTML pages, their layouts and the static
// assets (CSS, JS, fonts), all embedded in the binary and parsed once at start.
//
// Handlers build a Page with a page-specific view struct in Page.Data and call
// Renderer.Render; the package imports only the standard library.
package web

import (
	"fmt"
	"time"

	"github.com/ezscale/billing/billing"
)

// Page is what every template sees: request facts shared by all layouts plus
// the page-specific view in Data.
type Page struct {
	Title   string            // page title; the layout appends " · EZSCALE"
	Path    string            // current request path, for nav highlighting and the theme form's "next"
	Theme   string            // "light" or "dark"; anything else renders as "light"
	CSRF    string            // token for the hidden "csrf" field of every POST form
	Viewer  *Viewer           // signed-in user, nil when anonymous
	Flash   string            // one-line success notice shown at the top
	Error   string            // one-line error notice shown at the top
	Form    map[string]string // values to re-populate inputs after a failed POST (never passwords)
	Errors  map[string]string // field name -> message shown under that input
	DevMode bool              // shows the "Dev mail" link (/dev/mail) in nav and footer
	Data    any               // the page's view struct (see pageViews); nil means its zero value
	// Impersonation is set while a member of staff is signed in as the customer: the portal
	// layout shows the banner with the "Return to admin" form.
	Impersonation *Impersonation
}

// Impersonation names both people in a session where staff act as a customer.
type Impersonation struct {
	Customer string // the customer's name and email
	Staff    string // the staff member's name and email
}

// Viewer is the signed-in user as the pages need to see them.
type Viewer struct {
	ID        int64
	Name      string
	Email     string
	Role      string // "admin", "billing", "support" or "customer"
	RoleLabel string // the role as staff see it: "Administrator", "Billing", ...
	Verified  bool   // email address confirmed
	// Perms holds every admin permission by name with whether the viewer's role has it
	// (httpapi/roles.go is the table); see Can.
	Perms map[string]bool
}

// IsAdmin reports whether the viewer may see the admin area (any staff role).
func (v *Viewer) IsAdmin() bool {
	return v != nil && (v.Role == "admin" || v.Role == "billing" || v.Role == "support")
}

// Can reports whether the viewer's role holds the named permission, so templates hide what the
// viewer cannot use: {{if .Viewer.Can "invoices.manage"}}. A name that is not a permission is an
// error, so a typo fails rendering instead of hiding a button for everyone.
func (v *Viewer) Can(perm string) (bool, error) {
	if v == nil {
		return false, nil
	}
	ok, known := v.Perms[perm]
	if !known && len(v.Perms) > 0 {
		return false, fmt.Errorf("unknown permission %q", perm)
	}
	return ok, nil
}

// VerifyResult is the view of "verify_result": the outcome of following an
// email verification link.
type VerifyResult struct {
	OK      bool
	Message string
}

// AccountDashboard is the view of "account_dashboard".
type AccountDashboard struct {
	UnverifiedEmail bool         // shows the "Please verify your email address" banner with a resend form
	Services        []ServiceRow // the customer's services for the Services card; empty shows its empty state
	// Subscriptions are the customer's subscriptions with their next due date and amount.
	Subscriptions []SubscriptionRow
	// Invoices are the customer's latest invoices for the Invoices card; empty shows its empty state.
	Invoices []InvoiceRow
}

// Profile is the view of "account_profile"; the form values come from Page.Form.
type Profile struct {
	LoginHistory []LoginRow // most recent first
}

// AdminDashboard is the view of "admin_dashboard".
type AdminDashboard struct {
	Customers    int
	Unverified   int // customers who have not confirmed their email address
	Staff        int
	RecentLogins []LoginRow
	RecentAudit  []AuditRow
	// Analytics are the business metrics and charts (analytics_pages.go).
	Analytics DashboardAnalytics
}

// AuditLog is the view of "admin_audit"; the filter values are in Page.Form: actor, action,
// target, from, to (YYYY-MM-DD), impersonated ("on").
type AuditLog struct {
	Entries []AuditRow // most recent first
	// OlderURL is the link to the next page of older entries with the same filters; empty on
	// the last page. FirstURL goes back to the newest entries; empty on the first page.
	OlderURL, FirstURL string
	Filtered           bool // some filter is set: the empty state says nothing matched
}

// AdminStaff is the view of "admin_staff": the staff list with a role form per member, and the
// form for a new member (values in Page.Form: name, email, role).
type AdminStaff struct {
	Staff []StaffRow
	Roles []Option
}

// StaffRow is one member of staff.
type StaffRow struct {
	ID                int64
	Name, Email, Role string
	RoleLabel         string
	Self              bool // the viewer: shown, but without the role form
	CreatedAt         time.Time
}

// MailList is the view of "dev_mail": messages caught by the dev SMTP sink.
type MailList struct {
	Messages []MailSummary // most recent first
}

// MailSummary is one caught message as listed on /dev/mail; ID builds the
// link /dev/mail/{ID}.
type MailSummary struct {
	ID       int
	To       string
	From     string
	Subject  string
	Received time.Time
}

// MailMessage is the view of "dev_mail_message". The text body is shown with
// its links made clickable; the HTML body is shown only inside a sandboxed iframe.
type MailMessage struct {
	MailSummary
	Text string
	HTML string
	// Attachments are the message's attachments (a receipt's PDF), each downloadable at
	// /dev/mail/{ID}/attachments/{Index}.
	Attachments []MailAttachment
}

// MailAttachment is one attachment of a caught message.
type MailAttachment struct {
	Index       int
	Name        string
	ContentType string
	Size        string // "12.3 kB"
}

// ErrorPage is the view of "error", used for 403, 404, 429 and 500 responses.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
}

// LoginRow is one sign-in attempt in a login history table.
type LoginRow struct {
	At        time.Time
	IP        string
	UserAgent string
	Success   bool
	Email     string // the address that was tried; shown on admin tables
}

// AuditRow is one entry of the admin audit log.
type AuditRow struct {
	At           time.Time
	Actor        string
	Impersonator string // the staff member acting as Actor; empty when none
	Action       string
	Target       string
	IP           string
}

// ServiceRow is one service in lists and the header of detail pages.
type ServiceRow struct {
	ID                                                           int64
	Customer, CustomerEmail, Product, Panel, PanelType, Hostname string
	Status                                                       billing.ServiceStatus
	IPv4                                                         []string
	Attention                                                    string // why it needs attention, empty otherwise
	CreatedAt                                                    time.Time
}

// EventRow is one timeline entry.
type EventRow struct {
	At                   time.Time
	Kind, Message, Actor string
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// AdminServices is the view of "admin_services".
type AdminServices struct {
	Filter   billing.ServiceStatus // current status filter ("" = all)
	Counts   map[string]int        // services per status
	Services []ServiceRow
	// Archived shows the archived services instead (?archived=on); ArchivedCount is how many
	// there are. The search (q), product type (type) and panel type (panel) are in Page.Form.
	Archived      bool
	ArchivedCount int
	ProductTypes  []Option
	PanelTypes    []Option
	FilterQuery   string // the current filters as a query string, kept by the status tabs
}

// ServiceForm is the view of "admin_service_new"; values in Page.Form: customer_q, customer_id,
// product_id, hostname.
//
// Customers are the customers matching CustomerQuery (at most a screenful; MoreCustomers say
// how many more matched) and the one already chosen: the form searches, it never lists every
// customer. Searched is set when a search ran.
type ServiceForm struct {
	Customers, Products []Option
	CustomerQuery       string
	Searched            bool
	MoreCustomers       int
}

// AdminService is the view of "admin_service". While the status is pending or
// provisioning the page refreshes itself every 3 seconds (a meta refresh the
// template adds; the handler sets nothing for it).
type AdminService struct {
	Service                                                                  ServiceRow
	IPv6                                                                     []string
	PanelServiceID                                                           string
	WorkflowURL                                                              string     // Temporal UI link to provision:<id>
	Live                                                                     *LiveState // nil when the workflow could not be asked
	Timeline                                                                 []EventRow // oldest first
	Products                                                                 []Option   // products of the same panel type, for change package
	CanSuspend, CanUnsuspend, CanTerminate, CanChangePackage, NeedsAttention bool
}

// LiveState is what the provisioning workflow reports right now.
type LiveState struct {
	Status             billing.ServiceStatus
	Current, Attention string
	Queue              []string
}

// AdminPanels is the view of "admin_panels".
type AdminPanels struct{ Panels []PanelRow }

// PanelRow is one control panel instance in the registry.
type PanelRow struct {
	ID                  int64
	Name, Type, BaseURL string
	Capacity, Services  int
	Enabled             bool
}

// PanelForm is the view of "admin_panel_form"; values in Page.Form: name, type, base_url, extra, capacity, enabled ("on"). The token is never re-shown.
type PanelForm struct {
	ID    int64 // 0 = new
	Types []string
}

// AccountService is the view of "account_service". Like the admin page it
// refreshes itself every 3 seconds while the service is pending or provisioning.
type AccountService struct {
	Service                              ServiceRow
	IPv6                                 []string
	Timeline                             []EventRow
	CanPower, CanResetPassword, CanLogin bool
	NewPassword                          string // shown once after a reset
}

// ProductRow is one product of the catalog with its control panel mapping.
type ProductRow struct {
	ID          int64
	Name, Type  string // Type: vps, dedicated, web_hosting, game_server
	PanelType   string // empty when not mapped
	PanelPlanID string
	Options     string // key=value lines
}

// AdminProducts is the view of "admin_products".
type AdminProducts struct{ Products []ProductRow }

// ProductPanelForm is the view of "admin_product_panel"; values in Page.Form: panel_type,
// panel_plan_id, panel_options.
type ProductPanelForm struct {
	Product ProductRow
	Types   []string
}

// AdminCatalog is the view of "admin_catalog": every group with its products.
type AdminCatalog struct{ Groups []CatalogGroupRow }

// CatalogGroupRow is one product group with its products in catalog order.
type CatalogGroupRow struct {
	ID                      int64
	Name, Slug, Description string
	Products                []CatalogProductRow
}

// CatalogProductRow is one product on the catalog page.
type CatalogProductRow struct {
	ID               int64
	Name, Slug, Type string
	Hidden, Retired  bool
	// NoPanel is set when the product is mapped to no control panel: it is not offered at
	// checkout, since a paid order would have nothing to provision.
	NoPanel    bool
	StockLimit string   // "" when there is no limit
	Prices     []string // summaries such as "USD 12.50 monthly (+5.00 setup)"
}

// CatalogGroupForm is the view of "admin_catalog_group"; values in Page.Form: name, slug, description, sort.
type CatalogGroupForm struct {
	ID int64 // 0 = new
}

// CatalogProductForm is the view of "admin_catalog_product"; values in Page.Form: group_id,
// name, slug, type, description, hidden ("on"), retired ("on"), stock_limit, order_fields,
// and per price row N: price_cycle_N, price_currency_N, price_amount_N, price_setup_N.
type CatalogProductForm struct {
	ID        int64 // 0 = new
	Groups    []Option
	Types     []Option
	Cycles    []Option
	PriceRows []PriceFormRow
}

// PriceFormRow is one row of the prices table; N names its inputs (price_amount_N).
type PriceFormRow struct {
	N        int
	Cycle    string
	Currency string
	Amount   string
	SetupFee string
	Errors   []string // what is wrong with the row, shown under it
}

// InvoiceRow is one invoice as listed and as the head of its detail page. Money is
// preformatted ("USD 12.50") by the handler; Badge is the badge variant for Status
// (success, warning, danger or neutral).
type InvoiceRow struct {
	ID            int64
	Number        string
	Customer      string // admin pages only
	CustomerEmail string // admin pages only
	CustomerID    int64
	Status        billing.Status
	Badge         string
	IssuedAt      time.Time // zero for a draft
	DueAt         time.Time
	Total         string
	Due           string
}

// InvoiceLineRow is one line of an invoice's lines table.
type InvoiceLineRow struct {
	Kind        string
	Description string
	Amount      string
}

// InvoiceTotalRow is one figure under the lines, e.g. {"Subtotal", "USD 10.00"}.
type InvoiceTotalRow struct {
	Label  string
	Amount string
	Strong bool // the total and the amount due
}

// AccountInvoices is the view of "account_invoices": the customer's invoices, newest first.
type AccountInvoices struct{ Invoices []InvoiceRow }

// AccountInvoice is the view of "account_invoice".
type AccountInvoice struct {
	Invoice     InvoiceRow
	Lines       []InvoiceLineRow
	Totals      []InvoiceTotalRow
	Notes       []string
	CreditNotes []CreditNoteRow // the credit notes that amend it
}

// AdminInvoices is the view of "admin_invoices"; Filter is the status shown ("" for all).
type AdminInvoices struct {
	Filter   billing.Status
	Statuses []billing.Status
	Invoices []InvoiceRow
	// The search (q) and overdue ("on") filters are in Page.Form; FilterQuery is them as a
	// query string, kept by the status tabs.
	FilterQuery string
}

// AdminInvoice is the view of "admin_invoice".
type AdminInvoice struct {
	Invoice   InvoiceRow
	Lines     []InvoiceLineRow
	Totals    []InvoiceTotalRow
	Notes     []string
	CanPay    bool // unpaid (or partially refunded): the mark-paid form is shown
	CanCancel bool // draft or unpaid without payments: the cancel form is shown
	// Payments made on the invoice; RefundLeft is what can still be refunded ("" for nothing).
	Payments   []PaymentRow
	RefundLeft string
	Currency   string
	// Nonce makes the refund and credit forms idempotent: a double submission is one action.
	Nonce          string
	SubscriptionID int64
	// CreditNotes amend the invoice; listed when the viewer may see credit notes.
	CreditNotes []CreditNoteRow
	// Alerts are the invoice's open money alerts (an overpayment returned, a refund failed).
	Alerts []MoneyAlertRow
}
