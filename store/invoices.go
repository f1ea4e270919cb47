package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// ErrInvoiceState means the invoice's status does not allow the operation (paying a draft or a
// cancelled invoice, cancelling a paid one).
var ErrInvoiceState = errors.New("invoice status does not allow this")

// ErrNotAmountDue means a payment that had to settle the invoice exactly (Payment.ExactDue)
// is not the amount due.
var ErrNotAmountDue = errors.New("payment is not the amount due")

// ErrCouponUnavailable means a coupon could not be redeemed when the invoice was saved: it was
// retired, or its uses (or this customer's one use) went to other orders after pricing. The
// error also wraps billing.ErrCouponExhausted, so callers that price again on it keep working.
var ErrCouponUnavailable = errors.New("coupon no longer available")

// DefaultSeries is the invoice numbering series used when NewInvoice.Series is empty.
const DefaultSeries = "default"

// Buyer is the customer as an invoice or credit note names them, copied from the account when
// the document is issued so a later change of address or VAT id does not rewrite it.
type Buyer struct {
	Name    string   `json:"name"`
	Company string   `json:"company,omitempty"`
	Address []string `json:"address,omitempty"` // one printed line each
	Country string   `json:"country,omitempty"` // ISO 3166-1 alpha-2
	VATID   string   `json:"vat_id,omitempty"`
}

// Value stores the buyer as a jsonb object.
func (b Buyer) Value() (driver.Value, error) { return json.Marshal(b) }

// Scan reads a jsonb buyer; NULL leaves b unchanged.
func (b *Buyer) Scan(src any) error { return scanJSON(src, b, "Buyer") }

// buyerSnapshot reads the customer's name, company, address and VAT id as they are now.
func buyerSnapshot(ctx context.Context, q sqlx.QueryerContext, customerID int64) (Buyer, error) {
	var row struct {
		Name     string `db:"name"`
		Company  string `db:"company"`
		Address1 string `db:"address1"`
		Address2 string `db:"address2"`
		City     string `db:"city"`
		State    string `db:"state"`
		Postcode string `db:"postcode"`
		Country  string `db:"country"`
		VATID    string `db:"vat_id"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		SELECT u.name, COALESCE(c.company, '') AS company, COALESCE(c.address1, '') AS address1,
		       COALESCE(c.address2, '') AS address2, COALESCE(c.city, '') AS city, COALESCE(c.state, '') AS state,
		       COALESCE(c.postcode, '') AS postcode, COALESCE(c.country, '') AS country, COALESCE(c.vat_id, '') AS vat_id
		FROM users u LEFT JOIN customer_profiles c ON c.user_id = u.id WHERE u.id = $1`, customerID)
	if err != nil {
		return Buyer{}, notFound(err, fmt.Sprintf("buyer %d", customerID))
	}
	b := Buyer{Name: row.Name, Company: strings.TrimSpace(row.Company), Country: row.Country, VATID: strings.TrimSpace(row.VATID)}
	for _, l := range []string{row.Address1, row.Address2, strings.Join([]string{strings.TrimSpace(row.Postcode), strings.TrimSpace(row.City)}, " "), row.State} {
		if l = strings.TrimSpace(l); l != "" {
			b.Address = append(b.Address, l)
		}
	}
	return b, nil
}

// BuyerOf is the customer as a document issued now would name them.
func (s *Store) BuyerOf(ctx context.Context, customerID int64) (Buyer, error) {
	return buyerSnapshot(ctx, s.db, customerID)
}

// Invoice is a stored invoice with its lines and the figures derived from them.
type Invoice struct {
	ID             int64          `db:"id"`
	Number         string         `db:"number"` // prefix + sequence number, e.g. "INV-1001"
	Series         string         `db:"series"`
	Seq            int64          `db:"seq"`
	CustomerID     int64          `db:"customer_id"`
	Currency       string         `db:"currency"`
	Status         billing.Status `db:"status"`
	ReverseCharge  bool           `db:"reverse_charge"`
	Notes          JSONList       `db:"notes"`
	IssuedAt       sql.NullTime   `db:"issued_at"`
	DueAt          time.Time      `db:"due_at"`
	PaidAt         sql.NullTime   `db:"paid_at"`
	CancelledAt    sql.NullTime   `db:"cancelled_at"`
	CreatedBy      string         `db:"created_by"`
	IdempotencyKey string         `db:"idempotency_key"`
	SubscriptionID sql.NullInt64  `db:"subscription_id"`
	ServiceID      sql.NullInt64  `db:"service_id"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
	// PendingGateway and PendingRef name a payment the gateway accepted but has not settled.
	PendingGateway string       `db:"pending_payment_gateway"`
	PendingRef     string       `db:"pending_payment_ref"`
	PendingSince   sql.NullTime `db:"pending_payment_since"`
	// ChargingKey is the idempotency key of a saved-method charge in flight, since ChargingSince.
	ChargingKey   string       `db:"charging_key"`
	ChargingSince sql.NullTime `db:"charging_since"`
	// Buyer is the customer as they were when the invoice was issued; nil for invoices issued
	// before buyers were recorded (print the current profile) and for drafts.
	Buyer *Buyer `db:"buyer"`

	Lines  []billing.Line `db:"-"`
	Totals InvoiceTotals  `db:"-"`
}

// InvoiceTotals are an invoice's figures: sums of its lines (via billing.Invoice) and of its
// payments and refunds. None of them is stored.
type InvoiceTotals struct {
	Subtotal billing.Money
	Discount billing.Money
	Tax      billing.Money
	Credit   billing.Money
	Total    billing.Money
	Paid     billing.Money // payments, before refunds
	Refunded billing.Money
	Due      billing.Money // Total − Paid, never below zero
}

// Paid reports whether payments cover the invoice (refunds do not make it due again).
func (inv Invoice) Paid() bool { return inv.PaidAt.Valid }

// PaymentPending reports whether a payment of the invoice is on its way (accepted by the
// gateway, not settled): nobody should charge it again meanwhile.
func (inv Invoice) PaymentPending() bool { return inv.PendingRef != "" }

// chargeInFlight reports whether a saved-method charge holds the invoice's charge claim.
func (inv Invoice) chargeInFlight() bool {
	return inv.ChargingKey != "" && inv.ChargingSince.Valid && time.Since(inv.ChargingSince.Time) < chargeClaimTTL
}

// Document is the invoice as billing sees it, for computing figures and rendering.
func (inv Invoice) Document() billing.Invoice {
	return billing.Invoice{Currency: inv.Currency, Lines: inv.Lines, ReverseCharge: inv.ReverseCharge, Notes: inv.Notes}
}

// NewInvoice is what creating an invoice needs. Lines are final (BuildInvoice's output):
// totals are derived from them, never passed in.
type NewInvoice struct {
	CustomerID     int64
	Currency       string
	Lines          []billing.Line
	ReverseCharge  bool
	Notes          []string
	DueAt          time.Time
	Series         string // numbering series; "" is DefaultSeries
	Draft          bool   // create unissued; otherwise it is issued (unpaid) now
	IdempotencyKey string // required; a retried creation with the same key returns the first invoice
	CreatedBy      string // required; the workflow id or request id making it
	SubscriptionID int64  // 0 when none
	ServiceID      int64  // 0 when none
	// CreditUsed is the account credit the invoice's credit line applies (billing.BuildInvoice's
	// second result); it is taken from the ledger in the same transaction.
	CreditUsed billing.Money
	// Redeems are the coupon codes this invoice redeems (first use on a subscription), recorded
	// in the same transaction so MaxUses and once-per-customer hold.
	Redeems []string
}

const invoiceColumns = `id, number, series, seq, customer_id, currency, status, reverse_charge, notes, issued_at, due_at,
	paid_at, cancelled_at, created_by, idempotency_key, subscription_id, service_id, created_at, updated_at,
	pending_payment_gateway, pending_payment_ref, pending_payment_since, charging_key, charging_since, buyer`

// CreateInvoice numbers and inserts an invoice with its lines in one transaction. The number
// is taken from the series row under FOR UPDATE, so concurrent creations are numbered one
// after another and a failed creation consumes no number. A repeated IdempotencyKey returns
// the existing invoice unchanged (ErrConflict if it belongs to another customer).
func (s *Store) CreateInvoice(ctx context.Context, in NewInvoice) (Invoice, error) {
	if err := in.validate(); err != nil {
		return Invoice{}, err
	}
	if in.Series == "" {
		in.Series = DefaultSeries
	}
	if existing, ok, err := s.invoiceByKey(ctx, in); ok || err != nil {
		return existing, err
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = insertInvoiceTx(ctx, tx, in)
		return err
	})
	if err != nil {
		if isUniqueViolation(err) { // the same key created in another series meanwhile
			if existing, ok, kerr := s.invoiceByKey(ctx, in); ok || kerr != nil {
				return existing, kerr
			}
		}
		return Invoice{}, err
	}
	inv, err := s.Invoice(ctx, id)
	if err != nil {
		return Invoice{}, err
	}
	if inv.CustomerID != in.CustomerID {
		return Invoice{}, fmt.Errorf("invoice key %q belongs to customer %d, not %d: %w", in.IdempotencyKey, inv.CustomerID, in.CustomerID, ErrConflict)
	}
	return inv, nil
}

// insertInvoiceTx numbers and inserts an invoice with its lines, takes the credit it applies
// from the ledger and records its coupon redemptions, all in the caller's transaction. A key
// already used returns that invoice's id and changes nothing.
func insertInvoiceTx(ctx context.Context, tx *sqlx.Tx, in NewInvoice) (int64, error) {
	if in.Series == "" {
		in.Series = DefaultSeries
	}
	var id int64
	var seq struct {
		Prefix string `db:"prefix"`
		Next   int64  `db:"next_number"`
	}
	if err := tx.GetContext(ctx, &seq, `SELECT prefix, next_number FROM invoice_sequences WHERE series = $1 FOR UPDATE`, in.Series); err != nil {
		return 0, notFound(err, fmt.Sprintf("invoice series %q", in.Series))
	}
	// Holding the series lock, a concurrent creation with the same key has committed or not started.
	if err := tx.GetContext(ctx, &id, `SELECT id FROM invoices WHERE idempotency_key = $1`, in.IdempotencyKey); err == nil {
		return id, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("look up invoice key %q: %w", in.IdempotencyKey, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invoice_sequences SET next_number = next_number + 1 WHERE series = $1`, in.Series); err != nil {
		return 0, fmt.Errorf("advance invoice series %q: %w", in.Series, err)
	}
	status, issued, buyer := billing.StatusDraft, sql.NullTime{}, (*Buyer)(nil)
	if !in.Draft {
		b, err := buyerSnapshot(ctx, tx, in.CustomerID)
		if err != nil {
			return 0, fmt.Errorf("create invoice for customer %d: %w", in.CustomerID, err)
		}
		buyer = &b
		st, err := settle(in.Currency, in.Lines, true, nil, nil)
		if err != nil {
			return 0, fmt.Errorf("create invoice for customer %d: %w", in.CustomerID, err)
		}
		status, issued = st.Status(), sql.NullTime{Time: time.Now(), Valid: true}
	}
	paidAt := sql.NullTime{}
	if status == billing.StatusPaid { // a zero total (e.g. covered by credit) is paid on issue
		paidAt = issued
	}
	err := tx.GetContext(ctx, &id, `
		INSERT INTO invoices (series, seq, number, customer_id, currency, status, reverse_charge, notes, issued_at, due_at,
		                      paid_at, created_by, idempotency_key, subscription_id, service_id, buyer)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		in.Series, seq.Next, fmt.Sprintf("%s%d", seq.Prefix, seq.Next), in.CustomerID, in.Currency, string(status),
		in.ReverseCharge, JSONList(in.Notes), issued, in.DueAt, paidAt, in.CreatedBy, in.IdempotencyKey,
		optionalID(in.SubscriptionID), optionalID(in.ServiceID), buyer)
	if err != nil {
		return 0, fmt.Errorf("create invoice for customer %d: %w", in.CustomerID, err)
	}
	for i, l := range in.Lines {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO invoice_lines (invoice_id, position, kind, description, amount, product_id, taxable, coupon_code)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, i, string(l.Kind), l.Description, l.Amount.Amount, optionalID(l.ProductID), l.Taxable, l.CouponCode)
		if err != nil {
			return 0, fmt.Errorf("invoice line %d (%s): %w", i, l.Description, err)
		}
	}
	if in.CreditUsed.IsPositive() {
		_, err := recordCreditTx(ctx, tx, billing.CreditUse, CreditChange{
			CustomerID: in.CustomerID, InvoiceID: id, Note: "applied to invoice", CreatedBy: in.CreatedBy,
			IdempotencyKey: "invoice-credit:" + in.IdempotencyKey,
		}, billing.Money{Amount: -in.CreditUsed.Amount, Currency: in.CreditUsed.Currency})
		if err != nil {
			return 0, err
		}
	}
	for _, code := range in.Redeems {
		if err := redeemCouponTx(ctx, tx, code, in.CustomerID, id, in.SubscriptionID); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// redeemCouponTx records that invoice id redeems code, holding the coupon row FOR UPDATE while it
// counts the live (unreleased) redemptions, so MaxUses and once-per-customer hold however many
// checkouts commit at once; pricing's earlier check only decides what to show. A retired coupon
// or one with no use left for this customer is ErrCouponUnavailable.
func redeemCouponTx(ctx context.Context, tx *sqlx.Tx, code string, customerID, invoiceID, subscriptionID int64) error {
	var c struct {
		ID              int64 `db:"id"`
		MaxUses         int   `db:"max_uses"`
		OncePerCustomer bool  `db:"once_per_customer"`
		Retired         bool  `db:"retired"`
	}
	if err := tx.GetContext(ctx, &c, `SELECT id, max_uses, once_per_customer, retired FROM coupons WHERE code = $1 FOR UPDATE`,
		NormalizeCouponCode(code)); err != nil {
		return notFound(err, fmt.Sprintf("redeem coupon %s", code))
	}
	if c.Retired {
		return fmt.Errorf("coupon %s is retired: %w (%w)", code, ErrCouponUnavailable, billing.ErrCouponExhausted)
	}
	var used struct {
		Uses int `db:"uses"`
		Mine int `db:"mine"`
	}
	if err := tx.GetContext(ctx, &used, `
		SELECT count(*) AS uses, count(*) FILTER (WHERE customer_id = $2) AS mine
		FROM coupon_redemptions WHERE coupon_id = $1 AND released_at IS NULL`, c.ID, customerID); err != nil {
		return fmt.Errorf("count redemptions of coupon %s: %w", code, err)
	}
	if c.MaxUses > 0 && used.Uses >= c.MaxUses {
		return fmt.Errorf("coupon %s used %d of %d times: %w (%w)", code, used.Uses, c.MaxUses, ErrCouponUnavailable, billing.ErrCouponExhausted)
	}
	if c.OncePerCustomer && used.Mine > 0 {
		return fmt.Errorf("coupon %s already used by customer %d: %w (%w)", code, customerID, ErrCouponUnavailable, billing.ErrCouponExhausted)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO coupon_redemptions (coupon_id, customer_id, invoice_id, subscription_id) VALUES ($1, $2, $3, $4)`,
		c.ID, customerID, invoiceID, optionalID(subscriptionID)); err != nil {
		return fmt.Errorf("redeem coupon %s on invoice %d: %w", code, invoiceID, err)
	}
	return nil
}

func (in NewInvoice) validate() error {
	if in.IdempotencyKey == "" || in.CreatedBy == "" {
		return fmt.Errorf("create invoice for customer %d: idempotency key and creator are required", in.CustomerID)
	}
	if _, err := billing.CurrencyExponent(in.Currency); err != nil {
		return fmt.Errorf("create invoice for customer %d: %w", in.CustomerID, err)
	}
	for i, l := range in.Lines {
		if l.Amount.Currency != in.Currency {
			return fmt.Errorf("create invoice: line %d (%s) is %s on a %s invoice: %w", i, l.Description, l.Amount, in.Currency, billing.ErrCurrencyMismatch)
		}
	}
	return nil
}

// invoiceByKey returns the invoice an idempotency key already created, if any.
func (s *Store) invoiceByKey(ctx context.Context, in NewInvoice) (Invoice, bool, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT id FROM invoices WHERE idempotency_key = $1`, in.IdempotencyKey)
	if errors.Is(err, sql.ErrNoRows) {
		return Invoice{}, false, nil
	}
	if err != nil {
		return Invoice{}, false, fmt.Errorf("look up invoice key %q: %w", in.IdempotencyKey, err)
	}
	inv, err := s.Invoice(ctx, id)
	if err != nil {
		return Invoice{}, false, err
	}
	if inv.CustomerID != in.CustomerID {
		return Invoice{}, false, fmt.Errorf("invoice key %q belongs to customer %d, not %d: %w", in.IdempotencyKey, inv.CustomerID, in.CustomerID, ErrConflict)
	}
	return inv, true, nil
}

// Invoice loads an invoice with its lines and derived totals.
func (s *Store) Invoice(ctx context.Context, id int64) (Invoice, error) {
	var inv Invoice
	if err := s.db.GetContext(ctx, &inv, `SELECT `+invoiceColumns+` FROM invoices WHERE id = $1`, id); err != nil {
		return Invoice{}, notFound(err, fmt.Sprintf("invoice %d", id))
	}
	if err := s.loadInvoiceDetails(ctx, []*Invoice{&inv}); err != nil {
		return Invoice{}, err
	}
	return inv, nil
}

// CustomerInvoice loads an invoice only if it belongs to the customer; anyone else's is ErrNotFound.
func (s *Store) CustomerInvoice(ctx context.Context, customerID, id int64) (Invoice, error) {
	var inv Invoice
	if err := s.db.GetContext(ctx, &inv, `SELECT `+invoiceColumns+` FROM invoices WHERE id = $1 AND customer_id = $2`, id, customerID); err != nil {
		return Invoice{}, notFound(err, fmt.Sprintf("invoice %d of customer %d", id, customerID))
	}
	if err := s.loadInvoiceDetails(ctx, []*Invoice{&inv}); err != nil {
		return Invoice{}, err
	}
	return inv, nil
}

// InvoiceFilter narrows an invoice list.
type InvoiceFilter struct {
	CustomerID int64          // 0 for all customers
	Status     billing.Status // "" for all
	Limit      int
}

// Invoices lists invoices with lines and totals, newest first.
func (s *Store) Invoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	out, err := s.selectInvoices(ctx, `WHERE ($1 = 0 OR customer_id = $1) AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, f.CustomerID, string(f.Status), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list invoices: %w", err)
	}
	return out, nil
}

// selectInvoices loads the invoices `SELECT … FROM invoices <where>` finds, with their lines and
// derived totals.
func (s *Store) selectInvoices(ctx context.Context, where string, args ...any) ([]Invoice, error) {
	var out []Invoice
	if err := s.db.SelectContext(ctx, &out, `SELECT `+invoiceColumns+` FROM invoices `+where, args...); err != nil {
		return nil, err
	}
	ptrs := make([]*Invoice, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := s.loadInvoiceDetails(ctx, ptrs); err != nil {
		return nil, err
	}
	return out, nil
}

type lineRow struct {
	InvoiceID   int64         `db:"invoice_id"`
	Kind        string        `db:"kind"`
	Description string        `db:"description"`
	Amount      int64         `db:"amount"`
	ProductID   sql.NullInt64 `db:"product_id"`
	Taxable     bool          `db:"taxable"`
	CouponCode  string        `db:"coupon_code"`
}

// loadInvoiceDetails fills the lines and derived totals of invs with two queries.
func (s *Store) loadInvoiceDetails(ctx context.Context, invs []*Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	ids := make([]int64, len(invs))
	byID := make(map[int64]*Invoice, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
		byID[inv.ID] = inv
		inv.Lines = nil
	}
	var lines []lineRow
	if err := s.db.SelectContext(ctx, &lines, `
		SELECT invoice_id, kind, description, amount, product_id, taxable, coupon_code
		FROM invoice_lines WHERE invoice_id = ANY($1) ORDER BY invoice_id, position`, ids); err != nil {
		return fmt.Errorf("load invoice lines: %w", err)
	}
	for _, l := range lines {
		inv := byID[l.InvoiceID]
		inv.Lines = append(inv.Lines, billing.Line{
			Kind: billing.LineKind(l.Kind), Description: l.Description,
			Amount:    billing.Money{Amount: l.Amount, Currency: inv.Currency},
			ProductID: l.ProductID.Int64, Taxable: l.Taxable, CouponCode: l.CouponCode,
		})
	}
	var sums []struct {
		InvoiceID int64 `db:"invoice_id"`
		Paid      int64 `db:"paid"`
		Refunded  int64 `db:"refunded"`
	}
	if err := s.db.SelectContext(ctx, &sums, `
		SELECT p.invoice_id, COALESCE(SUM(p.amount), 0)::bigint AS paid,
		       COALESCE(SUM((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_id = p.id AND r.status <> 'failed')), 0)::bigint AS refunded
		FROM payments p WHERE p.invoice_id = ANY($1) GROUP BY p.invoice_id`, ids); err != nil {
		return fmt.Errorf("load invoice payments: %w", err)
	}
	for _, inv := range invs {
		var err error
		if inv.Totals, err = totals(inv.Document()); err != nil {
			return fmt.Errorf("totals of invoice %s: %w", inv.Number, err)
		}
	}
	for _, sum := range sums {
		t := &byID[sum.InvoiceID].Totals
		t.Paid.Amount, t.Refunded.Amount = sum.Paid, sum.Refunded
		t.Due.Amount = max(0, t.Total.Amount-sum.Paid)
	}
	return nil
}

func totals(doc billing.Invoice) (InvoiceTotals, error) {
	var t InvoiceTotals
	var err error
	if t.Subtotal, err = doc.Subtotal(); err != nil {
		return t, err
	}
	if t.Discount, err = doc.DiscountTotal(); err != nil {
		return t, err
	}
	if t.Tax, err = doc.TaxTotal(); err != nil {
		return t, err
	}
	if t.Credit, err = doc.CreditTotal(); err != nil {
		return t, err
	}
	if t.Total, err = doc.Total(); err != nil {
		return t, err
	}
	zero := billing.Money{Currency: doc.Currency}
	t.Paid, t.Refunded, t.Due = zero, zero, billing.Money{Amount: max(0, t.Total.Amount), Currency: doc.Currency}
	return t, nil
}

// settle replays an invoice's payments and refunds into a billing.Settlement, which derives
// the status and enforces the refund bound.
func settle(currency string, lines []billing.Line, issued bool, pays []billing.Payment, refunds []billing.Refund) (*billing.Settlement, error) {
	total, err := billing.Invoice{Currency: currency, Lines: lines}.Total()
	if err != nil {
		return nil, err
	}
	st, err := billing.NewSettlement(total)
	if err != nil {
		return nil, err
	}
	if issued {
		st.Issue()
	}
	for _, p := range pays {
		if err := st.Pay(p); err != nil {
			return nil, err
		}
	}
	for _, r := range refunds {
		if err := st.Refund(r); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// lockedInvoice loads an invoice FOR UPDATE with its lines, payments and refunds, inside tx.
// Every payment, refund and status change goes through it, so they are serialized per invoice.
func lockedInvoice(ctx context.Context, tx *sqlx.Tx, id int64) (Invoice, []Payment, []Refund, error) {
	var inv Invoice
	if err := tx.GetContext(ctx, &inv, `SELECT `+invoiceColumns+` FROM invoices WHERE id = $1 FOR UPDATE`, id); err != nil {
		return Invoice{}, nil, nil, notFound(err, fmt.Sprintf("invoice %d", id))
	}
	var lines []lineRow
	if err := tx.SelectContext(ctx, &lines, `
		SELECT invoice_id, kind, description, amount, product_id, taxable, coupon_code
		FROM invoice_lines WHERE invoice_id = $1 ORDER BY position`, id); err != nil {
		return Invoice{}, nil, nil, fmt.Errorf("load lines of invoice %d: %w", id, err)
	}
	for _, l := range lines {
		inv.Lines = append(inv.Lines, billing.Line{Kind: billing.LineKind(l.Kind), Description: l.Description,
			Amount: billing.Money{Amount: l.Amount, Currency: inv.Currency}, ProductID: l.ProductID.Int64, Taxable: l.Taxable, CouponCode: l.CouponCode})
	}
	var prows []paymentRow
	if err := tx.SelectContext(ctx, &prows, paymentSelect+` WHERE invoice_id = $1 ORDER BY id`, id); err != nil {
		return Invoice{}, nil, nil, fmt.Errorf("load payments of invoice %d: %w", id, err)
	}
	var rrows []refundRow
	if err := tx.SelectContext(ctx, &rrows, refundSelect+` WHERE r.payment_id IN (SELECT id FROM payments WHERE invoice_id = $1) ORDER BY r.id`, id); err != nil {
		return Invoice{}, nil, nil, fmt.Errorf("load refunds of invoice %d: %w", id, err)
	}
	pays := make([]Payment, len(prows))
	for i, p := range prows {
		pays[i] = p.payment()
	}
	refunds := make([]Refund, len(rrows))
	for i, r := range rrows {
		refunds[i] = r.refund()
	}
	return inv, pays, refunds, nil
}

// settlementOf is where an invoice stands with its payments and refunds.
func settlementOf(inv Invoice, pays []Payment, refunds []Refund) (*billing.Settlement, error) {
	bp := make([]billing.Payment, len(pays))
	for i, p := range pays {
		bp[i] = billing.Payment{Amount: p.Amount, Gateway: p.Gateway, TransactionID: p.GatewayTxnID}
	}
	br := make([]billing.Refund, 0, len(refunds))
	for _, r := range refunds {
		if r.Counts() {
			br = append(br, billing.Refund{Amount: r.Amount, Gateway: r.Gateway, RefundID: r.GatewayRefundID})
		}
	}
	st, err := settle(inv.Currency, inv.Lines, inv.Status != billing.StatusDraft, bp, br)
	if err != nil {
		return nil, fmt.Errorf("settle invoice %s: %w", inv.Number, err)
	}
	return st, nil
}

// updateSettlement derives the invoice's status from its payments and refunds and stores it,
// stamping paid_at the first time payments cover the total. An invoice no longer unpaid has
// nothing pending and nothing being charged any more, so both marks are cleared with it.
func updateSettlement(ctx context.Context, tx *sqlx.Tx, inv Invoice, pays []Payment, refunds []Refund) (billing.Status, error) {
	status, _, err := updateSettlementChecking(ctx, tx, inv, pays, refunds)
	return status, err
}

// updateSettlementChecking is updateSettlement that also reports, from the same statement,
// whether hosted payment pages are still open for the invoice.
func updateSettlementChecking(ctx context.Context, tx *sqlx.Tx, inv Invoice, pays []Payment, refunds []Refund) (billing.Status, bool, error) {
	st, err := settlementOf(inv, pays, refunds)
	if err != nil {
		return "", false, err
	}
	status := st.Status()
	var open bool
	err = tx.GetContext(ctx, &open, `
		UPDATE invoices SET status = $2, updated_at = now(),
		       paid_at = CASE WHEN paid_at IS NULL AND $3 THEN now() ELSE paid_at END,
		       pending_payment_gateway = CASE WHEN $2 = 'unpaid' THEN pending_payment_gateway ELSE '' END,
		       pending_payment_ref = CASE WHEN $2 = 'unpaid' THEN pending_payment_ref ELSE '' END,
		       pending_payment_since = CASE WHEN $2 = 'unpaid' THEN pending_payment_since END,
		       charging_key = CASE WHEN $2 = 'unpaid' THEN charging_key ELSE '' END,
		       charging_since = CASE WHEN $2 = 'unpaid' THEN charging_since END
		WHERE id = $1
		RETURNING EXISTS (SELECT 1 FROM checkouts WHERE invoice_id = $1 AND closed_at IS NULL)`, inv.ID, string(status), st.AmountDue().IsZero())
	if err != nil {
		return "", false, fmt.Errorf("set invoice %s %s: %w", inv.Number, status, err)
	}
	return status, open, nil
}

// CancelInvoice withdraws a draft or unpaid invoice that has no payments; it keeps its number.
// In the same transaction it gives back what the invoice took: account credit applied to it
// returns to the customer through a credit note (reason invoice_cancelled), and the coupon uses
// it redeemed are released. Cancelling a cancelled invoice is a no-op, so all of that happens
// once however often (or however concurrently) it is cancelled; any other status gives
// ErrInvoiceState.
func (s *Store) CancelInvoice(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		inv, pays, _, err := lockedInvoice(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case inv.Status == billing.StatusCancelled:
			return nil
		case inv.Status != billing.StatusDraft && inv.Status != billing.StatusUnpaid, len(pays) > 0:
			return fmt.Errorf("cancel %s invoice %s with %d payment(s): %w", inv.Status, inv.Number, len(pays), ErrInvoiceState)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET status = 'cancelled', cancelled_at = now(), updated_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("cancel invoice %s: %w", inv.Number, err)
		}
		if err := returnAppliedCreditTx(ctx, tx, inv); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE coupon_redemptions SET released_at = now() WHERE invoice_id = $1 AND released_at IS NULL`, id); err != nil {
			return fmt.Errorf("release coupons of invoice %s: %w", inv.Number, err)
		}
		return nil
	})
}

// returnAppliedCreditTx issues the credit note that gives back the account credit a cancelled
// invoice took from the ledger (its "use" entries, which its credit line shows). Its key is per
// invoice, so the credit returns once.
func returnAppliedCreditTx(ctx context.Context, tx *sqlx.Tx, inv Invoice) error {
	var taken int64
	if err := tx.GetContext(ctx, &taken, `SELECT COALESCE(-SUM(amount), 0)::bigint FROM credit_ledger
		WHERE invoice_id = $1 AND kind = 'use' AND currency = $2`, inv.ID, inv.Currency); err != nil {
		return fmt.Errorf("credit applied to invoice %s: %w", inv.Number, err)
	}
	if taken <= 0 {
		return nil
	}
	back := billing.Money{Amount: taken, Currency: inv.Currency}
	_, err := issueCreditNoteTx(ctx, tx, NewCreditNote{
		CustomerID: inv.CustomerID, InvoiceID: inv.ID, Currency: inv.Currency, Reason: billing.CreditNoteInvoiceCancelled,
		Lines: []billing.Line{{Kind: billing.LineCredit,
			Description: fmt.Sprintf("Account credit applied to %s returned", inv.Number), Amount: back}},
		CreditAmount: back, IdempotencyKey: fmt.Sprintf("invoice-cancelled:%d", inv.ID), CreatedBy: "cancel:" + inv.Number,
	})
	if err != nil {
		return fmt.Errorf("return credit applied to invoice %s: %w", inv.Number, err)
	}
	return nil
}

func optionalID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// InvoiceSeries is an invoice numbering series: the prefix and the number the next invoice gets.
type InvoiceSeries struct {
	Series string `db:"series"`
	Prefix string `db:"prefix"`
	Next   int64  `db:"next_number"`
}

// InvoiceSeriesByName loads a numbering series.
func (s *Store) InvoiceSeriesByName(ctx context.Context, series string) (InvoiceSeries, error) {
	var out InvoiceSeries
	if err := s.db.GetContext(ctx, &out, `SELECT series, prefix, next_number FROM invoice_sequences WHERE series = $1`, series); err != nil {
		return InvoiceSeries{}, notFound(err, fmt.Sprintf("invoice series %q", series))
	}
	return out, nil
}

// SetInvoiceSeries changes a series' prefix and next number. The number may only move forward
// (numbers already given stay unique and the series keeps counting up); moving it back is
// ErrInvalid and changes nothing.
func (s *Store) SetInvoiceSeries(ctx context.Context, in InvoiceSeries) error {
	if len(in.Prefix) > 20 || strings.ContainsAny(in.Prefix, " \t\n") {
		return fmt.Errorf("invoice prefix %q: at most 20 characters, no spaces: %w", in.Prefix, ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var next int64
		if err := tx.GetContext(ctx, &next, `SELECT next_number FROM invoice_sequences WHERE series = $1 FOR UPDATE`, in.Series); err != nil {
			return notFound(err, fmt.Sprintf("invoice series %q", in.Series))
		}
		if in.Next < next {
			return fmt.Errorf("invoice series %q: next number %d is below %d, already reached: %w", in.Series, in.Next, next, ErrInvalid)
		}
		_, err := tx.ExecContext(ctx, `UPDATE invoice_sequences SET prefix = $2, next_number = $3 WHERE series = $1`, in.Series, in.Prefix, in.Next)
		if isUniqueViolation(err) {
			return fmt.Errorf("invoice series %q: %w", in.Series, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("set invoice series %q: %w", in.Series, err)
		}
		return nil
	})
}
