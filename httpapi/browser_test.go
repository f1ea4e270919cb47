package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/testenv"
)

// byID selects an element by its data-testid.
func byID(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// TestBrowserRegisterVerifyLoginThemeLogout walks the first customer journey in headless Chromium.
func TestBrowserRegisterVerifyLoginThemeLogout(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := testenv.Chromium(t)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	theme := func() string {
		t.Helper()
		a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "data-theme"))
		if err != nil {
			t.Fatal(err)
		}
		return a.Value
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	screenshot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		testenv.SaveArtifact(t, name, b)
	}

	step("register",
		chromedp.Navigate(st.URL("/register")),
		chromedp.WaitVisible(byID("register-name")),
		chromedp.SendKeys(byID("register-name"), "Browser Customer"),
		chromedp.SendKeys(byID("register-email"), "browser@example.com"),
		chromedp.SendKeys(byID("register-password"), "browser password"),
		chromedp.SendKeys(byID("register-password-confirm"), "browser password"),
		chromedp.Click(byID("register-submit")),
		chromedp.WaitVisible(byID("verify-sent")),
	)
	link := mailedLink(t, st, "browser@example.com", "Confirm your email")

	step("follow the verification link", chromedp.Navigate(link), chromedp.WaitVisible(byID("verify-result")))
	if got := text(byID("verify-result")); !strings.Contains(got, "confirmed") {
		t.Fatalf("verification page says %q; want a confirmation", got)
	}

	// Log out the session registration opened, then log in as a returning customer would.
	step("log out after registering",
		chromedp.Navigate(st.URL("/account")),
		chromedp.WaitVisible(byID("logout")),
		chromedp.Click(byID("logout")),
		chromedp.WaitVisible(byID("login-email")),
	)
	step("log in",
		chromedp.SendKeys(byID("login-email"), "browser@example.com"),
		chromedp.SendKeys(byID("login-password"), "browser password"),
		chromedp.Click(byID("login-submit")),
		chromedp.WaitVisible(byID("account-dashboard")),
	)
	if got := text(byID("account-dashboard")); !strings.Contains(got, "Browser Customer") {
		t.Fatalf("dashboard %q does not greet the customer", got)
	}
	if got := theme(); got != "light" {
		t.Fatalf("initial theme %q; want light", got)
	}
	screenshot("account-dashboard-light.png")

	step("toggle the theme",
		chromedp.Click(byID("theme-toggle")),
		chromedp.WaitVisible(chromedp.CSS(`html[data-theme="dark"] body`)),
	)
	// The toggle saves in the background; wait for the server to have it, then reload: the
	// server must remember the choice.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if u, _ := st.Store.UserByEmail(context.Background(), "browser@example.com"); u.Theme == "dark" {
			break
		}
	}
	step("reload", chromedp.Reload(), chromedp.WaitVisible(byID("account-dashboard")))
	if got := theme(); got != "dark" {
		t.Fatalf("theme after toggle and reload = %q; want dark", got)
	}
	screenshot("account-dashboard-dark.png")
	u, _ := st.Store.UserByEmail(context.Background(), "browser@example.com")
	if u.Theme != "dark" || !u.Verified() {
		t.Fatalf("stored user: theme %q verified %v; want dark and verified", u.Theme, u.Verified())
	}

	step("log out", chromedp.Click(byID("logout")), chromedp.WaitVisible(byID("login-email")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/login") {
		t.Fatalf("after logout the browser is at %q (%v); want the login page", loc, err)
	}
	step("portal after logout", chromedp.Navigate(st.URL("/account")), chromedp.WaitVisible(byID("login-email")))

	// At 360 px wide nothing may scroll sideways.
	for _, p := range []string{"/", "/login", "/register"} {
		step("narrow "+p, chromedp.EmulateViewport(360, 780), chromedp.Navigate(st.URL(p)), chromedp.WaitVisible(chromedp.CSS("footer")))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Fatalf("%s scrolls horizontally at 360 px", p)
		}
	}
}
