package activities_test

import (
	"context"
	"testing"

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
	if got.Status != workflows.ServiceAbandoned {
		t.Fatalf("status %s, want abandoned", got.Status)
	}
	// Any other operation on a service without provisioning is refused, permanently.
	op = workflows.ProvisionOp{Kind: workflows.OpSuspend, Reason: "overdue", Actor: "billing", RequestID: "r2"}
	if err := st.Billing.RequestProvisioning(ctx, workflows.ProvisioningRequest{ServiceID: svc.ID, CustomerID: cust.ID, Op: op}); err == nil {
		t.Fatal("suspending a service without provisioning succeeded")
	}
}
