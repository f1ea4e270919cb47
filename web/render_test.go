package web

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
)

const testCSRF = "tok-3f9a"

var at = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// sampleData is a realistic view for every page, with rows so tables render.
var sampleData = map[string]any{
	"admin_products": AdminProducts{Products: []ProductRow{
		{ID: 1, Name: "VPS 2 GB", Type: "vps", PanelType: "virtfusion", PanelPlanID: "2", Options: "os_template=1\n"},
		{ID: 2, Name: "Unmapped", Type: "dedicated"},
	}},
	"admin_product_panel": ProductPanelForm{Product: ProductRow{ID: 1, Name: "VPS 2 GB", Type: "vps"}, Types: []string{"virtfusion", "pterodactyl"}},
	"verify_result":       VerifyResult{OK: false, Message: "This link has expired."},
	"error":               ErrorPage{Status: 404, Title: "Page not found", Message: "There is nothing at this address."},
	"account_dashboard":   AccountDashboard{UnverifiedEmail: true, Services: []ServiceRow{activeService, suspendedService}},
	"account_profile": Profile{LoginHistory: []LoginRow{
		{At: at, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Success: true},
		{At: at.Add(-time.Hour), IP: "198.51.100.2", Success: false},
	}},
	"admin_dashboard": AdminDashboard{Customers: 1204, Unverified: 17, Staff: 3,
		RecentLogins: []LoginRow{{At: at, IP: "203.0.113.7", Email: "ana@example.com", Success: true}},
		RecentAudit:  []AuditRow{{At: at, Actor: "root@example.com", Action: "customer.update", Target: "customer:12", IP: "203.0.113.7"}},
	},
	"admin_audit": AuditLog{Entries: []AuditRow{{At: at, Actor: "root@example.com", Action: "customer.update", Target: "customer:12", IP: "203.0.113.7"}}},
	"admin_services": AdminServices{
		Counts:   map[string]int{"active": 41, "suspended": 3, "needs_attention": 2, "provisioning": 1, "terminated": 12},
		Services: []ServiceRow{attentionService, activeService, suspendedService, provisioningService},
	},
	"admin_service_new": ServiceForm{
		Customers: []Option{{Value: "12", Label: "Ana Lima <ana@example.com>"}, {Value: "13", Label: "Bo Chen <bo@example.com>"}},
		Products:  []Option{{Value: "3", Label: "VPS 2 GB (virtfusion)"}, {Value: "7", Label: "Minecraft 4 GB (pterodactyl)"}},
	},
	"admin_service": AdminService{
		Service: attentionService, IPv6: []string{"2001:db8:10::42"}, PanelServiceID: "vf-8812",
		WorkflowURL: "http://localhost:8233/namespaces/default/workflows/provision:42",
		Live:        &LiveState{Status: "needs_attention", Current: "create", Attention: attentionService.Attention, Queue: []string{"suspend", "change-package"}},
		Timeline:    timeline,
		Products:    []Option{{Value: "4", Label: "VPS 4 GB"}, {Value: "5", Label: "VPS 8 GB"}},
		CanSuspend:  true, CanUnsuspend: true, CanTerminate: true, CanChangePackage: true, NeedsAttention: true,
	},
	"admin_panels": AdminPanels{Panels: []PanelRow{
		{ID: 1, Name: "VF Frankfurt 1", Type: "virtfusion", BaseURL: "http://vf-fra1.internal:8080/api/v1", Capacity: 50, Services: 50, Enabled: true},
		{ID: 2, Name: "Game nodes", Type: "pterodactyl", BaseURL: "http://ptero.internal", Capacity: 0, Services: 7, Enabled: false},
	}},
	"admin_panel_form": PanelForm{ID: 1, Types: []string{"virtfusion", "pterodactyl", "synergycp", "enhance"}},
	"account_service": AccountService{
		Service: activeService, IPv6: []string{"2001:db8:10::7"}, Timeline: timeline,
		CanPower: true, CanResetPassword: true, CanLogin: true, NewPassword: "Qx7-vLp2-98zT",
	},
	"dev_mail": MailList{Messages: []MailSummary{{ID: 7, To: "ana@example.com", From: "billing@ezscale.test", Subject: "Verify your email", Received: at}}},
	"dev_mail_message": MailMessage{
		MailSummary: MailSummary{ID: 7, To: "ana@example.com", From: "billing@ezscale.test", Subject: "Verify your email", Received: at},
		Text:        "Open http://localhost:8080/verify?token=abc to confirm.",
		HTML:        `<p>Open <a href="http://localhost:8080/verify?token=abc">this link</a></p>`,
	},

	// The catalog admin.
	"admin_catalog": AdminCatalog{Groups: []CatalogGroupRow{
		{ID: 1, Name: "Cloud VPS", Slug: "vps", Products: []CatalogProductRow{
			{ID: 3, Name: "VPS 2 GB", Slug: "vps-2gb", Type: "vps", StockLimit: "40", Prices: []string{"USD 12.50 monthly (+5.00 setup)", "EUR 11.00 monthly"}},
			{ID: 4, Name: "VPS 1 GB", Slug: "vps-1gb", Type: "vps", Hidden: true, Retired: true},
		}},
		{ID: 2, Name: "Game servers", Slug: "game"},
	}},
	"admin_catalog_group": CatalogGroupForm{ID: 1},
	"admin_catalog_product": CatalogProductForm{ID: 3,
		Groups:    []Option{{Value: "1", Label: "Cloud VPS"}},
		Types:     []Option{{Value: "vps", Label: "VPS"}, {Value: "game_server", Label: "Game server"}},
		Cycles:    []Option{{Value: "monthly", Label: "Monthly"}, {Value: "annual", Label: "Annual"}},
		PriceRows: []PriceFormRow{{N: 0, Cycle: "monthly", Currency: "USD", Amount: "12.50", SetupFee: "5.00"}, {N: 1, Amount: "12.5.0", Errors: []string{"Amount: enter a decimal such as 12.50."}}, {N: 2}},
	},

	// Invoices.
	"account_invoices": AccountInvoices{Invoices: []InvoiceRow{unpaidInvoice, paidInvoice}},
	"account_invoice":  AccountInvoice{Invoice: unpaidInvoice, Lines: invoiceLines, Totals: invoiceTotals, Notes: []string{"Thank you for your business."}},
	"admin_invoices":   AdminInvoices{Filter: "unpaid", Statuses: []billing.Status{"draft", "unpaid", "paid", "cancelled"}, Invoices: []InvoiceRow{unpaidInvoice, paidInvoice}},
	"admin_invoice":    AdminInvoice{Invoice: unpaidInvoice, Lines: invoiceLines, Totals: invoiceTotals, CanPay: true, CanCancel: true},
}

var (
	unpaidInvoice = InvoiceRow{ID: 12, Number: "INV-1012", Customer: "Ana Lima", CustomerEmail: "ana@example.com", CustomerID: 3,
		Status: "unpaid", Badge: "warning", IssuedAt: at, DueAt: at.Add(14 * 24 * time.Hour), Total: "USD 14.52", Due: "USD 14.52"}
	paidInvoice = InvoiceRow{ID: 11, Number: "INV-1011", Customer: "Ana Lima", CustomerEmail: "ana@example.com", CustomerID: 3,
		Status: "paid", Badge: "success", IssuedAt: at.Add(-30 * 24 * time.Hour), DueAt: at.Add(-16 * 24 * time.Hour), Total: "USD 12.00", Due: "USD 0.00"}
	invoiceLines  = []InvoiceLineRow{{Kind: "product", Description: "VPS 2 GB (monthly)", Amount: "USD 12.00"}, {Kind: "tax", Description: "VAT 21%", Amount: "USD 2.52"}}
	invoiceTotals = []InvoiceTotalRow{{Label: "Subtotal", Amount: "USD 12.00"}, {Label: "Tax", Amount: "USD 2.52"}, {Label: "Total", Amount: "USD 14.52", Strong: true}}
)

var (
	activeService = ServiceRow{ID: 7, Customer: "Ana Lima", CustomerEmail: "ana@example.com", Product: "VPS 2 GB", Panel: "VF Frankfurt 1",
		PanelType: "virtfusion", Status: "active", Hostname: "web1.example.com", IPv4: []string{"203.0.113.10", "203.0.113.11"}, CreatedAt: at}
	suspendedService = ServiceRow{ID: 9, Customer: "Ana Lima", CustomerEmail: "ana@example.com", Product: "Minecraft 4 GB", Panel: "Game nodes",
		PanelType: "pterodactyl", Status: "suspended", Hostname: "mc.example.com", IPv4: []string{"198.51.100.4"}, CreatedAt: at}
	provisioningService = ServiceRow{ID: 43, Customer: "Bo Chen", CustomerEmail: "bo@example.com", Product: "Web Starter", Panel: "Enhance EU",
		PanelType: "enhance", Status: "provisioning", Hostname: "bo.example.org", CreatedAt: at}
	attentionService = ServiceRow{ID: 42, Customer: "Bo Chen", CustomerEmail: "bo@example.com", Product: "VPS 2 GB", Panel: "VF Frankfurt 1",
		PanelType: "virtfusion", Status: "needs_attention", Hostname: "db1.example.org",
		Attention: "create: panel refused the package (no capacity on hypervisor group 2)", CreatedAt: at}
	timeline = []EventRow{
		{At: at, Kind: "created", Message: "service created", Actor: "admin:1"},
		{At: at.Add(time.Minute), Kind: "status", Message: "provisioning", Actor: "workflow"},
		{At: at.Add(2 * time.Minute), Kind: "panel", Message: "panel resource vf-8812: created", Actor: "workflow"},
	}
)

// emptyData is a view with no rows for every page that lists something, to
// check the empty states render as well as the filled ones.
var emptyData = map[string]any{
	"admin_products":      AdminProducts{},
	"admin_product_panel": ProductPanelForm{},
	"admin_services":      AdminServices{Filter: "needs_attention"},
	"admin_service_new":   ServiceForm{},
	"admin_service":       AdminService{Service: ServiceRow{ID: 44, Status: "pending"}},
	"admin_panels":        AdminPanels{},
	"admin_panel_form":    PanelForm{Types: []string{"virtfusion"}},
	"account_service":     AccountService{Service: ServiceRow{ID: 44, Status: "pending"}},
	"account_dashboard":   AccountDashboard{},

	"admin_catalog":         AdminCatalog{},
	"admin_catalog_group":   CatalogGroupForm{},
	"admin_catalog_product": CatalogProductForm{},

	"account_invoices": AccountInvoices{},
	"account_invoice":  AccountInvoice{Invoice: InvoiceRow{ID: 12, Number: "INV-1012", Status: "draft", Badge: "neutral"}},
	"admin_invoices":   AdminInvoices{Filter: "paid", Statuses: []billing.Status{"draft", "unpaid", "paid", "cancelled"}},
	"admin_invoice":    AdminInvoice{Invoice: InvoiceRow{ID: 12, Number: "INV-1012", Status: "cancelled", Badge: "neutral"}},
}

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

// pageFor is the Page a handler would build for name, as the given viewer.
func pageFor(name string, viewer *Viewer, data any) Page {
	return Page{
		Title:   "Test " + name,
		Path:    "/some/path",
		Theme:   "dark",
		CSRF:    testCSRF,
		Viewer:  viewer,
		Flash:   "Saved.",
		Error:   "Something failed.",
		Form:    map[string]string{"email": "ana@example.com", "next": "/account", "token": "reset-token", "name": "Ana"},
		Errors:  map[string]string{"email": "Enter a valid email address.", "password": "Too short."},
		DevMode: true,
		Data:    data,
	}
}

var viewers = map[string]*Viewer{
	"anonymous": nil,
	"customer":  {ID: 2, Name: "Ana Lima", Email: "ana@example.com", Role: "customer"},
	"admin":     {ID: 1, Name: "Root Admin", Email: "root@example.com", Role: "admin", RoleLabel: "Administrator", Verified: true, Perms: allPerms(true)},
}

// allPerms is every admin permission the templates ask about (httpapi/roles.go holds the table).
func allPerms(granted bool) map[string]bool {
	m := map[string]bool{}
	for _, p := range []string{"dashboard", "customers.view", "customers.edit", "customers.credit", "customers.notes",
		"customers.impersonate", "invoices.view", "invoices.manage", "services.view", "services.operate",
		"services.manage", "catalog.view", "catalog.edit", "panels", "audit.view", "staff.manage", "creditnotes.view"} {
		m[p] = granted
	}
	return m
}

func render(t *testing.T, r *Renderer, name string, p Page) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, name, p); err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return buf.String()
}

func TestEveryPageRendersForEveryKindOfViewer(t *testing.T) {
	r := newRenderer(t)
	for _, name := range PageNames() {
		for who, v := range viewers {
			for _, data := range []any{sampleData[name], emptyData[name], nil} {
				out := render(t, r, name, pageFor(name, v, data))
				if !strings.Contains(out, "<title>Test "+name+" · EZSCALE</title>") {
					t.Errorf("%s as %s: title missing", name, who)
				}
				if !strings.Contains(out, `data-theme="dark"`) {
					t.Errorf("%s as %s: data-theme not set", name, who)
				}
				if !strings.Contains(out, "Something failed.") || !strings.Contains(out, "Saved.") {
					t.Errorf("%s as %s: flash or error notice missing", name, who)
				}
			}
		}
	}
}

func TestRenderRejectsUnknownPageAndWrongData(t *testing.T) {
	r := newRenderer(t)
	var buf bytes.Buffer
	if err := r.Render(&buf, "no_such_page", Page{}); err == nil {
		t.Error("unknown page rendered without error")
	}
	if err := r.Render(&buf, "admin_dashboard", Page{Data: AuditLog{}}); err == nil {
		t.Error("admin_dashboard accepted an AuditLog as Data")
	}
	if buf.Len() != 0 {
		t.Errorf("failed renders wrote %d bytes", buf.Len())
	}
	if err := r.Render(&buf, "admin_dashboard", Page{Data: &AdminDashboard{Customers: 42}}); err != nil {
		t.Errorf("pointer to the view type: %v", err)
	}
}

func TestZeroPageRendersLightTheme(t *testing.T) {
	r := newRenderer(t)
	for _, name := range PageNames() {
		out := render(t, r, name, Page{})
		if !strings.Contains(out, `data-theme="light"`) {
			t.Errorf("%s with empty Theme: want data-theme=\"light\"", name)
		}
	}
}

var (
	formRE   = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	csrfRE   = regexp.MustCompile(`<input type="hidden" name="csrf" value="` + testCSRF + `">`)
	methodRE = regexp.MustCompile(`method="post"`)
)

func TestEveryPostFormCarriesTheCSRFToken(t *testing.T) {
	r := newRenderer(t)
	for _, name := range PageNames() {
		for who, v := range viewers {
			for _, data := range []any{sampleData[name], emptyData[name]} {
				out := render(t, r, name, pageFor(name, v, data))
				posts := len(regexp.MustCompile(`<form method="post"`).FindAllString(out, -1))
				forms := formRE.FindAllStringSubmatch(out, -1)
				if posts == 0 {
					t.Errorf("%s as %s: no POST form (the theme toggle at least)", name, who)
				}
				checked := 0
				for _, f := range forms {
					if !methodRE.MatchString(f[1]) {
						continue
					}
					checked++
					if n := len(csrfRE.FindAllString(f[2], -1)); n != 1 {
						t.Errorf("%s as %s: form <form%s> has %d csrf inputs, want 1", name, who, f[1], n)
					}
				}
				if checked != posts {
					t.Errorf("%s as %s: %d POST forms opened, %d closed and checked", name, who, posts, checked)
				}
			}
		}
	}
}

func TestPagesCarryTheTestIDsHandlersAndBrowserTestsUse(t *testing.T) {
	r := newRenderer(t)
	admin := viewers["admin"]
	want := map[string][]string{
		"login":             {"login-email", "login-password", "login-submit"},
		"register":          {"register-name", "register-email", "register-password", "register-password-confirm", "register-submit"},
		"account_dashboard": {"account-dashboard", "logout", "theme-toggle", "verify-banner"},
		"admin_dashboard":   {"admin-dashboard", "logout", "theme-toggle", "nav-admin-services", "nav-admin-panels"},
		"admin_services": {"admin-services", "service-row", "create-service", "status-filter-all", "status-filter-pending",
			"status-filter-provisioning", "status-filter-active", "status-filter-suspended", "status-filter-needs_attention",
			"status-filter-terminated", "status-filter-abandoned", "attention-callout"},
		"admin_service_new": {"service-customer", "service-product", "service-hostname", "service-create-submit"},
		"admin_service": {"service-status", "attention", "temporal-link", "live-state", "timeline", "action-suspend", "action-unsuspend",
			"action-change-package", "action-terminate", "action-retry", "action-mark-provisioned", "action-abandon"},
		"admin_panels":     {"admin-panels", "panel-test", "add-panel", "panel-edit"},
		"admin_panel_form": {"panel-name", "panel-type", "panel-base-url", "panel-token", "panel-extra", "panel-capacity", "panel-enabled", "panel-submit"},
		"account_service": {"service-status", "power-start", "power-stop", "power-restart", "reset-password", "new-password", "panel-login",
			"timeline", "access-details"},
	}
	for name, ids := range want {
		out := render(t, r, name, pageFor(name, admin, sampleData[name]))
		for _, id := range ids {
			if !strings.Contains(out, `data-testid="`+id+`"`) {
				t.Errorf("%s: data-testid %q missing", name, id)
			}
		}
	}
}

func TestPasswordsAreNeverEchoedBack(t *testing.T) {
	r := newRenderer(t)
	p := pageFor("register", nil, nil)
	p.Form = map[string]string{"password": "hunter2hunter2", "password_confirm": "hunter2hunter2", "current_password": "hunter2hunter2", "name": "Ana"}
	for _, name := range []string{"login", "register", "reset", "account_profile"} {
		out := render(t, r, name, p)
		if strings.Contains(out, "hunter2hunter2") {
			t.Errorf("%s re-populated a password input", name)
		}
	}
	if out := render(t, r, "register", p); !strings.Contains(out, `value="Ana"`) {
		t.Error("register did not re-populate the name input from Form")
	}
}

func TestFieldErrorIsShownUnderItsInput(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "login", pageFor("login", nil, nil))
	if !strings.Contains(out, `aria-invalid="true"`) || !strings.Contains(out, `<p class="field-error" id="f-email-error">Enter a valid email address.</p>`) {
		t.Errorf("login: email error not shown under its input:\n%s", out)
	}
}

func TestNavShowsAdminOnlyToAdmins(t *testing.T) {
	r := newRenderer(t)
	for who, v := range viewers {
		out := render(t, r, "home", pageFor("home", v, nil))
		hasAdmin := strings.Contains(out, `data-testid="nav-admin"`)
		if hasAdmin != (who == "admin") {
			t.Errorf("home as %s: Admin link shown = %v", who, hasAdmin)
		}
		hasLogin := strings.Contains(out, `data-testid="nav-login"`)
		if hasLogin != (who == "anonymous") {
			t.Errorf("home as %s: Log in link shown = %v", who, hasLogin)
		}
	}
}

func TestEmptyStatesAreHonest(t *testing.T) {
	r := newRenderer(t)
	cases := map[string]string{
		"account_dashboard": "You have no services yet. When you order one it will appear here.",
		"account_profile":   "No logins recorded yet.",
		"admin_dashboard":   "No logins recorded yet.",
		"admin_audit":       "The audit log is empty.",
		"dev_mail":          "No mail yet",
		"admin_services":    "No services yet",
		"admin_service_new": "No products are mapped to a panel",
		"admin_service":     "No events recorded yet.",
		"admin_panels":      "No panels yet",
		"account_service":   "Nothing has happened to this service yet.",
	}
	for name, text := range cases {
		out := render(t, r, name, pageFor(name, viewers["admin"], nil))
		if !strings.Contains(out, text) {
			t.Errorf("%s with no rows: empty state %q missing", name, text)
		}
	}
}

func TestMailHTMLBodyIsOnlyShownEscapedInASandbox(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "dev_mail_message", pageFor("dev_mail_message", nil, MailMessage{
		Text: "see https://example.com/a?b=1&c=2.",
		HTML: `<script>alert(1)</script><p>hi</p>`,
	}))
	if strings.Contains(out, "<script>alert") {
		t.Error("HTML body was rendered unescaped")
	}
	if !regexp.MustCompile(`<iframe [^>]*sandbox srcdoc="&lt;script&gt;`).MatchString(out) {
		t.Errorf("HTML body not in a sandboxed srcdoc iframe:\n%s", out)
	}
	if !strings.Contains(out, `<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">https://example.com/a?b=1&amp;c=2</a>.`) {
		t.Errorf("text body link not clickable:\n%s", out)
	}
}

func TestLinkifyEscapesMarkupAndLinksURLs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"go to http://localhost:8080/verify?t=a&b=c now",
			`go to <a href="http://localhost:8080/verify?t=a&amp;b=c" rel="noopener noreferrer">http://localhost:8080/verify?t=a&amp;b=c</a> now`},
		{"(see https://x.test/a).", `(see <a href="https://x.test/a" rel="noopener noreferrer">https://x.test/a</a>).`},
		{`https://x.test/"><script>`, `<a href="https://x.test/" rel="noopener noreferrer">https://x.test/</a>&#34;&gt;&lt;script&gt;`},
		{"javascript:alert(1) ftp://x", "javascript:alert(1) ftp://x"},
		{"", ""},
	}
	for _, c := range cases {
		if got := string(linkify(c.in)); got != c.want {
			t.Errorf("linkify(%q)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestDatetimeIsUTC(t *testing.T) {
	loc := time.FixedZone("X", 5*3600)
	if got := datetime(time.Date(2026, 1, 2, 8, 4, 0, 0, loc)); got != "2026-01-02 03:04 UTC" {
		t.Errorf("datetime = %q, want 2026-01-02 03:04 UTC", got)
	}
	if got := datetime(time.Time{}); got != "—" {
		t.Errorf("datetime(zero) = %q, want a dash", got)
	}
}

// TestNoExternalURLs keeps every asset self-hosted: templates, CSS and JS may
// not reference another origin. Font and library licenses may name their homes.
func TestNoExternalURLs(t *testing.T) {
	forbidden := regexp.MustCompile(`(?i)https?://|fonts\.googleapis|fonts\.gstatic|(src|href)="//|url\(\s*['"]?//`)
	scanned := 0
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(p, "/LICENSE-") || !regexp.MustCompile(`\.(html|css|js|svg|json)$`).MatchString(p) {
			return nil
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		scanned++
		if loc := forbidden.FindIndex(b); loc != nil {
			lo, hi := max(loc[0]-40, 0), min(loc[1]+40, len(b))
			t.Errorf("%s references another origin: …%s…", p, b[lo:hi])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Errorf("scanned only %d files; the embed is missing templates or assets", scanned)
	}
}

func TestStaticServesAssetsWithTypesAndCaching(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/static/", Static()))
	defer srv.Close()
	cases := map[string]string{
		"/static/css/app.css": "text/css; charset=utf-8",
		"/static/js/app.js":   "text/javascript; charset=utf-8",
		"/static/fonts/plus-jakarta-sans-latin-400-normal.woff2": "font/woff2",
		"/static/fonts/jetbrains-mono-latin-600-normal.woff2":    "font/woff2",
		"/static/img/favicon.png":                                "image/png",
	}
	for path, ct := range cases {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: status %d, %d bytes", path, res.StatusCode, len(body))
			continue
		}
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ct)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=3600" {
			t.Errorf("GET %s: Cache-Control %q", path, got)
		}
	}
	for _, path := range []string{"/static/", "/static/fonts/", "/static/nope.css", "/static/../render.go"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
}

func TestStaticAnswersNotModifiedForItsETag(t *testing.T) {
	h := http.StripPrefix("/static/", Static())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/css/app.css", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on app.css")
	}
	req := httptest.NewRequest("GET", "/static/css/app.css", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, rec.Code)
	}
}

func TestCSSDeclaresEveryBundledFont(t *testing.T) {
	css, err := files.ReadFile("static/css/app.css")
	if err != nil {
		t.Fatal(err)
	}
	fonts, _ := fs.Glob(files, "static/fonts/*.woff2")
	if len(fonts) != 6 {
		t.Errorf("bundled %d woff2 files, want 6", len(fonts))
	}
	for _, f := range fonts {
		if !bytes.Contains(css, []byte("/static/fonts/"+strings.TrimPrefix(f, "static/fonts/"))) {
			t.Errorf("app.css has no @font-face for %s", f)
		}
	}
}

func TestThemeToggleOffersTheOtherThemeAndComesBack(t *testing.T) {
	r := newRenderer(t)
	for theme, other := range map[string]string{"light": "dark", "dark": "light", "": "dark"} {
		p := pageFor("account_dashboard", viewers["customer"], nil)
		p.Theme, p.Path = theme, "/account/profile"
		out := render(t, r, "account_dashboard", p)
		for _, want := range []string{
			`<form method="post" action="/theme"`,
			`<input type="hidden" name="theme" value="` + other + `">`,
			`<input type="hidden" name="next" value="/account/profile">`,
			`data-testid="theme-toggle" aria-label="Switch to ` + other + ` theme"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("theme %q: toggle lacks %s", theme, want)
			}
		}
	}
}

// TestNoInlineStylesOrScripts keeps every rendered page within the CSP
// (default-src 'self'): no style attributes, no <style> blocks, no scripts
// without src and no on* handlers.
func TestNoInlineStylesOrScripts(t *testing.T) {
	r := newRenderer(t)
	inline := regexp.MustCompile(`(?i)\sstyle="|<style|<script>|<script\s+(?:[a-z-]+(?:="[^"]*")?\s*)*>|\son[a-z]+="`)
	for _, name := range PageNames() {
		for _, data := range []any{sampleData[name], emptyData[name]} {
			out := render(t, r, name, pageFor(name, viewers["admin"], data))
			for _, m := range inline.FindAllString(out, -1) {
				if strings.HasPrefix(m, "<script") && strings.Contains(m, ` src="`) {
					continue
				}
				t.Errorf("%s: inline style or script %q", name, m)
			}
		}
	}
}

// head returns the <head> element of a rendered page.
func head(t *testing.T, out string) string {
	t.Helper()
	i, j := strings.Index(out, "<head>"), strings.Index(out, "</head>")
	if i < 0 || j < i {
		t.Fatalf("no <head> in:\n%s", out)
	}
	return out[i:j]
}

const metaRefresh = `<meta http-equiv="refresh" content="3">`

func TestServicePagesRefreshOnlyWhileProvisioning(t *testing.T) {
	r := newRenderer(t)
	for _, status := range []billing.ServiceStatus{"pending", "provisioning", "active", "suspended", "needs_attention", "terminated", "abandoned", ""} {
		want := status == "pending" || status == "provisioning"
		svc := ServiceRow{ID: 42, Status: status, Product: "VPS 2 GB"}
		for name, data := range map[string]any{
			"admin_service":   AdminService{Service: svc},
			"account_service": AccountService{Service: svc},
		} {
			out := render(t, r, name, pageFor(name, viewers["admin"], data))
			if got := strings.Contains(head(t, out), metaRefresh); got != want {
				t.Errorf("%s with status %q: meta refresh in head = %v, want %v", name, status, got, want)
			}
			if n := strings.Count(out, `http-equiv="refresh"`); n > 1 {
				t.Errorf("%s with status %q: %d meta refreshes", name, status, n)
			}
		}
	}
	for _, name := range PageNames() {
		if name == "admin_service" || name == "account_service" {
			continue
		}
		if out := render(t, r, name, pageFor(name, viewers["admin"], sampleData[name])); strings.Contains(out, `http-equiv="refresh"`) {
			t.Errorf("%s refreshes itself", name)
		}
	}
}

func TestAdminServicesListsRowsFiltersAndCounts(t *testing.T) {
	r := newRenderer(t)
	v := sampleData["admin_services"].(AdminServices)
	v.Filter = "suspended"
	out := render(t, r, "admin_services", pageFor("admin_services", viewers["admin"], v))
	for _, want := range []string{
		`<tr data-testid="service-row" data-service-id="42">`,
		`<tr data-testid="service-row" data-service-id="7">`,
		`href="/admin/services/42"`,
		`<span class="mono small muted" data-testid="service-ip">203.0.113.10</span>`,
		`<span class="badge svc-badge svc-needs_attention">Needs attention</span>`,
		`<span class="badge svc-badge svc-active">Active</span>`,
		`no capacity on hypervisor group 2`,
		`href="/admin/services?status=suspended" class="" aria-current="page" data-testid="status-filter-suspended">Suspended <span class="tab-count">3</span>`,
		`data-testid="status-filter-needs_attention">Needs attention <span class="tab-count">2</span>`,
		`class="tab-attention has-items"`,
		`data-testid="status-filter-all">All <span class="tab-count">59</span>`,
		`data-testid="status-filter-abandoned">Abandoned <span class="tab-count">0</span>`,
		`href="/admin/services/new" data-testid="create-service"`,
		`bo@example.com`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("admin_services lacks %s", want)
		}
	}
	if strings.Contains(out, `data-testid="status-filter-all" aria-current`) || strings.Count(out, `aria-current="page" data-testid="status-filter`) != 1 {
		t.Error("admin_services: exactly the current filter should be marked current")
	}
	empty := render(t, r, "admin_services", pageFor("admin_services", viewers["admin"], emptyData["admin_services"]))
	for _, want := range []string{"No services with status “Needs attention”", "Nothing is waiting for a decision.", `data-testid="services-empty"`} {
		if !strings.Contains(empty, want) {
			t.Errorf("filtered empty admin_services lacks %s", want)
		}
	}
	if strings.Contains(empty, "service-row") || strings.Contains(empty, "attention-callout") {
		t.Error("empty admin_services shows rows or the attention callout")
	}
}

func TestServiceFormHasItsSelectsOrExplainsWhyNot(t *testing.T) {
	r := newRenderer(t)
	p := pageFor("admin_service_new", viewers["admin"], sampleData["admin_service_new"])
	p.Form = map[string]string{"customer_id": "13", "product_id": "7", "hostname": "mc.example.com"}
	p.Errors = map[string]string{"hostname": "Use a hostname such as web1.example.com."}
	out := render(t, r, "admin_service_new", p)
	for _, want := range []string{
		`<form method="get" action="/admin/services/new" class="form customer-search" role="search" data-testid="service-customer-search-form">`,
		`<form method="post" action="/admin/services" class="form">`,
		`<select id="f-customer_id" name="customer_id" required data-testid="service-customer">`,
		`<option value="13" selected>Bo Chen &lt;bo@example.com&gt;</option>`,
		`<option value="12">Ana Lima &lt;ana@example.com&gt;</option>`,
		`<select id="f-product_id" name="product_id" required data-testid="service-product" aria-describedby="f-product_id-hint">`,
		`<option value="7" selected>Minecraft 4 GB (pterodactyl)</option>`,
		`name="hostname" type="text" value="mc.example.com"`,
		`<p class="field-error" id="f-hostname-error">Use a hostname such as web1.example.com.</p>`,
		`data-testid="service-create-submit"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("admin_service_new lacks %s", want)
		}
	}
	none := render(t, r, "admin_service_new", pageFor("admin_service_new", viewers["admin"], ServiceForm{Customers: []Option{{"1", "A"}}}))
	if !strings.Contains(none, `data-testid="no-products"`) || strings.Contains(none, `action="/admin/services"`) {
		t.Error("admin_service_new without products: want the empty-state note instead of the form")
	}
}

func TestAdminServiceShowsOnlyAllowedActions(t *testing.T) {
	r := newRenderer(t)
	all := []string{"action-suspend", "action-unsuspend", "action-change-package", "action-terminate", "action-retry", "action-mark-provisioned", "action-abandon"}
	full := render(t, r, "admin_service", pageFor("admin_service", viewers["admin"], sampleData["admin_service"]))
	for _, want := range []string{
		`<span class="badge svc-badge svc-needs_attention" data-testid="service-status">Needs attention</span>`,
		`href="http://localhost:8233/namespaces/default/workflows/provision:42" target="_blank" rel="noopener" data-testid="temporal-link"`,
		`data-testid="attention-reason">create: panel refused the package (no capacity on hypervisor group 2)</p>`,
		`<form method="post" action="/admin/services/42/suspend"`,
		`<form method="post" action="/admin/services/42/unsuspend"`,
		`<form method="post" action="/admin/services/42/change-package"`,
		`<select id="f-change-product" name="product_id" required`,
		`<option value="5">VPS 8 GB</option>`,
		`<form method="post" action="/admin/services/42/terminate"`,
		`<input id="f-terminate-confirm" name="confirm" type="checkbox" value="yes" required`,
		`<form method="post" action="/admin/services/42/retry"`,
		`<form method="post" action="/admin/services/42/mark-provisioned"`,
		`name="panel_service_id" type="text" value="" autocomplete="off" maxlength="100" required`,
		`<form method="post" action="/admin/services/42/abandon"`,
		`name="note" type="text"`,
		`name="reason" type="text"`,
		`<span class="mono break">vf-8812</span>`,
		`2001:db8:10::42`,
		`<li class="op-chip">suspend</li><li class="op-chip">change-package</li>`,
		`panel resource vf-8812: created`,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("admin_service lacks %s", want)
		}
	}
	for _, id := range all {
		if !strings.Contains(full, `data-testid="`+id+`"`) {
			t.Errorf("admin_service with every action allowed lacks %s", id)
		}
	}

	active := AdminService{Service: activeService, WorkflowURL: "", Live: nil}
	out := render(t, r, "admin_service", pageFor("admin_service", viewers["admin"], active))
	for _, id := range append(all, "attention", "temporal-link") {
		if strings.Contains(out, `data-testid="`+id+`"`) {
			t.Errorf("admin_service with nothing allowed shows %s", id)
		}
	}
	for _, want := range []string{`data-testid="service-status">Active</span>`, `data-testid="live-unavailable"`, `data-testid="no-actions"`} {
		if !strings.Contains(out, want) {
			t.Errorf("admin_service (active, nothing allowed) lacks %s", want)
		}
	}
	active.CanSuspend = true
	out = render(t, r, "admin_service", pageFor("admin_service", viewers["admin"], active))
	if !strings.Contains(out, `data-testid="action-suspend"`) || strings.Contains(out, `data-testid="action-terminate"`) {
		t.Error("admin_service with only CanSuspend: want suspend and nothing else")
	}
}

func TestAccountServiceShowsStatusAndCustomerActions(t *testing.T) {
	r := newRenderer(t)
	cust := viewers["customer"]
	out := render(t, r, "account_service", pageFor("account_service", cust, sampleData["account_service"]))
	for _, want := range []string{
		`<span class="badge svc-badge svc-active" data-testid="service-status">Active</span>`,
		`<form method="post" action="/account/services/7/power"`,
		`<input type="hidden" name="action" value="start">`,
		`<input type="hidden" name="action" value="stop">`,
		`<input type="hidden" name="action" value="restart">`,
		`<form method="post" action="/account/services/7/reset-password"`,
		`<form method="post" action="/account/services/7/login"`,
		`<code class="secret-value" data-testid="new-password">Qx7-vLp2-98zT</code>`,
		`<span class="mono break">203.0.113.10</span><span class="mono break">203.0.113.11</span>`,
		`2001:db8:10::7`,
		`panel resource vf-8812: created`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("account_service lacks %s", want)
		}
	}
	if strings.Contains(out, "admin:1") || strings.Contains(out, "suspended-notice") {
		t.Error("account_service shows staff actors or a suspension notice for an active service")
	}

	susp := AccountService{Service: suspendedService}
	out = render(t, r, "account_service", pageFor("account_service", cust, susp))
	for _, want := range []string{
		`data-testid="service-status">Suspended</span>`,
		`data-testid="suspended-notice"`,
		"This service is suspended. Contact support or pay the overdue invoice to restore it.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("suspended account_service lacks %s", want)
		}
	}
	for _, id := range []string{"power-start", "power-stop", "power-restart", "reset-password", "panel-login", "new-password"} {
		if strings.Contains(out, `data-testid="`+id+`"`) {
			t.Errorf("account_service with nothing allowed shows %s", id)
		}
	}
}

func TestAccountDashboardListsServices(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "account_dashboard", pageFor("account_dashboard", viewers["customer"], sampleData["account_dashboard"]))
	for _, want := range []string{
		`href="/account/services/7"`, `href="/account/services/9"`, `web1.example.com`, `<span class="mono">203.0.113.10</span>`,
		`<span class="badge svc-badge svc-suspended">Suspended</span>`, `data-service-id="9"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("account_dashboard lacks %s", want)
		}
	}
	if strings.Contains(out, "You have no services yet") {
		t.Error("account_dashboard with services still shows the empty state")
	}
}

func TestPanelPages(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "admin_panels", pageFor("admin_panels", viewers["admin"], sampleData["admin_panels"]))
	for _, want := range []string{
		`<form method="post" action="/admin/panels/1/test"`, `<form method="post" action="/admin/panels/2/test"`,
		`href="/admin/panels/2"`, `href="/admin/panels/new" data-testid="add-panel"`, `VirtFusion`, `Pterodactyl`,
		`http://vf-fra1.internal:8080/api/v1`, `<span class="mono">50 / 50</span>`, `Full`, `<span class="mono">7 / <span class="muted">no limit</span></span>`, `Enabled`, `Disabled`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("admin_panels lacks %s", want)
		}
	}

	edit := pageFor("admin_panel_form", viewers["admin"], PanelForm{ID: 3, Types: []string{"virtfusion", "pterodactyl", "synergycp", "enhance"}})
	edit.Form = map[string]string{"name": "VF Frankfurt 1", "type": "pterodactyl", "base_url": "http://ptero.internal", "token": "s3cret-token",
		"extra": "client_key=ptlc_abc\nnode=2", "capacity": "40", "enabled": "on"}
	out = render(t, r, "admin_panel_form", edit)
	for _, want := range []string{
		`<form method="post" action="/admin/panels/3" class="form">`,
		`name="type" disabled data-testid="panel-type"`,
		`<option value="pterodactyl" selected>Pterodactyl</option>`,
		`<input type="hidden" name="type" value="pterodactyl">`,
		`placeholder="leave blank to keep"`,
		">client_key=ptlc_abc\nnode=2</textarea>",
		`name="capacity" type="number" value="40" min="0"`,
		`name="enabled" type="checkbox" value="on" checked`,
		"pterodactyl client_key",
	} {
		if !strings.Contains(strings.ReplaceAll(out, "Pterodactyl: client_key", "pterodactyl client_key"), want) {
			t.Errorf("admin_panel_form (edit) lacks %q", want)
		}
	}
	if strings.Contains(out, "s3cret-token") {
		t.Error("admin_panel_form re-showed the token")
	}

	add := pageFor("admin_panel_form", viewers["admin"], PanelForm{Types: []string{"virtfusion", "enhance"}})
	add.Form = map[string]string{"capacity": "0"}
	out = render(t, r, "admin_panel_form", add)
	for _, want := range []string{
		`<form method="post" action="/admin/panels" class="form">`,
		`<select id="f-type" name="type" required data-testid="panel-type">`,
		`<option value="enhance">Enhance</option>`,
		`name="token" type="password" autocomplete="new-password" required`,
		`name="enabled" type="checkbox" value="on" data-testid="panel-enabled">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("admin_panel_form (new) lacks %q", want)
		}
	}
	if strings.Contains(out, `name="type" value=`) || strings.Contains(out, "leave blank to keep") {
		t.Error("admin_panel_form (new) has the edit-only hidden type or token placeholder")
	}
}

func TestAdminNavLinksServicesAndPanels(t *testing.T) {
	r := newRenderer(t)
	for path, id := range map[string]string{"/admin/services/42": "nav-admin-services", "/admin/panels/new": "nav-admin-panels"} {
		p := pageFor("admin_dashboard", viewers["admin"], nil)
		p.Path = path
		out := render(t, r, "admin_dashboard", p)
		if !strings.Contains(out, `aria-current="page" data-testid="`+id+`"`) {
			t.Errorf("path %s: %s not marked current", path, id)
		}
	}
}

func TestStatusHelpers(t *testing.T) {
	if got := statusLabel("needs_attention"); got != "Needs attention" {
		t.Errorf("statusLabel = %q", got)
	}
	if got := sumCounts(map[string]int{"a": 2, "b": 3}); got != 5 {
		t.Errorf("sumCounts = %d", got)
	}
	if got := panelTypeLabel("synergycp") + panelTypeLabel("other"); got != "SynergyCPother" {
		t.Errorf("panelTypeLabel = %q", got)
	}
	if _, err := field(Page{}, "x", "X", "rows", "many"); err == nil {
		t.Error("field accepted rows=many")
	}
}
