package workflows_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/devpanels"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// recordedIdentity replaces the worker's and client's identities ("<pid>@<host>@") in recorded
// provisioning histories: the testenv client cannot be given one, and host names do not belong
// in testdata/.
const recordedIdentity = "provision-devserver-test"

// TestDevServerProvisionHistoriesReplay drives three provisioning runs through a real dev server,
// worker, database and the panel simulators, then replays each live history against the current
// code. With EZSCALE_RECORD_HISTORY=1 it also writes them to testdata/provision_*.json for
// TestRecordedHistoriesReplay.
func TestDevServerProvisionHistoriesReplay(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := provisionDriver{st: st}

	t.Run("lifecycle", func(t *testing.T) {
		svc, run := d.create(ctx, t, "vps-2gb", "life.example.com")
		d.waitStatus(ctx, t, svc.ID, billing.ServiceActive)
		d.request(ctx, t, svc.ID, workflows.ProvisionOp{Kind: workflows.OpSuspend, Reason: "overdue invoice 1042"})
		d.waitStatus(ctx, t, svc.ID, billing.ServiceSuspended)
		d.request(ctx, t, svc.ID, workflows.ProvisionOp{Kind: workflows.OpUnsuspend})
		d.waitStatus(ctx, t, svc.ID, billing.ServiceActive)
		bigger := d.product(ctx, t, "vps-8gb")
		d.request(ctx, t, svc.ID, workflows.ProvisionOp{Kind: workflows.OpChangePackage, ProductID: bigger.ID, Reason: "upgrade"})
		d.waitProduct(ctx, t, svc.ID, bigger.ID)
		d.request(ctx, t, svc.ID, workflows.ProvisionOp{Kind: workflows.OpTerminate, Reason: "customer left"})
		d.finish(ctx, t, run, billing.ServiceTerminated)
		if n := st.Panels.Get(panels.VirtFusion).Sim.ServicesFor(strconv.FormatInt(svc.ID, 10)); n != 0 {
			t.Errorf("%d servers of service %d remain on VirtFusion after termination, want 0", n, svc.ID)
		}
		replayAndRecord(ctx, t, st.Temporal, run, "provision_lifecycle.json", workflows.Provision)
	})

	t.Run("retry", func(t *testing.T) {
		d.setOSTemplate(ctx, t, "vps-2gb", "999") // the panel creates the server and refuses to build it
		svc, run := d.create(ctx, t, "vps-2gb", "retry.example.com")
		d.waitStatus(ctx, t, svc.ID, billing.ServiceNeedsAttention) // decide at once: a decision sent while the status is written must count
		d.setOSTemplate(ctx, t, "vps-2gb", "1")
		d.resolve(ctx, t, svc.ID, workflows.Resolution{Action: workflows.ResolveRetry})
		d.waitStatus(ctx, t, svc.ID, billing.ServiceActive)
		if n := st.Panels.Get(panels.VirtFusion).Sim.ServicesFor(strconv.FormatInt(svc.ID, 10)); n != 1 {
			t.Errorf("%d servers of service %d on VirtFusion after the retry, want the one the failed build left", n, svc.ID)
		}
		d.request(ctx, t, svc.ID, workflows.ProvisionOp{Kind: workflows.OpTerminate, Reason: "test over"})
		d.finish(ctx, t, run, billing.ServiceTerminated)
		replayAndRecord(ctx, t, st.Temporal, run, "provision_retry.json", workflows.Provision)
	})

	t.Run("abandon", func(t *testing.T) {
		d.setOSTemplate(ctx, t, "vps-2gb", "999")
		defer d.setOSTemplate(ctx, t, "vps-2gb", "1")
		svc, run := d.create(ctx, t, "vps-2gb", "abandon.example.com")
		d.waitStatus(ctx, t, svc.ID, billing.ServiceNeedsAttention) // decide at once: a decision sent while the status is written must count
		d.resolve(ctx, t, svc.ID, workflows.Resolution{Action: workflows.ResolveAbandon, Note: "customer cancelled"})
		d.finish(ctx, t, run, billing.ServiceAbandoned)
		if n := st.Panels.Get(panels.VirtFusion).Sim.ServicesFor(strconv.FormatInt(svc.ID, 10)); n != 0 {
			t.Errorf("%d servers of abandoned service %d remain on VirtFusion, want the partial server removed", n, svc.ID)
		}
		replayAndRecord(ctx, t, st.Temporal, run, "provision_abandon.json", workflows.Provision)
	})
}

// provisionDriver does, without HTTP, what the admin service pages do.
type provisionDriver struct {
	st *testenv.Stack
}

const driverActor = "admin:devserver-test"

func (d provisionDriver) product(ctx context.Context, t *testing.T, slug string) store.Product {
	t.Helper()
	list, err := d.st.Store.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Slug == slug {
			return p
		}
	}
	t.Fatalf("no demo product %q", slug)
	return store.Product{}
}

// setOSTemplate remaps a VirtFusion demo product onto another operating system template.
func (d provisionDriver) setOSTemplate(ctx context.Context, t *testing.T, slug, template string) {
	t.Helper()
	m := devpanels.ProductMappings()[slug]
	m.Options["os_template"] = template
	if err := d.st.Store.SetProductPanel(ctx, d.product(ctx, t, slug).ID, string(m.Type), m.PlanID, m.Options); err != nil {
		t.Fatalf("map %s onto os template %s: %v", slug, template, err)
	}
}

// create makes a customer and a pending service on the product and starts its provisioning.
func (d provisionDriver) create(ctx context.Context, t *testing.T, slug, hostname string) (store.Service, client.WorkflowRun) {
	t.Helper()
	cust, err := d.st.Store.CreateUser(ctx, store.NewUser{Email: strings.SplitN(hostname, ".", 2)[0] + "@example.com", Name: "Alice Example", PasswordHash: "x", Role: store.RoleCustomer})
	if err != nil {
		t.Fatalf("create customer: %v", err)
	}
	prod := d.product(ctx, t, slug)
	panel, err := d.st.Store.PickPanelServer(ctx, prod.PanelType.String)
	if err != nil {
		t.Fatalf("pick a %s panel: %v", prod.PanelType.String, err)
	}
	svc, err := d.st.Store.CreateService(ctx, store.NewService{CustomerID: cust.ID, ProductID: prod.ID, PanelServerID: panel.ID, Hostname: hostname, CreatedBy: driverActor})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	run, err := d.st.Temporal.ExecuteWorkflow(ctx, workflows.ProvisionStartOptions(svc.ID, svc.CustomerID, svc.PanelType, d.st.Settings.TaskQueue), workflows.Provision, workflows.ProvisionInput{
		ServiceID:   svc.ID,
		Queue:       []workflows.ProvisionOp{{Kind: workflows.OpCreate, Actor: driverActor}},
		StepTimeout: d.st.Settings.ProvisionStepTimeout,
	})
	if err != nil {
		t.Fatalf("start %s: %v", workflows.ProvisionID(svc.ID), err)
	}
	return svc, run
}

func (d provisionDriver) request(ctx context.Context, t *testing.T, serviceID int64, op workflows.ProvisionOp) {
	t.Helper()
	op.Actor = driverActor
	d.update(ctx, t, serviceID, workflows.UpdateProvisionRequest, op)
}

func (d provisionDriver) resolve(ctx context.Context, t *testing.T, serviceID int64, r workflows.Resolution) {
	t.Helper()
	r.Actor = driverActor
	d.update(ctx, t, serviceID, workflows.UpdateProvisionResolve, r)
}

// update sends an Update and waits until the workflow accepts it, as httpapi's updateProvisioning does.
func (d provisionDriver) update(ctx context.Context, t *testing.T, serviceID int64, name string, arg any) {
	t.Helper()
	h, err := d.st.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ProvisionID(serviceID), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("%s %+v on service %d: %v", name, arg, serviceID, err)
	}
}

// waitStatus polls the database until the service has the status.
func (d provisionDriver) waitStatus(ctx context.Context, t *testing.T, serviceID int64, status billing.ServiceStatus) {
	t.Helper()
	d.waitService(ctx, t, serviceID, "status "+string(status), func(s store.Service) bool { return s.Status == status })
}

// waitProduct polls the database until the service is on the product.
func (d provisionDriver) waitProduct(ctx context.Context, t *testing.T, serviceID, productID int64) {
	t.Helper()
	d.waitService(ctx, t, serviceID, "product "+strconv.FormatInt(productID, 10), func(s store.Service) bool { return s.ProductID == productID })
}

func (d provisionDriver) waitService(ctx context.Context, t *testing.T, serviceID int64, want string, done func(store.Service) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		svc, err := d.st.Store.ServiceByID(ctx, serviceID)
		if err == nil && done(svc) {
			return
		}
		select {
		case <-ctx.Done():
			ev, _ := d.st.Store.ServiceEvents(context.Background(), serviceID)
			t.Fatalf("service %d is %q (product %d, attention %q), want %s; lookup error %v; timeline: %+v",
				serviceID, svc.Status, svc.ProductID, svc.Attention, want, err, ev)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// finish waits for the workflow to complete and checks the status it ended with.
func (d provisionDriver) finish(ctx context.Context, t *testing.T, run client.WorkflowRun, status billing.ServiceStatus) {
	t.Helper()
	var res workflows.ProvisionState
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("%s failed: %v", run.GetID(), err)
	}
	if res.Status != status || len(res.Queue) != 0 || res.Attention != "" {
		t.Fatalf("%s ended with %+v, want status %s and nothing queued or pending", run.GetID(), res, status)
	}
}

// replaceIdentity sets every non-empty string field named "identity" in m and the messages it
// holds to identity.
func replaceIdentity(m protoreflect.Message, identity string) {
	var set []protoreflect.FieldDescriptor // not set while ranging: Range does not promise to allow it
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "identity" && fd.Kind() == protoreflect.StringKind && !fd.IsList():
			set = append(set, fd)
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			for i, l := 0, v.List(); i < l.Len(); i++ {
				replaceIdentity(l.Get(i).Message(), identity)
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					replaceIdentity(mv.Message(), identity)
					return true
				})
			}
		case fd.Kind() == protoreflect.MessageKind:
			replaceIdentity(v.Message(), identity)
		}
		return true
	})
	for _, fd := range set {
		m.Set(fd, protoreflect.ValueOfString(identity))
	}
}
