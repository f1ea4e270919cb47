package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserFreshLoginSurvivesIconRequests replays, deterministically, the race that failed
// about one fresh login in fifteen: a fresh browser asks for /favicon.ico (and a missing file)
// before it has a CSRF cookie, and those answers arrive after the login page's. They must not
// replace the cookie the login form's token was made from, so the login still succeeds.
func TestBrowserFreshLoginSurvivesIconRequests(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	u := createUser(t, st, "fresh@example.com", "password 12345", store.RoleCustomer)
	ctx := testenv.Chromium(t)

	// The server holds the icon requests (before any of its code runs) until the login page
	// has loaded, as a slow network would: they reach it without a cookie and are answered last.
	site := st.Server.Config.Handler
	arrived := make(chan string, 8)
	release := make(chan struct{})
	st.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" || r.URL.Path == "/missing-icon.png" {
			arrived <- r.URL.Path + " cookie=" + r.Header.Get("Cookie")
			<-release
		}
		site.ServeHTTP(w, r)
	})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open()

	// A second tab of the same browser (same cookie jar) makes the early requests.
	early, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(early, chromedp.Navigate(st.URL("/static/css/app.css")), chromedp.Evaluate[chromedp.Void](
		`window.answers = Promise.all([fetch("/favicon.ico"), fetch("/missing-icon.png")]).then(rs => rs.map(r => r.status))`)); err != nil {
		t.Fatalf("ask for the icons: %v", err)
	}
	for range 2 {
		select {
		case got := <-arrived:
			if strings.Contains(got, "ezscale_csrf") {
				t.Fatalf("the early request %q already had a CSRF cookie", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the icon requests did not reach the server")
		}
	}

	// The login page loads (and sets the CSRF cookie) while those answers are still on their way.
	if err := chromedp.Do(ctx, chromedp.Navigate(st.URL("/login")), chromedp.WaitVisible(byID("login-email"))); err != nil {
		t.Fatalf("load the login page: %v", err)
	}
	open()
	statuses, err := chromedp.Run(early, chromedp.Evaluate[[]int](`window.answers`, chromedp.EvalAwaitPromise))
	if err != nil || len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 404 {
		t.Fatalf("icon answers %v (%v); want 200 for /favicon.ico and 404 for the missing file", statuses, err)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(byID("login-email"), u.Email),
		chromedp.SendKeys(byID("login-password"), "password 12345"),
		chromedp.Click(byID("login-submit")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	wait, cancelWait := context.WithTimeout(ctx, 15*time.Second)
	defer cancelWait()
	if err := chromedp.Do(wait, chromedp.WaitVisible(byID("account-dashboard"))); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("the login did not reach the account (%v); the browser is at %q and the page says:\n%s", err, loc, body)
	}
}
