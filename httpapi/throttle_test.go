package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// browserFrom is a browser whose connections come from the loopback address ip (any 127.x.y.z
// works on Linux), so the server sees a different client address for each, as it would for
// people in different places.
func browserFrom(t *testing.T, st *testenv.Stack, ip string) *browser {
	t.Helper()
	b := newBrowser(t, st)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	b.c.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

// retryAfter returns the response's Retry-After in seconds, failing the test when it is missing.
func retryAfter(t *testing.T, r response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q; want a positive number of seconds", r.Header.Get("Retry-After"))
	}
	return n
}

func TestLoginAttackFromOneSourceDoesNotLockOutOwner(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "owner@example.com", "the right password", store.RoleCustomer)
	attacker := browserFrom(t, st, "127.0.0.2")
	statuses := map[int]int{}
	var last response
	for i := range 20 {
		last = attacker.login("owner@example.com", "guess "+strconv.Itoa(i))
		statuses[last.Status]++
	}
	if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 15 {
		t.Fatalf("20 wrong passwords from one address: %v; want 5 × 401, then 429", statuses)
	}
	owner := browserFrom(t, st, "127.0.0.3")
	if r := owner.login("owner@example.com", "the right password"); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("owner from another address during the attack: status %d location %q; want 303 to /account\n%s", r.Status, r.Location, r.Body)
	}
	if owner.cookie("ezscale_session") == "" {
		t.Fatal("the owner's login made no session")
	}
	// The attacker is told to slow down, with a time, and the right password does not help it.
	if last.Status != http.StatusTooManyRequests || retryAfter(t, last) < 10 || !strings.Contains(last.Body, "try again in") {
		t.Fatalf("throttled attempt: status %d Retry-After %q; want 429 saying when to try again", last.Status, last.Header.Get("Retry-After"))
	}
	if r := attacker.login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password from the throttled address: status %d; want 429", r.Status)
	}
}

func TestKnownDeviceLogsInDespiteAttacksFromManyAddresses(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "owner@example.com", "the right password", store.RoleCustomer)
	createUser(t, st, "other@example.com", "other password!", store.RoleCustomer)
	// The owner logged in from this browser before; they share their address with an attacker
	// (an office or carrier NAT).
	owner := browserFrom(t, st, "127.0.0.2")
	if r := owner.login("owner@example.com", "the right password"); r.Status != http.StatusSeeOther {
		t.Fatalf("first login: status %d", r.Status)
	}
	if owner.cookie("ezscale_device") == "" {
		t.Fatal("no known-device cookie after a successful login")
	}
	owner.post("/logout", "/account", url.Values{})
	// Someone else logs in on another browser: their device cookie is theirs only.
	stranger := browserFrom(t, st, "127.0.0.2")
	if r := stranger.login("other@example.com", "other password!"); r.Status != http.StatusSeeOther {
		t.Fatalf("other account's login: status %d", r.Status)
	}
	stranger.post("/logout", "/account", url.Values{})

	for i := 2; i <= 9; i++ {
		attacker := browserFrom(t, st, "127.0.0."+strconv.Itoa(i))
		for j := range 7 {
			attacker.login("owner@example.com", "guess "+strconv.Itoa(j))
		}
	}
	if r := browserFrom(t, st, "127.0.0.2").login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password from the attacked address without the cookie: status %d; want 429", r.Status)
	}
	if r := stranger.login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password with another account's device cookie: status %d; want 429", r.Status)
	}
	forged := browserFrom(t, st, "127.0.0.2")
	u, _ := url.Parse(st.Server.URL)
	value := owner.cookie("ezscale_device")
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ezscale_device", Value: value[:len(value)-2] + "xx", Path: "/"}})
	if r := forged.login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password with a tampered device cookie: status %d; want 429", r.Status)
	}

	if r := owner.login("owner@example.com", "the right password"); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("owner on their known device during the attack: status %d location %q; want 303 to /account\n%s", r.Status, r.Location, r.Body)
	}
}

// resetMails counts the reset-link mails sent to to.
func resetMails(st *testenv.Stack, to string) int {
	n := 0
	for _, m := range st.Sink.Messages() {
		if len(m.To) > 0 && m.To[0] == to && strings.Contains(strings.ToLower(m.Subject), "reset") {
			n++
		}
	}
	return n
}

func TestForgotFromAttackerDoesNotBlockOwnersReset(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "owner@example.com", "old password 1", store.RoleCustomer)
	attacker := browserFrom(t, st, "127.0.0.2")
	for i := range 5 {
		r := attacker.post("/forgot", "/forgot", url.Values{"email": {"owner@example.com"}})
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "If an account exists") {
			t.Fatalf("reset request %d from one address: status %d; want the same 200 answer every time", i+1, r.Status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := resetMails(st, "owner@example.com"); n != 3 {
		t.Fatalf("reset mails after 5 requests from one address = %d; want 3 (the budget), the rest dropped silently", n)
	}

	owner := browserFrom(t, st, "127.0.0.3")
	if r := owner.post("/forgot", "/forgot", url.Values{"email": {"owner@example.com"}}); r.Status != http.StatusOK || !strings.Contains(r.Body, "If an account exists") {
		t.Fatalf("owner's reset request: status %d", r.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for resetMails(st, "owner@example.com") < 4 {
		if ctx.Err() != nil {
			t.Fatal("the owner's reset request from another address mailed no link")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCompletedResetLiftsTheLock(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "owner@example.com", "old password 1", store.RoleCustomer)
	// The owner forgot the password and guessed at it until their address was made to wait.
	owner := browserFrom(t, st, "127.0.0.3")
	for i := range 5 {
		owner.login(u.Email, "wrong "+strconv.Itoa(i))
	}
	if r := owner.login(u.Email, "old password 1"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong passwords: status %d; want 429", r.Status)
	}
	if r := owner.post("/forgot", "/forgot", url.Values{"email": {u.Email}}); r.Status != http.StatusOK {
		t.Fatalf("forgot: status %d", r.Status)
	}
	link := mailedLink(t, st, u.Email, "password")
	lu, _ := url.Parse(link)
	token := lu.Query().Get("token")
	r := owner.post("/reset", "/reset?token="+token, url.Values{"token": {token}, "password": {"new password 2"}, "password_confirm": {"new password 2"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reset: status %d\n%s", r.Status, r.Body)
	}
	if r := owner.login(u.Email, "new password 2"); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("login right after the completed reset: status %d; want 303 to /account (the reset lifts the wait)", r.Status)
	}
}

func TestRegisterIsRateLimitedPerSourceAndPerAddress(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	signUp := func(b *browser, email string) response {
		return b.post("/register", "/register", url.Values{
			"name": {"Sign Up"}, "email": {email}, "password": {"a strong password"}, "password_confirm": {"a strong password"},
		})
	}
	for i := range 5 {
		b := browserFrom(t, st, "127.0.0.2")
		if r := signUp(b, "new"+strconv.Itoa(i)+"@example.com"); r.Status != http.StatusSeeOther {
			t.Fatalf("sign-up %d: status %d\n%s", i+1, r.Status, r.Body)
		}
	}
	r := signUp(browserFrom(t, st, "127.0.0.2"), "new6@example.com")
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many sign-ups") || !strings.Contains(r.Body, "try again in") {
		t.Fatalf("6th sign-up from one address within the hour: status %d; want the 429 page\n%s", r.Status, r.Body)
	}
	retryAfter(t, r)
	if _, err := st.Store.UserByEmail(ctx, "new6@example.com"); err == nil {
		t.Fatal("a refused sign-up created the account")
	}
	// Bad input is still answered as bad input, and other addresses can sign up.
	if r := signUp(browserFrom(t, st, "127.0.0.2"), "not an address"); r.Status != http.StatusTooManyRequests && r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad input: status %d", r.Status)
	}
	if r := signUp(browserFrom(t, st, "127.0.0.3"), "new6@example.com"); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-up from another address: status %d", r.Status)
	}

	// One e-mail address, tried from many places: 3 tries an hour, then 429.
	for i := 4; i <= 6; i++ {
		r := signUp(browserFrom(t, st, "127.0.0."+strconv.Itoa(i)), "target@example.com")
		if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusConflict}[i == 4]; r.Status != want {
			t.Fatalf("sign-up %d for one address: status %d; want %d", i-3, r.Status, want)
		}
	}
	r = signUp(browserFrom(t, st, "127.0.0.7"), "target@example.com")
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many sign-ups") {
		t.Fatalf("4th sign-up for one address within the hour: status %d; want 429", r.Status)
	}
	retryAfter(t, r)
	counts, _ := st.Store.CountUsers(ctx)
	if counts.Customers != 7 {
		t.Fatalf("customers = %d; want 7 (5 + new6 + target)", counts.Customers)
	}
}

func TestCurrentPasswordCheckSharesTheLoginThrottle(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "owner@example.com", "password 12345", store.RoleCustomer)
	b := browserFrom(t, st, "127.0.0.2")
	if r := b.login(u.Email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("login: status %d", r.Status)
	}
	u, _ = st.Store.UserByID(context.Background(), u.ID) // the login upgraded the hash
	change := func(current string) response {
		return b.post("/account/password", "/account/profile", url.Values{"current_password": {current}, "password": {"brand new pass"}, "password_confirm": {"brand new pass"}})
	}
	for i := range 5 {
		if r := change("guess " + strconv.Itoa(i)); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong current password %d: status %d; want 422", i+1, r.Status)
		}
	}
	r := change("password 12345")
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "try again in") {
		t.Fatalf("6th try, with the right current password: status %d; want 429", r.Status)
	}
	retryAfter(t, r)
	if got, _ := st.Store.UserByID(context.Background(), u.ID); got.PasswordHash != u.PasswordHash {
		t.Fatal("a throttled password change changed the password")
	}
	// It is the login's throttle: the same browser's login waits too, another address's does not.
	b.post("/logout", "/account", url.Values{})
	if r := b.login(u.Email, "password 12345"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("login from the browser that guessed: status %d; want 429", r.Status)
	}
	if r := browserFrom(t, st, "127.0.0.3").login(u.Email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("login from another address: status %d; want 303", r.Status)
	}
}

// forwardedFor makes b send X-Forwarded-For: hops on every request, as a reverse proxy would.
func forwardedFor(b *browser, hops string) *browser {
	b.c.Transport = headerTransport{base: b.c.Transport, name: "X-Forwarded-For", value: hops}
	return b
}

type headerTransport struct {
	base        http.RoundTripper
	name, value string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	base := h.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func TestThrottlesSeeTheClientBehindATrustedProxyOnly(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	createUser(t, st, "owner@example.com", "the right password", store.RoleCustomer)
	// Through the proxy (127.0.0.1): the attacker at 203.0.113.5 puts a made-up address first,
	// which is ignored because the proxy appended the real one.
	attacker := forwardedFor(browserFrom(t, st, "127.0.0.1"), "198.51.100.7, 203.0.113.5")
	for i := range 8 {
		attacker.login("owner@example.com", "guess "+strconv.Itoa(i))
	}
	if r := attacker.login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("attacker behind the proxy: status %d; want 429", r.Status)
	}
	logins, _ := st.Store.RecentLogins(context.Background(), 1)
	if len(logins) != 1 || logins[0].IP != "203.0.113.5" {
		t.Fatalf("login history IP = %+v; want the attacker's real address 203.0.113.5", logins)
	}
	// Not through the proxy: a direct client's X-Forwarded-For is not believed, so it cannot pose
	// as the owner's address nor escape its own throttle.
	direct := forwardedFor(browserFrom(t, st, "127.0.0.2"), "198.51.100.7")
	for i := range 6 {
		direct.login("owner@example.com", "guess "+strconv.Itoa(i))
	}
	if r := direct.login("owner@example.com", "the right password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("direct client claiming another address: status %d; want 429 (its own address is throttled)", r.Status)
	}
	// The owner at 198.51.100.7, through the proxy, is let in at once.
	owner := forwardedFor(browserFrom(t, st, "127.0.0.1"), "198.51.100.7")
	if r := owner.login("owner@example.com", "the right password"); r.Status != http.StatusSeeOther {
		t.Fatalf("owner behind the proxy: status %d; want 303", r.Status)
	}
}

// TestVerificationResendFromAStrangerDoesNotBlockTheOwner: anyone may ask to resend the
// verification link of any address, so those requests must not use up the owner's budget.
func TestVerificationResendFromAStrangerDoesNotBlockTheOwner(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUnverifiedCustomer(t, st, "fresh@example.com", "a strong password")
	stranger := browserFrom(t, st, "127.0.0.2")
	for i := range 5 {
		if r := stranger.post("/verify/resend", "/verify/sent", url.Values{"email": {u.Email}}); r.Status != http.StatusSeeOther {
			t.Fatalf("resend %d from a stranger: status %d; want the same 303 every time", i+1, r.Status)
		}
	}
	other := browserFrom(t, st, "127.0.0.3")
	if r := other.post("/verify/resend", "/verify/sent", url.Values{"email": {u.Email}}); r.Status != http.StatusSeeOther {
		t.Fatalf("resend from another address after a stranger's 5: status %d; want 303", r.Status)
	}
	owner := browserFrom(t, st, "127.0.0.2") // the owner behind the stranger's address, signed in
	if r := owner.login(u.Email, "a strong password"); r.Status != http.StatusSeeOther {
		t.Fatalf("owner login: status %d", r.Status)
	}
	ctx := context.Background()
	before, err := auditCount(ctx, st, "auth.verify_throttled")
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.post("/verify/resend", "/verify/needed", url.Values{"email": {u.Email}}); r.Status != http.StatusSeeOther {
		t.Fatalf("the signed-in owner's resend: status %d; want 303", r.Status)
	}
	after, err := auditCount(ctx, st, "auth.verify_throttled")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatal("the signed-in owner's resend was throttled by a stranger's requests")
	}
	if before == 0 {
		t.Fatal("a stranger's requests beyond the budget were not throttled")
	}
}

func auditCount(ctx context.Context, st *testenv.Stack, action string) (int, error) {
	log, err := st.Store.AuditLog(ctx, 1000)
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n, err
}

// TestAccountUnderAttackGivesNewSourcesFewerTries: once an account has collected 20 wrong
// passwords from everywhere, a new source gets 2 free tries instead of 5, while the owner's
// first try from a clean address still goes through.
func TestAccountUnderAttackGivesNewSourcesFewerTries(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "owner@example.com", "right password 1", store.RoleCustomer)
	for i := range 4 {
		b := browserFrom(t, st, "127.0.1."+strconv.Itoa(i+1))
		for j := range 5 {
			if r := b.login(u.Email, "wrong "+strconv.Itoa(j)); r.Status == http.StatusTooManyRequests || r.Status == http.StatusSeeOther {
				t.Fatalf("attacker %d, wrong password %d: status %d; want a plain refusal within the source's 5 tries", i+1, j+1, r.Status)
			}
		}
	}
	fresh := browserFrom(t, st, "127.0.2.1")
	for j := range 2 {
		if r := fresh.login(u.Email, "wrong again "+strconv.Itoa(j)); r.Status == http.StatusTooManyRequests {
			t.Fatalf("new source under attack, wrong password %d: 429; want 2 free tries", j+1)
		}
	}
	if r := fresh.login(u.Email, "wrong again 3"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("new source's 3rd try while the account is under attack: status %d; want 429", r.Status)
	}
	owner := browserFrom(t, st, "127.0.3.1")
	if r := owner.login(u.Email, "right password 1"); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("owner's first try from a clean address: status %d; want 303 to /account", r.Status)
	}
}
