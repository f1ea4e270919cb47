package httpapi_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserDashboardChartsInLightAndDark seeds a small demo business, opens the admin
// dashboard in Chromium, checks that every chart drew data points, and saves screenshots of the
// dashboard in the light and the dark theme (test-artifacts/dashboard-light.png, -dark.png).
func TestBrowserDashboardChartsInLightAndDark(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	if _, err := seed.Business(ctx, slog.New(slog.DiscardHandler), st.Store, seed.BusinessOptions{Scale: 0.2, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	createUser(t, st, "charts@example.com", "password 12345", store.RoleAdmin)
	b := testenv.Chromium(t)
	chromeSteps(b, t, "set a desktop window", chromedp.EmulateViewport(1366, 900))
	logInThroughForm(b, t, st, "charts@example.com", "password 12345", "admin-dashboard")
	chromeSteps(b, t, "wait for the charts", chromedp.WaitVisible(byID("analytics-metrics")))

	points := chromeValue(b, t, "chart points", chromedp.Evaluate[map[string]int](`Object.fromEntries(Array.from(
		document.querySelectorAll('[data-testid^="chart-card-"]')).map(c => [c.dataset.testid, c.querySelectorAll(".chart-point").length]))`))
	if len(points) < 4 {
		t.Fatalf("dashboard shows %d charts, want at least 4: %v", len(points), points)
	}
	for chart, n := range points {
		if n == 0 {
			t.Errorf("chart %s has no data points", chart)
		}
	}
	mrr := chromeValue(b, t, "MRR card", chromedp.Text(byID("metric-mrr-value")))
	if mrr == "" || mrr == "—" {
		t.Fatalf("MRR card reads %q", mrr)
	}
	screenshotTo(b, t, "dashboard-light.png")
	chromeSteps(b, t, "switch to the dark theme",
		chromedp.Click(byID("theme-toggle")),
		chromedp.WaitVisible(chromedp.CSS(`html[data-theme="dark"] body`)),
		chromedp.WaitVisible(byID("analytics-metrics")),
	)
	screenshotTo(b, t, "dashboard-dark.png")
}
