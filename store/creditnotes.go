package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// CreditNoteSeries is the numbering series of credit notes ("CN-1001", ...), apart from invoices.
const CreditNoteSeries = "credit_note"

// CreditNoteReason is why a credit note was issued (billing's list).
type CreditNoteReason = billing.CreditNoteReason

// NewCreditNote is what issuing a credit note needs.
type NewCreditNote struct {
	CustomerID int64
	InvoiceID  int64 // the invoice it amends; required
	Currency   string
	Reason     CreditNoteReason
	// Lines are the positive amounts credited: product, setup and proration lines net of
	// discounts, LineTax lines for the tax share (billing.CreditNoteTax), LineCredit lines for
	// account credit an invoice applied and gets back.
	Lines []billing.Line
	// CreditAmount is how much of the total goes to account credit; the rest was refunded or
	// reduced what the invoice still asked for.
	CreditAmount   billing.Money
	IdempotencyKey string // required; a retry with the same key returns the first note
	CreatedBy      string // required; workflow id, request id or "admin:3"
}

// CreditNote is a stored credit note with its lines.
type CreditNote struct {
	ID             int64
	Number         string // e.g. "CN-1001"
	InvoiceID      int64
	InvoiceNumber  string
	CustomerID     int64
	Currency       string
	Reason         CreditNoteReason
	Lines          []billing.Line
	Subtotal       billing.Money // the lines that are not tax
	Tax            billing.Money
	Total          billing.Money
	CreditAmount   billing.Money // given as account credit
	Buyer          Buyer         // the customer as they were when it was issued
	ReverseCharge  bool          // the invoice it amends was reverse charged
	CreatedBy      string
	IdempotencyKey string
	IssuedAt       time.Time
}

// CreditNoteFilter narrows a credit note list.
type CreditNoteFilter struct {
	CustomerID int64 // 0 for all customers
	InvoiceID  int64 // 0 for all invoices
	Limit      int   // 0 is 100; at most 500
}

// creditNoteLineKinds are the line kinds a credit note may carry.
var creditNoteLineKinds = map[billing.LineKind]bool{
	billing.LineProduct: true, billing.LineSetup: true, billing.LineProration: true, billing.LineTax: true, billing.LineCredit: true,
}

// IssueCreditNote numbers and stores a credit note with its lines and gives its CreditAmount as
// account credit, in one transaction. A repeated IdempotencyKey returns the first note
// unchanged. A note whose total exceeds what is left of the invoice after earlier credit notes,
// or whose CreditAmount exceeds its total, is ErrInvalid.
func (s *Store) IssueCreditNote(ctx context.Context, in NewCreditNote) (CreditNote, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = issueCreditNoteTx(ctx, tx, in)
		return err
	})
	if isUniqueViolation(err) { // the same key committed by a concurrent issue on another invoice
		if kerr := s.db.GetContext(ctx, &id, `SELECT id FROM credit_notes WHERE idempotency_key = $1`, in.IdempotencyKey); kerr == nil {
			err = nil
		}
	}
	if err != nil {
		return CreditNote{}, err
	}
	cn, err := s.CreditNote(ctx, id)
	if err != nil {
		return CreditNote{}, err
	}
	if cn.CustomerID != in.CustomerID {
		return CreditNote{}, fmt.Errorf("credit note key %q belongs to customer %d, not %d: %w", in.IdempotencyKey, cn.CustomerID, in.CustomerID, ErrConflict)
	}
	return cn, nil
}

// issueCreditNoteTx is IssueCreditNote inside the caller's transaction; it returns the note's
// id. It locks the invoice row first (as every payment and cancellation does), so notes on one
// invoice are checked against each other one at a time, then the credit-note series.
func issueCreditNoteTx(ctx context.Context, tx *sqlx.Tx, in NewCreditNote) (int64, error) {
	sub, tax, err := in.validate()
	if err != nil {
		return 0, err
	}
	total := sub + tax
	var inv struct {
		CustomerID int64  `db:"customer_id"`
		Currency   string `db:"currency"`
		Status     string `db:"status"`
		Number     string `db:"number"`
	}
	if err := tx.GetContext(ctx, &inv, `SELECT customer_id, currency, status, number FROM invoices WHERE id = $1 FOR UPDATE`, in.InvoiceID); err != nil {
		return 0, notFound(err, fmt.Sprintf("credit note: invoice %d", in.InvoiceID))
	}
	var id int64
	if err := tx.GetContext(ctx, &id, `SELECT id FROM credit_notes WHERE idempotency_key = $1`, in.IdempotencyKey); err == nil {
		return id, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("look up credit note key %q: %w", in.IdempotencyKey, err)
	}
	switch {
	case inv.CustomerID != in.CustomerID:
		return 0, fmt.Errorf("credit note for customer %d on invoice %s of customer %d: %w", in.CustomerID, inv.Number, inv.CustomerID, ErrInvalid)
	case inv.Currency != in.Currency:
		return 0, fmt.Errorf("credit note in %s on %s invoice %s: %w", in.Currency, inv.Currency, inv.Number, billing.ErrCurrencyMismatch)
	case inv.Status == string(billing.StatusDraft):
		return 0, fmt.Errorf("credit note on draft invoice %s: %w", inv.Number, ErrInvoiceState)
	}
	// What a credit note can amend is what was invoiced: every line but the account credit
	// applied, which paid part of it and is no reduction of its value.
	var invoiced, earlier int64
	if err := tx.GetContext(ctx, &invoiced, `SELECT COALESCE(SUM(amount), 0)::bigint FROM invoice_lines
		WHERE invoice_id = $1 AND kind <> 'credit'`, in.InvoiceID); err != nil {
		return 0, fmt.Errorf("total of invoice %s: %w", inv.Number, err)
	}
	if err := tx.GetContext(ctx, &earlier, `SELECT COALESCE(SUM(total), 0)::bigint FROM credit_notes WHERE invoice_id = $1`, in.InvoiceID); err != nil {
		return 0, fmt.Errorf("credit notes of invoice %s: %w", inv.Number, err)
	}
	if total > invoiced-earlier {
		return 0, fmt.Errorf("credit note of %s on invoice %s of %s with %s already credited: %w",
			billing.Money{Amount: total, Currency: in.Currency}, inv.Number, billing.Money{Amount: invoiced, Currency: in.Currency},
			billing.Money{Amount: earlier, Currency: in.Currency}, ErrInvalid)
	}
	if in.CreditAmount.Amount > total {
		return 0, fmt.Errorf("credit note of %s giving %s as credit: %w", billing.Money{Amount: total, Currency: in.Currency}, in.CreditAmount, ErrInvalid)
	}
	var seq struct {
		Prefix string `db:"prefix"`
		Next   int64  `db:"next_number"`
	}
	if err := tx.GetContext(ctx, &seq, `SELECT prefix, next_number FROM invoice_sequences WHERE series = $1 FOR UPDATE`, CreditNoteSeries); err != nil {
		return 0, notFound(err, "credit note series")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invoice_sequences SET next_number = next_number + 1 WHERE series = $1`, CreditNoteSeries); err != nil {
		return 0, fmt.Errorf("advance credit note series: %w", err)
	}
	buyer, err := buyerSnapshot(ctx, tx, in.CustomerID)
	if err != nil {
		return 0, err
	}
	number := fmt.Sprintf("%s%d", seq.Prefix, seq.Next)
	err = tx.GetContext(ctx, &id, `
		INSERT INTO credit_notes (series, seq, number, invoice_id, customer_id, currency, reason, subtotal, tax, total,
		                          credit_amount, buyer, created_by, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		CreditNoteSeries, seq.Next, number, in.InvoiceID, in.CustomerID, in.Currency, string(in.Reason), sub, tax, total,
		in.CreditAmount.Amount, buyer, in.CreatedBy, in.IdempotencyKey)
	if err != nil {
		return 0, fmt.Errorf("issue credit note on invoice %s: %w", inv.Number, err)
	}
	for i, l := range in.Lines {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO credit_note_lines (credit_note_id, position, kind, description, amount, product_id, taxable)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, i, string(l.Kind), l.Description, l.Amount.Amount, optionalID(l.ProductID), l.Taxable); err != nil {
			return 0, fmt.Errorf("credit note %s line %d (%s): %w", number, i, l.Description, err)
		}
	}
	if in.CreditAmount.IsPositive() {
		_, err := recordCreditTx(ctx, tx, billing.CreditNoteKind, CreditChange{
			CustomerID: in.CustomerID, InvoiceID: in.InvoiceID, CreditNoteID: id, Note: "credit note " + number,
			CreatedBy: in.CreatedBy, IdempotencyKey: "credit-note:" + in.IdempotencyKey,
		}, in.CreditAmount)
		if err != nil {
			return 0, err
		}
	}
	return id, nil
}

// validate checks the note on its own and returns its subtotal and tax in minor units.
func (in NewCreditNote) validate() (sub, tax int64, err error) {
	bad := func(format string, args ...any) (int64, int64, error) {
		return 0, 0, fmt.Errorf("credit note for customer %d on invoice %d: %s: %w", in.CustomerID, in.InvoiceID, fmt.Sprintf(format, args...), ErrInvalid)
	}
	switch {
	case in.IdempotencyKey == "" || in.CreatedBy == "":
		return bad("idempotency key and creator are required")
	case in.InvoiceID == 0:
		return bad("no invoice")
	case !in.Reason.Valid():
		return bad("reason %q", in.Reason)
	case len(in.Lines) == 0:
		return bad("no lines")
	}
	if _, err := billing.CurrencyExponent(in.Currency); err != nil {
		return 0, 0, fmt.Errorf("credit note for customer %d: %w", in.CustomerID, err)
	}
	if in.CreditAmount == (billing.Money{}) {
		in.CreditAmount.Currency = in.Currency
	}
	if in.CreditAmount.Currency != in.Currency {
		return 0, 0, fmt.Errorf("credit note in %s giving %s as credit: %w", in.Currency, in.CreditAmount, billing.ErrCurrencyMismatch)
	}
	if in.CreditAmount.IsNegative() {
		return bad("credit amount %s", in.CreditAmount)
	}
	for i, l := range in.Lines {
		if l.Amount.Currency != in.Currency {
			return 0, 0, fmt.Errorf("credit note line %d (%s) is %s on a %s note: %w", i, l.Description, l.Amount, in.Currency, billing.ErrCurrencyMismatch)
		}
		if !creditNoteLineKinds[l.Kind] {
			return bad("line %d (%s) has kind %q", i, l.Description, l.Kind)
		}
		if !l.Amount.IsPositive() {
			return bad("line %d (%s) is %s, not positive", i, l.Description, l.Amount)
		}
		var ok bool
		if l.Kind == billing.LineTax {
			tax, ok = addChecked(tax, l.Amount.Amount)
		} else {
			sub, ok = addChecked(sub, l.Amount.Amount)
		}
		if !ok || sub+tax < 0 {
			return 0, 0, fmt.Errorf("credit note lines: %w", billing.ErrOverflow)
		}
	}
	return sub, tax, nil
}

func addChecked(a, b int64) (int64, bool) {
	s := a + b
	return s, s >= a // both are positive here
}

type creditNoteRow struct {
	ID             int64     `db:"id"`
	Number         string    `db:"number"`
	InvoiceID      int64     `db:"invoice_id"`
	InvoiceNumber  string    `db:"invoice_number"`
	CustomerID     int64     `db:"customer_id"`
	Currency       string    `db:"currency"`
	Reason         string    `db:"reason"`
	Subtotal       int64     `db:"subtotal"`
	Tax            int64     `db:"tax"`
	Total          int64     `db:"total"`
	CreditAmount   int64     `db:"credit_amount"`
	Buyer          Buyer     `db:"buyer"`
	ReverseCharge  bool      `db:"reverse_charge"`
	CreatedBy      string    `db:"created_by"`
	IdempotencyKey string    `db:"idempotency_key"`
	IssuedAt       time.Time `db:"issued_at"`
}

const creditNoteSelect = `SELECT n.id, n.number, n.invoice_id, i.number AS invoice_number, n.customer_id, n.currency, n.reason,
	n.subtotal, n.tax, n.total, n.credit_amount, n.buyer, i.reverse_charge, n.created_by, n.idempotency_key, n.issued_at
	FROM credit_notes n JOIN invoices i ON i.id = n.invoice_id `

func (r creditNoteRow) note() CreditNote {
	m := func(a int64) billing.Money { return billing.Money{Amount: a, Currency: r.Currency} }
	return CreditNote{ID: r.ID, Number: r.Number, InvoiceID: r.InvoiceID, InvoiceNumber: r.InvoiceNumber, CustomerID: r.CustomerID,
		Currency: r.Currency, Reason: CreditNoteReason(r.Reason), Subtotal: m(r.Subtotal), Tax: m(r.Tax), Total: m(r.Total),
		CreditAmount: m(r.CreditAmount), Buyer: r.Buyer, ReverseCharge: r.ReverseCharge, CreatedBy: r.CreatedBy,
		IdempotencyKey: r.IdempotencyKey, IssuedAt: r.IssuedAt}
}

// CreditNote loads a credit note with its lines.
func (s *Store) CreditNote(ctx context.Context, id int64) (CreditNote, error) {
	list, err := s.selectCreditNotes(ctx, `WHERE n.id = $1`, id)
	if err != nil {
		return CreditNote{}, fmt.Errorf("credit note %d: %w", id, err)
	}
	if len(list) == 0 {
		return CreditNote{}, fmt.Errorf("credit note %d: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// CustomerCreditNote loads a credit note only if it belongs to the customer; anyone else's is
// ErrNotFound.
func (s *Store) CustomerCreditNote(ctx context.Context, customerID, id int64) (CreditNote, error) {
	list, err := s.selectCreditNotes(ctx, `WHERE n.id = $1 AND n.customer_id = $2`, id, customerID)
	if err != nil {
		return CreditNote{}, fmt.Errorf("credit note %d of customer %d: %w", id, customerID, err)
	}
	if len(list) == 0 {
		return CreditNote{}, fmt.Errorf("credit note %d of customer %d: %w", id, customerID, ErrNotFound)
	}
	return list[0], nil
}

// CreditNotes lists credit notes with their lines, newest first.
func (s *Store) CreditNotes(ctx context.Context, f CreditNoteFilter) ([]CreditNote, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	out, err := s.selectCreditNotes(ctx, `WHERE ($1 = 0 OR n.customer_id = $1) AND ($2 = 0 OR n.invoice_id = $2)
		ORDER BY n.issued_at DESC, n.id DESC LIMIT $3`, f.CustomerID, f.InvoiceID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list credit notes: %w", err)
	}
	return out, nil
}

func (s *Store) selectCreditNotes(ctx context.Context, where string, args ...any) ([]CreditNote, error) {
	var rows []creditNoteRow
	if err := s.db.SelectContext(ctx, &rows, creditNoteSelect+where, args...); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]CreditNote, len(rows))
	ids := make([]int64, len(rows))
	byID := make(map[int64]*CreditNote, len(rows))
	for i, r := range rows {
		out[i] = r.note()
		ids[i] = r.ID
		byID[r.ID] = &out[i]
	}
	var lines []struct {
		NoteID      int64         `db:"credit_note_id"`
		Kind        string        `db:"kind"`
		Description string        `db:"description"`
		Amount      int64         `db:"amount"`
		ProductID   sql.NullInt64 `db:"product_id"`
		Taxable     bool          `db:"taxable"`
	}
	if err := s.db.SelectContext(ctx, &lines, `SELECT credit_note_id, kind, description, amount, product_id, taxable
		FROM credit_note_lines WHERE credit_note_id = ANY($1) ORDER BY credit_note_id, position`, ids); err != nil {
		return nil, fmt.Errorf("load credit note lines: %w", err)
	}
	for _, l := range lines {
		cn := byID[l.NoteID]
		cn.Lines = append(cn.Lines, billing.Line{Kind: billing.LineKind(l.Kind), Description: l.Description,
			Amount: billing.Money{Amount: l.Amount, Currency: cn.Currency}, ProductID: l.ProductID.Int64, Taxable: l.Taxable})
	}
	return out, nil
}
