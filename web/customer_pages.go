package web

import "time"

// CustomerRow is one customer in the admin list and the head of the customer page.
type CustomerRow struct {
	ID                            int64
	Name, Email, Company, Country string
	CreatedAt                     time.Time
	Closed                        bool
	Services                      int    // live services
	Overdue                       bool   // has an unpaid invoice past its due date
	MonthlySpend                  string // "USD 24.00/mo", one figure per currency; "" for none
}

// AdminCustomers is the view of "admin_customers". The filter values are in Page.Form: q,
// status (active, closed), overdue ("on"), type (product type), sort (name, email, created).
type AdminCustomers struct {
	Customers           []CustomerRow
	Total               int // customers matching the filters
	From, To            int // the rows shown, 1-based ("51–100 of 312")
	All, Active, Closed int // all, open and closed accounts, for the tabs
	PrevURL, NextURL    string
	StatusURLs          map[string]string // "", active, closed → the list with that status and the other filters kept
	Sorts, ProductTypes []Option
	Filtered            bool // some filter is set: the empty state says nothing matched
}

// AdminCustomer is the view of "admin_customer". The profile form's values are in Page.Form
// (name, email, company, phone, address1, address2, city, state, postcode, country, tax_exempt,
// vat_id, dunning_suspend_days, dunning_terminate_days) and its errors in Page.Errors.
type AdminCustomer struct {
	Customer            CustomerRow
	ClosedAt            time.Time
	Verified            bool
	Address             []string // the postal address, one line each
	Phone               string
	TaxExempt           bool
	VATID               string
	DunningSuspend      string // days after the due date, "" for the default
	DunningTerminate    string
	ActiveSubscriptions int // shown as a warning on a closed account: they keep billing
	Services            []CustomerServiceRow
	Subscriptions       []SubscriptionRow
	Invoices            []InvoiceRow
	Payments            []CustomerPaymentRow
	CreditBalances      []string // "USD 10.00", one per currency
	Credit              []CreditRow
	Notes               []NoteRow // pinned first
	Logins              []LoginRow
	Audit               []AuditRow
	Timeline            []TimelineRow // newest first, capped
	// Nonce makes the credit form idempotent; Currencies are its choices.
	Nonce      string
	Currencies []string
	// EditOpen keeps the profile form open after a failed save.
	EditOpen bool
}

// CustomerServiceRow is one of a customer's services, archived ones marked.
type CustomerServiceRow struct {
	ServiceRow
	Archived bool
}

// CustomerPaymentRow is one payment on the customer page.
type CustomerPaymentRow struct {
	At               time.Time
	InvoiceID        int64
	InvoiceNumber    string
	Gateway, Ref     string
	Amount, Refunded string // Refunded is "" when nothing was refunded
}

// CreditRow is one credit ledger entry.
type CreditRow struct {
	At        time.Time
	Kind      string // add, use, refund, adjust
	Amount    string // signed: uses are negative
	Note, By  string
	InvoiceID int64
}

// NoteRow is one staff note on a customer.
type NoteRow struct {
	ID        int64
	Body      string
	Pinned    bool
	Author    string
	CreatedAt time.Time
	Edited    bool
}

// TimelineRow is one entry of the customer page's unified timeline. Kind names the source
// (subscription, service, invoice, payment, refund, note, login, audit); Href links to the
// record when it has a page.
type TimelineRow struct {
	At                  time.Time
	Kind, Title, Detail string
	Href                string
}

// BulkResult is the view of "admin_bulk_result": what a bulk action did to each selected row.
type BulkResult struct {
	Action  string // in words: "Suspend", "Mark paid"
	Kind    string // "services" or "invoices"
	BackURL string
	Rows    []BulkRow
	Done    int // rows the action was applied to
	Refused int // rows refused, with their reason
}

// BulkRow is one selected row and what happened to it.
type BulkRow struct {
	ID      int64
	Label   string // hostname or invoice number
	Href    string
	OK      bool
	Message string
}
