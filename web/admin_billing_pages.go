package web

import (
	"time"

	"github.com/ezscale/billing/billing"
)

// AdminSubscriptionRow is one subscription in the admin list: the portal row plus its customer.
type AdminSubscriptionRow struct {
	SubscriptionRow
	Customer, CustomerEmail string
	CustomerID              int64
}

// AdminSubscriptions is the view of "admin_subscriptions".
type AdminSubscriptions struct {
	Filter        billing.SubscriptionStatus
	Statuses      []billing.SubscriptionStatus
	Subscriptions []AdminSubscriptionRow
}

// AdminSubscription is the view of "admin_subscription". Live is set when the workflow answered
// its state query; the Can* flags say which staff actions apply now.
type AdminSubscription struct {
	Subscription           AdminSubscriptionRow
	PeriodStart, PeriodEnd time.Time
	ServiceID              int64
	Gateway, PaymentMethod string
	CancelReason           string
	WorkflowURL            string
	Timeline               []EventRow
	Invoices               []InvoiceRow
	Live                   bool
	Suspended              bool
	OpenInvoiceID          int64
	CanSuspend             bool
	CanUnsuspend           bool
	CanRetry               bool
	CanCancel              bool
}

// PaymentRow is one payment of an invoice on the admin page.
type PaymentRow struct {
	Gateway, Ref, Amount, Refunded string
	At                             time.Time
}

// CouponRow is one coupon in the admin list.
type CouponRow struct {
	ID                       int64
	Code, Discount, Duration string
	Expires, MaxUses         string // "" when none
	Products                 []string
	Retired, Stackable       bool
	OncePerCustomer          bool
}

// AdminCoupons is the view of "admin_coupons"; the create form's values are in Page.Form.
type AdminCoupons struct{ Coupons []CouponRow }

// TaxRuleRow is one tax rule.
type TaxRuleRow struct {
	ID                   int64
	Level                int
	Name, Country, State string
	Rate                 string
	Compound             bool
}

// BillingSettings is the view of "admin_billing_settings": tax rules and invoice numbering.
type BillingSettings struct {
	TaxRules []TaxRuleRow
	Prefix   string
	Next     int64
}
