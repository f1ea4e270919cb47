package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// Customer list filters for CustomerFilter.Status.
const (
	CustomerActive = "active"
	CustomerClosed = "closed"
)

// CustomerSorts are the orders the customer list offers; the first is the default.
func CustomerSorts() []string { return []string{"name", "email", "created"} }

// CustomerFilter narrows and orders the admin customer list; zero fields do not filter.
type CustomerFilter struct {
	// Search is part of a name, email address or company (case-insensitive), or a customer id.
	Search      string
	Status      string // CustomerActive, CustomerClosed or "" for both
	Overdue     bool   // only customers with an unpaid invoice past its due date
	ProductType string // only customers with a live service or subscription of this product type
	Sort        string // one of CustomerSorts; "" is by name
	Offset      int
	Limit       int // default 50, at most 200
}

// CustomerSummary is one row of the customer list.
type CustomerSummary struct {
	ID        int64        `db:"id"`
	Name      string       `db:"name"`
	Email     string       `db:"email"`
	Company   string       `db:"company"`
	Country   string       `db:"country"`
	CreatedAt time.Time    `db:"created_at"`
	ClosedAt  sql.NullTime `db:"closed_at"`
	Services  int          `db:"services"` // live services (not terminated, abandoned or archived)
	Overdue   bool         `db:"overdue"`
	// MonthlySpend is the monthly equivalent of the customer's active and past-due
	// subscriptions, one figure per currency, sorted by currency.
	MonthlySpend []billing.Money `db:"-"`
}

// CustomerPage is one page of the customer list and how many customers match in all.
type CustomerPage struct {
	Customers []CustomerSummary
	Total     int
}

// likeContains is a LIKE pattern matching s anywhere, with s's wildcards taken literally.
func likeContains(s string) string { return "%" + likeEscape(strings.ToLower(s)) + "%" }

// SearchCustomers returns one page of customers matching f and the number matching in all.
// Search runs on trigram indexes (name, email, company) through a union of indexed lookups.
func (s *Store) SearchCustomers(ctx context.Context, f CustomerFilter) (CustomerPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 200)
	f.Offset = max(f.Offset, 0)
	where := []string{"u.role = 'customer'"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		p := arg(likeContains(q))
		match := `SELECT id FROM users WHERE name ILIKE ` + p + ` OR email LIKE ` + p +
			` UNION ALL SELECT user_id FROM customer_profiles WHERE company ILIKE ` + p
		if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			match += ` UNION ALL SELECT ` + arg(id) + `::bigint`
		}
		where = append(where, "u.id IN ("+match+")")
	}
	switch f.Status {
	case CustomerActive:
		where = append(where, "u.closed_at IS NULL")
	case CustomerClosed:
		where = append(where, "u.closed_at IS NOT NULL")
	}
	if f.Overdue {
		where = append(where, `EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = u.id AND i.status = 'unpaid' AND i.due_at < now())`)
	}
	if f.ProductType != "" {
		t := arg(f.ProductType)
		where = append(where, `(EXISTS (SELECT 1 FROM services s JOIN products p ON p.id = s.product_id
			WHERE s.customer_id = u.id AND p.type = `+t+` AND s.archived_at IS NULL AND s.status NOT IN ('terminated', 'abandoned'))
			OR EXISTS (SELECT 1 FROM subscriptions sb JOIN products p ON p.id = sb.product_id
			WHERE sb.customer_id = u.id AND p.type = `+t+` AND sb.status IN ('pending', 'active', 'past_due', 'suspended')))`)
	}
	cond := strings.Join(where, " AND ")
	var page CustomerPage
	order := "lower(u.name), u.id"
	switch f.Sort {
	case "email":
		order = "u.email, u.id"
	case "created":
		order = "u.created_at DESC, u.id DESC"
	}
	// One pass finds the page and counts every match (a window count over the search), so the
	// search runs once; only a page past the end needs a separate count.
	q := `SELECT u.id, u.name, u.email, u.created_at, u.closed_at, pick.total,
	             COALESCE(cp.company, '') AS company, COALESCE(cp.country, '') AS country,
	             (SELECT count(*) FROM services s WHERE s.customer_id = u.id AND s.archived_at IS NULL
	                AND s.status NOT IN ('terminated', 'abandoned')) AS services,
	             EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = u.id AND i.status = 'unpaid' AND i.due_at < now()) AS overdue
	      FROM (SELECT u.id, count(*) OVER () AS total FROM users u WHERE ` + cond + ` ORDER BY ` + order +
		` LIMIT ` + arg(f.Limit) + ` OFFSET ` + arg(f.Offset) + `) pick
	      JOIN users u ON u.id = pick.id
	      LEFT JOIN customer_profiles cp ON cp.user_id = u.id
	      ORDER BY ` + order
	var rows []struct {
		CustomerSummary
		Total int `db:"total"`
	}
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return CustomerPage{}, fmt.Errorf("list customers: %w", err)
	}
	for _, r := range rows {
		page.Customers = append(page.Customers, r.CustomerSummary)
		page.Total = r.Total
	}
	if len(rows) == 0 && f.Offset > 0 {
		if err := s.db.GetContext(ctx, &page.Total, `SELECT count(*) FROM users u WHERE `+cond, args[:len(args)-2]...); err != nil {
			return CustomerPage{}, fmt.Errorf("count customers: %w", err)
		}
	}
	if err := s.fillMonthlySpend(ctx, page.Customers); err != nil {
		return CustomerPage{}, err
	}
	return page, nil
}

// fillMonthlySpend sums the monthly equivalent (billing.Cycle.MonthlyEquivalent) of each listed
// customer's active and past-due subscriptions, per currency.
func (s *Store) fillMonthlySpend(ctx context.Context, list []CustomerSummary) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	var rows []struct {
		CustomerID int64  `db:"customer_id"`
		Cycle      string `db:"cycle"`
		Currency   string `db:"currency"`
		Price      int64  `db:"price"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT customer_id, cycle, currency, price FROM subscriptions
		WHERE customer_id = ANY($1) AND status IN ('active', 'past_due')`, ids); err != nil {
		return fmt.Errorf("monthly spend of customers: %w", err)
	}
	sums := map[int64]map[string]int64{}
	for _, r := range rows {
		m := billing.Cycle(r.Cycle).MonthlyEquivalent(billing.Money{Amount: r.Price, Currency: r.Currency})
		if sums[r.CustomerID] == nil {
			sums[r.CustomerID] = map[string]int64{}
		}
		sums[r.CustomerID][r.Currency] += m.Amount
	}
	for i := range list {
		for cur, amount := range sums[list[i].ID] {
			list[i].MonthlySpend = append(list[i].MonthlySpend, billing.Money{Amount: amount, Currency: cur})
		}
		sort.Slice(list[i].MonthlySpend, func(a, b int) bool { return list[i].MonthlySpend[a].Currency < list[i].MonthlySpend[b].Currency })
	}
	return nil
}

// CustomerCounts are the customer list's tab figures.
type CustomerCounts struct {
	Active int `db:"active"`
	Closed int `db:"closed"`
}

// CountCustomers counts open and closed customer accounts.
func (s *Store) CountCustomers(ctx context.Context) (CustomerCounts, error) {
	var c CustomerCounts
	err := s.db.GetContext(ctx, &c, `SELECT count(*) FILTER (WHERE closed_at IS NULL) AS active,
		count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed FROM users WHERE role = 'customer'`)
	if err != nil {
		return CustomerCounts{}, fmt.Errorf("count customers: %w", err)
	}
	return c, nil
}

// Customer loads a customer account; staff and unknown ids are ErrNotFound.
func (s *Store) Customer(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1 AND role = 'customer'`, id)
	if err != nil {
		return User{}, notFound(err, fmt.Sprintf("customer %d", id))
	}
	return u, nil
}

// CustomerUpdate is everything staff edit on a customer's profile in one go.
type CustomerUpdate struct {
	ID                   int64
	Name, Email          string
	Profile              Profile // UserID is ignored: ID is the customer
	TaxExempt            bool
	VATID                string
	DunningSuspendDays   sql.NullInt64
	DunningTerminateDays sql.NullInt64
}

// UpdateCustomer saves a customer's name, address, contact and billing profile in one
// transaction. An address another account holds is ErrConflict; a non-customer ErrNotFound.
func (s *Store) UpdateCustomer(ctx context.Context, c CustomerUpdate) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = $2, email = $3, updated_at = now() WHERE id = $1 AND role = 'customer'`,
			c.ID, c.Name, NormalizeEmail(c.Email))
		if isUniqueViolation(err) {
			return fmt.Errorf("change email of customer %d to %s: %w", c.ID, NormalizeEmail(c.Email), ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update customer %d: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update customer %d: %w", c.ID, ErrNotFound)
		}
		p := c.Profile
		_, err = tx.ExecContext(ctx, `
			INSERT INTO customer_profiles (user_id, company, phone, address1, address2, city, state, postcode, country,
				tax_exempt, vat_id, dunning_suspend_days, dunning_terminate_days, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())
			ON CONFLICT (user_id) DO UPDATE SET company = EXCLUDED.company, phone = EXCLUDED.phone,
				address1 = EXCLUDED.address1, address2 = EXCLUDED.address2, city = EXCLUDED.city, state = EXCLUDED.state,
				postcode = EXCLUDED.postcode, country = EXCLUDED.country, tax_exempt = EXCLUDED.tax_exempt,
				vat_id = EXCLUDED.vat_id, dunning_suspend_days = EXCLUDED.dunning_suspend_days,
				dunning_terminate_days = EXCLUDED.dunning_terminate_days, updated_at = now()`,
			c.ID, p.Company, p.Phone, p.Address1, p.Address2, p.City, p.State, p.Postcode, p.Country,
			c.TaxExempt, c.VATID, c.DunningSuspendDays, c.DunningTerminateDays)
		if err != nil {
			return fmt.Errorf("update profile of customer %d: %w", c.ID, err)
		}
		return nil
	})
}

// CloseCustomer closes a customer account and ends all its sessions (impersonation sessions
// too) in one transaction. Subscriptions and services are left as they are. closed is false
// when the account was closed already.
func (s *Store) CloseCustomer(ctx context.Context, id int64) (closed bool, sessionsEnded int64, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var was sql.NullTime
		if err := tx.GetContext(ctx, &was, `SELECT closed_at FROM users WHERE id = $1 AND role = 'customer' FOR UPDATE`, id); err != nil {
			return notFound(err, fmt.Sprintf("customer %d", id))
		}
		if !was.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET closed_at = now(), updated_at = now() WHERE id = $1`, id); err != nil {
				return fmt.Errorf("close customer %d: %w", id, err)
			}
			closed = true
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
		if err != nil {
			return fmt.Errorf("end sessions of customer %d: %w", id, err)
		}
		sessionsEnded, _ = res.RowsAffected()
		return nil
	})
	return closed, sessionsEnded, err
}

// ReopenCustomer lets a closed customer log in again; reopened is false when it was open.
func (s *Store) ReopenCustomer(ctx context.Context, id int64) (reopened bool, err error) {
	if _, err := s.Customer(ctx, id); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET closed_at = NULL, updated_at = now()
		WHERE id = $1 AND role = 'customer' AND closed_at IS NOT NULL`, id)
	if err != nil {
		return false, fmt.Errorf("reopen customer %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CustomerNote is a note staff keep on a customer; pinned notes are shown first.
type CustomerNote struct {
	ID          int64         `db:"id"`
	CustomerID  int64         `db:"customer_id"`
	AuthorID    sql.NullInt64 `db:"author_id"`
	AuthorEmail string        `db:"author_email"`
	Body        string        `db:"body"`
	Pinned      bool          `db:"pinned"`
	CreatedAt   time.Time     `db:"created_at"`
	UpdatedAt   time.Time     `db:"updated_at"`
}

const noteColumns = `id, customer_id, author_id, author_email, body, pinned, created_at, updated_at`

// MaxNoteLength is the longest note body the database accepts.
const MaxNoteLength = 10000

// AddCustomerNote stores a note by author on a customer. An empty or over-long body is ErrInvalid.
func (s *Store) AddCustomerNote(ctx context.Context, customerID int64, author User, body string, pinned bool) (CustomerNote, error) {
	if err := validNote(body); err != nil {
		return CustomerNote{}, err
	}
	if _, err := s.Customer(ctx, customerID); err != nil {
		return CustomerNote{}, err
	}
	var n CustomerNote
	err := s.db.GetContext(ctx, &n, `INSERT INTO customer_notes (customer_id, author_id, author_email, body, pinned)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+noteColumns, customerID, optionalID(author.ID), author.Email, body, pinned)
	if err != nil {
		return CustomerNote{}, fmt.Errorf("add note to customer %d: %w", customerID, err)
	}
	return n, nil
}

// EditCustomerNote replaces a note's text; a note of another customer is ErrNotFound.
func (s *Store) EditCustomerNote(ctx context.Context, customerID, noteID int64, body string) (CustomerNote, error) {
	if err := validNote(body); err != nil {
		return CustomerNote{}, err
	}
	var n CustomerNote
	err := s.db.GetContext(ctx, &n, `UPDATE customer_notes SET body = $3, updated_at = now()
		WHERE id = $2 AND customer_id = $1 RETURNING `+noteColumns, customerID, noteID, body)
	if err != nil {
		return CustomerNote{}, notFound(err, fmt.Sprintf("note %d of customer %d", noteID, customerID))
	}
	return n, nil
}

// PinCustomerNote pins or unpins a note; a note of another customer is ErrNotFound.
func (s *Store) PinCustomerNote(ctx context.Context, customerID, noteID int64, pinned bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE customer_notes SET pinned = $3 WHERE id = $2 AND customer_id = $1`,
		customerID, noteID, pinned)
	if err != nil {
		return fmt.Errorf("pin note %d of customer %d: %w", noteID, customerID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("note %d of customer %d: %w", noteID, customerID, ErrNotFound)
	}
	return nil
}

// CustomerNotes lists a customer's notes, pinned first, then newest first.
func (s *Store) CustomerNotes(ctx context.Context, customerID int64) ([]CustomerNote, error) {
	var out []CustomerNote
	err := s.db.SelectContext(ctx, &out, `SELECT `+noteColumns+` FROM customer_notes WHERE customer_id = $1
		ORDER BY pinned DESC, created_at DESC, id DESC LIMIT 200`, customerID)
	if err != nil {
		return nil, fmt.Errorf("notes of customer %d: %w", customerID, err)
	}
	return out, nil
}

func validNote(body string) error {
	switch {
	case strings.TrimSpace(body) == "":
		return fmt.Errorf("empty note: %w", ErrInvalid)
	case len(body) > MaxNoteLength:
		return fmt.Errorf("note of %d characters (at most %d): %w", len(body), MaxNoteLength, ErrInvalid)
	}
	return nil
}

// CustomerServices lists all of a customer's services, archived ones included, newest first.
func (s *Store) CustomerServices(ctx context.Context, customerID int64) ([]Service, error) {
	var out []Service
	if err := s.db.SelectContext(ctx, &out, serviceSelect+` WHERE s.customer_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT 200`, customerID); err != nil {
		return nil, fmt.Errorf("services of customer %d: %w", customerID, err)
	}
	return out, nil
}

// CustomerPayment is a payment with the invoice it paid and what has been refunded of it.
type CustomerPayment struct {
	Payment
	InvoiceNumber string
	Refunded      billing.Money
}

// CustomerPayments lists a customer's payments, newest first.
func (s *Store) CustomerPayments(ctx context.Context, customerID int64, limit int) ([]CustomerPayment, error) {
	var rows []struct {
		paymentRow
		Number   string `db:"number"`
		Refunded int64  `db:"refunded"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT p.id, p.invoice_id, p.gateway, p.gateway_txn_id, p.amount, p.currency, p.created_by, p.created_at, i.number,
		       COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_id = p.id), 0)::bigint AS refunded
		FROM payments p JOIN invoices i ON i.id = p.invoice_id
		WHERE i.customer_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2`, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("payments of customer %d: %w", customerID, err)
	}
	out := make([]CustomerPayment, len(rows))
	for i, r := range rows {
		out[i] = CustomerPayment{Payment: r.payment(), InvoiceNumber: r.Number, Refunded: billing.Money{Amount: r.Refunded, Currency: r.Currency}}
	}
	return out, nil
}

// CustomerRefund is a refund with the invoice whose payment it returned.
type CustomerRefund struct {
	Refund
	InvoiceID     int64
	InvoiceNumber string
}

// CustomerRefunds lists a customer's refunds, newest first.
func (s *Store) CustomerRefunds(ctx context.Context, customerID int64, limit int) ([]CustomerRefund, error) {
	var rows []struct {
		refundRow
		InvoiceID int64  `db:"invoice_id"`
		Number    string `db:"number"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT r.id, r.payment_id, r.gateway, r.gateway_refund_id, r.amount, r.currency, r.reason, r.created_by, r.created_at,
		       i.id AS invoice_id, i.number
		FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN invoices i ON i.id = p.invoice_id
		WHERE i.customer_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2`, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("refunds of customer %d: %w", customerID, err)
	}
	out := make([]CustomerRefund, len(rows))
	for i, r := range rows {
		out[i] = CustomerRefund{Refund: r.refund(), InvoiceID: r.InvoiceID, InvoiceNumber: r.Number}
	}
	return out, nil
}

// CustomerCredit is a customer's credit balance in each currency they have credit in, and the
// newest ledger entries across currencies.
type CustomerCredit struct {
	Balances []billing.Money // sorted by currency
	Entries  []CreditEntry   // newest first
}

// CreditOf loads a customer's credit balances and their latest limit ledger entries.
func (s *Store) CreditOf(ctx context.Context, customerID int64, limit int) (CustomerCredit, error) {
	var out CustomerCredit
	var sums []struct {
		Currency string `db:"currency"`
		Sum      int64  `db:"sum"`
	}
	if err := s.db.SelectContext(ctx, &sums, `SELECT currency, SUM(amount)::bigint AS sum FROM credit_ledger
		WHERE customer_id = $1 GROUP BY currency ORDER BY currency`, customerID); err != nil {
		return CustomerCredit{}, fmt.Errorf("credit balances of customer %d: %w", customerID, err)
	}
	for _, r := range sums {
		out.Balances = append(out.Balances, billing.Money{Amount: r.Sum, Currency: r.Currency})
	}
	var rows []creditRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+creditColumns+` FROM credit_ledger WHERE customer_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, customerID, limit); err != nil {
		return CustomerCredit{}, fmt.Errorf("credit entries of customer %d: %w", customerID, err)
	}
	for _, r := range rows {
		out.Entries = append(out.Entries, r.entry())
	}
	return out, nil
}

// CustomerAudit returns the audit entries about a customer (target user:<id> or an admin path
// under /admin/customers/<id>/) or made by them (their own sessions and impersonations of
// them), newest first.
func (s *Store) CustomerAudit(ctx context.Context, customerID int64, limit int) ([]AuditEntry, error) {
	id := strconv.FormatInt(customerID, 10)
	var out []AuditEntry
	err := s.db.SelectContext(ctx, &out, `
		SELECT `+auditColumns+` FROM audit_log WHERE id IN (
			(SELECT id FROM audit_log WHERE target = $1 ORDER BY at DESC LIMIT $4)
			UNION (SELECT id FROM audit_log WHERE target LIKE $2 ORDER BY at DESC LIMIT $4)
			UNION (SELECT id FROM audit_log WHERE actor_id = $3 ORDER BY at DESC LIMIT $4))
		ORDER BY at DESC, id DESC LIMIT $4`, "user:"+id, likeEscape("/admin/customers/"+id+"/")+"%", customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit trail of customer %d: %w", customerID, err)
	}
	return out, nil
}

// CustomerEvent is one timeline entry of one of a customer's subscriptions or services.
type CustomerEvent struct {
	At      time.Time `db:"at"`
	Source  string    `db:"source"` // "subscription" or "service"
	RefID   int64     `db:"ref_id"` // the subscription's or service's id
	Kind    string    `db:"kind"`
	Message string    `db:"message"`
	Actor   string    `db:"actor"`
}

// CustomerEvents returns the newest timeline entries of all the customer's subscriptions and
// services together, newest first.
func (s *Store) CustomerEvents(ctx context.Context, customerID int64, limit int) ([]CustomerEvent, error) {
	var out []CustomerEvent
	err := s.db.SelectContext(ctx, &out, `
		(SELECT e.at, 'subscription' AS source, e.subscription_id AS ref_id, e.kind, e.message, e.actor
		 FROM subscription_events e JOIN subscriptions s ON s.id = e.subscription_id
		 WHERE s.customer_id = $1 ORDER BY e.at DESC LIMIT $2)
		UNION ALL
		(SELECT e.at, 'service', e.service_id, e.kind, e.message, e.actor
		 FROM service_events e JOIN services s ON s.id = e.service_id
		 WHERE s.customer_id = $1 ORDER BY e.at DESC LIMIT $2)
		ORDER BY at DESC LIMIT $2`, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("events of customer %d: %w", customerID, err)
	}
	return out, nil
}

// ServiceSearch narrows the admin services list; zero fields do not filter.
type ServiceSearch struct {
	Status      billing.ServiceStatus // one service status
	ProductType string                // vps, dedicated, web_hosting, game_server
	PanelType   string                // virtfusion, pterodactyl, synergycp, enhance
	// Query is part of the customer's name or email, of the hostname or an IP address, or a
	// service id.
	Query    string
	Archived bool // only archived services; otherwise archived ones are left out
	Limit    int  // default 200, at most 500
}

// SearchServices lists services matching f, newest first.
func (s *Store) SearchServices(ctx context.Context, f ServiceSearch) ([]Service, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	where := []string{"s.archived_at IS NULL"}
	if f.Archived {
		where[0] = "s.archived_at IS NOT NULL"
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		where = append(where, "s.status = "+arg(f.Status))
	}
	if f.ProductType != "" {
		where = append(where, "p.type = "+arg(f.ProductType))
	}
	if f.PanelType != "" {
		where = append(where, "ps.type = "+arg(f.PanelType))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		p := arg(likeContains(q))
		match := `SELECT s.id FROM services s JOIN users u ON u.id = s.customer_id WHERE u.name ILIKE ` + p + ` OR u.email LIKE ` + p +
			` UNION ALL SELECT id FROM services WHERE hostname ILIKE ` + p + ` OR ipv4::text LIKE ` + p
		if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			match += ` UNION ALL SELECT ` + arg(id) + `::bigint`
		}
		where = append(where, "s.id IN ("+match+")")
	}
	var out []Service
	err := s.db.SelectContext(ctx, &out, serviceSelect+` WHERE `+strings.Join(where, " AND ")+`
		ORDER BY s.created_at DESC, s.id DESC LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("search services: %w", err)
	}
	return out, nil
}

// CountArchivedServices counts the services archived out of the default lists.
func (s *Store) CountArchivedServices(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM services WHERE archived_at IS NOT NULL`); err != nil {
		return 0, fmt.Errorf("count archived services: %w", err)
	}
	return n, nil
}

// ErrServiceLive means a service still exists on its panel, so it cannot be archived.
var ErrServiceLive = errors.New("the service is still live on its panel")

// ArchiveService hides a terminated or abandoned service from the default lists and the
// customer's portal (a soft delete) and records it on the service's timeline. A live service
// is ErrServiceLive; archiving an archived service changes nothing (changed is false).
func (s *Store) ArchiveService(ctx context.Context, id int64, actor string) (changed bool, err error) {
	return s.setArchived(ctx, id, true, actor)
}

// RestoreService brings an archived service back into the lists.
func (s *Store) RestoreService(ctx context.Context, id int64, actor string) (changed bool, err error) {
	return s.setArchived(ctx, id, false, actor)
}

func (s *Store) setArchived(ctx context.Context, id int64, archive bool, actor string) (changed bool, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			Status     billing.ServiceStatus `db:"status"`
			ArchivedAt sql.NullTime          `db:"archived_at"`
		}
		if err := tx.GetContext(ctx, &row, `SELECT status, archived_at FROM services WHERE id = $1 FOR UPDATE`, id); err != nil {
			return notFound(err, fmt.Sprintf("service %d", id))
		}
		if row.ArchivedAt.Valid == archive {
			return nil
		}
		if archive && row.Status != billing.ServiceTerminated && row.Status != billing.ServiceAbandoned {
			return fmt.Errorf("archive %s service %d: %w", row.Status, id, ErrServiceLive)
		}
		kind, msg, stamp := "archived", "service archived", "now()"
		if !archive {
			kind, msg, stamp = "restored", "service restored from the archive", "NULL"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE services SET archived_at = `+stamp+`, updated_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("%s service %d: %w", kind, id, err)
		}
		changed = true
		return addEvent(ctx, tx, ServiceEvent{ServiceID: id, Kind: kind, Message: msg, Actor: actor})
	})
	return changed, err
}

// InvoiceSearch narrows the admin invoices list; zero fields do not filter.
type InvoiceSearch struct {
	Status billing.Status
	// Query is part of the invoice number, of the customer's name or email, or an invoice id.
	Query   string
	Overdue bool // unpaid and past the due date
	Limit   int  // default 200, at most 500
}

// SearchInvoices lists invoices matching f with their totals, newest first.
func (s *Store) SearchInvoices(ctx context.Context, f InvoiceSearch) ([]Invoice, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	where := []string{"true"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Overdue {
		where = append(where, "status = 'unpaid' AND due_at < now()")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		p := arg(likeContains(q))
		match := `SELECT id FROM invoices WHERE number ILIKE ` + p +
			` UNION ALL SELECT i.id FROM invoices i JOIN users u ON u.id = i.customer_id WHERE u.name ILIKE ` + p + ` OR u.email LIKE ` + p
		if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			match += ` UNION ALL SELECT ` + arg(id) + `::bigint`
		}
		where = append(where, "id IN ("+match+")")
	}
	out, err := s.selectInvoices(ctx, `WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at DESC, id DESC LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("search invoices: %w", err)
	}
	return out, nil
}
