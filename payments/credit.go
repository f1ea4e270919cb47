package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// IssueCreditNote issues a credit note and credits its CreditAmount to the account, once per key.
func (s *Service) IssueCreditNote(ctx context.Context, n store.NewCreditNote) (store.CreditNote, error) {
	return s.Store.IssueCreditNote(ctx, n)
}

// Downgrade is the credit for the unused days of a plan moved down.
type Downgrade struct {
	SubscriptionID int64
	CustomerID     int64
	Currency       string
	// PeriodInvoiceID is the invoice that paid the current period (pricing.Change).
	PeriodInvoiceID int64
	Lines           []billing.Line // net and tax lines credited (pricing.Change.CreditNote)
	Total           billing.Money
	Note            string // for the ledger entry when no invoice can carry the note
	Key, By         string
}

// CreditDowngrade credits a downgrade with a credit note amending the invoice that paid the
// period. When that invoice cannot carry it (a period paid partly by an upgrade's own invoice,
// so the credit exceeds what the first invoice still holds) the subscription's other invoices
// are tried, newest first; only a subscription with no invoice at all (imported without its
// history) gets plain account credit.
func (s *Service) CreditDowngrade(ctx context.Context, d Downgrade) error {
	if !d.Total.IsPositive() {
		return nil
	}
	candidates := []int64{}
	if d.PeriodInvoiceID != 0 {
		candidates = append(candidates, d.PeriodInvoiceID)
	}
	invs, err := s.Store.SubscriptionInvoices(ctx, d.SubscriptionID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if inv.ID != d.PeriodInvoiceID && inv.Paid() {
			candidates = append(candidates, inv.ID)
		}
	}
	for _, id := range candidates {
		_, err := s.Store.IssueCreditNote(ctx, store.NewCreditNote{CustomerID: d.CustomerID, InvoiceID: id, Currency: d.Currency,
			Reason: billing.CreditNoteDowngrade, Lines: d.Lines, CreditAmount: d.Total, IdempotencyKey: d.Key, CreatedBy: d.By})
		if errors.Is(err, store.ErrInvalid) {
			continue // this invoice cannot carry that much: try the next
		}
		if err != nil {
			return fmt.Errorf("credit note for downgrade %s: %w", d.Key, err)
		}
		return nil
	}
	s.log().Warn("downgrade credited without a credit note: no invoice can carry it", "subscription", d.SubscriptionID, "credit", d.Total.String())
	_, err = s.Store.AddCredit(ctx, store.CreditChange{CustomerID: d.CustomerID, Amount: d.Total, Note: d.Note, CreatedBy: d.By, IdempotencyKey: d.Key})
	return err
}
