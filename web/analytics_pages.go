package web

import (
	"html/template"
	"time"
)

// DashboardAnalytics is the business part of the admin dashboard: metric cards, charts and the
// services needing attention, for one currency at a time (docs/analytics.md defines each metric).
type DashboardAnalytics struct {
	Currency   string   // the currency the money figures are in
	Currencies []string // every currency with figures; the selector shows when there are several
	AsOf       time.Time
	Month      string // the month churn and movement are for, "March 2026"
	// Cards are the headline metrics; Movement the month's net MRR movement cards.
	Cards    []MetricCard
	Movement []MetricCard
	Charts   []DashboardChart
	// Attention lists the newest services needing attention; AttentionCount is how many there are.
	Attention      []AttentionRow
	AttentionCount int
	// MoneyAlerts are the open money alerts, newest first.
	MoneyAlerts []MoneyAlertRow
	// SnapshotDays is how many stored daily snapshots the MRR trend is drawn from.
	SnapshotDays int
}

// MetricCard is one figure with its definition, shown in a <details> under it.
type MetricCard struct {
	ID         string // data-testid and the anchor in docs/analytics.md
	Label      string
	Value      string
	Sub        string // a second line: the comparison or the counts behind a rate
	Definition string
	Tone       string // "", "good", "bad": colours the value
	Link       string // where the card leads, "" for none
}

// DashboardChart is one server-drawn SVG chart (web/chart) with its heading.
type DashboardChart struct {
	ID      string
	Title   string
	Caption string
	SVG     template.HTML
	Wide    bool // spans the whole row
}

// MoneyAlertRow is money staff must look at: an overpayment that was returned, a refund that
// failed at the gateway.
type MoneyAlertRow struct {
	ID        int64
	Kind      string // in words: "Overpayment", "Refund failed"
	Message   string
	InvoiceID int64 // 0 when the alert is about no invoice
	CreatedAt time.Time
}

// AttentionRow is a service waiting for staff after a failed build or panel operation.
type AttentionRow struct {
	ID        int64
	Hostname  string
	Product   string
	Customer  string
	Reason    string
	UpdatedAt time.Time
}
