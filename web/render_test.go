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
)

const testCSRF = "tok-3f9a"

var at = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// sampleData is a realistic view for every page, with rows so tables render.
var sampleData = map[string]any{
	"verify_result":     VerifyResult{OK: false, Message: "This link has expired."},
	"error":             ErrorPage{Status: 404, Title: "Page not found", Message: "There is nothing at this address."},
	"account_dashboard": AccountDashboard{UnverifiedEmail: true},
	"account_profile": Profile{LoginHistory: []LoginRow{
		{At: at, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Success: true},
		{At: at.Add(-time.Hour), IP: "198.51.100.2", Success: false},
	}},
	"admin_dashboard": AdminDashboard{Customers: 1204, Unverified: 17, Staff: 3,
		RecentLogins: []LoginRow{{At: at, IP: "203.0.113.7", Email: "ana@example.com", Success: true}},
		RecentAudit:  []AuditRow{{At: at, Actor: "root@example.com", Action: "customer.update", Target: "customer:12", IP: "203.0.113.7"}},
	},
	"admin_audit": AuditLog{Entries: []AuditRow{{At: at, Actor: "root@example.com", Action: "customer.update", Target: "customer:12", IP: "203.0.113.7"}}},
	"dev_mail":    MailList{Messages: []MailSummary{{ID: 7, To: "ana@example.com", From: "billing@ezscale.test", Subject: "Verify your email", Received: at}}},
	"dev_mail_message": MailMessage{
		MailSummary: MailSummary{ID: 7, To: "ana@example.com", From: "billing@ezscale.test", Subject: "Verify your email", Received: at},
		Text:        "Open http://localhost:8080/verify?token=abc to confirm.",
		HTML:        `<p>Open <a href="http://localhost:8080/verify?token=abc">this link</a></p>`,
	},
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
	"admin":     {ID: 1, Name: "Root Admin", Email: "root@example.com", Role: "admin", Verified: true},
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
			for _, data := range []any{sampleData[name], nil} {
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
			out := render(t, r, name, pageFor(name, v, sampleData[name]))
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

func TestPagesCarryTheTestIDsHandlersAndBrowserTestsUse(t *testing.T) {
	r := newRenderer(t)
	admin := viewers["admin"]
	want := map[string][]string{
		"login":             {"login-email", "login-password", "login-submit"},
		"register":          {"register-name", "register-email", "register-password", "register-password-confirm", "register-submit"},
		"account_dashboard": {"account-dashboard", "logout", "theme-toggle", "verify-banner"},
		"admin_dashboard":   {"admin-dashboard", "logout", "theme-toggle"},
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
