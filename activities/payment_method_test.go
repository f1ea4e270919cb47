package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// creditOrder places an order of a USD 5.00 product paid entirely with account credit, as the
// checkout does when the balance covers the total, and returns it with its customer.
func creditOrder(ctx context.Context, t *testing.T, st *testenv.Stack, email string) (store.User, store.Order) {
	t.Helper()
	cust, err := st.Store.CreateUser(ctx, store.NewUser{Email: email, Name: "Credit Customer", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.AddCredit(ctx, store.CreditChange{CustomerID: cust.ID, Amount: billing.Money{Amount: 10000, Currency: "USD"},
		Note: "goodwill", CreatedBy: "test", IdempotencyKey: "credit-" + email}); err != nil {
		t.Fatal(err)
	}
	product := st.ProductWithoutPanel(t)
	q, _, err := st.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: cust.ID, ProductID: product, Cycle: billing.Monthly, Currency: "USD", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: cust.ID, IdempotencyKey: "order-" + email, ProductID: product,
		Cycle: billing.Monthly, Price: q.Price, Gateway: "sandbox", CreatedBy: "test",
		Invoice: store.NewInvoice{Currency: "USD", Lines: q.Invoice.Lines, DueAt: time.Now(), CreditUsed: q.CreditUsed}})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err := st.Store.Invoice(ctx, o.InvoiceID); err != nil || !inv.Paid() {
		t.Fatalf("the order's invoice is not paid by credit: %+v, %v", inv.Totals, err)
	}
	return cust, o
}

// saveCard saves a test card for the customer on the sandbox's hosted setup page, as the
// portal's "add a card" does; the sandbox makes it the default.
func saveCard(ctx context.Context, t *testing.T, st *testenv.Stack, u store.User) string {
	t.Helper()
	ref, err := st.Sandbox.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		t.Fatal(err)
	}
	co, err := st.Sandbox.StartSetup(ctx, gateways.SetupRequest{CustomerRef: ref, Currency: "USD", SuccessURL: st.URL("/account"),
		CancelURL: st.URL("/account"), IdempotencyKey: fmt.Sprintf("setup:%d", u.ID)})
	if err != nil {
		t.Fatal(err)
	}
	testenv.PayWith4242(t, co.URL)
	methods, err := st.Sandbox.PaymentMethods(ctx, ref)
	if err != nil || len(methods) != 1 {
		t.Fatalf("saved cards of customer %d: %v, %v", u.ID, methods, err)
	}
	return methods[0].Ref
}

// renewalInvoice issues the first renewal invoice of the subscription through the activity the
// workflow calls, with the credit left taken off it.
func renewalInvoice(ctx context.Context, t *testing.T, st *testenv.Stack, subID int64) workflows.InvoiceFacts {
	t.Helper()
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	inv, err := st.Billing.CreateRenewal(ctx, workflows.RenewalInput{SubscriptionID: subID, PeriodStart: start,
		PeriodEnd: start.AddDate(0, 1, 0), Now: time.Now(), WorkflowID: workflows.SubscriptionID(subID)})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestRenewalOfAnOrderPaidWithCreditChargesTheCustomersDefaultCard(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	cust, o := creditOrder(ctx, t, st, "credit-card@example.com")
	card := saveCard(ctx, t, st, cust)

	// What the workflow does once the order's invoice is paid.
	if err := st.Billing.SavePaymentMethod(ctx, workflows.PaymentMethodInput{SubscriptionID: o.SubscriptionID, InvoiceID: o.InvoiceID}); err != nil {
		t.Fatalf("save payment method: %v", err)
	}
	// Spend the credit that is left, so the renewal has an amount to charge.
	bal, err := st.Store.CreditBalance(ctx, cust.ID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if bal.IsPositive() {
		if _, err := st.Store.UseCredit(ctx, store.CreditChange{CustomerID: cust.ID, Amount: bal, Note: "spent elsewhere",
			CreatedBy: "test", IdempotencyKey: "spend-" + cust.Email}); err != nil {
			t.Fatal(err)
		}
	}
	inv := renewalInvoice(ctx, t, st, o.SubscriptionID)
	if inv.Paid || !inv.Due.IsPositive() {
		t.Fatalf("renewal invoice %+v: want an amount left to charge", inv)
	}
	out, err := st.Billing.ChargeInvoice(ctx, workflows.ChargeInput{InvoiceID: inv.InvoiceID, SubscriptionID: o.SubscriptionID,
		IdempotencyKey: "renewal-charge-1", CreatedBy: "test"})
	if err != nil {
		t.Fatalf("charge renewal: %v", err)
	}
	if !out.Paid {
		t.Fatalf("renewal of a credit-paid order not charged although the customer has a default card: %+v", out)
	}
	sub, err := st.Store.SubscriptionByID(ctx, o.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Gateway != "sandbox" || sub.PaymentMethodRef != card {
		t.Fatalf("subscription remembers %q/%q, want the default card sandbox/%s", sub.Gateway, sub.PaymentMethodRef, card)
	}
}

func TestRenewalOfACustomerWithoutAnyCardAttemptsNoCharge(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	cust, o := creditOrder(ctx, t, st, "no-card@example.com")
	if err := st.Billing.SavePaymentMethod(ctx, workflows.PaymentMethodInput{SubscriptionID: o.SubscriptionID, InvoiceID: o.InvoiceID}); err != nil {
		t.Fatalf("save payment method: %v", err)
	}
	bal, err := st.Store.CreditBalance(ctx, cust.ID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if bal.IsPositive() {
		if _, err := st.Store.UseCredit(ctx, store.CreditChange{CustomerID: cust.ID, Amount: bal, Note: "spent elsewhere",
			CreatedBy: "test", IdempotencyKey: "spend-" + cust.Email}); err != nil {
			t.Fatal(err)
		}
	}
	inv := renewalInvoice(ctx, t, st, o.SubscriptionID)
	before := st.Sandbox.ChargeCount()
	out, err := st.Billing.ChargeInvoice(ctx, workflows.ChargeInput{InvoiceID: inv.InvoiceID, SubscriptionID: o.SubscriptionID,
		IdempotencyKey: "renewal-charge-1", CreatedBy: "test"})
	if err != nil {
		t.Fatalf("charge renewal: %v", err)
	}
	if out.Paid || !out.NoPaymentMethod {
		t.Fatalf("outcome %+v, want unpaid with no payment method", out)
	}
	if n := st.Sandbox.ChargeCount() - before; n != 0 {
		t.Fatalf("%d charges attempted at the sandbox for a customer without a card", n)
	}
}
