package web

import (
	"time"

	"github.com/ezscale/billing/billing"
)

// OrderCatalog is the view of "order_catalog": the products a customer can order, by group,
// priced in Currency, which the visitor can switch to any of Currencies.
type OrderCatalog struct {
	Groups     []OrderGroup
	Currency   string
	Currencies []string
}

// OrderGroup is one heading of the order catalog with its orderable products.
type OrderGroup struct {
	Name, Description string
	Products          []OrderProduct
}

// OrderProduct is one orderable product. Money is preformatted ("USD 8.00").
type OrderProduct struct {
	ID                      int64
	Name, Type, Description string
	TypeLabel               string       // "VPS", "Game server"
	From                    string       // the lowest price of its shortest cycle, e.g. "USD 8.00"
	FromCycle               string       // that price's cycle in words, e.g. "month"
	Prices                  []OrderPrice // every cycle it is sold in, in one currency
	SoldOut                 bool         // its stock limit is reached: shown, but not orderable
}

// OrderPrice is one price of a product.
type OrderPrice struct {
	Cycle, CycleLabel, Currency string
	Amount, Setup               string // Setup is "" without a setup fee
}

// OrderConfigure is the view of "order_configure". Form values are in Page.Form: price
// ("cycle/currency"), coupon, gateway and field_<key> per order field.
type OrderConfigure struct {
	Product  OrderProduct
	Prices   []Option // value "monthly/USD", label "Monthly · USD 8.00 (+ USD 49.00 setup)"
	Fields   []OrderFieldInput
	Gateways []Option
}

// OrderFieldInput is one question of a product's order form; Name is its form field name.
type OrderFieldInput struct {
	Name, Label string
	Required    bool
	Select      bool
	Options     []Option
}

// OrderReview is the view of "order_review": the priced summary and the form that places the
// order. Carry are the choices the place form sends again (the server prices them afresh);
// Token is the one-time form token that makes a double submission one order.
type OrderReview struct {
	Product    OrderProduct
	CycleLabel string
	Currency   string
	Answers    []Option // order field answers: Label is the question, Value the answer
	Coupon     string
	Gateway    string
	Lines      []InvoiceLineRow
	Totals     []InvoiceTotalRow
	Total      string
	Free       bool // credit covers it: nothing to pay at the gateway
	Carry      []Option
	Token      string
}

// InvoicePay is the view of "account_invoice_pay": choose the gateway to pay an invoice with.
type InvoicePay struct {
	Invoice  InvoiceRow
	Gateways []Option
	Gateway  string // preselected
}

// SubscriptionRow is one subscription as listed and as the head of its page.
type SubscriptionRow struct {
	ID                int64
	Product           string
	Status            billing.SubscriptionStatus
	Badge             string // badge variant for Status
	Cycle             string // in words: "Monthly"
	Price             string // per cycle, before discounts and tax
	NextDue           time.Time
	NextAmount        string // "" when unknown or it does not renew
	Live              bool   // NextDue and NextAmount come from the running workflow
	CancelAtPeriodEnd bool
}

// AccountSubscriptions is the view of "account_subscriptions".
type AccountSubscriptions struct{ Subscriptions []SubscriptionRow }

// AccountSubscription is the view of "account_subscription". The cancel form's values are in
// Page.Form (reason, when) and its error in Page.Errors["reason"].
type AccountSubscription struct {
	Subscription              SubscriptionRow
	PeriodStart, PeriodEnd    time.Time // zero before the first payment
	ServiceID                 int64     // 0 when the product has no service
	ServiceStatus             billing.ServiceStatus
	CancelReason              string
	Invoices                  []InvoiceRow
	Timeline                  []EventRow // oldest first
	Schedule                  []ScheduleRow
	ScheduleNote              string   // why there is no schedule, when there is none
	ChangeTo                  []Option // products it can move to: value product id, label name and price
	CanChange, CanCancel      bool
	ChangeNote, CancelNote    string // why a change or cancellation is not offered
	AlreadyCancelsAtPeriodEnd bool
}

// ScheduleRow is one future renewal invoice.
type ScheduleRow struct {
	Due, PeriodEnd time.Time
	Total          string
}

// PlanChangePreview is the view of "account_plan_change": the proration of a plan change and
// the form that confirms it.
type PlanChangePreview struct {
	Subscription             SubscriptionRow
	From, To                 string // product names
	ToProductID              int64
	OldPrice, NewPrice       string
	ChangeAt                 time.Time
	PeriodStart, PeriodEnd   time.Time
	TotalDays, RemainingDays int
	Credit, Charge, Net      string
	Lines                    []InvoiceLineRow // the proration invoice when Net is due
	Totals                   []InvoiceTotalRow
	Total                    string // what the invoice comes to, when Net is due
	Credited                 string // what goes to the account credit, when Net is negative
}

// PaymentMethods is the view of "account_payment_methods".
type PaymentMethods struct {
	Gateways []GatewayMethods
	Nonce    string // makes the add-a-card form idempotent
}

// GatewayMethods is one gateway's saved payment methods for the customer.
type GatewayMethods struct {
	Gateway string
	Name    string // the gateway's registry name, posted by the add-a-card form
	CanAdd  bool   // the gateway has a hosted page to save a card without paying
	Methods []PaymentMethodRow
	Error   string // the gateway could not be asked
}

// PaymentMethodRow is one saved payment method, described only as far as a customer needs to
// recognise it.
type PaymentMethodRow struct {
	Ref, Brand, Last4, Expiry string
	Default                   bool
}
