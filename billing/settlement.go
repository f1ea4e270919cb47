package billing

import (
	"fmt"
)

// Status is where an invoice stands in being paid.
type Status string

// The settlement statuses.
const (
	StatusDraft             Status = "draft"              // not issued yet; cannot be paid
	StatusUnpaid            Status = "unpaid"             // issued, payments below the total
	StatusPaid              Status = "paid"               // payments cover the total, nothing refunded
	StatusPartiallyRefunded Status = "partially_refunded" // some but not all payments refunded
	StatusRefunded          Status = "refunded"           // every payment refunded
)

// StatusCancelled is an invoice withdrawn before payment; it keeps its number so the series
// stays gap-free. A settlement never derives it: it is set when the invoice is cancelled.
const StatusCancelled Status = "cancelled"

// RefundStatus is where a refund stands: pending until the gateway reports it reached the
// customer, failed when it never did (the money is owed to the customer again).
type RefundStatus string

// The refund states.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Payment is money received for an invoice; (Gateway, TransactionID) identifies it.
type Payment struct {
	Amount        Money
	Gateway       string
	TransactionID string
}

// Refund is money returned for an invoice; (Gateway, RefundID) identifies it.
type Refund struct {
	Amount   Money
	Gateway  string
	RefundID string
}

// Settlement tracks one invoice's payments and refunds. Refunds never exceed what was paid and
// not yet refunded; payments are deduplicated on gateway and transaction id so a webhook
// delivered twice is one payment. Build it with NewSettlement and replay stored payments and
// refunds to rebuild it.
type Settlement struct {
	total    Money
	issued   bool
	payments []Payment
	refunds  []Refund
	paid     int64
	refunded int64
}

// NewSettlement starts a draft settlement for an invoice total (zero or positive).
func NewSettlement(total Money) (*Settlement, error) {
	if _, err := CurrencyExponent(total.Currency); err != nil {
		return nil, fmt.Errorf("settlement: %w", err)
	}
	if total.IsNegative() {
		return nil, fmt.Errorf("settlement for %s: %w", total, ErrInvalidAmount)
	}
	return &Settlement{total: total}, nil
}

// Issue makes the invoice payable; issuing twice is harmless.
func (s *Settlement) Issue() { s.issued = true }

// Total is the invoice total being settled.
func (s *Settlement) Total() Money { return s.total }

// Paid is the sum of all payments, before refunds.
func (s *Settlement) Paid() Money { return Money{Amount: s.paid, Currency: s.total.Currency} }

// Refunded is the sum of all refunds.
func (s *Settlement) Refunded() Money { return Money{Amount: s.refunded, Currency: s.total.Currency} }

// NetPaid is payments minus refunds: what the business keeps.
func (s *Settlement) NetPaid() Money {
	return Money{Amount: s.paid - s.refunded, Currency: s.total.Currency}
}

// Payments returns a copy of the payments in the order recorded.
func (s *Settlement) Payments() []Payment { return append([]Payment(nil), s.payments...) }

// Refunds returns a copy of the refunds in the order recorded.
func (s *Settlement) Refunds() []Refund { return append([]Refund(nil), s.refunds...) }

// AmountDue is what is still to be paid: the total minus payments, never below zero. Refunds
// do not make an invoice due again: a refund is a decision to give money back.
func (s *Settlement) AmountDue() Money {
	return Money{Amount: max(0, s.total.Amount-s.paid), Currency: s.total.Currency}
}

// Overpaid is what payments exceed the total by (for example two checkouts paid); the
// caller moves it to account credit or refunds it.
func (s *Settlement) Overpaid() Money {
	return Money{Amount: max(0, s.paid-s.total.Amount), Currency: s.total.Currency}
}

// Status derives the invoice status: draft until issued; then paid when what is kept after
// refunds still covers a positive total (refunds gave back only an overpayment), refunded when
// refunds equal payments (and some were made), partially_refunded when some were refunded, paid
// when payments cover the total, unpaid otherwise. A zero total is paid as soon as it is issued.
func (s *Settlement) Status() Status {
	switch {
	case !s.issued:
		return StatusDraft
	case s.refunded > 0 && s.paid-s.refunded >= s.total.Amount && s.total.Amount > 0:
		return StatusPaid // only an overpayment was returned: the invoice is still fully paid
	case s.refunded > 0 && s.refunded == s.paid:
		return StatusRefunded
	case s.refunded > 0:
		return StatusPartiallyRefunded
	case s.paid >= s.total.Amount:
		return StatusPaid
	}
	return StatusUnpaid
}

// Pay records a payment (> 0, invoice currency) on an issued invoice. A payment already
// recorded with the same gateway and transaction id gives ErrDuplicatePayment and is not
// counted again. Payments beyond the total are recorded (the money arrived) and show in Overpaid.
func (s *Settlement) Pay(p Payment) error {
	if !s.issued {
		return fmt.Errorf("pay %s on a draft invoice: %w", p.Amount, ErrNotIssued)
	}
	if err := s.total.sameCurrency("pay", p.Amount); err != nil {
		return err
	}
	if p.Amount.Amount <= 0 {
		return fmt.Errorf("pay %s: %w", p.Amount, ErrInvalidAmount)
	}
	for _, q := range s.payments {
		if q.Gateway == p.Gateway && q.TransactionID == p.TransactionID {
			return fmt.Errorf("pay %s via %s %s: %w", p.Amount, p.Gateway, p.TransactionID, ErrDuplicatePayment)
		}
	}
	next, ok := add64(s.paid, p.Amount.Amount)
	if !ok {
		return fmt.Errorf("pay %s: %w", p.Amount, ErrOverflow)
	}
	s.payments = append(s.payments, p)
	s.paid = next
	return nil
}

// Refund records a refund (> 0) of at most Paid − Refunded (ErrRefundExceedsPaid otherwise).
// A refund already recorded with the same gateway and refund id gives ErrDuplicateRefund.
func (s *Settlement) Refund(r Refund) error {
	if err := s.total.sameCurrency("refund", r.Amount); err != nil {
		return err
	}
	if r.Amount.Amount <= 0 {
		return fmt.Errorf("refund %s: %w", r.Amount, ErrInvalidAmount)
	}
	for _, q := range s.refunds {
		if q.Gateway == r.Gateway && q.RefundID == r.RefundID {
			return fmt.Errorf("refund %s via %s %s: %w", r.Amount, r.Gateway, r.RefundID, ErrDuplicateRefund)
		}
	}
	if r.Amount.Amount > s.paid-s.refunded {
		return fmt.Errorf("refund %s with %s paid and %s refunded: %w", r.Amount, s.Paid(), s.Refunded(), ErrRefundExceedsPaid)
	}
	s.refunds = append(s.refunds, r)
	s.refunded += r.Amount.Amount
	return nil
}
