package workflows

import (
	"time"

	"github.com/ezscale/billing/billing"
)

// Activity names of the billing workflows and the types they exchange. The activities live in
// activities.Billing; every one of them is idempotent under retries.
const (
	ActivityLoadSubscription    = "BillingLoadSubscription"    // int64 → SubscriptionFacts
	ActivityInvoiceStatus       = "BillingInvoiceStatus"       // int64 → InvoiceFacts
	ActivityRecordSubscription  = "BillingRecordSubscription"  // SubscriptionRecord → nil
	ActivitySavePaymentMethod   = "BillingSavePaymentMethod"   // PaymentMethodInput → nil
	ActivityCreateRenewal       = "BillingCreateRenewal"       // RenewalInput → InvoiceFacts
	ActivityPreviewRenewal      = "BillingPreviewRenewal"      // RenewalInput → NextInvoice
	ActivitySendInvoiceMail     = "BillingSendInvoiceMail"     // InvoiceMail → nil
	ActivityChargeInvoice       = "BillingChargeInvoice"       // ChargeInput → PaymentOutcome
	ActivityPlanChange          = "BillingPlanChange"          // PlanChangeInput → PlanChangeResult
	ActivityCancelInvoice       = "BillingCancelInvoice"       // int64 → nil
	ActivityRequestProvisioning = "BillingRequestProvisioning" // ProvisioningRequest → nil
	ActivityDunningPlan         = "BillingDunningPlan"         // int64 (customer) → DunningSchedule overrides
	ActivityReissueRenewal      = "BillingReissueRenewal"      // ReissueInput → InvoiceFacts

	// BillingPermanentError is the application error type of a billing step that retrying
	// cannot fix (the subscription or invoice is gone, the gateway is not configured).
	BillingPermanentError = "BillingPermanent"
)

// SubscriptionFacts are the stored facts a subscription workflow starts from.
type SubscriptionFacts struct {
	SubscriptionID int64
	CustomerID     int64
	ServiceID      int64
	ProductID      int64
	Cycle          billing.Cycle
	Price          billing.Money
	Status         billing.SubscriptionStatus
	PeriodStart    time.Time
	PeriodEnd      time.Time
	AnchorDay      int
}

// InvoiceFacts is where an invoice stands.
type InvoiceFacts struct {
	InvoiceID int64
	Number    string
	Status    billing.Status
	Paid      bool
	Total     billing.Money
	Due       billing.Money
	DueAt     time.Time
	// Coupons are the codes that discounted this invoice (renewals count their cycles).
	Coupons []string
}

// SubscriptionRecord is a subscription state change and its timeline entry, written at most once
// per Key.
type SubscriptionRecord struct {
	SubscriptionID int64
	Key            string // "subscription:<id>:ev:<seq>"
	WorkflowID     string
	Status         billing.SubscriptionStatus
	PeriodStart    time.Time
	PeriodEnd      time.Time
	AnchorDay      int
	ProductID      int64 // with Price: a plan change
	Price          billing.Money
	CountCoupons   []string // coupons whose cycle count goes up by one
	CancelAtEnd    *bool
	CancelReason   string
	Cancelled      bool
	Kind           string
	Message        string
	Actor          string
}

// PaymentMethodInput remembers the payment method that paid an invoice for later renewals.
type PaymentMethodInput struct {
	SubscriptionID int64
	InvoiceID      int64
}

// RenewalInput names a renewal: the subscription and the period the invoice pays for.
type RenewalInput struct {
	SubscriptionID int64
	PeriodStart    time.Time // the due date
	PeriodEnd      time.Time
	Now            time.Time
	WorkflowID     string
}

// ReissueInput replaces an unpaid renewal invoice after a plan change: the old one is cancelled
// and the period is invoiced again on the new plan, once per Key.
type ReissueInput struct {
	RenewalInput
	OldInvoiceID int64
	Key          string
}

// InvoiceMail is one mail about an invoice; the PDF goes with it.
type InvoiceMail struct {
	InvoiceID int64
	Kind      string // one of the InvoiceMail* kinds
	Note      string // e.g. why a charge failed, or the suspension date
}

// Invoice mail kinds.
const (
	InvoiceMailNew       = "new"
	InvoiceMailReminder  = "reminder"
	InvoiceMailOverdue   = "overdue"
	InvoiceMailReceipt   = "receipt"
	InvoiceMailSuspended = "suspended"
)

// ChargeInput charges an invoice's amount due on the subscription's saved payment method.
type ChargeInput struct {
	InvoiceID      int64
	SubscriptionID int64
	IdempotencyKey string // workflow id + invoice id + attempt
	CreatedBy      string
}

// PlanChangeInput prices and bills (or credits) a plan change at At.
type PlanChangeInput struct {
	SubscriptionID int64
	ProductID      int64
	At             time.Time
	Key            string // the change's idempotency key
	WorkflowID     string
}

// ProvisioningRequest asks the service's provisioning workflow for an operation.
type ProvisioningRequest struct {
	ServiceID  int64
	CustomerID int64
	Op         ProvisionOp // Kind create starts the workflow; RequestID dedupes retries
}
