package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// createOverdueInvoice issues an invoice of amount minor units of currency that fell due a week ago.
func createOverdueInvoice(t *testing.T, st *testenv.Stack, customerID int64, amount int64, currency, key string) store.Invoice {
	t.Helper()
	m, err := billing.New(amount, currency)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.Store.CreateInvoice(context.Background(), store.NewInvoice{
		CustomerID: customerID, Currency: currency, DueAt: time.Now().Add(-7 * 24 * time.Hour),
		Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "Dedicated server (monthly)", Amount: m}},
		IdempotencyKey: key, CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestBrowserDashboardChartTextAndCurrencySelectAreReadable opens the admin dashboard at
// 1280 px with figures in two currencies and checks what a person sees: every chart label is at
// least 12 px high as rendered (the SVG is scaled to its card, so its font size times the
// scale), and the currency select looks like the other form controls (the same corner radius,
// border, background and height as a select in a form field).
func TestBrowserDashboardChartTextAndCurrencySelectAreReadable(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	cust := createUser(t, st, "two-currencies@example.com", "password 12345", store.RoleCustomer)
	createOverdueInvoice(t, st, cust.ID, 7022868, "USD", "ui-usd")
	createOverdueInvoice(t, st, cust.ID, 120000, "EUR", "ui-eur")
	createUser(t, st, "charts@example.com", "password 12345", store.RoleAdmin)
	b := testenv.Chromium(t)
	chromeSteps(b, t, "set a 1280 px window", chromedp.EmulateViewport(1280, 900))
	logInThroughForm(b, t, st, "charts@example.com", "password 12345", "admin-dashboard")
	chromeSteps(b, t, "wait for the charts", chromedp.WaitVisible(byID("analytics-metrics")), chromedp.WaitVisible(byID("currency-form")))

	type label struct {
		Chart, Text string
		Px          float64
	}
	labels := chromeValue(b, t, "chart label sizes", chromedp.Evaluate[[]label](`Array.from(document.querySelectorAll("svg.chart")).flatMap(svg => {
		const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
		return Array.from(svg.querySelectorAll("text")).map(t => ({Chart: svg.id, Text: t.textContent,
			Px: parseFloat(getComputedStyle(t).fontSize) * scale}));
	})`))
	if len(labels) == 0 {
		t.Fatal("no chart text on the dashboard")
	}
	for _, l := range labels {
		if l.Px < 12 {
			t.Errorf("chart %s: label %q is %.1f px high as rendered, want at least 12", l.Chart, l.Text, l.Px)
		}
	}

	type look struct{ Radius, Border, Background, Font string }
	styleOf := `(sel => { const s = getComputedStyle(sel); return {Radius: s.borderRadius, Border: s.borderTopColor + " " + s.borderTopWidth,
		Background: s.backgroundColor, Font: s.fontSize}; })`
	got := chromeValue(b, t, "currency select style", chromedp.Evaluate[look](styleOf+`(document.querySelector('[data-testid="currency-form"] select'))`))
	// A select in a form field, added to the page only to read its style.
	want := chromeValue(b, t, "form field select style", chromedp.Evaluate[look](`(() => {
		const f = document.createElement("div"); f.className = "field"; const s = document.createElement("select"); f.append(s);
		document.querySelector("main").append(f); const look = `+styleOf+`(s); f.remove(); return look; })()`))
	if got != want {
		t.Errorf("currency select looks like %+v, a form field's select like %+v", got, want)
	}
	height := chromeValue(b, t, "currency select height", chromedp.Evaluate[float64](`document.querySelector('[data-testid="currency-form"] select').getBoundingClientRect().height`))
	if height < 34 {
		t.Errorf("currency select is %.0f px high, want at least 34 like the other controls", height)
	}
	screenshotTo(b, t, "dashboard-1280.png")
}

// TestBrowserPortalNavOneLineWideAndBehindAMenuOnAPhone checks the portal header as a person
// sees it: at 1280 px every account link sits on one line in a header of one row; at 375 px the
// links are folded behind a visible Menu button, the header stays one row high, and the button
// opens them.
func TestBrowserPortalNavOneLineWideAndBehindAMenuOnAPhone(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	// An administrator with a long name: the most links and the longest header there is.
	h, err := auth.HashPassword("password 12345", auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: "nav@example.com", Name: "Maximilian Alexander Featherstonehaugh",
		PasswordHash: h, Role: store.RoleAdmin, Verified: true}); err != nil {
		t.Fatal(err)
	}
	b := testenv.Chromium(t)
	chromeSteps(b, t, "set a 1280 px window", chromedp.EmulateViewport(1280, 900))
	logInThroughForm(b, t, st, "nav@example.com", "password 12345", "admin-dashboard")
	chromeSteps(b, t, "open the portal", chromedp.Navigate(st.URL("/account")), chromedp.WaitVisible(byID("account-dashboard")))

	type box struct {
		Top, Bottom, Left, Right, Width, Height float64
		Visible                                 bool // checkVisibility: rendered, not in a closed details
	}
	type header struct {
		Header box
		Links  []box
		Toggle box
	}
	measure := func(what string) header {
		t.Helper()
		return chromeValue(b, t, what, chromedp.Evaluate[header](`(() => {
			const r = e => { if (!e) return {}; const b = e.getBoundingClientRect();
				return {Top: b.top, Bottom: b.bottom, Left: b.left, Right: b.right, Width: b.width, Height: b.height, Visible: e.checkVisibility()}; };
			return {Header: r(document.querySelector(".app-header")),
				Links: Array.from(document.querySelectorAll(".app-nav a")).map(r),
				Toggle: r(document.querySelector('[data-testid="nav-toggle"]'))};
		})()`))
	}

	wide := measure("header at 1280 px")
	if len(wide.Links) < 7 {
		t.Fatalf("%d account links, want at least 7 (with Admin)", len(wide.Links))
	}
	for i, l := range wide.Links {
		if !l.Visible || l.Width == 0 || l.Height == 0 {
			t.Errorf("at 1280 px link %d is not shown", i)
		}
		if l.Top != wide.Links[0].Top {
			t.Errorf("at 1280 px link %d starts at y=%.0f, the first at y=%.0f: the navigation wraps", i, l.Top, wide.Links[0].Top)
		}
	}
	if wide.Header.Height > 72 {
		t.Errorf("at 1280 px the header is %.0f px high, want one row (at most 72)", wide.Header.Height)
	}
	if wide.Toggle.Visible {
		t.Errorf("at 1280 px the Menu button is shown (%.0f px wide)", wide.Toggle.Width)
	}
	screenshotTo(b, t, "portal-nav-1280.png")

	chromeSteps(b, t, "narrow to 375 px", chromedp.EmulateViewport(375, 800), chromedp.Navigate(st.URL("/account")), chromedp.WaitVisible(byID("account-dashboard")))
	phone := measure("header at 375 px")
	if !phone.Toggle.Visible || phone.Toggle.Width == 0 || phone.Toggle.Height == 0 || phone.Toggle.Right > 375 {
		t.Fatalf("at 375 px the Menu button is not shown within the screen: %+v", phone.Toggle)
	}
	if phone.Header.Height > 72 {
		t.Errorf("at 375 px the header is %.0f px high, want one row (at most 72)", phone.Header.Height)
	}
	for i, l := range phone.Links {
		if l.Visible {
			t.Errorf("at 375 px link %d is shown before the menu is opened", i)
		}
	}
	overflow := chromeValue(b, t, "sideways scroll", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		t.Error("the portal scrolls sideways at 375 px")
	}
	screenshotTo(b, t, "portal-nav-375.png")

	chromeSteps(b, t, "open the menu", chromedp.Click(byID("nav-toggle")), chromedp.WaitVisible(byID("nav-invoices")))
	open := measure("open menu at 375 px")
	for i, l := range open.Links {
		if !l.Visible || l.Width == 0 || l.Left < 0 || l.Right > 375 {
			t.Errorf("with the menu open, link %d is not within the screen: %+v", i, l)
		}
	}
	screenshotTo(b, t, "portal-nav-375-open.png")
	chromeSteps(b, t, "follow a link from the menu", chromedp.Click(byID("nav-invoices")), chromedp.WaitVisible(byID("nav-toggle")))
	if loc := chromeValue(b, t, "location", chromedp.Location()); !strings.HasSuffix(loc, "/account/invoices") {
		t.Errorf("the Invoices link of the menu went to %s", loc)
	}
}
