package stripe

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v79"

	"github.com/ezscale/billing/gateways"
)

var _ gateways.TransactionLister = (*Gateway)(nil)

// Transactions lists the PaymentIntents and refunds created in [from, to), for reconciling
// with the ledger (gateways.TransactionLister). Charges are PaymentIntents because their id is
// what payments record; Status is Stripe's own (succeeded, processing, requires_payment_method,
// canceled, ...). Refunds name the PaymentIntent they refund in PaymentRef.
func (g *Gateway) Transactions(ctx context.Context, from, to time.Time) ([]gateways.Transaction, error) {
	created := &stripe.RangeQueryParams{GreaterThanOrEqual: from.Unix(), LesserThan: to.Unix()}
	var out []gateways.Transaction

	pp := &stripe.PaymentIntentListParams{CreatedRange: created}
	pp.Context = ctx
	pp.Limit = stripe.Int64(100)
	pis := g.api.PaymentIntents.List(pp)
	for pis.Next() {
		pi := pis.PaymentIntent()
		out = append(out, gateways.Transaction{Kind: gateways.TransactionCharge, Ref: pi.ID, InvoiceID: metaInvoice(pi.Metadata),
			Amount: money(pi.Amount, pi.Currency), Status: string(pi.Status), Created: time.Unix(pi.Created, 0).UTC()})
	}
	if err := pis.Err(); err != nil {
		return nil, mapError(fmt.Sprintf("list payment intents from %s to %s", from, to), err)
	}

	rp := &stripe.RefundListParams{CreatedRange: created}
	rp.Context = ctx
	rp.Limit = stripe.Int64(100)
	res := g.api.Refunds.List(rp)
	for res.Next() {
		re := res.Refund()
		t := gateways.Transaction{Kind: gateways.TransactionRefund, Ref: re.ID, InvoiceID: metaInvoice(re.Metadata),
			Amount: money(re.Amount, re.Currency), Status: string(re.Status), Created: time.Unix(re.Created, 0).UTC()}
		if re.PaymentIntent != nil {
			t.PaymentRef = re.PaymentIntent.ID
		} else if re.Charge != nil {
			t.PaymentRef = re.Charge.ID
		}
		out = append(out, t)
	}
	if err := res.Err(); err != nil {
		return nil, mapError(fmt.Sprintf("list refunds from %s to %s", from, to), err)
	}
	return out, nil
}

// metaInvoice reads our invoice id from an object's metadata; 0 when absent or not ours.
func metaInvoice(md map[string]string) int64 {
	id, err := strconv.ParseInt(md[metaInvoiceID], 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}
