package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

func TestRegisterVerifyLoginLogoutJourney(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	ctx := context.Background()

	r := b.post("/register", "/register", url.Values{
		"name": {"Linus Customer"}, "email": {"Linus@Example.com"}, "company": {"Penguin Hosting"},
		"password": {"a strong password"}, "password_confirm": {"a strong password"},
	})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/verify/sent") {
		t.Fatalf("register: status %d location %q; want 303 to /verify/sent\n%s", r.Status, r.Location, r.Body)
	}
	u, err := st.Store.UserByEmail(ctx, "linus@example.com")
	if err != nil || u.Verified() || u.Role != store.RoleCustomer {
		t.Fatalf("registered user = %+v, %v; want an unverified customer", u, err)
	}
	if d := b.get("/account"); d.Status != http.StatusOK || !strings.Contains(d.Body, "Linus Customer") || !strings.Contains(d.Body, "verify") {
		t.Fatalf("dashboard right after registering: status %d; want 200 with the name and a verify banner", d.Status)
	}

	link := mailedLink(t, st, "linus@example.com", "Confirm your email")
	if !strings.HasPrefix(link, st.URL("/verify?token=")) {
		t.Fatalf("verification link %q does not point at this site", link)
	}
	if v := b.get(link); v.Status != http.StatusOK || !strings.Contains(v.Body, "confirmed") {
		t.Fatalf("following the link: status %d\n%s", v.Status, v.Body)
	}
	if u, _ = st.Store.UserByEmail(ctx, "linus@example.com"); !u.Verified() {
		t.Fatal("user not verified after following the link")
	}
	if again := b.get(link); again.Status != http.StatusBadRequest {
		t.Fatalf("second use of the link: status %d; want 400", again.Status)
	}

	// The verify handler's signal ends the onboarding workflow.
	var state workflows.OnboardingState
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.Temporal.GetWorkflow(wctx, workflows.OnboardingID(u.ID), "").Get(wctx, &state); err != nil {
		t.Fatalf("onboarding workflow: %v", err)
	}
	if state.Stage != "verified" || state.RemindersSent != 0 {
		t.Fatalf("onboarding ended as %+v; want verified without reminders", state)
	}

	if out := b.post("/logout", "/account", url.Values{}); out.Status != http.StatusSeeOther {
		t.Fatalf("logout: status %d", out.Status)
	}
	if d := b.get("/account"); d.Status != http.StatusSeeOther || !strings.HasPrefix(d.Location, "/login") {
		t.Fatalf("dashboard after logout: status %d location %q; want redirect to login", d.Status, d.Location)
	}

	wrong := b.login("linus@example.com", "not the password")
	if wrong.Status != http.StatusUnauthorized || !strings.Contains(wrong.Body, "Incorrect email or password") {
		t.Fatalf("wrong password: status %d", wrong.Status)
	}
	before := b.cookie("ezscale_session")
	ok := b.login("LINUS@example.com", "a strong password")
	if ok.Status != http.StatusSeeOther || ok.Location != "/account" {
		t.Fatalf("login: status %d location %q", ok.Status, ok.Location)
	}
	if after := b.cookie("ezscale_session"); after == "" || after == before {
		t.Fatal("login did not issue a new session id")
	}
	if d := b.get("/account"); d.Status != http.StatusOK || !strings.Contains(d.Body, "Linus Customer") {
		t.Fatalf("dashboard after login: status %d", d.Status)
	}

	hist, _ := st.Store.LoginHistory(ctx, u.ID, 10)
	if len(hist) != 2 || !hist[0].Success || hist[1].Success || hist[1].Reason != "wrong password" ||
		hist[0].UserAgent != "journey-test/1.0" || hist[0].IP != "127.0.0.1" {
		t.Fatalf("login history = %+v; want a success after a wrong-password failure, with IP and user agent", hist)
	}
}

func TestRegistrationRefusesBadInputAndChangesNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	createUser(t, st, "taken@example.com", "password-1234", store.RoleCustomer)
	cases := []struct {
		name   string
		form   url.Values
		status int
		field  string
	}{
		{"short password", url.Values{"name": {"A"}, "email": {"a@example.com"}, "password": {"short"}, "password_confirm": {"short"}}, 422, "at least 10"},
		{"mismatch", url.Values{"name": {"A"}, "email": {"a@example.com"}, "password": {"long enough 1"}, "password_confirm": {"long enough 2"}}, 422, "do not match"},
		{"bad email", url.Values{"name": {"A"}, "email": {"not-an-email"}, "password": {"long enough 1"}, "password_confirm": {"long enough 1"}}, 422, "valid email"},
		{"no name", url.Values{"name": {" "}, "email": {"a@example.com"}, "password": {"long enough 1"}, "password_confirm": {"long enough 1"}}, 422, "Enter your name"},
		{"taken", url.Values{"name": {"A"}, "email": {"TAKEN@example.com"}, "password": {"long enough 1"}, "password_confirm": {"long enough 1"}}, 409, "already exists"},
	}
	for _, c := range cases {
		r := b.post("/register", "/register", c.form)
		if r.Status != c.status || !strings.Contains(r.Body, c.field) {
			t.Errorf("%s: status %d; want %d with %q", c.name, r.Status, c.status, c.field)
		}
	}
	counts, _ := st.Store.CountUsers(context.Background())
	if counts.Customers != 1 {
		t.Fatalf("customers = %d after refused registrations; want 1", counts.Customers)
	}
	if n := len(st.Sink.Messages()); n != 0 {
		t.Fatalf("%d mails sent for refused registrations", n)
	}
}

func TestLoginRateLimitPerAccountAndPerIP(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "victim@example.com", "the right password", store.RoleCustomer)
	b := newBrowser(t, st)
	for i := 1; i <= 5; i++ {
		if r := b.login("victim@example.com", "guess "+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d; want 401", i, r.Status)
		}
	}
	r := b.login("victim@example.com", "the right password")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt with the right password: status %d Retry-After %q; want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	if b.cookie("ezscale_session") != "" {
		t.Fatal("a throttled login still created a session")
	}
	// Another account from the same address is still allowed, until the per-IP budget runs out.
	createUser(t, st, "other@example.com", "other password!", store.RoleCustomer)
	if r := b.login("other@example.com", "other password!"); r.Status != http.StatusSeeOther {
		t.Fatalf("other account: status %d; want 303", r.Status)
	}
	limited := false
	sprayer := newBrowser(t, st) // same IP, no session
	for i := range 40 {
		if r := sprayer.login("spray"+strconv.Itoa(i)+"@example.com", "x"); r.Status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("40 attempts on different accounts from one IP were never throttled")
	}
	logins, _ := st.Store.RecentLogins(context.Background(), 100)
	throttled := 0
	for _, l := range logins {
		if strings.HasPrefix(l.Reason, "rate limited") {
			throttled++
		}
	}
	if throttled < 2 {
		t.Fatalf("throttled attempts recorded = %d; want both the account and the IP refusals recorded", throttled)
	}
}

func TestPasswordResetJourney(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "forgetful@example.com", "old password 1", store.RoleCustomer)
	b := newBrowser(t, st)

	unknown := b.post("/forgot", "/forgot", url.Values{"email": {"nobody@example.com"}})
	known := b.post("/forgot", "/forgot", url.Values{"email": {"forgetful@example.com"}})
	if unknown.Status != 200 || known.Status != 200 || !strings.Contains(known.Body, "If an account exists") || !strings.Contains(unknown.Body, "If an account exists") {
		t.Fatalf("forgot: statuses %d/%d; want the same 200 answer for known and unknown addresses", unknown.Status, known.Status)
	}
	link := mailedLink(t, st, "forgetful@example.com", "password")
	for _, m := range st.Sink.Messages() {
		if m.To[0] == "nobody@example.com" {
			t.Fatal("a reset mail went to an address without an account")
		}
	}
	lu, _ := url.Parse(link)
	token := lu.Query().Get("token")
	if form := b.get(link); form.Status != 200 || !strings.Contains(form.Body, token) {
		t.Fatalf("reset form: status %d", form.Status)
	}
	weak := b.post("/reset", "/reset?token="+token, url.Values{"token": {token}, "password": {"short"}, "password_confirm": {"short"}})
	if weak.Status != http.StatusUnprocessableEntity {
		t.Fatalf("weak new password: status %d; want 422", weak.Status)
	}
	r := b.post("/reset", "/reset?token="+token, url.Values{"token": {token}, "password": {"new password 2"}, "password_confirm": {"new password 2"}})
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "password-reset") {
		t.Fatalf("reset: status %d location %q\n%s", r.Status, r.Location, r.Body)
	}
	reuse := b.post("/reset", "/reset?token="+token, url.Values{"token": {token}, "password": {"third password 3"}, "password_confirm": {"third password 3"}})
	if reuse.Status != http.StatusBadRequest {
		t.Fatalf("reused reset link: status %d; want 400", reuse.Status)
	}
	if r := b.login("forgetful@example.com", "old password 1"); r.Status != http.StatusUnauthorized {
		t.Fatalf("old password after reset: status %d; want 401", r.Status)
	}
	if r := b.login("forgetful@example.com", "new password 2"); r.Status != http.StatusSeeOther {
		t.Fatalf("new password: status %d; want 303", r.Status)
	}
	mailedLink := false
	for _, m := range st.Sink.Messages() {
		if m.To[0] == u.Email && strings.Contains(strings.ToLower(m.Subject), "changed") {
			mailedLink = true
		}
	}
	if !mailedLink {
		t.Fatal("no 'password changed' notice mailed after the reset")
	}
}

func TestPasswordResetRateLimit(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "flood@example.com", "password 12345", store.RoleCustomer)
	b := newBrowser(t, st)
	// Per account and source the limit is silent: the answer never changes, the mails stop.
	for i := range 4 {
		r := b.post("/forgot", "/forgot", url.Values{"email": {"flood@example.com"}})
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "If an account exists") {
			t.Fatalf("reset request %d for one account: status %d; want the usual 200 answer", i+1, r.Status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	sent := 0
	for _, m := range st.Sink.Messages() {
		if m.To[0] == "flood@example.com" {
			sent++
		}
	}
	if sent != 3 {
		t.Fatalf("reset mails sent = %d; want 3 (the limit)", sent)
	}
	// Per source the limit is told, whatever the addresses: 10 requests an hour.
	var last response
	for i := range 7 {
		last = b.post("/forgot", "/forgot", url.Values{"email": {"nobody" + strconv.Itoa(i) + "@example.com"}})
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("11th reset request from one address within the hour: status %d; want 429 with Retry-After", last.Status)
	}
}

func TestCSRFRejection(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "csrf@example.com", "password 12345", store.RoleCustomer)
	b := newBrowser(t, st)
	if r := b.post("/login", "", url.Values{"email": {u.Email}, "password": {"password 12345"}}); r.Status != http.StatusForbidden {
		t.Fatalf("login without a token: status %d; want 403", r.Status)
	}
	if r := b.post("/login", "", url.Values{"email": {u.Email}, "password": {"password 12345"}, "csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Fatalf("login with a forged token: status %d; want 403", r.Status)
	}
	if r := b.login(u.Email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("login with the token: status %d", r.Status)
	}
	// A token from another browser is worthless here.
	other := newBrowser(t, st)
	foreign := other.csrf("/login")
	r := b.post("/account/profile", "", url.Values{"name": {"Hijacked"}, "csrf": {foreign}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("profile change with another browser's token: status %d; want 403", r.Status)
	}
	// A cross-site form post carrying a valid token is refused by origin.
	form := url.Values{"name": {"Hijacked"}, "csrf": {b.csrf("/account/profile")}}
	req, _ := http.NewRequest(http.MethodPost, st.URL("/account/profile"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r := b.do(req); r.Status != http.StatusForbidden {
		t.Fatalf("cross-origin post: status %d; want 403", r.Status)
	}
	got, _ := st.Store.UserByID(context.Background(), u.ID)
	if got.Name == "Hijacked" {
		t.Fatal("a rejected request changed the profile")
	}
}

func TestAdminIsForStaffOnly(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "cust@example.com", "password 12345", store.RoleCustomer)
	admin := createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)

	anon := newBrowser(t, st)
	if r := anon.get("/admin"); r.Status != http.StatusSeeOther || r.Location != "/login?next=%2Fadmin" {
		t.Fatalf("anonymous /admin: status %d location %q; want redirect to login", r.Status, r.Location)
	}
	cust := newBrowser(t, st)
	cust.login("cust@example.com", "password 12345")
	for _, p := range []string{"/admin", "/admin/audit"} {
		if r := cust.get(p); r.Status != http.StatusForbidden {
			t.Fatalf("customer %s: status %d; want 403", p, r.Status)
		}
	}
	boss := newBrowser(t, st)
	if r := boss.login("boss@example.com", "password 12345"); r.Location != "/admin" {
		t.Fatalf("staff login lands on %q; want /admin", r.Location)
	}
	r := boss.get("/admin")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "cust@example.com") {
		t.Fatalf("staff /admin: status %d; want 200 listing recent logins", r.Status)
	}
	// Every admin write is audited with who did it, even one the router refuses.
	boss.post("/admin", "/admin", url.Values{})
	entries, _ := st.Store.AuditLog(context.Background(), 50)
	found := false
	for _, e := range entries {
		if e.Action == "admin.POST" && e.ActorID.Int64 == admin.ID && e.Target == "/admin" {
			found = true
		}
	}
	if !found {
		t.Fatalf("admin POST not in the audit log: %+v", entries)
	}
}

func TestProfileEditAndPasswordChange(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "edit@example.com", "password 12345", store.RoleCustomer)
	b := newBrowser(t, st)
	b.login(u.Email, "password 12345")
	other := newBrowser(t, st)
	other.login(u.Email, "password 12345")

	bad := b.post("/account/profile", "/account/profile", url.Values{"name": {"Edited"}, "country": {"Germany"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "two-letter") {
		t.Fatalf("bad country: status %d", bad.Status)
	}
	if got, _ := st.Store.UserByID(context.Background(), u.ID); got.Name == "Edited" {
		t.Fatal("refused profile form changed the name")
	}
	ok := b.post("/account/profile", "/account/profile", url.Values{"name": {"Edited Name"}, "company": {"ACME"}, "city": {"Berlin"}, "country": {"de"}})
	if ok.Status != http.StatusSeeOther {
		t.Fatalf("profile save: status %d\n%s", ok.Status, ok.Body)
	}
	p, _ := st.Store.ProfileByUser(context.Background(), u.ID)
	if p.Country != "DE" || p.Company != "ACME" {
		t.Fatalf("profile = %+v", p)
	}
	if page := b.get("/account/profile"); !strings.Contains(page.Body, "Edited Name") || !strings.Contains(page.Body, "Berlin") {
		t.Fatal("profile page does not show the saved values")
	}

	wrong := b.post("/account/password", "/account/profile", url.Values{"current_password": {"nope"}, "password": {"brand new pass"}, "password_confirm": {"brand new pass"}})
	if wrong.Status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current password: status %d", wrong.Status)
	}
	changed := b.post("/account/password", "/account/profile", url.Values{"current_password": {"password 12345"}, "password": {"brand new pass"}, "password_confirm": {"brand new pass"}})
	if changed.Status != http.StatusSeeOther {
		t.Fatalf("password change: status %d", changed.Status)
	}
	if r := b.get("/account"); r.Status != http.StatusOK {
		t.Fatalf("the session that changed the password was logged out: %d", r.Status)
	}
	if r := other.get("/account"); r.Status != http.StatusSeeOther {
		t.Fatalf("other device still logged in after password change: %d", r.Status)
	}
}

func TestThemeIsRememberedPerUser(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "night@example.com", "password 12345", store.RoleCustomer)
	b := newBrowser(t, st)
	b.login(u.Email, "password 12345")
	if r := b.post("/theme", "/account", url.Values{"theme": {"dark"}, "next": {"/account"}}); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("theme: status %d location %q", r.Status, r.Location)
	}
	if r := b.post("/theme", "/account", url.Values{"theme": {"mauve"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown theme: status %d; want 400", r.Status)
	}
	// A fresh browser for the same user gets the remembered theme.
	fresh := newBrowser(t, st)
	fresh.login(u.Email, "password 12345")
	if r := fresh.get("/account"); !strings.Contains(r.Body, `data-theme="dark"`) {
		t.Fatal("theme not remembered across browsers")
	}
	if r := b.post("/theme", "/account", url.Values{"theme": {"light"}, "next": {"https://evil.example/"}}); r.Location != "/" {
		t.Fatalf("open redirect through next: location %q", r.Location)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	b := newBrowser(t, st)
	if r := b.get("/healthz"); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := b.get("/readyz"); r.Status != 200 || !strings.Contains(r.Body, `"ready":true`) {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	b.get("/login")
	m := b.get("/metrics")
	if m.Status != 200 || !strings.Contains(m.Body, `ezscale_http_requests_total{code="200",method="GET",route="/login"}`) ||
		!strings.Contains(m.Body, "ezscale_http_request_duration_seconds_bucket") || !strings.Contains(m.Body, "go_goroutines") {
		t.Fatalf("metrics missing request counters:\n%s", m.Body)
	}
	st.Store.Close()
	if r := b.get("/readyz"); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"ready":false`) {
		t.Fatalf("readyz with the database gone: %d %s; want 503", r.Status, r.Body)
	}
}
