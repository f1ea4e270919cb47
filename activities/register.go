package activities

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ezscale/billing/workflows"
)

// Set is every activity struct the worker runs. A nil member registers nothing of its kind.
type Set struct {
	Onboarding   *Onboarding
	Provisioning *Provisioning
	Billing      *Billing
	Analytics    *Analytics
	Reconciler   *Reconciler
}

// Register adds the workflows and their activities to a worker. Activities are registered under
// the names the workflows call them by (workflows.Activity*), so renaming a method cannot
// silently break running workflows.
func Register(r worker.Registry, s Set) {
	name := func(n string) activity.RegisterOptions { return activity.RegisterOptions{Name: n} }
	if a := s.Onboarding; a != nil {
		r.RegisterWorkflow(workflows.Onboarding)
		r.RegisterActivityWithOptions(a.SendVerification, name(workflows.ActivitySendVerification))
		r.RegisterActivityWithOptions(a.EmailVerified, name(workflows.ActivityEmailVerified))
	}
	if p := s.Provisioning; p != nil {
		r.RegisterWorkflow(workflows.Provision)
		r.RegisterActivityWithOptions(p.SetStatus, name(workflows.ActivityProvisionSetStatus))
		r.RegisterActivityWithOptions(p.EnsureAccount, name(workflows.ActivityProvisionEnsureAccount))
		r.RegisterActivityWithOptions(p.Create, name(workflows.ActivityProvisionCreate))
		r.RegisterActivityWithOptions(p.AwaitReady, name(workflows.ActivityProvisionAwaitReady))
		r.RegisterActivityWithOptions(p.NotifyReady, name(workflows.ActivityProvisionNotifyReady))
		r.RegisterActivityWithOptions(p.NotifyTerminated, name(workflows.ActivityProvisionNotifyTerminated))
		r.RegisterActivityWithOptions(p.Suspend, name(workflows.ActivityProvisionSuspend))
		r.RegisterActivityWithOptions(p.Unsuspend, name(workflows.ActivityProvisionUnsuspend))
		r.RegisterActivityWithOptions(p.Terminate, name(workflows.ActivityProvisionTerminate))
		r.RegisterActivityWithOptions(p.ChangePackage, name(workflows.ActivityProvisionChangePackage))
		r.RegisterActivityWithOptions(p.MarkProvisioned, name(workflows.ActivityProvisionMarkProvisioned))
	}
	if b := s.Billing; b != nil {
		r.RegisterWorkflow(workflows.Subscription)
		r.RegisterWorkflow(workflows.Dunning)
		r.RegisterActivityWithOptions(b.LoadSubscription, name(workflows.ActivityLoadSubscription))
		r.RegisterActivityWithOptions(b.InvoiceStatus, name(workflows.ActivityInvoiceStatus))
		r.RegisterActivityWithOptions(b.RecordSubscription, name(workflows.ActivityRecordSubscription))
		r.RegisterActivityWithOptions(b.SavePaymentMethod, name(workflows.ActivitySavePaymentMethod))
		r.RegisterActivityWithOptions(b.CreateRenewal, name(workflows.ActivityCreateRenewal))
		r.RegisterActivityWithOptions(b.PreviewRenewal, name(workflows.ActivityPreviewRenewal))
		r.RegisterActivityWithOptions(b.SendInvoiceMail, name(workflows.ActivitySendInvoiceMail))
		r.RegisterActivityWithOptions(b.ChargeInvoice, name(workflows.ActivityChargeInvoice))
		r.RegisterActivityWithOptions(b.PlanChange, name(workflows.ActivityPlanChange))
		r.RegisterActivityWithOptions(b.CancelInvoice, name(workflows.ActivityCancelInvoice))
		r.RegisterActivityWithOptions(b.RequestProvisioning, name(workflows.ActivityRequestProvisioning))
		r.RegisterActivityWithOptions(b.DunningPlan, name(workflows.ActivityDunningPlan))
		r.RegisterActivityWithOptions(b.ReissueRenewal, name(workflows.ActivityReissueRenewal))
	}
	if rc := s.Reconciler; rc != nil {
		r.RegisterWorkflowWithOptions(workflows.ReconcileSubscriptions, workflow.RegisterOptions{Name: workflows.WorkflowReconcileSubscriptions})
		r.RegisterActivityWithOptions(rc.Reconcile, name(workflows.ActivityReconcileSubscriptions))
	}
	if a := s.Analytics; a != nil {
		r.RegisterWorkflowWithOptions(workflows.AnalyticsSnapshot, workflow.RegisterOptions{Name: workflows.WorkflowAnalyticsSnapshot})
		r.RegisterActivityWithOptions(a.Snapshot, name(workflows.ActivityAnalyticsSnapshot))
	}
}
