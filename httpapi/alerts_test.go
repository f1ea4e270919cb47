package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// A second payment of a paid invoice is returned and staff are told on the invoice page, where
// they mark it resolved.
func TestStaffSeeAnOverpaymentOnTheInvoiceAndResolveIt(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUser(t, st, "twice@example.com", "password 12345", store.RoleCustomer)
	inv := webhookInvoice(t, st.Store, cust.ID, 1200, "twice")
	for _, ref := range []string{"ch_first", "ch_second_tab"} {
		body, header := st.Sandbox.SignedEvent(sandboxPayment(ref, inv.ID, 1200))
		if status, text := webhookPost(t, st.URL("/webhooks/sandbox"), body, header); status != http.StatusOK {
			t.Fatalf("payment %s: status %d %q", ref, status, text)
		}
	}
	alerts, err := st.Store.MoneyAlerts(ctx, store.MoneyAlertFilter{InvoiceID: inv.ID, OpenOnly: true})
	if err != nil || len(alerts) != 1 || alerts[0].Kind != store.AlertOverpayment {
		t.Fatalf("alerts %+v, %v; want one overpayment", alerts, err)
	}
	createUser(t, st, "billing@example.com", "password 12345", store.RoleBilling)
	staff := newBrowser(t, st)
	staff.login("billing@example.com", "password 12345")
	page := "/admin/invoices/" + itoa(inv.ID)
	if r := staff.get(page); !strings.Contains(r.Body, `data-testid="money-alert"`) || !strings.Contains(r.Body, "ch_second_tab") {
		t.Fatalf("the invoice page does not show the overpayment alert (status %d)", r.Status)
	}
	if r := staff.post("/admin/alerts/"+itoa(alerts[0].ID)+"/resolve", page, url.Values{"back": {page}}); r.Status != http.StatusSeeOther || r.Location != page {
		t.Fatalf("resolve: status %d to %q", r.Status, r.Location)
	}
	if r := staff.get(page); strings.Contains(r.Body, `data-testid="money-alert"`) {
		t.Fatal("the resolved alert is still shown")
	}
}

// sandboxPayment is a sandbox payment.succeeded event of amount cents for an invoice.
func sandboxPayment(ref string, invoiceID, cents int64) gateways.Event {
	return gateways.Event{ID: "evt_" + ref, Type: sandbox.EventPaymentSucceeded, Created: time.Now(), InvoiceID: invoiceID,
		PaymentRef: ref, Amount: billing.Money{Amount: cents, Currency: "USD"}}
}

// Staff marking an invoice paid while its saved card is being charged are told to wait, and
// nothing is recorded: the card and the bank transfer cannot both take the money.
func TestMarkPaidWhileTheCardIsBeingChargedIsRefused(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	cust := createUser(t, st, "charging@example.com", "password 12345", store.RoleCustomer)
	inv := webhookInvoice(t, st.Store, cust.ID, 1200, "charging")
	if c, err := st.Store.BeginCharge(ctx, inv.ID, "subscription:9:invoice:1:attempt:due"); err != nil || !c.Claimed {
		t.Fatalf("charge claim = %+v, %v", c, err)
	}
	createUser(t, st, "billing@example.com", "password 12345", store.RoleBilling)
	staff := newBrowser(t, st)
	staff.login("billing@example.com", "password 12345")
	page := "/admin/invoices/" + itoa(inv.ID)
	r := staff.post(page+"/mark-paid", page, url.Values{})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "being charged") {
		t.Fatalf("mark paid during a charge: status %d; want 409 saying the card is being charged", r.Status)
	}
	if pays, _ := st.Store.InvoicePayments(ctx, inv.ID); len(pays) != 0 {
		t.Fatalf("%d payments recorded during the charge; want none", len(pays))
	}
}
