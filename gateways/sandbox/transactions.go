package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ezscale/billing/gateways"
)

var (
	_ gateways.TransactionLister = (*Sandbox)(nil)
	_ gateways.TransactionLister = (*Client)(nil)
	_ gateways.CheckoutExpirer   = (*Client)(nil)
)

// Transactions lists the charges (succeeded and failed) and refunds made in [from, to), oldest
// first, for reconciling with the ledger (gateways.TransactionLister).
func (s *Sandbox) Transactions(_ context.Context, from, to time.Time) ([]gateways.Transaction, error) {
	if !from.Before(to) {
		return nil, invalid(fmt.Sprintf("transactions from %s to %s: an empty range", from, to))
	}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gateways.Transaction
	for _, ch := range s.charges {
		if in(ch.created) {
			out = append(out, gateways.Transaction{Kind: gateways.TransactionCharge, Ref: ch.ref, InvoiceID: ch.invoiceID,
				Amount: ch.amount, Status: string(gateways.ChargeSucceeded), Created: ch.created})
		}
	}
	for _, ch := range s.failedCharges {
		if in(ch.created) {
			out = append(out, gateways.Transaction{Kind: gateways.TransactionCharge, Ref: ch.ref, InvoiceID: ch.invoiceID,
				Amount: ch.amount, Status: "failed", Created: ch.created})
		}
	}
	for _, re := range s.refunds {
		if in(re.created) {
			out = append(out, gateways.Transaction{Kind: gateways.TransactionRefund, Ref: re.ref, PaymentRef: re.chargeRef,
				InvoiceID: re.invoiceID, Amount: re.amount, Status: string(gateways.RefundSucceeded), Created: re.created})
		}
	}
	slices.SortStableFunc(out, func(a, b gateways.Transaction) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// apiTransactions is GET /transactions?from=<RFC 3339>&to=<RFC 3339>.
func (s *Sandbox) apiTransactions(r *http.Request) (any, error) {
	var from, to time.Time
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		t, err := time.Parse(time.RFC3339, r.URL.Query().Get(f.name))
		if err != nil {
			return nil, invalid(fmt.Sprintf("transactions: %s must be an RFC 3339 time: %v", f.name, err))
		}
		*f.t = t
	}
	txns, err := s.Transactions(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	out := transactionsJSON{Data: make([]transactionJSON, 0, len(txns))}
	for _, t := range txns {
		out.Data = append(out.Data, transactionJSON{Kind: string(t.Kind), Ref: t.Ref, PaymentRef: t.PaymentRef, InvoiceID: t.InvoiceID,
			Amount: t.Amount.Amount, Currency: t.Amount.Currency, Status: t.Status, Created: t.Created.Format(time.RFC3339Nano)})
	}
	return out, nil
}

// apiExpireCheckout is POST /checkouts/{ref}/expire.
func (s *Sandbox) apiExpireCheckout(r *http.Request) (any, error) {
	if err := s.ExpireCheckout(r.Context(), r.PathValue("ref")); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// Transactions lists the hosting sandbox's charges and refunds made in [from, to).
func (c *Client) Transactions(ctx context.Context, from, to time.Time) ([]gateways.Transaction, error) {
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	var out transactionsJSON
	if err := c.call(ctx, http.MethodGet, "/transactions?"+q.Encode(), "", nil, &out); err != nil {
		return nil, fmt.Errorf("list sandbox transactions from %s to %s: %w", from, to, err)
	}
	txns := make([]gateways.Transaction, 0, len(out.Data))
	for _, t := range out.Data {
		created, err := time.Parse(time.RFC3339Nano, t.Created)
		if err != nil {
			return nil, temporary("invalid_response", http.StatusOK, "decode sandbox transaction "+t.Ref, err)
		}
		txns = append(txns, gateways.Transaction{Kind: gateways.TransactionKind(t.Kind), Ref: t.Ref, PaymentRef: t.PaymentRef,
			InvoiceID: t.InvoiceID, Amount: moneyOf(t.Amount, t.Currency), Status: t.Status, Created: created.UTC()})
	}
	return txns, nil
}

// ExpireCheckout closes an unpaid hosted page on the hosting site; see Sandbox.ExpireCheckout.
func (c *Client) ExpireCheckout(ctx context.Context, checkoutRef string) error {
	if checkoutRef == "" {
		return invalid("expire sandbox checkout: checkout ref is required")
	}
	if err := c.call(ctx, http.MethodPost, "/checkouts/"+url.PathEscape(checkoutRef)+"/expire", "", nil, nil); err != nil {
		return fmt.Errorf("expire sandbox checkout %s: %w", checkoutRef, err)
	}
	return nil
}
