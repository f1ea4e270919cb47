package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

// The refund refusals a form shows.
var (
	// ErrNothingToRefund: every payment of the invoice is refunded already.
	ErrNothingToRefund = errors.New("nothing is left to refund on this invoice")
	// ErrGatewayMissing: the payment's gateway is not configured here.
	ErrGatewayMissing = errors.New("the payment's gateway is not configured here")
	// ErrGatewayRefused: the gateway refused the refund; the wrapped error says why.
	ErrGatewayRefused = errors.New("the gateway refused the refund")
)

// RefundRequest is staff returning money for an invoice.
type RefundRequest struct {
	InvoiceID int64
	Amount    billing.Money // zero: everything left of the latest refundable payment
	Reason    string
	// Key makes a resubmitted form the same refund: it becomes the gateway's idempotency key.
	Key string
	By  string // "admin:3"
	// ToCredit gives the money back as account credit, on a credit note, instead of through
	// the gateway.
	ToCredit bool
}

// RefundResult is a refund made and recorded.
type RefundResult struct {
	store.RefundResult
	Payment store.Payment
	// Left is what could still be refunded of Payment before this refund: the bound a refused
	// amount is told about.
	Left billing.Money
}

// Refund returns money for an invoice's latest refundable payment through the gateway that
// took it (a manual payment gets a manual refund) and records it under the gateway's refund id
// in its real state (a pending refund stays pending until the gateway reports it).
func (s *Service) Refund(ctx context.Context, r RefundRequest) (RefundResult, error) {
	pays, err := s.Store.InvoicePayments(ctx, r.InvoiceID)
	if err != nil {
		return RefundResult{}, err
	}
	refunds, err := s.Store.InvoiceRefunds(ctx, r.InvoiceID)
	if err != nil {
		return RefundResult{}, err
	}
	pay, left, ok := RefundablePayment(pays, refunds)
	if !ok {
		return RefundResult{}, ErrNothingToRefund
	}
	amount := r.Amount
	if amount.IsZero() {
		amount = left
	}
	base := RefundResult{Payment: pay, Left: left}
	if r.ToCredit {
		if amount.Amount > left.Amount {
			return base, fmt.Errorf("refund %s with %s left: %w", amount, left, billing.ErrRefundExceedsPaid)
		}
		return s.refundToCredit(ctx, r, base, amount)
	}
	out := base
	ref, status := "manual-refund-"+r.Key, billing.RefundSucceeded
	gw, gwErr := s.Gateways.Get(pay.Gateway)
	switch {
	case gwErr == nil:
		// The bound (what is left of the payment) is checked by the gateway and by the store:
		// a resubmitted form must reach the gateway with its key and get its first answer.
		res, err := gw.Refund(ctx, gateways.RefundRequest{InvoiceID: r.InvoiceID, ChargeRef: pay.GatewayTxnID, Amount: amount,
			Reason: r.Reason, IdempotencyKey: fmt.Sprintf("refund:invoice:%d:%s", r.InvoiceID, r.Key)})
		switch {
		case errors.Is(err, gateways.ErrInvalidRequest) && amount.Amount > left.Amount:
			return out, fmt.Errorf("refund %s with %s left: %w", amount, left, billing.ErrRefundExceedsPaid)
		case err != nil:
			return out, fmt.Errorf("%w: %w", ErrGatewayRefused, err)
		}
		ref, amount, status = res.Ref, res.Amount, refundStatus(res.Status)
	case pay.Gateway != "manual":
		return out, fmt.Errorf("%s: %w", pay.Gateway, ErrGatewayMissing)
	}
	res, err := s.Store.RecordRefund(ctx, store.Refund{PaymentID: pay.ID, GatewayRefundID: ref, Amount: amount, Status: status,
		Reason: r.Reason, CreatedBy: r.By})
	if err != nil {
		return out, err
	}
	out.RefundResult = res
	return out, s.alertFailedRefund(ctx, pay, res)
}

// recordRefund records a refund or its new state and alerts staff when it failed. A refund that
// does not fit the payment is a review reason, not an error.
func (s *Service) recordRefund(ctx context.Context, pay store.Payment, r store.Refund) (string, error) {
	res, err := s.Store.RecordRefund(ctx, r)
	if why, ok := refusal(err); ok {
		return why, nil
	}
	if err != nil {
		return "", err
	}
	return "", s.alertFailedRefund(ctx, pay, res)
}

// alertFailedRefund tells staff, once, that a refund failed: the customer is owed the money again.
func (s *Service) alertFailedRefund(ctx context.Context, pay store.Payment, res store.RefundResult) error {
	if res.Refund.Status != billing.RefundFailed || res.Previous == billing.RefundFailed {
		return nil
	}
	return s.Store.RaiseMoneyAlert(ctx, store.NewMoneyAlert{Kind: store.AlertRefundFailed, CustomerID: res.CustomerID,
		InvoiceID: res.InvoiceID, PaymentID: pay.ID, DedupeKey: "refund-failed:" + pay.Gateway + ":" + res.Refund.GatewayRefundID,
		Message: fmt.Sprintf("Refund %s of %s (%s %s) failed at the gateway: the customer did not get the money; refund it again or as credit.",
			res.Refund.GatewayRefundID, res.Refund.Amount, pay.Gateway, pay.GatewayTxnID)})
}

// RefundablePayment is the latest payment with something left to refund, and how much; pending
// refunds count, failed ones do not.
func RefundablePayment(pays []store.Payment, refunds []store.Refund) (store.Payment, billing.Money, bool) {
	refunded := map[int64]int64{}
	for _, rf := range refunds {
		if rf.Counts() {
			refunded[rf.PaymentID] += rf.Amount.Amount
		}
	}
	for i := len(pays) - 1; i >= 0; i-- {
		if left := pays[i].Amount.Amount - refunded[pays[i].ID]; left > 0 {
			return pays[i], billing.Money{Amount: left, Currency: pays[i].Amount.Currency}, true
		}
	}
	return store.Payment{}, billing.Money{}, false
}

// refundToCredit gives a payment back as account credit: a credit note amending the invoice
// (its net part and the tax share of it) credits the account, and a refund of method credit
// records that the payment was returned, so the invoice shows it refunded. Both are keyed on
// the form's key, so a resubmission does neither twice.
func (s *Service) refundToCredit(ctx context.Context, r RefundRequest, out RefundResult, amount billing.Money) (RefundResult, error) {
	pay := out.Payment
	inv, err := s.Store.Invoice(ctx, r.InvoiceID)
	if err != nil {
		return out, err
	}
	lines, err := creditLines(ctx, s.Store, inv, amount, "Refund of "+pay.Gateway+" "+pay.GatewayTxnID+" as account credit")
	if err != nil {
		return out, err
	}
	note, err := s.Store.IssueCreditNote(ctx, store.NewCreditNote{CustomerID: inv.CustomerID, InvoiceID: inv.ID, Currency: inv.Currency,
		Reason: billing.CreditNoteRefundToCredit, Lines: lines, CreditAmount: amount,
		IdempotencyKey: fmt.Sprintf("refund-credit:%d:%s", inv.ID, r.Key), CreatedBy: r.By})
	if err != nil {
		return out, fmt.Errorf("credit note for a refund to credit: %w", err)
	}
	res, err := s.Store.RecordRefund(ctx, store.Refund{PaymentID: pay.ID, GatewayRefundID: "credit-note:" + note.Number, Amount: amount,
		Status: billing.RefundSucceeded, ToCredit: true, Reason: r.Reason, CreatedBy: r.By})
	out.RefundResult = res
	return out, err
}

// creditLines splits a gross amount credited on an invoice into its net part and the tax share
// of it (billing.CreditNoteTax, after what earlier credit notes on the invoice credited), so the
// lines sum to exactly gross.
func creditLines(ctx context.Context, st *store.Store, inv store.Invoice, gross billing.Money, desc string) ([]billing.Line, error) {
	doc := inv.Document()
	base, err := doc.TaxableBase()
	if err != nil {
		return nil, err
	}
	tax, err := doc.TaxTotal()
	if err != nil {
		return nil, err
	}
	net := gross
	if tax.IsPositive() && base.IsPositive() {
		if net, err = gross.MulRatio(base.Amount, base.Amount+tax.Amount); err != nil {
			return nil, err
		}
		notes, err := st.CreditNotes(ctx, store.CreditNoteFilter{InvoiceID: inv.ID})
		if err != nil {
			return nil, err
		}
		creditedNet := billing.Money{Currency: inv.Currency}
		var creditedTax []billing.Money
		for _, n := range notes {
			i := 0
			for _, l := range n.Lines {
				switch l.Kind {
				case billing.LineTax:
					for len(creditedTax) <= i {
						creditedTax = append(creditedTax, billing.Money{Currency: inv.Currency})
					}
					creditedTax[i].Amount += l.Amount.Amount
					i++
				case billing.LineCredit:
				default:
					creditedNet.Amount += l.Amount.Amount
				}
			}
		}
		net = billing.Money{Amount: min(net.Amount, max(0, base.Amount-creditedNet.Amount)), Currency: inv.Currency}
		taxLines, err := billing.CreditNoteTax(doc, net, creditedNet, creditedTax)
		if err != nil {
			return nil, err
		}
		rest := gross.Amount
		for _, l := range taxLines {
			rest -= l.Amount.Amount
		}
		return append([]billing.Line{{Kind: billing.LineProduct, Description: desc, Amount: billing.Money{Amount: rest, Currency: inv.Currency}}}, taxLines...), nil
	}
	return []billing.Line{{Kind: billing.LineProduct, Description: desc, Amount: net}}, nil
}
