package httpapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// awaitLocation waits up to 15 s for the browser to be at a URL starting with prefix.
func awaitLocation(ctx context.Context, t *testing.T, prefix string) {
	t.Helper()
	var loc string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		loc, _ = chromedp.Run(readCtx, chromedp.Location())
		cancel()
		if strings.HasPrefix(loc, prefix) {
			return
		}
	}
	t.Fatalf("the browser is at %q, want it on %s", loc, prefix)
}

// awaitTab waits up to 15 s for a tab of the browser to be at a URL starting with prefix (a
// form with target="_blank" opens its answer in a new tab).
func awaitTab(ctx context.Context, t *testing.T, prefix string) {
	t.Helper()
	var urls []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatalf("list the browser's tabs: %v", err)
		}
		urls = urls[:0]
		for _, tg := range targets {
			if tg.Type != "page" {
				continue
			}
			if strings.HasPrefix(tg.URL, prefix) {
				return
			}
			urls = append(urls, tg.URL)
		}
	}
	t.Fatalf("the browser's tabs are at %q, want one on %s", urls, prefix)
}

// TestBrowserOpenControlPanelLandsOnThePanel clicks "Open control panel" in headless Chromium:
// the POST answers with a redirect to the panel's single sign-on link on another origin (the
// VirtFusion simulator's port), and the browser must follow it there, in the new tab the form
// opens. The page's CSP
// form-action governs that redirect too; with form-action 'self' alone Chromium stays put.
func TestBrowserOpenControlPanelLandsOnThePanel(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 50 * time.Millisecond})
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "panel@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	id := createService(t, admin, cust.ID, productID(t, st, "vps-2gb"), "sso.example.com")
	waitStatus(t, st, id, "active")

	panel := strings.TrimSuffix(st.Panels.Get(panels.VirtFusion).Config.BaseURL, "/api/v1")
	if strings.HasPrefix(st.URL("/"), panel+"/") {
		t.Fatalf("the panel %s and the site %s share an origin; the test needs two", panel, st.URL("/"))
	}
	b := testenv.Chromium(t)
	logInThroughForm(b, t, st, cust.Email, "password 12345", "account-dashboard")
	chromeSteps(b, t, "open the service and click Open control panel",
		chromedp.Navigate(st.URL("/account/services/"+strconv.FormatInt(id, 10))),
		chromedp.WaitVisible(byID("panel-login")),
		chromedp.Click(byID("panel-login")),
	)
	awaitTab(b, t, panel+"/")
}

// TestBrowserOrderWithPayPalLandsOnTheApprovePage places an order paid with PayPal in headless
// Chromium: the "Place order" POST answers with a redirect to the approve page, served by the
// PayPal simulator on another origin, and the browser must get there.
func TestBrowserOrderWithPayPalLandsOnTheApprovePage(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{PayPal: true})
	cust := createUser(t, st, "paypal@example.com", "password 12345", store.RoleCustomer)
	vps := productID(t, st, "vps-2gb")

	b := testenv.Chromium(t)
	logInThroughForm(b, t, st, cust.Email, "password 12345", "account-dashboard")
	chromeSteps(b, t, "review an order paid with PayPal",
		chromedp.Navigate(st.URL("/order")),
		chromedp.WaitVisible(byID("order-catalog")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="order-product"][data-product-id="%d"] [data-testid="order-link"]`, vps))),
		chromedp.WaitVisible(byID("order-configure")),
		chromedp.SetValue(byID("order-price"), "monthly/USD"),
		chromedp.SetValue(byID("order-gateway"), "paypal"),
		chromedp.Click(byID("order-review-submit")),
		chromedp.WaitVisible(byID("order-review")),
		chromedp.Click(byID("order-place-submit")),
	)
	awaitLocation(b, t, st.PayPal.URL+"/checkoutnow")
}
