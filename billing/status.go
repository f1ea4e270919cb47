package billing

import "strings"

// SubscriptionStatus is where a subscription stands. The subscription workflow owns the
// transitions; the database keeps the value in subscriptions.status.
type SubscriptionStatus string

// The subscription statuses.
const (
	SubscriptionPending    SubscriptionStatus = "pending"  // waiting for the first payment
	SubscriptionActive     SubscriptionStatus = "active"   // paid up
	SubscriptionPastDue    SubscriptionStatus = "past_due" // a renewal is unpaid, dunning runs
	SubscriptionSuspended  SubscriptionStatus = "suspended"
	SubscriptionCancelled  SubscriptionStatus = "cancelled"  // ended by the customer or staff
	SubscriptionTerminated SubscriptionStatus = "terminated" // ended by dunning
)

// AllSubscriptionStatuses lists the subscription statuses in their lifecycle order (the order
// filters show them in).
func AllSubscriptionStatuses() []SubscriptionStatus {
	return []SubscriptionStatus{SubscriptionPending, SubscriptionActive, SubscriptionPastDue,
		SubscriptionSuspended, SubscriptionCancelled, SubscriptionTerminated}
}

// Label is the status in words, as people see it ("Past due").
func (s SubscriptionStatus) Label() string { return label(string(s)) }

// ServiceStatus is where a service stands. The provisioning workflow owns the transitions; the
// database keeps the value in services.status.
type ServiceStatus string

// The service statuses.
const (
	ServicePending        ServiceStatus = "pending"      // ordered, provisioning not started
	ServiceProvisioning   ServiceStatus = "provisioning" // the panel is building it
	ServiceActive         ServiceStatus = "active"
	ServiceSuspended      ServiceStatus = "suspended"
	ServiceTerminated     ServiceStatus = "terminated"
	ServiceNeedsAttention ServiceStatus = "needs_attention" // a panel failure waits for staff
	ServiceAbandoned      ServiceStatus = "abandoned"       // closed without a working service
)

// AllServiceStatuses lists the service statuses in the order filters show them: the one that
// needs someone first.
func AllServiceStatuses() []ServiceStatus {
	return []ServiceStatus{ServiceNeedsAttention, ServicePending, ServiceProvisioning, ServiceActive,
		ServiceSuspended, ServiceTerminated, ServiceAbandoned}
}

// Label is the status in words, as people see it ("Needs attention").
func (s ServiceStatus) Label() string { return label(string(s)) }

// AllInvoiceStatuses lists the invoice statuses: the settlement statuses, then cancelled.
func AllInvoiceStatuses() []Status {
	return []Status{StatusDraft, StatusUnpaid, StatusPaid, StatusPartiallyRefunded, StatusRefunded, StatusCancelled}
}

// Label is the status in words, as people see it ("Partially refunded").
func (s Status) Label() string { return label(string(s)) }

// Label is the refund state in words, as people see it ("Failed"); "" is a refund recorded
// before states were kept, which succeeded.
func (s RefundStatus) Label() string {
	if s == "" {
		return label(string(RefundSucceeded))
	}
	return label(string(s))
}

// label turns a status value into words: the first letter upper case, underscores as spaces
// ("needs_attention" -> "Needs attention"). Every status value is lower-case ASCII.
func label(status string) string {
	s := strings.ReplaceAll(status, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
