package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// browser is an HTTP client with a cookie jar that does not follow redirects, so tests see them.
type browser struct {
	t     *testing.T
	st    *testenv.Stack
	c     *http.Client
	agent string
}

func newBrowser(t *testing.T, st *testenv.Stack) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, st: st, agent: "journey-test/1.0", c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	req.Header.Set("User-Agent", b.agent)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: string(body), Location: res.Header.Get("Location"), Header: res.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.st.URL(path)
	}
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads page and returns the CSRF token of its forms.
func (b *browser) csrf(page string) string {
	b.t.Helper()
	r := b.get(page)
	m := csrfField.FindStringSubmatch(r.Body)
	if m == nil {
		b.t.Fatalf("no csrf field on %s (status %d)", page, r.Status)
	}
	return m[1]
}

// post submits a form to path, adding the CSRF token read from formPage (skipped when formPage is "").
func (b *browser) post(path, formPage string, form url.Values) response {
	b.t.Helper()
	if formPage != "" {
		form.Set("csrf", b.csrf(formPage))
	}
	req, _ := http.NewRequest(http.MethodPost, b.st.URL(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(email, password string) response {
	b.t.Helper()
	return b.post("/login", "/login", url.Values{"email": {email}, "password": {password}})
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.st.Server.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// mailedLink waits for a message to `to` whose subject contains subject and returns the first link in it.
func mailedLink(t *testing.T, st *testenv.Stack, to, subject string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := st.Sink.Wait(ctx, func(m sink.Message) bool {
		return strings.Contains(m.Subject, subject) && len(m.To) > 0 && strings.EqualFold(m.To[0], to)
	})
	if err != nil {
		t.Fatalf("no mail %q to %s: %v", subject, to, err)
	}
	link := linkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("mail %q has no link:\n%s", m.Subject, m.Text)
	}
	return link
}

// createUser makes a verified account directly in the store.
func createUser(t *testing.T, st *testenv.Stack, email, password, role string) store.User {
	t.Helper()
	h, err := auth.HashPassword(password, auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Test " + role, PasswordHash: h, Role: role, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
