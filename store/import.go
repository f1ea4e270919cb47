package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ezscale/billing/billing"
)

// Historical records: what a business already did before it reached this platform (an import
// from WHMCS) or what the demo business seeds. They carry their own timestamps and statuses;
// money figures are still derived (invoice totals from lines, invoice status from payments and
// refunds by billing.Settlement), never typed in.
//
// Records refer to each other by pointer. Import writes the records listed in a batch and sets
// their ID fields; a reference to a record written by an earlier batch (ID already set) is
// resolved to that ID, so a large import can be written in many transactions.

// HistoricCustomer is a customer account with its profile, created at CreatedAt.
type HistoricCustomer struct {
	ID           int64 // set by Import
	Email        string
	Name         string
	PasswordHash string
	Verified     bool // email verified when the account was created
	Profile      Profile
	VATID        string
	TaxExempt    bool
	CreatedAt    time.Time
}

// HistoricService is a service row on a panel server; writing it calls no panel.
type HistoricService struct {
	ID            int64 // set by Import
	Customer      *HistoricCustomer
	ProductID     int64
	PanelServerID int64
	Status        billing.ServiceStatus
	Hostname      string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HistoricSubscription is a subscription as it stands now, with the dates it got there.
type HistoricSubscription struct {
	ID                int64 // set by Import
	Customer          *HistoricCustomer
	Service           *HistoricService // nil when the product has no service
	ProductID         int64
	Cycle             billing.Cycle
	Price             billing.Money // recurring price per cycle
	Status            billing.SubscriptionStatus
	Gateway           string
	PeriodStart       time.Time // zero when none
	PeriodEnd         time.Time
	AnchorDay         int // 0 when none
	CancelAtPeriodEnd bool
	CancelReason      string
	CancelledAt       time.Time // zero when not cancelled
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// HistoricSubscriptionEvent is one dated entry of a subscription's timeline.
type HistoricSubscriptionEvent struct {
	Subscription *HistoricSubscription
	At           time.Time
	Kind         string
	Message      string
	Actor        string
}

// HistoricCredit is one dated account-credit movement. Credit applied to an invoice is not
// listed here: it is HistoricInvoice.CreditUsed.
type HistoricCredit struct {
	Customer       *HistoricCustomer
	Kind           billing.CreditKind // add, refund or adjust
	Amount         billing.Money      // signed as the ledger stores it
	Invoice        *HistoricInvoice   // nil when not tied to an invoice
	Note           string
	CreatedBy      string
	IdempotencyKey string
	At             time.Time
}

// HistoricInvoice is an issued invoice with its payments and refunds. Its number is taken from
// its series when it is written (batch order is numbering order), its status is derived.
type HistoricInvoice struct {
	ID     int64  // set by Import
	Seq    int64  // set by Import: the number in its series
	Number string // set by Import: prefix and Seq

	Customer      *HistoricCustomer
	Subscription  *HistoricSubscription // nil when none
	Service       *HistoricService      // nil when none
	Series        string                // "" is DefaultSeries
	Currency      string
	Lines         []billing.Line
	ReverseCharge bool
	IssuedAt      time.Time
	DueAt         time.Time
	// CancelledAt withdraws the invoice (it must have no payments); zero when not cancelled.
	CancelledAt time.Time
	// CreditUsed is the credit the invoice's credit line applies; it is taken from the ledger
	// at IssuedAt, as CreateInvoice does.
	CreditUsed     billing.Money
	Payments       []HistoricPayment
	Refunds        []HistoricRefund
	CreatedBy      string
	IdempotencyKey string
}

// HistoricPayment is a payment received at At.
type HistoricPayment struct {
	Gateway      string
	GatewayTxnID string
	Amount       billing.Money
	At           time.Time
	CreatedBy    string
}

// HistoricRefund returns money of one of the invoice's payments (Payment is its index in
// HistoricInvoice.Payments).
type HistoricRefund struct {
	Payment         int
	GatewayRefundID string
	Amount          billing.Money
	Reason          string
	At              time.Time
	CreatedBy       string
}

// ImportBatch is a set of historical records written in one transaction.
type ImportBatch struct {
	Customers     []*HistoricCustomer
	Services      []*HistoricService
	Subscriptions []*HistoricSubscription
	Events        []HistoricSubscriptionEvent
	Credits       []HistoricCredit
	Invoices      []*HistoricInvoice
}

// ImportCustomer writes one historical customer (see Import).
func (s *Store) ImportCustomer(ctx context.Context, c *HistoricCustomer) error {
	return s.Import(ctx, &ImportBatch{Customers: []*HistoricCustomer{c}})
}

// ImportSubscription writes one historical subscription and its service, if it has one that
// is not written yet (see Import).
func (s *Store) ImportSubscription(ctx context.Context, sub *HistoricSubscription) error {
	b := &ImportBatch{Subscriptions: []*HistoricSubscription{sub}}
	if sub.Service != nil && sub.Service.ID == 0 {
		b.Services = []*HistoricService{sub.Service}
	}
	return s.Import(ctx, b)
}

// ImportSubscriptionEvent writes one dated timeline entry of an imported subscription.
func (s *Store) ImportSubscriptionEvent(ctx context.Context, e HistoricSubscriptionEvent) error {
	return s.Import(ctx, &ImportBatch{Events: []HistoricSubscriptionEvent{e}})
}

// ImportInvoice writes one historical invoice with its payments and refunds (see Import).
func (s *Store) ImportInvoice(ctx context.Context, inv *HistoricInvoice) error {
	return s.Import(ctx, &ImportBatch{Invoices: []*HistoricInvoice{inv}})
}

// HasRecordsCreatedBy reports whether any subscription or invoice was created by createdBy,
// so an import or the demo seed can refuse to run twice.
func (s *Store) HasRecordsCreatedBy(ctx context.Context, createdBy string) (bool, error) {
	var found bool
	err := s.db.GetContext(ctx, &found, `SELECT EXISTS (SELECT 1 FROM subscriptions WHERE created_by = $1)
		OR EXISTS (SELECT 1 FROM invoices WHERE created_by = $1)`, createdBy)
	if err != nil {
		return false, fmt.Errorf("look up records created by %s: %w", createdBy, err)
	}
	return found, nil
}

// Import writes a batch of historical records in one transaction with COPY, in the order
// customers, services, subscriptions, events, credit, invoices (with lines, payments, refunds
// and the credit they apply). Invoices are numbered in batch order from their series, whose row
// is locked for the transaction, so numbers stay sequential and gap-free. Nothing is written
// when any record is invalid.
func (s *Store) Import(ctx context.Context, b *ImportBatch) error {
	rows, err := b.prepare()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("import: driver connection is %T, not pgx", dc)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), func(tx pgx.Tx) error { return rows.write(ctx, tx, b) })
	})
	if err != nil {
		b.forgetIDs()
		return err
	}
	return nil
}

// importRows are a batch's records checked and with their derived figures.
type importRows struct {
	settled map[*HistoricInvoice]invoiceSettlement
}

type invoiceSettlement struct {
	status billing.Status
	paidAt time.Time // zero when unpaid
	last   time.Time // the latest change, for updated_at
}

func (b *ImportBatch) prepare() (importRows, error) {
	rows := importRows{settled: make(map[*HistoricInvoice]invoiceSettlement, len(b.Invoices))}
	for _, c := range b.Customers {
		if c.ID != 0 {
			return rows, fmt.Errorf("import customer %s: already written as %d", c.Email, c.ID)
		}
		if c.Email == "" || c.Name == "" || c.CreatedAt.IsZero() {
			return rows, fmt.Errorf("import customer %q: email, name and creation time are required", c.Email)
		}
	}
	for _, sv := range b.Services {
		if sv.Customer == nil || sv.ProductID == 0 || sv.PanelServerID == 0 || sv.CreatedBy == "" || sv.CreatedAt.IsZero() {
			return rows, errors.New("import service: customer, product, panel server, creator and creation time are required")
		}
	}
	for _, sub := range b.Subscriptions {
		if sub.Customer == nil || sub.ProductID == 0 || sub.CreatedBy == "" || sub.CreatedAt.IsZero() {
			return rows, errors.New("import subscription: customer, product, creator and creation time are required")
		}
		if !sub.Cycle.Valid() {
			return rows, fmt.Errorf("import subscription: cycle %q: %w", sub.Cycle, billing.ErrUnknownCycle)
		}
	}
	for _, e := range b.Events {
		if e.Subscription == nil || e.Kind == "" || e.At.IsZero() {
			return rows, errors.New("import subscription event: subscription, kind and time are required")
		}
	}
	for _, c := range b.Credits {
		if c.Customer == nil || c.IdempotencyKey == "" || c.CreatedBy == "" || c.At.IsZero() {
			return rows, errors.New("import credit: customer, idempotency key, creator and time are required")
		}
		if c.Kind == billing.CreditUse {
			return rows, errors.New("import credit: credit used is recorded by the invoice that uses it")
		}
	}
	for _, inv := range b.Invoices {
		st, err := inv.settle()
		if err != nil {
			return rows, err
		}
		rows.settled[inv] = st
	}
	return rows, nil
}

// settle checks an invoice and derives its status and paid date by replaying its payments and
// refunds in time order through billing.Settlement, as RecordPayment and RecordRefund would have.
func (inv *HistoricInvoice) settle() (invoiceSettlement, error) {
	key := inv.IdempotencyKey
	if inv.ID != 0 {
		return invoiceSettlement{}, fmt.Errorf("import invoice %s: already written as %d", key, inv.ID)
	}
	if inv.Customer == nil || key == "" || inv.CreatedBy == "" || inv.IssuedAt.IsZero() || inv.DueAt.IsZero() {
		return invoiceSettlement{}, fmt.Errorf("import invoice %q: customer, idempotency key, creator, issue and due dates are required", key)
	}
	nv := NewInvoice{CustomerID: -1, Currency: inv.Currency, Lines: inv.Lines, IdempotencyKey: key, CreatedBy: inv.CreatedBy}
	if err := nv.validate(); err != nil {
		return invoiceSettlement{}, fmt.Errorf("import invoice %s: %w", key, err)
	}
	type step struct {
		at     time.Time
		pay    *HistoricPayment
		refund *HistoricRefund
	}
	steps := make([]step, 0, len(inv.Payments)+len(inv.Refunds))
	left := make([]int64, len(inv.Payments))
	for i := range inv.Payments {
		p := &inv.Payments[i]
		if p.Gateway == "" || p.GatewayTxnID == "" || p.CreatedBy == "" || p.At.IsZero() {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: payment %d needs gateway, transaction id, creator and time", key, i)
		}
		left[i] = p.Amount.Amount
		steps = append(steps, step{at: p.At, pay: p})
	}
	for i := range inv.Refunds {
		r := &inv.Refunds[i]
		if r.Payment < 0 || r.Payment >= len(inv.Payments) || r.GatewayRefundID == "" || r.CreatedBy == "" || r.At.IsZero() {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: refund %d needs its payment, refund id, creator and time", key, i)
		}
		if r.At.Before(inv.Payments[r.Payment].At) {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: refund %s precedes its payment", key, r.GatewayRefundID)
		}
		if left[r.Payment] -= r.Amount.Amount; left[r.Payment] < 0 {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: refunds of payment %s: %w", key, inv.Payments[r.Payment].GatewayTxnID, billing.ErrRefundExceedsPaid)
		}
		steps = append(steps, step{at: r.At, refund: r})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })

	total, err := billing.Invoice{Currency: inv.Currency, Lines: inv.Lines}.Total()
	if err != nil {
		return invoiceSettlement{}, fmt.Errorf("import invoice %s: %w", key, err)
	}
	st, err := billing.NewSettlement(total)
	if err != nil {
		return invoiceSettlement{}, fmt.Errorf("import invoice %s: %w", key, err)
	}
	st.Issue()
	out := invoiceSettlement{last: inv.IssuedAt}
	if st.AmountDue().IsZero() {
		out.paidAt = inv.IssuedAt
	}
	for _, s := range steps {
		if s.pay != nil {
			err = st.Pay(billing.Payment{Amount: s.pay.Amount, Gateway: s.pay.Gateway, TransactionID: s.pay.GatewayTxnID})
			if err == nil && out.paidAt.IsZero() && st.AmountDue().IsZero() {
				out.paidAt = s.at
			}
		} else {
			gw := inv.Payments[s.refund.Payment].Gateway
			err = st.Refund(billing.Refund{Amount: s.refund.Amount, Gateway: gw, RefundID: s.refund.GatewayRefundID})
		}
		if err != nil {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: %w", key, err)
		}
		out.last = s.at
	}
	out.status = st.Status()
	if !inv.CancelledAt.IsZero() {
		if len(inv.Payments) > 0 {
			return invoiceSettlement{}, fmt.Errorf("import invoice %s: cancelled with %d payment(s): %w", key, len(inv.Payments), ErrInvoiceState)
		}
		out.status, out.paidAt, out.last = billing.StatusCancelled, time.Time{}, inv.CancelledAt
	}
	return out, nil
}

// write runs the batch's statements in tx.
func (rows importRows) write(ctx context.Context, tx pgx.Tx, b *ImportBatch) error {
	if err := assignIDs(ctx, tx, "users", len(b.Customers), func(i int, id int64) { b.Customers[i].ID = id }); err != nil {
		return err
	}
	if err := assignIDs(ctx, tx, "services", len(b.Services), func(i int, id int64) { b.Services[i].ID = id }); err != nil {
		return err
	}
	if err := assignIDs(ctx, tx, "subscriptions", len(b.Subscriptions), func(i int, id int64) { b.Subscriptions[i].ID = id }); err != nil {
		return err
	}
	if err := assignIDs(ctx, tx, "invoices", len(b.Invoices), func(i int, id int64) { b.Invoices[i].ID = id }); err != nil {
		return err
	}
	if err := numberInvoices(ctx, tx, b.Invoices); err != nil {
		return err
	}

	var users, profiles [][]any
	for _, c := range b.Customers {
		var verified any
		if c.Verified {
			verified = c.CreatedAt
		}
		users = append(users, []any{c.ID, NormalizeEmail(c.Email), verified, c.PasswordHash, c.Name, RoleCustomer, c.CreatedAt, c.CreatedAt})
		p := c.Profile
		profiles = append(profiles, []any{c.ID, p.Company, p.Phone, p.Address1, p.Address2, p.City, p.State, p.Postcode, p.Country,
			c.TaxExempt, c.VATID, c.CreatedAt})
	}
	if err := copyRows(ctx, tx, "users", []string{"id", "email", "email_verified_at", "password_hash", "name", "role", "created_at", "updated_at"}, users); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "customer_profiles", []string{"user_id", "company", "phone", "address1", "address2", "city", "state",
		"postcode", "country", "tax_exempt", "vat_id", "updated_at"}, profiles); err != nil {
		return err
	}

	var services, serviceEvents [][]any
	for _, sv := range b.Services {
		cid, err := customerID(sv.Customer)
		if err != nil {
			return err
		}
		services = append(services, []any{sv.ID, cid, sv.ProductID, sv.PanelServerID, sv.Status, sv.Hostname, sv.CreatedBy, sv.CreatedAt, later(sv.UpdatedAt, sv.CreatedAt)})
		serviceEvents = append(serviceEvents, []any{sv.ID, sv.CreatedAt, "created", "imported with its history; no panel was called", sv.CreatedBy})
	}
	if err := copyRows(ctx, tx, "services", []string{"id", "customer_id", "product_id", "panel_server_id", "status", "hostname", "created_by", "created_at", "updated_at"}, services); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "service_events", []string{"service_id", "at", "kind", "message", "actor"}, serviceEvents); err != nil {
		return err
	}

	var subs [][]any
	for _, sub := range b.Subscriptions {
		cid, err := customerID(sub.Customer)
		if err != nil {
			return err
		}
		var svc, anchor any
		if sub.Service != nil {
			if sub.Service.ID == 0 {
				return fmt.Errorf("import subscription %d: its service is not written", sub.ID)
			}
			svc = sub.Service.ID
		}
		if sub.AnchorDay > 0 {
			anchor = sub.AnchorDay
		}
		subs = append(subs, []any{sub.ID, cid, sub.ProductID, svc, string(sub.Cycle), sub.Price.Currency, sub.Price.Amount, sub.Status,
			sub.Gateway, optionalTime(sub.PeriodStart), optionalTime(sub.PeriodEnd), anchor, sub.CancelAtPeriodEnd, sub.CancelReason,
			optionalTime(sub.CancelledAt), sub.CreatedBy, sub.CreatedAt, later(sub.UpdatedAt, sub.CreatedAt)})
	}
	if err := copyRows(ctx, tx, "subscriptions", []string{"id", "customer_id", "product_id", "service_id", "cycle", "currency", "price", "status",
		"gateway", "period_start", "period_end", "anchor_day", "cancel_at_period_end", "cancel_reason", "cancelled_at", "created_by",
		"created_at", "updated_at"}, subs); err != nil {
		return err
	}

	var events [][]any
	for _, e := range b.Events {
		if e.Subscription.ID == 0 {
			return fmt.Errorf("import %s event: its subscription is not written", e.Kind)
		}
		events = append(events, []any{e.Subscription.ID, e.At, e.Kind, e.Message, e.Actor})
	}
	if err := copyRows(ctx, tx, "subscription_events", []string{"subscription_id", "at", "kind", "message", "actor"}, events); err != nil {
		return err
	}

	var credits [][]any
	creditCheck := map[int64]map[string]int64{} // customer → currency → change in this batch
	addCredit := func(cid int64, m billing.Money) {
		if creditCheck[cid] == nil {
			creditCheck[cid] = map[string]int64{}
		}
		creditCheck[cid][m.Currency] += m.Amount
	}
	for _, c := range b.Credits {
		cid, err := customerID(c.Customer)
		if err != nil {
			return err
		}
		var invoiceID any
		if c.Invoice != nil {
			if c.Invoice.ID == 0 {
				return fmt.Errorf("import credit %s: its invoice is not written", c.IdempotencyKey)
			}
			invoiceID = c.Invoice.ID
		}
		credits = append(credits, []any{cid, c.Amount.Currency, c.Amount.Amount, string(c.Kind), invoiceID, c.Note, c.CreatedBy, c.IdempotencyKey, c.At})
		addCredit(cid, c.Amount)
	}

	var invoices, lines, payments, refunds [][]any
	for _, inv := range b.Invoices {
		cid, err := customerID(inv.Customer)
		if err != nil {
			return err
		}
		var subID, svcID any
		if inv.Subscription != nil {
			if subID = inv.Subscription.ID; inv.Subscription.ID == 0 {
				return fmt.Errorf("import invoice %s: its subscription is not written", inv.IdempotencyKey)
			}
		}
		if inv.Service != nil {
			if svcID = inv.Service.ID; inv.Service.ID == 0 {
				return fmt.Errorf("import invoice %s: its service is not written", inv.IdempotencyKey)
			}
		}
		st := rows.settled[inv]
		invoices = append(invoices, []any{inv.ID, seriesOf(inv), inv.Seq, inv.Number, cid, inv.Currency, string(st.status), inv.ReverseCharge,
			inv.IssuedAt, inv.DueAt, optionalTime(st.paidAt), optionalTime(inv.CancelledAt), inv.CreatedBy, inv.IdempotencyKey,
			subID, svcID, inv.IssuedAt, st.last})
		for i, l := range inv.Lines {
			var productID any
			if l.ProductID != 0 {
				productID = l.ProductID
			}
			lines = append(lines, []any{inv.ID, i, string(l.Kind), l.Description, l.Amount.Amount, productID, l.Taxable, l.CouponCode})
		}
		if inv.CreditUsed.IsPositive() {
			credits = append(credits, []any{cid, inv.CreditUsed.Currency, -inv.CreditUsed.Amount, string(billing.CreditUse), inv.ID,
				"applied to invoice", inv.CreatedBy, "invoice-credit:" + inv.IdempotencyKey, inv.IssuedAt})
			addCredit(cid, billing.Money{Amount: -inv.CreditUsed.Amount, Currency: inv.CreditUsed.Currency})
		}
	}
	if err := copyRows(ctx, tx, "invoices", []string{"id", "series", "seq", "number", "customer_id", "currency", "status", "reverse_charge",
		"issued_at", "due_at", "paid_at", "cancelled_at", "created_by", "idempotency_key", "subscription_id", "service_id",
		"created_at", "updated_at"}, invoices); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "invoice_lines", []string{"invoice_id", "position", "kind", "description", "amount", "product_id",
		"taxable", "coupon_code"}, lines); err != nil {
		return err
	}

	var npay int
	for _, inv := range b.Invoices {
		npay += len(inv.Payments)
	}
	payIDs, err := nextIDs(ctx, tx, "payments", npay)
	if err != nil {
		return err
	}
	for _, inv := range b.Invoices {
		ids := payIDs[:len(inv.Payments)]
		payIDs = payIDs[len(inv.Payments):]
		for i, p := range inv.Payments {
			payments = append(payments, []any{ids[i], inv.ID, p.Gateway, p.GatewayTxnID, p.Amount.Amount, p.Amount.Currency, p.At, p.CreatedBy})
		}
		for _, r := range inv.Refunds {
			p := inv.Payments[r.Payment]
			refunds = append(refunds, []any{ids[r.Payment], p.Gateway, r.GatewayRefundID, r.Amount.Amount, r.Amount.Currency, r.Reason, r.At, r.CreatedBy})
		}
	}
	if err := copyRows(ctx, tx, "payments", []string{"id", "invoice_id", "gateway", "gateway_txn_id", "amount", "currency", "created_at", "created_by"}, payments); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "refunds", []string{"payment_id", "gateway", "gateway_refund_id", "amount", "currency", "reason", "created_at", "created_by"}, refunds); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "credit_ledger", []string{"customer_id", "currency", "amount", "kind", "invoice_id", "note", "created_by",
		"idempotency_key", "created_at"}, credits); err != nil {
		return err
	}
	return checkCreditBalances(ctx, tx, creditCheck)
}

// checkCreditBalances fails the import when it leaves a customer's credit below zero: the
// ledger rule billing.CreditLedger enforces one entry at a time.
func checkCreditBalances(ctx context.Context, tx pgx.Tx, changed map[int64]map[string]int64) error {
	for cid, byCurrency := range changed {
		for cur, delta := range byCurrency {
			if delta >= 0 {
				continue
			}
			var balance int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0)::bigint FROM credit_ledger WHERE customer_id = $1 AND currency = $2`,
				cid, cur).Scan(&balance); err != nil {
				return fmt.Errorf("credit balance of customer %d: %w", cid, err)
			}
			if balance < 0 {
				return fmt.Errorf("import leaves customer %d with %s credit %d: %w", cid, cur, balance, billing.ErrInsufficientCredit)
			}
		}
	}
	return nil
}

// numberInvoices takes one block of numbers per series, under the series row's lock, and hands
// them out in batch order.
func numberInvoices(ctx context.Context, tx pgx.Tx, invs []*HistoricInvoice) error {
	count := map[string]int64{}
	var order []string
	for _, inv := range invs {
		if count[seriesOf(inv)] == 0 {
			order = append(order, seriesOf(inv))
		}
		count[seriesOf(inv)]++
	}
	type block struct {
		prefix string
		next   int64
	}
	blocks := map[string]*block{}
	for _, series := range order {
		var bl block
		err := tx.QueryRow(ctx, `UPDATE invoice_sequences SET next_number = next_number + $2 WHERE series = $1
			RETURNING prefix, next_number - $2`, series, count[series]).Scan(&bl.prefix, &bl.next)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("invoice series %q: %w", series, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("take %d numbers of invoice series %q: %w", count[series], series, err)
		}
		blocks[series] = &bl
	}
	for _, inv := range invs {
		bl := blocks[seriesOf(inv)]
		inv.Seq, inv.Number = bl.next, fmt.Sprintf("%s%d", bl.prefix, bl.next)
		bl.next++
	}
	return nil
}

func seriesOf(inv *HistoricInvoice) string {
	if inv.Series == "" {
		return DefaultSeries
	}
	return inv.Series
}

// assignIDs takes n ids from table's id sequence and gives them out in order.
func assignIDs(ctx context.Context, tx pgx.Tx, table string, n int, set func(int, int64)) error {
	ids, err := nextIDs(ctx, tx, table, n)
	if err != nil {
		return err
	}
	for i, id := range ids {
		set(i, id)
	}
	return nil
}

func nextIDs(ctx context.Context, tx pgx.Tx, table string, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, n)
	if err != nil {
		return nil, fmt.Errorf("take %d ids of %s: %w", n, table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("take %d ids of %s: %w", n, table, err)
	}
	return ids, nil
}

func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("import %d %s: %w", len(rows), table, err)
	}
	return nil
}

func customerID(c *HistoricCustomer) (int64, error) {
	if c == nil || c.ID == 0 {
		return 0, errors.New("import: a record refers to a customer that is not written")
	}
	return c.ID, nil
}

func optionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// forgetIDs clears the ids and numbers a failed transaction handed out, so the batch can be
// corrected and written again.
func (b *ImportBatch) forgetIDs() {
	for _, c := range b.Customers {
		c.ID = 0
	}
	for _, sv := range b.Services {
		sv.ID = 0
	}
	for _, sub := range b.Subscriptions {
		sub.ID = 0
	}
	for _, inv := range b.Invoices {
		inv.ID, inv.Seq, inv.Number = 0, 0, ""
	}
}

// ImportSummary describes what one import (its creator tag) wrote: the counts and the spread of
// its records, for the import's report and for checking an import against its source.
type ImportSummary struct {
	Customers, Subscriptions, Services, Invoices, Payments, Refunds int
	ProductTypes                                                    map[string]int // subscriptions by product type
	Cycles                                                          map[string]int // subscriptions by cycle
	SubscriptionStatuses                                            map[string]int
	InvoiceStatuses                                                 map[string]int
	InvoiceMonths                                                   []string         // "2025-03", oldest first (issue month, UTC)
	InvoicesByMonth                                                 map[string]int   // by issue month
	TotalsByMonth                                                   map[string]int64 // invoice totals by issue month and currency, "2025-03 USD"
	ProrationInvoices                                               int
	CreditAdds                                                      int
	// NegativeCreditBalances counts customers whose credit in some currency is below zero.
	NegativeCreditBalances int
	// NumbersGapFree is true when the invoices' numbers are consecutive in their series and
	// follow their issue dates.
	NumbersGapFree bool
	// Emails is a digest of the customers' addresses, to compare two imports.
	Emails string
}

// ImportSummary summarises the records tagged with createdBy (subscriptions, services and
// invoices) and the customers who own them.
func (s *Store) ImportSummary(ctx context.Context, createdBy string) (ImportSummary, error) {
	out := ImportSummary{ProductTypes: map[string]int{}, Cycles: map[string]int{}, SubscriptionStatuses: map[string]int{},
		InvoiceStatuses: map[string]int{}, InvoicesByMonth: map[string]int{}, TotalsByMonth: map[string]int64{}}
	fail := func(err error) (ImportSummary, error) {
		return ImportSummary{}, fmt.Errorf("summarise import %s: %w", createdBy, err)
	}
	err := s.db.QueryRowxContext(ctx, `
		WITH subs AS (SELECT * FROM subscriptions WHERE created_by = $1),
		     invs AS (SELECT * FROM invoices WHERE created_by = $1),
		     custs AS (SELECT DISTINCT customer_id AS id FROM subs UNION SELECT customer_id FROM invs)
		SELECT (SELECT count(*) FROM custs),
		       (SELECT count(*) FROM subs),
		       (SELECT count(*) FROM services WHERE created_by = $1),
		       (SELECT count(*) FROM invs),
		       (SELECT count(*) FROM payments WHERE invoice_id IN (SELECT id FROM invs)),
		       (SELECT count(*) FROM refunds WHERE payment_id IN (SELECT p.id FROM payments p JOIN invs i ON i.id = p.invoice_id)),
		       (SELECT count(DISTINCT invoice_id) FROM invoice_lines WHERE kind = 'proration' AND invoice_id IN (SELECT id FROM invs)),
		       (SELECT count(*) FROM credit_ledger WHERE kind = 'add' AND customer_id IN (SELECT id FROM custs)),
		       (SELECT count(*) FROM (SELECT 1 FROM credit_ledger WHERE customer_id IN (SELECT id FROM custs)
		            GROUP BY customer_id, currency HAVING SUM(amount) < 0) n),
		       (SELECT COALESCE(bool_and(ok), true) FROM (
		            SELECT seq = lag(seq) OVER w + 1 AND issued_at >= lag(issued_at) OVER w OR lag(seq) OVER w IS NULL AS ok
		            FROM invs WINDOW w AS (PARTITION BY series ORDER BY seq)) g),
		       (SELECT COALESCE(md5(string_agg(u.email, ',' ORDER BY u.email)), '') FROM users u WHERE u.id IN (SELECT id FROM custs))`,
		createdBy).Scan(&out.Customers, &out.Subscriptions, &out.Services, &out.Invoices, &out.Payments, &out.Refunds,
		&out.ProrationInvoices, &out.CreditAdds, &out.NegativeCreditBalances, &out.NumbersGapFree, &out.Emails)
	if err != nil {
		return fail(err)
	}
	var groups []struct {
		Kind string `db:"kind"`
		Key  string `db:"key"`
		N    int64  `db:"n"`
	}
	err = s.db.SelectContext(ctx, &groups, `
		SELECT 'type' AS kind, p.type AS key, count(*) AS n FROM subscriptions s JOIN products p ON p.id = s.product_id
		WHERE s.created_by = $1 GROUP BY p.type
		UNION ALL SELECT 'cycle', cycle, count(*) FROM subscriptions WHERE created_by = $1 GROUP BY cycle
		UNION ALL SELECT 'sub', status, count(*) FROM subscriptions WHERE created_by = $1 GROUP BY status
		UNION ALL SELECT 'inv', status, count(*) FROM invoices WHERE created_by = $1 GROUP BY status
		UNION ALL SELECT 'month', to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) FROM invoices WHERE created_by = $1 GROUP BY 2
		UNION ALL SELECT 'total', to_char(i.issued_at AT TIME ZONE 'UTC', 'YYYY-MM') || ' ' || i.currency, COALESCE(SUM(l.amount), 0)::bigint
		FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.created_by = $1 GROUP BY 2
		ORDER BY 1, 2`, createdBy)
	if err != nil {
		return fail(err)
	}
	for _, g := range groups {
		switch g.Kind {
		case "type":
			out.ProductTypes[g.Key] = int(g.N)
		case "cycle":
			out.Cycles[g.Key] = int(g.N)
		case "sub":
			out.SubscriptionStatuses[g.Key] = int(g.N)
		case "inv":
			out.InvoiceStatuses[g.Key] = int(g.N)
		case "month":
			out.InvoiceMonths = append(out.InvoiceMonths, g.Key)
			out.InvoicesByMonth[g.Key] = int(g.N)
		case "total":
			out.TotalsByMonth[g.Key] = g.N
		}
	}
	return out, nil
}
