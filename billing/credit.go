package billing

import (
	"fmt"
)

// CreditKind is why an account credit entry was made.
type CreditKind string

// The credit entry kinds.
const (
	CreditAdd    CreditKind = "add"    // credit granted or bought (positive)
	CreditUse    CreditKind = "use"    // credit applied to an invoice (negative)
	CreditRefund CreditKind = "refund" // a payment refunded to credit instead of to the card (positive)
	CreditAdjust CreditKind = "adjust" // a staff correction (either sign)
)

// CreditEntry is one movement of account credit; Amount is signed (uses are negative).
type CreditEntry struct {
	Kind   CreditKind
	Amount Money
	Note   string
}

// CreditLedger is a customer's account credit in one currency: a list of entries whose sum is
// the balance. Every operation keeps the balance at zero or above; one that would not returns
// ErrInsufficientCredit and changes nothing. Use NewCreditLedger, then Record the stored
// entries to rebuild it.
type CreditLedger struct {
	currency string
	entries  []CreditEntry
	balance  int64 // cached sum of entries
}

// NewCreditLedger returns an empty ledger in currency.
func NewCreditLedger(currency string) (*CreditLedger, error) {
	z, err := Zero(currency)
	if err != nil {
		return nil, fmt.Errorf("credit ledger: %w", err)
	}
	return &CreditLedger{currency: z.Currency}, nil
}

// Balance is the sum of all entries, never negative.
func (l *CreditLedger) Balance() Money { return Money{Amount: l.balance, Currency: l.currency} }

// Entries returns a copy of the entries in the order they were recorded.
func (l *CreditLedger) Entries() []CreditEntry { return append([]CreditEntry(nil), l.entries...) }

// Add grants amount (> 0) of credit.
func (l *CreditLedger) Add(amount Money, note string) error {
	return l.Record(CreditEntry{Kind: CreditAdd, Amount: amount, Note: note})
}

// Use takes amount (> 0) of credit, for example to pay an invoice; more than the balance gives
// ErrInsufficientCredit.
func (l *CreditLedger) Use(amount Money, note string) error {
	if amount.Amount <= 0 {
		return fmt.Errorf("use credit %s: %w", amount, ErrInvalidAmount)
	}
	neg, err := amount.Neg()
	if err != nil {
		return fmt.Errorf("use credit %s: %w", amount, err)
	}
	return l.Record(CreditEntry{Kind: CreditUse, Amount: neg, Note: note})
}

// RefundToCredit returns amount (> 0) of a payment to the customer as credit.
func (l *CreditLedger) RefundToCredit(amount Money, note string) error {
	return l.Record(CreditEntry{Kind: CreditRefund, Amount: amount, Note: note})
}

// Adjust corrects the balance by a non-zero delta of either sign, never below zero.
func (l *CreditLedger) Adjust(delta Money, note string) error {
	return l.Record(CreditEntry{Kind: CreditAdjust, Amount: delta, Note: note})
}

// Record appends an entry after checking its currency, that its sign suits its kind (add and
// refund positive, use negative, adjust non-zero) and that the balance stays non-negative.
// On any error the ledger is unchanged.
func (l *CreditLedger) Record(e CreditEntry) error {
	if e.Amount.Currency != l.currency {
		return fmt.Errorf("credit %s %s on a %s ledger: %w", e.Kind, e.Amount, l.currency, ErrCurrencyMismatch)
	}
	var ok bool
	switch e.Kind {
	case CreditAdd, CreditRefund:
		ok = e.Amount.Amount > 0
	case CreditUse:
		ok = e.Amount.Amount < 0
	case CreditAdjust:
		ok = e.Amount.Amount != 0
	}
	if !ok {
		return fmt.Errorf("credit %s of %s: %w", e.Kind, e.Amount, ErrInvalidAmount)
	}
	next, fits := add64(l.balance, e.Amount.Amount)
	if !fits {
		return fmt.Errorf("credit %s of %s on balance %s: %w", e.Kind, e.Amount, l.Balance(), ErrOverflow)
	}
	if next < 0 {
		return fmt.Errorf("credit %s of %s on balance %s: %w", e.Kind, e.Amount, l.Balance(), ErrInsufficientCredit)
	}
	l.entries = append(l.entries, e)
	l.balance = next
	return nil
}
