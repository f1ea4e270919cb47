package workflows

import (
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/billing"
)

// Names shared by the subscription and dunning workflows, their activities and the HTTP layer.
const (
	// SignalInvoicePaid tells a subscription (and the dunning of that invoice) that an invoice
	// is paid: sent by the webhook router and by staff marking an invoice paid. Arg: InvoicePaid.
	SignalInvoicePaid = "invoice-paid"
	// SignalDunningStep is sent by a dunning workflow to its subscription. Arg: DunningStep.
	SignalDunningStep = "dunning-step"

	// UpdateChangePlan moves a subscription to another product. Arg PlanChangeRequest, result PlanChangeResult.
	UpdateChangePlan = "change-plan"
	// UpdateCancel cancels now or at the period end. Arg CancelRequest, result SubscriptionState.
	UpdateCancel = "cancel"
	// UpdateSuspend and UpdateUnsuspend are staff actions. Arg StaffAction, result SubscriptionState.
	UpdateSuspend   = "suspend"
	UpdateUnsuspend = "unsuspend"
	// UpdateRetryPayment charges the open invoice now. Arg StaffAction, result PaymentOutcome.
	UpdateRetryPayment = "retry-payment"

	// QuerySubscriptionState returns SubscriptionState.
	QuerySubscriptionState = "subscription-state"
	// QuerySubscriptionTimeline returns []TimelineEntry, oldest first (the entries of this run
	// and the last ones carried over; the full timeline is in PostgreSQL).
	QuerySubscriptionTimeline = "subscription-timeline"
	// QueryNextInvoice returns the NextInvoice preview.
	QueryNextInvoice = "next-invoice"
)

// SubscriptionID is the workflow ID of a subscription: "subscription:<id>".
func SubscriptionID(id int64) string { return "subscription:" + strconv.FormatInt(id, 10) }

// DunningID is the workflow ID of the dunning of one invoice: "dunning:<invoice-id>".
func DunningID(invoiceID int64) string { return "dunning:" + strconv.FormatInt(invoiceID, 10) }

// SubscriptionStartOptions starts (or finds, when it already runs) subscription:<id>.
func SubscriptionStartOptions(subscriptionID, customerID int64, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       SubscriptionID(subscriptionID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			CustomerIDKey.ValueSet(strconv.FormatInt(customerID, 10)),
			SubscriptionStatusKey.ValueSet(string(billing.SubscriptionPending)),
		),
	}
}

// Timings are the lengths the billing workflows wait. Days are counted in Day units so that
// end-to-end tests and demos can run a month in seconds; production uses the defaults.
type Timings struct {
	// Day is the length of one billing day (default 24h).
	Day time.Duration
	// Period, when set, is the length of every billing cycle instead of calendar months.
	Period time.Duration
	// RenewalLeadDays: the renewal invoice is issued this many days before the due date (default 14).
	RenewalLeadDays int
	// FirstPaymentDays: an order whose first invoice stays unpaid this long is cancelled (default 7).
	FirstPaymentDays int
	// Dunning is the schedule for an unpaid renewal.
	Dunning DunningSchedule
}

// DunningSchedule is when dunning acts, in days relative to the invoice's due date.
type DunningSchedule struct {
	RetryDays     []int // charge the saved method again on these days after due (default 1, 3, 5, 7)
	ReminderDays  int   // remind this many days before due (default 3)
	SuspendDays   int   // suspend the service this many days after due (default 7)
	TerminateDays int   // terminate this many days after due (default 30)
}

// DefaultTimings are the production timings.
func DefaultTimings() Timings {
	return Timings{Day: 24 * time.Hour, RenewalLeadDays: 14, FirstPaymentDays: 7,
		Dunning: DunningSchedule{RetryDays: []int{1, 3, 5, 7}, ReminderDays: 3, SuspendDays: 7, TerminateDays: 30}}
}

// withDefaults fills zero fields from DefaultTimings.
func (t Timings) withDefaults() Timings {
	d := DefaultTimings()
	if t.Day <= 0 {
		t.Day = d.Day
	}
	if t.RenewalLeadDays <= 0 {
		t.RenewalLeadDays = d.RenewalLeadDays
	}
	if t.FirstPaymentDays <= 0 {
		t.FirstPaymentDays = d.FirstPaymentDays
	}
	if t.Dunning.RetryDays == nil {
		t.Dunning.RetryDays = d.Dunning.RetryDays
	}
	if t.Dunning.ReminderDays <= 0 {
		t.Dunning.ReminderDays = d.Dunning.ReminderDays
	}
	if t.Dunning.SuspendDays <= 0 {
		t.Dunning.SuspendDays = d.Dunning.SuspendDays
	}
	if t.Dunning.TerminateDays <= 0 {
		t.Dunning.TerminateDays = d.Dunning.TerminateDays
	}
	return t
}

// Days is n billing days.
func (t Timings) Days(n int) time.Duration { return time.Duration(n) * t.Day }

// SubscriptionInput starts or continues a subscription workflow.
type SubscriptionInput struct {
	SubscriptionID int64
	CustomerID     int64
	FirstInvoiceID int64 // the order's invoice; its payment activates the subscription
	Timings        Timings
	// Carried over by continue-as-new; nil on the first run.
	State *SubscriptionState
}

// SubscriptionState is the live state of a subscription, as the query returns it.
type SubscriptionState struct {
	SubscriptionID    int64
	CustomerID        int64
	ServiceID         int64
	Status            billing.SubscriptionStatus
	ProductID         int64
	Cycle             billing.Cycle
	Price             billing.Money
	PeriodStart       time.Time
	PeriodEnd         time.Time // next due date
	AnchorDay         int
	Cycles            int   // paid cycles so far
	OpenInvoiceID     int64 // unpaid renewal or change invoice, 0 when none
	CancelAtPeriodEnd bool
	CancelReason      string
	Suspended         bool // suspended by dunning or staff
	SuspendedBy       string
	Timeline          []TimelineEntry
	// seen payment event ids, so a duplicate signal changes nothing
	PaidInvoices []int64
	// Seq numbers the workflow's timeline writes and requests (their idempotency keys); it is
	// carried over by continue-as-new so keys never repeat.
	Seq int
}

// Ended reports whether the subscription is over (cancelled now or terminated by dunning):
// no staff action applies to it any more.
func (st SubscriptionState) Ended() bool {
	return st.Status == billing.SubscriptionCancelled || st.Status == billing.SubscriptionTerminated
}

// CanSuspend reports whether staff may suspend the subscription: it is active or past due and
// not suspended yet.
func (st SubscriptionState) CanSuspend() bool {
	return !st.Suspended && (st.Status == billing.SubscriptionActive || st.Status == billing.SubscriptionPastDue)
}

// CanUnsuspend reports whether staff may lift a suspension: it is suspended and has not ended
// (a terminated subscription keeps its suspended flag, but its service is gone).
func (st SubscriptionState) CanUnsuspend() bool { return st.Suspended && !st.Ended() }

// CanRetryPayment reports whether there is an open invoice to charge on a subscription that runs.
func (st SubscriptionState) CanRetryPayment() bool { return st.OpenInvoiceID != 0 && !st.Ended() }

// TimelineEntry is one step of a subscription's life.
type TimelineEntry struct {
	At      time.Time
	Kind    string
	Message string
}

// InvoicePaid is the fact that an invoice is paid.
type InvoicePaid struct {
	InvoiceID  int64
	Gateway    string
	PaymentRef string
	EventID    string // webhook event id, or "admin:<id>" for a manual payment
}

// DunningStep is what a dunning workflow tells its subscription.
type DunningStep struct {
	InvoiceID int64
	Kind      string // "suspend"
}

// Dunning step kinds.
const DunningSuspend = "suspend"

// PlanChangeRequest asks to move a subscription to another product.
type PlanChangeRequest struct {
	ProductID int64
	Actor     string // "customer:9", "admin:3"
}

// PlanChangeResult is a done plan change.
type PlanChangeResult struct {
	ProductID int64
	Net       billing.Money // positive: charged on InvoiceID; negative: credited to the account
	InvoiceID int64
	NewPrice  billing.Money // the new plan's price per cycle
}

// CancelRequest cancels a subscription.
type CancelRequest struct {
	AtPeriodEnd bool
	Reason      string
	Actor       string
}

// StaffAction is a staff member's action with a reason.
type StaffAction struct {
	Actor  string
	Reason string
}

// PaymentOutcome is the result of charging an invoice.
type PaymentOutcome struct {
	InvoiceID  int64
	Paid       bool
	PaymentRef string
	Failure    string // why the charge failed, for the customer or staff
	// Pending means a payment is on its way (accepted by the gateway, not settled, e.g. a bank
	// debit): the invoice is not paid yet, and it must not be charged again meanwhile.
	Pending bool
	// NoPaymentMethod: the customer has no saved payment method at any gateway, so no charge
	// was attempted; the invoice waits to be paid in the account.
	NoPaymentMethod bool
}

// NextInvoice previews the next renewal invoice.
type NextInvoice struct {
	Due      time.Time
	Total    billing.Money
	Subtotal billing.Money
	Discount billing.Money
	Tax      billing.Money
	None     bool // the subscription does not renew (cancelling at period end, one-time)
}

// DunningInput starts the dunning of one unpaid invoice.
type DunningInput struct {
	InvoiceID      int64
	SubscriptionID int64
	CustomerID     int64
	DueAt          time.Time
	Timings        Timings
}

// DunningResult is how a dunning ended.
type DunningResult struct {
	Paid       bool
	Terminated bool // the termination date passed unpaid
}

// CheckText refuses free text (a cancellation or suspension reason) that PostgreSQL could not
// store or that would disturb a page or log line: invalid UTF-8 and control characters other
// than tab and line breaks (a NUL byte is refused by PostgreSQL's text type). what names the
// field in the message, e.g. "the reason". The portal and admin forms and the workflow's Update
// validators all use it, so such text is refused before anything changes.
func CheckText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8 text", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return fmt.Errorf("%s contains a control character (%U); remove it and try again", what, r)
		}
	}
	return nil
}
