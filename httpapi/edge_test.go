package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/web"
)

// multipartBody is a form with a csrf field (when token is set) and a file of size bytes.
func multipartBody(t *testing.T, token string, size int) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if token != "" {
		if err := mw.WriteField("csrf", token); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"name": "Big Upload", "email": "upload@example.com", "password": "a strong password", "password_confirm": "a strong password"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	f, err := mw.CreateFormFile("f", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("x"), size)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &body, mw.FormDataContentType()
}

// multipartTempFiles lists the temporary files mime/multipart left in dir, waiting up to two
// seconds for the server to finish its own clean-up.
func multipartTempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		left, err = filepath.Glob(filepath.Join(dir, "multipart-*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// TestLargeMultipartPostsAre413AndLeaveNoTempFile: an anonymous multipart POST of a 33 MB file
// (to /register with a valid token, to a route whose CSRF check refuses it, and without a
// Content-Length) is answered 413 and leaves no multipart-* file behind; nothing is registered.
func TestLargeMultipartPostsAre413AndLeaveNoTempFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where mime/multipart would spill file parts
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	const size = 33 << 20

	send := func(path, token string, knownLength bool) response {
		t.Helper()
		body, ct := multipartBody(t, token, size)
		var rd io.Reader = body
		if !knownLength {
			rd = io.MultiReader(body) // hides the length: the request goes chunked
		}
		req, _ := http.NewRequest(http.MethodPost, st.URL(path), rd)
		req.Header.Set("Content-Type", ct)
		return b.do(req)
	}
	cases := []struct {
		name, path  string
		token       bool
		knownLength bool
	}{
		{"register with a valid token", "/register", true, true},
		{"register, chunked", "/register", true, false},
		{"logout without a token (CSRF refuses it)", "/logout", false, true},
		{"an unknown page", "/no-such-page", false, true},
	}
	for _, c := range cases {
		token := ""
		if c.token {
			token = b.csrf("/register")
		}
		r := send(c.path, token, c.knownLength)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d; want 413", c.name, r.Status)
		}
		if left := multipartTempFiles(t, tmp); len(left) > 0 {
			t.Errorf("%s: left %d temporary files: %v", c.name, len(left), left)
			for _, f := range left {
				_ = os.Remove(f)
			}
		}
	}
	if _, err := st.Store.UserByEmail(context.Background(), "upload@example.com"); err == nil {
		t.Fatal("a refused upload registered an account")
	}
	// A multipart form of ordinary size is still read (and its fields used).
	body, ct := multipartBody(t, b.csrf("/register"), 1<<10)
	req, _ := http.NewRequest(http.MethodPost, st.URL("/register"), body)
	req.Header.Set("Content-Type", ct)
	if r := b.do(req); r.Status != http.StatusSeeOther {
		t.Fatalf("small multipart registration: status %d; want 303\n%s", r.Status, r.Body)
	}
	if _, err := st.Store.UserByEmail(context.Background(), "upload@example.com"); err != nil {
		t.Fatalf("small multipart registration: %v", err)
	}
	if left := multipartTempFiles(t, tmp); len(left) > 0 {
		t.Fatalf("small multipart form left temporary files: %v", left)
	}
}

// TestOversizedURLEncodedFormIs413: an ordinary form beyond the limit is refused before a
// handler sees it.
func TestOversizedURLEncodedFormIs413(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	r := b.post("/register", "/register", url.Values{
		"name": {strings.Repeat("n", 300<<10)}, "email": {"huge@example.com"},
		"password": {"a strong password"}, "password_confirm": {"a strong password"},
	})
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("300 KiB form: status %d; want 413", r.Status)
	}
	if _, err := st.Store.UserByEmail(context.Background(), "huge@example.com"); err == nil {
		t.Fatal("an oversized form registered an account")
	}
}

// TestControlCharactersAre422AndChangeNothing: a NUL or another control character in a form
// field or the query string of the named endpoints is answered 422 and nothing is written;
// textareas' tab, CR and LF still pass.
func TestControlCharactersAre422AndChangeNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUser(t, st, "ctl-customer@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "ctl-admin@example.com", "password 12345", store.RoleAdmin)
	c := newBrowser(t, st)
	if r := c.login(cust.Email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("customer login: %d", r.Status)
	}
	a := newBrowser(t, st)
	if r := a.login("ctl-admin@example.com", "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("admin login: %d", r.Status)
	}
	anon := newBrowser(t, st)
	logins := func() int {
		l, err := st.Store.RecentLogins(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	loginsBefore := logins()

	for _, bad := range []string{"\x00", "\x01", "\x1b", "\x7f", "\xff\xfe"} {
		forms := []struct {
			name     string
			b        *browser
			path     string
			formPage string
			form     url.Values
		}{
			{"login", anon, "/login", "/login", url.Values{"email": {"ctl-customer@example.com" + bad}, "password": {"password 12345"}}},
			{"register", anon, "/register", "/register", url.Values{"name": {"Nul" + bad + "Name"}, "email": {"nul@example.com"},
				"password": {"a strong password"}, "password_confirm": {"a strong password"}}},
			{"profile", c, "/account/profile", "/account/profile", url.Values{"name": {"Changed" + bad}, "country": {"US"}}},
			{"coupon", a, "/admin/coupons", "/admin/coupons", url.Values{"code": {"NUL" + bad + "CODE"}, "kind": {"percent"}, "percent": {"10"}, "duration": {"once"}}},
			{"field name", anon, "/login", "/login", url.Values{"email" + bad: {"x@example.com"}, "password": {"password 12345"}}},
		}
		for _, f := range forms {
			if r := f.b.post(f.path, f.formPage, f.form); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s with %q: status %d; want 422", f.name, bad, r.Status)
			} else if !strings.Contains(r.Body, "control characters") {
				t.Errorf("%s with %q: the 422 page does not say why", f.name, bad)
			}
		}
		for _, q := range []struct {
			b    *browser
			path string
		}{
			{c, "/account/palette?q="}, {a, "/admin/palette?q="}, {a, "/admin/customers?q="}, {anon, "/login?next=/account"},
		} {
			if r := q.b.get(q.path + url.QueryEscape(bad)); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s%q: status %d; want 422", q.path, bad, r.Status)
			}
		}
	}
	// The query string holds no control character at all, not even a tab.
	for _, p := range []string{"/admin/customers?q=a%09b", "/admin/customers?q=a%0Ab", "/admin/customers?q%00=x"} {
		if r := a.get(p); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: status %d; want 422", p, r.Status)
		}
	}
	if n := logins(); n != loginsBefore {
		t.Errorf("refused logins recorded %d attempts", n-loginsBefore)
	}
	if _, err := st.Store.UserByEmail(ctx, "nul@example.com"); err == nil {
		t.Error("a refused registration created an account")
	}
	if u, _ := st.Store.UserByEmail(ctx, cust.Email); u.Name != cust.Name {
		t.Errorf("a refused profile form renamed the customer to %q", u.Name)
	}
	if cs, _ := st.Store.Coupons(ctx); len(cs) != 0 {
		t.Errorf("a refused coupon form created %d coupons", len(cs))
	}

	// Tab, CR and LF in form values are what a textarea sends: accepted.
	if r := c.post("/account/profile", "/account/profile", url.Values{"name": {"Tabbed\tName"}, "address1": {"1 Main St\r\nFloor 2"}, "country": {"US"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("profile with tab and newline: status %d; want 303\n%s", r.Status, r.Body)
	}
}

// TestRedirectAfterLoginStaysOnSite: the classic open-redirect payloads in a login form's next
// field land on the account, never off the site.
func TestRedirectAfterLoginStaysOnSite(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "next@example.com", "password 12345", store.RoleCustomer)
	for _, next := range []string{"/\t/evil.example/", "/\n/evil.example/", "//evil.example/", "/\\evil.example/", "/%2F/evil.example", "https://evil.example/"} {
		b := newBrowser(t, st)
		r := b.post("/login", "/login", url.Values{"email": {u.Email}, "password": {"password 12345"}, "next": {next}})
		if r.Status != http.StatusSeeOther || r.Location != "/account" {
			t.Errorf("login with next=%q: %d to %q; want 303 to /account", next, r.Status, r.Location)
		}
	}
	b := newBrowser(t, st)
	if r := b.post("/login", "/login", url.Values{"email": {u.Email}, "password": {"password 12345"}, "next": {"/account/invoices?page=2"}}); r.Location != "/account/invoices?page=2" {
		t.Errorf("login with a local next: location %q", r.Location)
	}
}

// handlerWith builds a second handler over the stack's store with changed settings, workflows
// or store, for the settings a Stack does not vary.
func handlerWith(t *testing.T, st *testenv.Stack, set func(*httpapi.Settings), wf httpapi.Workflows, s *store.Store) http.Handler {
	t.Helper()
	pages, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	settings := st.Settings
	if set != nil {
		set(&settings)
	}
	if wf == nil {
		wf = st.Temporal
	}
	if s == nil {
		s = st.Store
	}
	return httpapi.New(httpapi.Deps{Log: slog.New(slog.DiscardHandler), Store: s, Workflows: wf, Mail: st.Mail, Pages: pages,
		Settings: settings, Gateways: st.Gateways, Pricer: st.Pricer})
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestMetricsNeedATokenOrLoopback: without METRICS_TOKEN /metrics answers only direct loopback
// requests; with it, only requests bearing the token.
func TestMetricsNeedATokenOrLoopback(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	b.get("/login")
	if r := b.get("/metrics"); r.Status != http.StatusOK || !strings.Contains(r.Body, "ezscale_http_requests_total") {
		t.Fatalf("metrics from loopback without a token: %d", r.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, st.URL("/metrics"), nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if r := b.do(req); r.Status != http.StatusForbidden || strings.Contains(r.Body, "go_goroutines") {
		t.Fatalf("metrics relayed by a proxy: %d; want 403", r.Status)
	}
	remote := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	remote.RemoteAddr = "203.0.113.9:40000"
	if rec := serve(st.Server.Config.Handler, remote); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("metrics from another host: %d; want 403", rec.Code)
	}

	h := handlerWith(t, st, func(s *httpapi.Settings) { s.MetricsToken = "scrape-secret-123" }, nil, nil)
	for _, auth := range []string{"", "Bearer wrong", "scrape-secret-123", "Basic c2NyYXBlLXNlY3JldC0xMjM="} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil) // from 192.0.2.1
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if rec := serve(h, req); rec.Code != http.StatusUnauthorized {
			t.Errorf("metrics with Authorization %q: %d; want 401", auth, rec.Code)
		}
	}
	local := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	local.RemoteAddr = "127.0.0.1:5000"
	if rec := serve(h, local); rec.Code != http.StatusUnauthorized {
		t.Errorf("with a token configured, loopback without it: %d; want 401", rec.Code)
	}
	good := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	good.Header.Set("Authorization", "Bearer scrape-secret-123")
	if rec := serve(h, good); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("metrics with the token: %d", rec.Code)
	}
}

// TestReadyzNamesWhatIsDownWithoutDetails: with PostgreSQL and Temporal both unreachable,
// /readyz answers 503 with "unavailable" for each and none of the errors' addresses.
func TestReadyzNamesWhatIsDownWithoutDetails(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	gone, err := store.Open(context.Background(), st.DSN)
	if err != nil {
		t.Fatal(err)
	}
	_ = gone.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	_ = l.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: deadAddr, Namespace: testenv.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	h := handlerWith(t, st, nil, tc, gone)
	rec := serve(h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, `"postgres":"unavailable"`) || !strings.Contains(body, `"temporal":"unavailable"`) {
		t.Fatalf("readyz with both down: %d %s", rec.Code, body)
	}
	for _, leak := range []string{deadAddr, "127.0.0.1", "dial", "sql:", "closed", "connection"} {
		if strings.Contains(body, leak) {
			t.Errorf("readyz body %s shows %q", body, leak)
		}
	}
}

// TestHSTSOnlyWithAnHTTPSBaseURL: Strict-Transport-Security is sent on every answer when
// BASE_URL is https, and never over plain http.
func TestHSTSOnlyWithAnHTTPSBaseURL(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	if r := b.get("/login"); r.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("HSTS over http: %q", r.Header.Get("Strict-Transport-Security"))
	}
	h := handlerWith(t, st, func(s *httpapi.Settings) { s.BaseURL = "https://billing.example.com"; s.SecureCookies = true }, nil, nil)
	for _, p := range []string{"/login", "/healthz", "/no-such-page", "/static/css/app.css"} {
		rec := serve(h, httptest.NewRequest(http.MethodGet, p, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
			t.Errorf("GET %s with an https base URL: Strict-Transport-Security %q", p, got)
		}
	}
}

// TestFaviconAndErrorPagesSetNoCookie: /favicon.ico is served, and neither it nor a 404 sets a
// cookie; a page with a form sets the CSRF cookie once and keeps an existing one.
func TestFaviconAndErrorPagesSetNoCookie(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	r := b.get("/favicon.ico")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/x-icon" || !strings.HasPrefix(r.Body, "\x00\x00\x01\x00") {
		t.Fatalf("favicon: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Fatalf("favicon sets cookies %q", c)
	}
	for _, p := range []string{"/no-such-page", "/static/img/favicon.png", "/account/invoices/999999"} {
		if r := b.get(p); len(r.Header.Values("Set-Cookie")) > 0 {
			t.Errorf("GET %s (%d) sets cookies %q", p, r.Status, r.Header.Values("Set-Cookie"))
		}
	}
	if r := b.post("/logout", "", url.Values{}); r.Status != http.StatusForbidden || len(r.Header.Values("Set-Cookie")) > 0 {
		t.Errorf("refused POST: %d, cookies %q; want 403 and none", r.Status, r.Header.Values("Set-Cookie"))
	}
	first := b.get("/login")
	if c := first.Header.Values("Set-Cookie"); len(c) != 1 || !strings.HasPrefix(c[0], "ezscale_csrf=") {
		t.Fatalf("login page of a fresh browser sets %q; want the CSRF cookie", c)
	}
	if again := b.get("/login"); len(again.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("login page with a CSRF cookie sets %q again", again.Header.Values("Set-Cookie"))
	}
	if r := b.get("/register"); !strings.Contains(r.Body, `<link rel="icon" href="/favicon.ico"`) {
		t.Error("the layout does not link the icon")
	}
}
