package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserAdminProvisionsAndCustomerSeesSuspension walks the staff side of a hand-made
// service in headless Chromium (create it, watch it become active, suspend it) and then the
// customer's view of the suspended service in a second browser.
func TestBrowserAdminProvisionsAndCustomerSeesSuspension(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "buyer@example.com", "password 12345", store.RoleCustomer)

	admin := testenv.Chromium(t)
	logInThroughForm(admin, t, st, "ops@example.com", "password 12345", "admin-dashboard")
	chromeSteps(admin, t, "open the create-service form",
		chromedp.Navigate(st.URL("/admin/services")),
		chromedp.WaitVisible(byID("admin-services")),
		chromedp.Click(byID("create-service")),
		chromedp.WaitVisible(byID("admin-service-new")),
		chromedp.SendKeys(byID("service-customer-search"), "buyer@"),
		chromedp.Click(byID("service-customer-search-submit")),
		chromedp.WaitReady(chromedp.CSS(`[data-testid="service-customer"] option[value="`+strconv.FormatInt(cust.ID, 10)+`"]`)),
	)
	customerValue := optionValue(admin, t, "service-customer", "<"+cust.Email+">")
	productValue := optionValue(admin, t, "service-product", "VPS 2 GB (")
	if want := strconv.FormatInt(cust.ID, 10); customerValue != want {
		t.Fatalf("customer select offers %s as %q, want the customer's id %s", cust.Email, customerValue, want)
	}
	if want := strconv.FormatInt(productID(t, st, "vps-2gb"), 10); productValue != want {
		t.Fatalf("product select offers VPS 2 GB as %q, want the product's id %s", productValue, want)
	}
	chromeSteps(admin, t, "fill in and submit the create-service form",
		chromedp.SetValue(byID("service-customer"), customerValue),
		chromedp.SetValue(byID("service-product"), productValue),
		chromedp.SendKeys(byID("service-hostname"), "web1.example.com"),
		chromedp.Click(byID("service-create-submit")),
		chromedp.WaitVisible(byID("admin-service")),
	)
	loc := chromeValue(admin, t, "location after creating", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(u.Path, "/admin/services/"), 10, 64)
	if err != nil || !strings.HasPrefix(u.Path, "/admin/services/") {
		t.Fatalf("after submitting the form the browser is at %q; want /admin/services/<id>", loc)
	}

	// The page refreshes itself while provisioning; once active it stops, so it is read as is.
	awaitBadge(admin, t, "Active", func() {})
	screenshotTo(admin, t, "admin-service-active.png")

	chromeSteps(admin, t, "suspend the service",
		chromedp.SendKeys(byID("suspend-reason"), "overdue invoice"),
		chromedp.Click(byID("action-suspend")),
		chromedp.WaitVisible(byID("flash")),
	)
	awaitBadge(admin, t, "Suspended", func() {
		chromeSteps(admin, t, "reload the service page", chromedp.Reload(), chromedp.WaitVisible(byID("service-status")))
	})

	customer := testenv.Chromium(t)
	logInThroughForm(customer, t, st, cust.Email, "password 12345", "account-dashboard")
	item := chromedp.CSS(fmt.Sprintf(`[data-testid="service-item"][data-service-id="%d"]`, id))
	if got := chromeValue(customer, t, "dashboard entry of the service", chromedp.Text(item)); !strings.Contains(got, "Suspended") {
		t.Fatalf("dashboard lists service %d as %q; want it marked suspended", id, got)
	}
	chromeSteps(customer, t, "open the service from the dashboard",
		chromedp.Click(chromedp.CSS(string(item)+` [data-testid="service-link"]`)),
		chromedp.WaitVisible(byID("account-service")),
	)
	if got := strings.TrimSpace(chromeValue(customer, t, "status badge", chromedp.Text(byID("service-status")))); got != "Suspended" {
		t.Fatalf("customer's service page shows status %q, want suspended", got)
	}
	waitCtx, cancel := context.WithTimeout(customer, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(byID("suspended-notice"))); err != nil {
		t.Fatalf("customer's page of suspended service %d shows no suspended notice: %v", id, err)
	}
	screenshotTo(customer, t, "account-service-suspended.png")

	if n := st.Panels.Get(panels.VirtFusion).Sim.ServicesFor(strconv.FormatInt(id, 10)); n != 1 {
		t.Fatalf("servers on the VirtFusion simulator for service %d: %d, want exactly 1", id, n)
	}
}

// logInThroughForm logs in on /login as a person would and waits for the landing page testid.
func logInThroughForm(ctx context.Context, t *testing.T, st *testenv.Stack, email, password, landing string) {
	t.Helper()
	chromeSteps(ctx, t, "log in as "+email,
		chromedp.Navigate(st.URL("/login")),
		chromedp.WaitVisible(byID("login-email")),
		chromedp.SendKeys(byID("login-email"), email),
		chromedp.SendKeys(byID("login-password"), password),
		chromedp.Click(byID("login-submit")),
		chromedp.WaitVisible(byID(landing)),
	)
}

func chromeSteps(ctx context.Context, t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func chromeValue[T any](ctx context.Context, t *testing.T, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// optionValue returns the value of the option of the select (by testid) whose label contains label.
func optionValue(ctx context.Context, t *testing.T, testid, label string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const o = Array.from(document.querySelectorAll('[data-testid=%s] option')).find(o => o.textContent.includes(%s));
		return o ? o.value : "";
	})()`, strconv.Quote(testid), strconv.Quote(label))
	v := chromeValue(ctx, t, "options of "+testid, chromedp.Evaluate[string](js))
	if v == "" {
		t.Fatalf("select %s has no option labelled %q", testid, label)
	}
	return v
}

// awaitBadge reads the service-status badge until it says want, calling between each read
// (to reload the page, say); it gives up after 60 s. A read may land while the page is
// navigating, so a failed read is only remembered.
func awaitBadge(ctx context.Context, t *testing.T, want string, between func()) {
	t.Helper()
	const js = `(document.querySelector('[data-testid="service-status"]') || {textContent: ""}).textContent.trim()`
	var got string
	var lastErr error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, lastErr = chromedp.Run(readCtx, chromedp.Evaluate[string](js))
		cancel()
		if lastErr == nil && got == want {
			return
		}
		time.Sleep(250 * time.Millisecond)
		between()
	}
	t.Fatalf("status badge reads %q after 60 s (last read error: %v), want %q", got, lastErr, want)
}

func screenshotTo(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	b := chromeValue(ctx, t, "screenshot "+name, chromedp.FullScreenshot(100))
	t.Logf("screenshot: %s", testenv.SaveArtifact(t, name, b))
}
