package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

func TestTerminatingANeverProvisionedServiceClosesItAsAbandoned(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	cust, err := st.Store.CreateUser(ctx, store.NewUser{Email: "never@example.com", Name: "Never Paid", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	products, _ := st.Store.Products(ctx)
	var vps store.Product
	for _, p := range products {
		if p.Slug == "vps-2gb" {
			vps = p
		}
	}
	panel, err := st.Store.PickPanelServer(ctx, vps.PanelType.String)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.Store.CreateService(ctx, store.NewService{CustomerID: cust.ID, ProductID: vps.ID, PanelServerID: panel.ID, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	op := workflows.ProvisionOp{Kind: workflows.OpTerminate, Reason: "order never paid", Actor: "billing", RequestID: "r1"}
	if err := st.Billing.RequestProvisioning(ctx, workflows.ProvisioningRequest{ServiceID: svc.ID, CustomerID: cust.ID, Op: op}); err != nil {
		t.Fatalf("terminate a never-provisioned service: %v", err)
	}
	got, _ := st.Store.ServiceByID(ctx, svc.ID)
	if got.Status != billing.ServiceAbandoned {
		t.Fatalf("status %s, want abandoned", got.Status)
	}
	// Any other operation on a service without provisioning is refused, permanently.
	op = workflows.ProvisionOp{Kind: workflows.OpSuspend, Reason: "overdue", Actor: "billing", RequestID: "r2"}
	if err := st.Billing.RequestProvisioning(ctx, workflows.ProvisioningRequest{ServiceID: svc.ID, CustomerID: cust.ID, Op: op}); err == nil {
		t.Fatal("suspending a service without provisioning succeeded")
	}
}

func TestRenewalCountsCouponCyclesOncePerRecord(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	cust, err := st.Store.CreateUser(ctx, store.NewUser{Email: "coupon@example.com", Name: "Coupon User", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	product := st.ProductWithoutPanel(t)
	usd := func(a int64) billing.Money { return billing.Money{Amount: a, Currency: "USD"} }
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: "coupon-order", ProductID: product,
		Cycle: billing.Monthly, Price: usd(500), Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", DueAt: time.Now(), Lines: []billing.Line{
			{Kind: billing.LineProduct, Description: "Licence", Amount: usd(500), ProductID: product},
			{Kind: billing.LineDiscount, Description: "TEN", Amount: usd(-50), ProductID: product, CouponCode: "TEN"},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	renewed := workflows.SubscriptionRecord{SubscriptionID: o.SubscriptionID, Key: "subscription:1:ev:7", Status: billing.SubscriptionActive,
		CountCoupons: []string{"TEN"}, Kind: "renewed", Message: "renewed"}
	for range 2 { // a retried activity
		if err := st.Billing.RecordSubscription(ctx, renewed); err != nil {
			t.Fatal(err)
		}
	}
	sub, _ := st.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if sub.CouponCycles["TEN"] != 2 {
		t.Fatalf("coupon cycles %v, want TEN: 2 (the order's invoice and one renewal)", sub.CouponCycles)
	}
	renewed.Key = "subscription:1:ev:9"
	if err := st.Billing.RecordSubscription(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	if sub, _ := st.Store.SubscriptionByID(ctx, o.SubscriptionID); sub.CouponCycles["TEN"] != 3 {
		t.Fatalf("coupon cycles %v after a second renewal, want TEN: 3", sub.CouponCycles)
	}
}
