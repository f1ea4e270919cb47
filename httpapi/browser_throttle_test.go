package httpapi_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserThrottleAndImpersonationRefusalsSayWhy: a person who keeps typing a wrong password
// is told how long to wait, and a support agent signed in as a customer who tries to save the
// customer's profile is told their role does not allow it; the profile page itself stays open.
func TestBrowserThrottleAndImpersonationRefusalsSayWhy(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)

	b := testenv.Chromium(t)
	for i := range 5 {
		chromeSteps(b, t, "wrong password "+strconv.Itoa(i+1),
			chromedp.Navigate(st.URL("/login")),
			chromedp.WaitVisible(byID("login-email")),
			chromedp.SendKeys(byID("login-email"), ana.Email),
			chromedp.SendKeys(byID("login-password"), "not it "+strconv.Itoa(i)),
			chromedp.Click(byID("login-submit")),
			chromedp.WaitVisible(byID("flash-error")),
		)
	}
	chromeSteps(b, t, "sixth try",
		chromedp.Navigate(st.URL("/login")),
		chromedp.WaitVisible(byID("login-email")),
		chromedp.SendKeys(byID("login-email"), ana.Email),
		chromedp.SendKeys(byID("login-password"), "password 12345"),
		chromedp.Click(byID("login-submit")),
		chromedp.WaitVisible(byID("error-page")),
	)
	if text := chromeValue(b, t, "throttle page", chromedp.Text(byID("error-page"))); !strings.Contains(text, "Too many attempts") || !regexp.MustCompile(`try again in [0-9]+ seconds`).MatchString(text) {
		t.Fatalf("the throttled login page says %q; want how long to wait", text)
	}
	screenshotTo(b, t, "login-throttled.png")

	s := testenv.Chromium(t)
	logInThroughForm(s, t, st, "sup@example.com", "password 12345", "admin-dashboard")
	chromeSteps(s, t, "sign in as the customer and open the profile",
		chromedp.Navigate(st.URL("/admin/customers/"+itoa(ana.ID))),
		chromedp.WaitVisible(byID("impersonate")),
		chromedp.Click(byID("impersonate")),
		chromedp.WaitVisible(byID("impersonation-banner")),
		chromedp.Navigate(st.URL("/account/profile")),
		chromedp.WaitVisible(byID("profile-submit")),
		chromedp.Click(byID("profile-submit")),
		chromedp.WaitVisible(byID("error-page")),
	)
	if text := chromeValue(s, t, "refusal page", chromedp.Text(byID("error-page"))); !strings.Contains(text, "Not allowed for your role") || !strings.Contains(text, "your own staff role allows") {
		t.Fatalf("the refused profile save says %q; want the role reason", text)
	}
	screenshotTo(s, t, "impersonated-write-refused.png")
}
