package web

import (
	"strings"
	"testing"
)

var sampleProduct = OrderProduct{ID: 3, Name: "VPS 2 GB", Type: "vps", TypeLabel: "VPS", Description: "2 vCPU", From: "USD 8.00", FromCycle: "month",
	Prices: []OrderPrice{{Cycle: "monthly", CycleLabel: "Monthly", Currency: "USD", Amount: "USD 8.00", Setup: "USD 49.00"}}}

var sampleSubscription = SubscriptionRow{ID: 7, Product: "VPS 2 GB", Status: "active", Badge: "success", Cycle: "Monthly", Price: "USD 8.00",
	NextDue: at.AddDate(0, 1, 0), NextAmount: "USD 8.80", Live: true}

func init() {
	sampleData["order_catalog"] = OrderCatalog{Groups: []OrderGroup{{Name: "Cloud VPS", Description: "KVM", Products: []OrderProduct{sampleProduct, {ID: 4, Name: "Sold", SoldOut: true}}}}}
	sampleData["order_configure"] = OrderConfigure{Product: sampleProduct, Prices: []Option{{Value: "monthly/USD", Label: "Monthly · USD 8.00"}},
		Fields:   []OrderFieldInput{{Name: "field_hostname", Label: "Hostname", Required: true}, {Name: "field_os", Label: "OS", Select: true, Options: []Option{{Value: "debian", Label: "debian"}}}},
		Gateways: []Option{{Value: "sandbox", Label: "Test card (sandbox)"}}}
	sampleData["order_review"] = OrderReview{Product: sampleProduct, CycleLabel: "Monthly", Currency: "USD", Answers: []Option{{Label: "Hostname", Value: "a.example.com"}},
		Coupon: "SAVE10", Gateway: "Test card (sandbox)", Lines: []InvoiceLineRow{{Kind: "product", Description: "VPS 2 GB (monthly)", Amount: "USD 8.00"}},
		Totals: []InvoiceTotalRow{{Label: "Total", Amount: "USD 8.80", Strong: true}}, Total: "USD 8.80",
		Carry: []Option{{Label: "price", Value: "monthly/USD"}}, Token: "nonce.mac"}
	sampleData["account_invoice_pay"] = InvoicePay{Invoice: InvoiceRow{ID: 5, Number: "INV-1005", Due: "USD 8.80"}, Gateways: []Option{{Value: "sandbox", Label: "Sandbox"}}, Gateway: "sandbox"}
	sampleData["account_subscriptions"] = AccountSubscriptions{Subscriptions: []SubscriptionRow{sampleSubscription}}
	sampleData["account_subscription"] = AccountSubscription{Subscription: sampleSubscription, PeriodStart: at, PeriodEnd: at.AddDate(0, 1, 0), ServiceID: 9, ServiceStatus: "active",
		Invoices: []InvoiceRow{{ID: 5, Number: "INV-1005", Status: "unpaid", Badge: "warning", DueAt: at, Total: "USD 8.80"}},
		Timeline: timeline, Schedule: []ScheduleRow{{Due: at, PeriodEnd: at.AddDate(0, 1, 0), Total: "USD 8.80"}},
		ChangeTo: []Option{{Value: "4", Label: "VPS 8 GB · USD 24.00 monthly"}}, CanChange: true, CanCancel: true}
	sampleData["account_plan_change"] = PlanChangePreview{Subscription: sampleSubscription, From: "VPS 2 GB", To: "VPS 8 GB", ToProductID: 4,
		OldPrice: "USD 8.00", NewPrice: "USD 24.00", TotalDays: 30, RemainingDays: 20, Credit: "USD 5.33", Charge: "USD 16.00", Net: "USD 10.67",
		Lines: []InvoiceLineRow{{Kind: "proration", Description: "Change", Amount: "USD 10.67"}}, Totals: []InvoiceTotalRow{{Label: "Total", Amount: "USD 10.67", Strong: true}}, Total: "USD 10.67"}
	sampleData["account_payment_methods"] = PaymentMethods{Gateways: []GatewayMethods{{Gateway: "Sandbox", Methods: []PaymentMethodRow{
		{Ref: "sandbox:pm_1", Brand: "visa", Last4: "4242", Expiry: "12/2030", Default: true}, {Ref: "sandbox:pm_2", Brand: "visa", Last4: "3155", Expiry: "01/2031"}}}}}
	emptyData["order_catalog"] = OrderCatalog{}
	emptyData["account_subscriptions"] = AccountSubscriptions{}
	emptyData["account_payment_methods"] = PaymentMethods{}
}

func TestOrderReviewCarriesTheTokenAndTheChoicesToThePlaceForm(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "order_review", pageFor("order_review", viewers["customer"], sampleData["order_review"]))
	for _, want := range []string{`action="/order/3/place"`, `name="token" value="nonce.mac"`, `name="price" value="monthly/USD"`, "USD 8.80"} {
		if !strings.Contains(out, want) {
			t.Errorf("order review lacks %s", want)
		}
	}
}

func TestPaymentMethodsOfferOnlyHonestActions(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, "account_payment_methods", pageFor("account_payment_methods", viewers["customer"], sampleData["account_payment_methods"]))
	if n := strings.Count(out, `data-testid="method-set-default"`); n != 1 {
		t.Errorf("%d make-default buttons, want 1 (not on the default card)", n)
	}
	if !strings.Contains(out, `data-testid="add-method-note"`) || strings.Contains(out, "/account/payment-methods/add") {
		t.Error("the page must explain how to add a card, not offer a form that does not exist")
	}
}
