package httpapi_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/analytics"
	"github.com/ezscale/billing/analytics/analyticstest"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// metric returns the value shown on a dashboard card.
func metric(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="metric-` + regexp.QuoteMeta(id) + `-value">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s card on the dashboard", id)
	}
	return html.UnescapeString(m[1])
}

// chartSVG returns the SVG of one dashboard chart.
func chartSVG(t *testing.T, body, id string) string {
	t.Helper()
	at := strings.Index(body, `<svg class="chart chart-`)
	for at >= 0 && !strings.HasPrefix(body[at+strings.Index(body[at:], " id="):], ` id="`+id+`"`) {
		next := strings.Index(body[at+1:], `<svg class="chart chart-`)
		if next < 0 {
			at = -1
			break
		}
		at += 1 + next
	}
	if at < 0 {
		t.Fatalf("no chart %s on the dashboard", id)
	}
	return body[at : at+strings.Index(body[at:], "</svg>")]
}

// TestDashboardShowsTheBooksMetricsAndCharts renders /admin over the analytics book (built this
// month, so on the 1st nothing was active: all MRR is new, churn has no base) and a stored
// snapshot for yesterday, and checks the cards and the charts' data points.
func TestDashboardShowsTheBooksMetricsAndCharts(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	analyticstest.New(t, st.Store)
	ctx := context.Background()
	yesterday := analytics.Day(time.Now()).AddDate(0, 0, -1)
	if err := st.Store.SaveMetricSnapshots(ctx, yesterday, []analytics.Snapshot{{Day: yesterday, Currency: "USD", MRR: 4000}}); err != nil {
		t.Fatal(err)
	}
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	b := newBrowser(t, st)
	b.login("boss@example.com", "password 12345")
	res := b.get("/admin")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /admin: %d", res.Status)
	}
	body := res.Body
	for id, want := range map[string]string{
		"mrr":                "USD 48.33", // A 25.00 + B 15.00 + E 8.33
		"arr":                "USD 579.96",
		"active-customers":   "5", // A B D E F, both currencies
		"net-mrr-movement":   "+USD 48.33",
		"customer-churn":     "—", // nobody was active on the 1st
		"revenue-churn":      "—",
		"overdue-invoices":   "USD 60.00", // G 30.00 + H 50.00 − 20.00
		"services-attention": "0",
		"movement-new":       "USD 48.33",
		"movement-churned":   "USD 0.00", // C came and went within the month: 0 → 0
	} {
		if got := metric(t, body, id); got != want {
			t.Errorf("card %s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(body, "2 unpaid past due") {
		t.Error("the overdue card does not say 2 invoices")
	}
	for id, points := range map[string][]string{
		"chart-revenue-day":   {"USD 365.00"}, // 390.00 paid − 25.00 refunded, today
		"chart-revenue-month": {"USD 365.00"},
		"chart-revenue-type":  {"VPS: USD 270.00", "Game servers: USD 95.00"},
		"chart-popular-plans": {"Analytics VPS A (VPS): 3 active subscriptions", "Analytics Game A (Game servers): 1 active subscriptions"},
		"chart-mrr-trend":     {yesterday.Format(time.DateOnly) + ": USD 40.00", "Now (live): USD 48.33"},
	} {
		svg := chartSVG(t, body, id)
		for _, p := range points {
			if !strings.Contains(svg, "<title>") || !strings.Contains(svg, p) {
				t.Errorf("chart %s has no data point %q", id, p)
			}
		}
		if n := strings.Count(svg, "chart-point"); n == 0 {
			t.Errorf("chart %s has no data points", id)
		}
	}
	if n := strings.Count(chartSVG(t, body, "chart-revenue-day"), "chart-point"); n != 30 {
		t.Errorf("revenue by day has %d points, want 30", n)
	}
	if n := strings.Count(chartSVG(t, body, "chart-revenue-month"), "chart-point"); n != 24 {
		t.Errorf("revenue by month has %d bars, want 24", n)
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<style") {
		t.Error("the dashboard has inline styles; the CSP forbids them")
	}
	if !strings.Contains(body, `data-testid="currency-form"`) || !strings.Contains(body, "docs/analytics.md#mrr") {
		t.Error("no currency selector (USD and EUR) or no link to the MRR definition")
	}

	eur := b.get("/admin?currency=eur").Body
	if got := metric(t, eur, "mrr"); got != "EUR 14.00" {
		t.Errorf("EUR MRR = %q, want EUR 14.00 (D 9.00 + F 5.00; never added to USD)", got)
	}
	if got := metric(t, eur, "overdue-invoices"); got != "EUR 0.00" {
		t.Errorf("EUR overdue = %q, want EUR 0.00", got)
	}
}

func TestBillingAndSupportStaffSeeTheDashboard(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	analyticstest.New(t, st.Store)
	for _, role := range []string{store.RoleBilling, store.RoleSupport} {
		email := role + "@example.com"
		createUser(t, st, email, "password 12345", role)
		b := newBrowser(t, st)
		b.login(email, "password 12345")
		res := b.get("/admin")
		if res.Status != http.StatusOK || metric(t, res.Body, "mrr") != "USD 48.33" || !strings.Contains(res.Body, `data-testid="chart-popular-plans"`) {
			t.Errorf("%s: GET /admin = %d, want the dashboard with MRR USD 48.33 and its charts", role, res.Status)
		}
	}
	createUser(t, st, "cust@example.com", "password 12345", store.RoleCustomer)
	b := newBrowser(t, st)
	b.login("cust@example.com", "password 12345")
	if res := b.get("/admin"); res.Status != http.StatusForbidden {
		t.Errorf("a customer got /admin with %d, want 403", res.Status)
	}
}
