package web

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/ezscale/billing/billing"
)

var (
	invisibleRE = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>`)
	tagRE       = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText is the text of an HTML page a person reads: no head, scripts, styles, tags or
// attributes (classes and data-testids may carry raw slugs), entities decoded.
func visibleText(page string) string {
	s := invisibleRE.ReplaceAllString(page, " ")
	s = tagRE.ReplaceAllString(s, " ")
	return html.UnescapeString(s)
}

// TestStatusesAreShownInWordsNotAsSlugs renders every page that prints a status with
// statuses whose value has an underscore, and looks for the raw value in the visible text.
func TestStatusesAreShownInWordsNotAsSlugs(t *testing.T) {
	r := newRenderer(t)
	admin := viewers["admin"]
	refunded := unpaidInvoice
	refunded.Status, refunded.Badge = billing.StatusPartiallyRefunded, "danger"
	pastDue := sampleSubscription
	pastDue.Status, pastDue.Badge = billing.SubscriptionPastDue, "warning"
	attention := attentionService
	pages := map[string]any{
		"account_invoices":      AccountInvoices{Invoices: []InvoiceRow{refunded}},
		"account_invoice":       AccountInvoice{Invoice: refunded, Lines: invoiceLines, Totals: invoiceTotals},
		"admin_invoices":        AdminInvoices{Filter: billing.StatusPartiallyRefunded, Statuses: billing.AllInvoiceStatuses(), Invoices: []InvoiceRow{refunded}},
		"admin_invoice":         AdminInvoice{Invoice: refunded, Lines: invoiceLines, Totals: invoiceTotals},
		"account_subscriptions": AccountSubscriptions{Subscriptions: []SubscriptionRow{pastDue}},
		"account_subscription": AccountSubscription{Subscription: pastDue, ServiceID: 42, ServiceStatus: billing.ServiceNeedsAttention,
			Invoices: []InvoiceRow{refunded}},
		"admin_subscriptions": AdminSubscriptions{Filter: billing.SubscriptionPastDue, Statuses: billing.AllSubscriptionStatuses(),
			Subscriptions: []AdminSubscriptionRow{{SubscriptionRow: pastDue, Customer: "Ana Lima"}}},
		"admin_subscription": AdminSubscription{Subscription: AdminSubscriptionRow{SubscriptionRow: pastDue}, Invoices: []InvoiceRow{refunded}},
		"account_dashboard":  AccountDashboard{Services: []ServiceRow{attention}, Subscriptions: []SubscriptionRow{pastDue}},
		"account_service":    AccountService{Service: attention},
		"admin_services": AdminServices{Filter: billing.ServiceNeedsAttention,
			Counts: map[string]int{"needs_attention": 1}, Services: []ServiceRow{attention}},
		"admin_service": AdminService{Service: attention, Live: &LiveState{Status: "needs_attention"}},
		"admin_customer": AdminCustomer{Customer: CustomerRow{ID: 3, Name: "Ana Lima"},
			Services: []CustomerServiceRow{{ServiceRow: attention}}, Subscriptions: []SubscriptionRow{pastDue}, Invoices: []InvoiceRow{refunded}},
	}
	slugs := []string{"needs_attention", "partially_refunded", "past_due"}
	for name, data := range pages {
		out := render(t, r, name, pageFor(name, admin, data))
		text := visibleText(out)
		for _, slug := range slugs {
			if strings.Contains(text, slug) {
				i := strings.Index(text, slug)
				t.Errorf("%s shows the raw status %q: …%s…", name, slug, strings.Join(strings.Fields(text[max(0, i-80):min(len(text), i+40)]), " "))
			}
		}
		if !strings.Contains(text, "Needs attention") && !strings.Contains(text, "Partially refunded") && !strings.Contains(text, "Past due") {
			t.Errorf("%s shows none of the statuses in words", name)
		}
	}
}

func TestStatusWordsForSentences(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{billing.ServiceNeedsAttention, "needs attention"},
		{billing.StatusPartiallyRefunded, "partially refunded"},
		{"needs_attention", "needs attention"},
		{billing.RefundFailed, "failed"},
	} {
		if got := statusWords(c.in); got != c.want {
			t.Errorf("statusWords(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

var (
	controlRE = regexp.MustCompile(`<(select|input|textarea)\b[^>]*>`)
	plainType = regexp.MustCompile(`\btype="(hidden|checkbox|radio|submit)"`)
)

// TestEveryFormControlIsStyled renders the pages with their form controls and checks that each
// select, text input and textarea either is drawn by the field partial (inside a .field, id
// f-…) or carries the .control class: none is left with the browser's default look.
func TestEveryFormControlIsStyled(t *testing.T) {
	r := newRenderer(t)
	admin := viewers["admin"]
	extra := map[string]any{
		"admin_dashboard": AdminDashboard{Analytics: DashboardAnalytics{Currency: "USD", Currencies: []string{"USD", "EUR"}}},
		"order_catalog":   OrderCatalog{Currency: "GBP", Currencies: []string{"EUR", "GBP", "USD"}},
	}
	for _, name := range PageNames() {
		data := sampleData[name]
		if d, ok := extra[name]; ok {
			data = d
		}
		out := render(t, r, name, pageFor(name, admin, data))
		for _, tag := range controlRE.FindAllString(out, -1) {
			if plainType.MatchString(tag) || strings.Contains(tag, `id="f-`) {
				continue
			}
			if !regexp.MustCompile(`class="([^"]* )?control( [^"]*)?"`).MatchString(tag) {
				t.Errorf("%s: %s has neither a field nor the control class", name, tag)
			}
		}
	}
}
