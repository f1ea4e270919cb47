package httpapi_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserPaletteFindsCustomerAndImpersonationRoundTrip: staff open the palette with Ctrl+K,
// type part of a customer's email, press Enter, land on the customer page, log in as the
// customer, see the banner and return to admin, all with the keyboard and plain forms.
func TestBrowserPaletteFindsCustomerAndImpersonationRoundTrip(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	target := createUser(t, st, "marguerite.okafor@harbour-host.test", "password 12345", store.RoleCustomer)
	createUser(t, st, "someone.else@example.com", "password 12345", store.RoleCustomer)

	b := testenv.Chromium(t)
	logInThroughForm(b, t, st, "sup@example.com", "password 12345", "admin-dashboard")
	chromeSteps(b, t, "open the palette with Ctrl+K and search by part of the email",
		chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.WaitVisible(byID("palette-input")),
		chromedp.SendKeys(byID("palette-input"), "harbour-ho"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="palette-option"][data-kind="customer"][href="/admin/customers/`+itoa(target.ID)+`"]`)),
	)
	screenshotTo(b, t, "palette-customer.png")
	chromeSteps(b, t, "press Enter on the customer",
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(byID("admin-customer")),
	)
	if loc := chromeValue(b, t, "location", chromedp.Location()); !strings.HasSuffix(loc, "/admin/customers/"+itoa(target.ID)) {
		t.Fatalf("Enter in the palette went to %s", loc)
	}
	screenshotTo(b, t, "admin-customer.png")
	chromeSteps(b, t, "log in as the customer",
		chromedp.Click(byID("impersonate")),
		chromedp.WaitVisible(byID("impersonation-banner")),
	)
	if banner := chromeValue(b, t, "banner", chromedp.Text(byID("impersonation-banner"))); !strings.Contains(banner, "marguerite.okafor@harbour-host.test") {
		t.Fatalf("the banner does not name the customer: %q", banner)
	}
	chromeSteps(b, t, "return to admin",
		chromedp.Click(byID("impersonation-exit")),
		chromedp.WaitVisible(byID("admin-dashboard")),
	)
}
