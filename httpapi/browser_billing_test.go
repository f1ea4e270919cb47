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

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestBrowserCustomerOrdersPaysAndAdminRefunds walks the billing spine in headless Chromium: a
// customer orders a VPS from the catalog, pays with 4242 on the sandbox's hosted page, sees the
// invoice paid (and downloads its PDF) and the service active; then staff refund the invoice.
func TestBrowserCustomerOrdersPaysAndAdminRefunds(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 50 * time.Millisecond})
	createUser(t, st, "money@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "orderer@example.com", "password 12345", store.RoleCustomer)
	vps := productID(t, st, "vps-2gb")

	b := testenv.Chromium(t)
	logInThroughForm(b, t, st, cust.Email, "password 12345", "account-dashboard")
	chromeSteps(b, t, "choose the VPS in the catalog",
		chromedp.Navigate(st.URL("/order")),
		chromedp.WaitVisible(byID("order-catalog")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="order-product"][data-product-id="%d"] [data-testid="order-link"]`, vps))),
		chromedp.WaitVisible(byID("order-configure")),
		chromedp.SetValue(byID("order-price"), "monthly/USD"),
		chromedp.SetValue(byID("order-gateway"), "sandbox"),
		chromedp.Click(byID("order-review-submit")),
		chromedp.WaitVisible(byID("order-review")),
	)
	total := strings.TrimSpace(chromeValue(b, t, "order total", chromedp.Text(byID("order-total"))))
	screenshotTo(b, t, "order-review.png")
	chromeSteps(b, t, "place the order and pay with 4242 on the hosted page",
		chromedp.Click(byID("order-place-submit")),
		chromedp.WaitVisible(chromedp.CSS("#number")),
		chromedp.SendKeys(chromedp.CSS("#number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.CSS("#expiry"), "12 / 34"),
		chromedp.SendKeys(chromedp.CSS("#cvc"), "123"),
		chromedp.Submit(chromedp.CSS("#number")),
		chromedp.WaitVisible(byID("account-invoice")),
	)
	loc := chromeValue(b, t, "location after paying", chromedp.Location())
	u, _ := url.Parse(loc)
	invoiceID, err := strconv.ParseInt(strings.TrimPrefix(u.Path, "/account/invoices/"), 10, 64)
	if err != nil {
		t.Fatalf("after paying the browser is at %q, want the invoice", loc)
	}
	awaitText(b, t, "invoice-status", "Paid", func() {
		chromeSteps(b, t, "reload the invoice", chromedp.Reload(), chromedp.WaitVisible(byID("invoice-status")))
	})
	pdf := chromeValue(b, t, "download the PDF", chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
		const r = await fetch("/account/invoices/%d/pdf");
		const b = new Uint8Array(await r.arrayBuffer());
		return r.headers.get("Content-Type") + " " + String.fromCharCode(...b.slice(0, 5));
	})()`, invoiceID), chromedp.EvalAwaitPromise))
	if pdf != "application/pdf %PDF-" {
		t.Fatalf("PDF download answered %q", pdf)
	}
	screenshotTo(b, t, "invoice-paid.png")

	inv, err := st.Store.Invoice(context.Background(), invoiceID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(total, inv.Totals.Total.Decimal()) {
		t.Fatalf("review showed total %q, the invoice is %s", total, inv.Totals.Total)
	}
	svcID := inv.ServiceID.Int64
	chromeSteps(b, t, "open the service", chromedp.Navigate(st.URL("/account/services/"+strconv.FormatInt(svcID, 10))), chromedp.WaitVisible(byID("account-service")))
	awaitBadge(b, t, "Active", func() {
		chromeSteps(b, t, "reload the service", chromedp.Reload(), chromedp.WaitVisible(byID("service-status")))
	})
	screenshotTo(b, t, "service-active.png")

	admin := testenv.Chromium(t)
	logInThroughForm(admin, t, st, "money@example.com", "password 12345", "admin-dashboard")
	chromeSteps(admin, t, "refund the invoice in full",
		chromedp.Navigate(st.URL("/admin/invoices/"+strconv.FormatInt(invoiceID, 10))),
		chromedp.WaitVisible(byID("invoice-refund-form")),
		chromedp.Click(byID("invoice-refund")),
		chromedp.WaitVisible(byID("flash")),
	)
	if got := strings.TrimSpace(chromeValue(admin, t, "status after refund", chromedp.Text(byID("invoice-status")))); got != "Refunded" {
		t.Fatalf("invoice status after the refund: %q", got)
	}
	screenshotTo(admin, t, "admin-invoice-refunded.png")
}

// awaitText reads a testid's text until it is want, calling between each read; 60 s at most.
func awaitText(ctx context.Context, t *testing.T, testid, want string, between func()) {
	t.Helper()
	js := fmt.Sprintf(`(document.querySelector('[data-testid=%q]') || {textContent: ""}).textContent.trim()`, testid)
	var got string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, _ = chromedp.Run(readCtx, chromedp.Evaluate[string](js))
		cancel()
		if got == want {
			return
		}
		time.Sleep(250 * time.Millisecond)
		between()
	}
	t.Fatalf("%s reads %q after 60 s, want %q", testid, got, want)
}
