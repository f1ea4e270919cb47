package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
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

	// A second tab of the same browser (same cookie jar) makes the early requests.
	early, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(early, chromedp.Navigate(st.URL("/static/css/app.css"))); err != nil {
		t.Fatalf("open the site in the second tab: %v", err)
	}
	paused := make(chan fetch.RequestID, 8)
	if err := chromedp.Listen(early, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e.RequestID
		}
	}); err != nil {
		t.Fatal(err)
	}
	hold := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/favicon.ico*", RequestStage: fetch.RequestStageResponse},
			{URLPattern: "*/missing-icon.png*", RequestStage: fetch.RequestStageResponse},
		}})
		return err
	})
	if err := chromedp.Do(early, hold, chromedp.Evaluate[chromedp.Void](
		`window.answers = Promise.all([fetch("/favicon.ico"), fetch("/missing-icon.png")]).then(rs => rs.map(r => r.status))`)); err != nil {
		t.Fatalf("ask for the icons: %v", err)
	}
	var held []fetch.RequestID
	for len(held) < 2 {
		select {
		case id := <-paused:
			held = append(held, id)
		case <-time.After(20 * time.Second):
			t.Fatalf("the icon requests were not held (%d of 2)", len(held))
		}
	}

	// The login page loads (and sets the CSRF cookie) while those answers are still on their way.
	if err := chromedp.Do(ctx, chromedp.Navigate(st.URL("/login")), chromedp.WaitVisible(byID("login-email"))); err != nil {
		t.Fatalf("load the login page: %v", err)
	}
	release := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, id := range held {
			if _, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := chromedp.Do(early, release); err != nil {
		t.Fatalf("release the icon answers: %v", err)
	}
	statuses, err := chromedp.Run(early, chromedp.Evaluate[[]int](`window.answers`, chromedp.EvalAwaitPromise))
	if err != nil || len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 404 {
		t.Fatalf("icon answers %v (%v); want 200 for /favicon.ico and 404 for the missing file", statuses, err)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(byID("login-email"), u.Email),
		chromedp.SendKeys(byID("login-password"), "password 12345"),
		chromedp.Click(byID("login-submit")),
		chromedp.WaitReady(chromedp.CSS("main")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.HasSuffix(loc, "/account") {
		t.Fatalf("after logging in the browser is at %q (%v); want /account. The page says:\n%s", loc, err, body)
	}
}
