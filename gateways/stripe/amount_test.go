package stripe

import (
	"context"
	"errors"
	"testing"

	"github.com/stripe/stripe-go/v79"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
)

// Bug 14: Stripe takes three-decimal currencies in thousandths whose last digit must be 0, and
// a few currencies in units other than ISO's (docs.stripe.com/currencies).
func TestCheckAmountFollowsStripesCurrencyRules(t *testing.T) {
	tests := []struct {
		amount  int64
		cur     string
		send    int64  // what goes to Stripe when accepted
		message string // the customer-readable refusal, "" when accepted
	}{
		{1999, "USD", 1999, ""},
		{5120, "KWD", 5120, ""},
		{5125, "KWD", 0, "Stripe cannot charge KWD 5.125: amounts in KWD must be whole multiples of 0.010"},
		{1001, "BHD", 0, "Stripe cannot charge BHD 1.001: amounts in BHD must be whole multiples of 0.010"},
		{12340, "JOD", 12340, ""},
		{99, "OMR", 0, "Stripe cannot charge OMR 0.099: amounts in OMR must be whole multiples of 0.010"},
		{7777, "TND", 0, "Stripe cannot charge TND 7.777: amounts in TND must be whole multiples of 0.010"},
		{1500, "JPY", 1500, ""},
		{15, "ISK", 1500, ""}, // ISO has no minor unit; Stripe wants two-decimal form
		{10000, "MGA", 100, ""},
		{10050, "MGA", 0, "Stripe cannot charge MGA 100.50: amounts in MGA must be whole ariary"},
		{1250, "HUF", 1250, ""},
		{5000, "UGX", 0, "Stripe cannot charge UGX 5,000: Stripe's rules for UGX are unclear, so UGX is not offered through Stripe"},
		{5000, "IQD", 0, "Stripe cannot charge IQD 5.000: Stripe does not take IQD"},
		{5000, "CLF", 0, "Stripe cannot charge CLF 0.5000: Stripe does not take CLF"},
	}
	g := newGateway(t, "http://127.0.0.1:1")
	for _, tt := range tests {
		m := billing.Money{Amount: tt.amount, Currency: tt.cur}
		t.Run(m.String(), func(t *testing.T) {
			err := gateways.CheckAmount(g, m)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("CheckAmount(%s) = %v, want accepted", m, err)
				}
				if got, _ := toStripe(m); got != tt.send {
					t.Errorf("sent to Stripe as %d, want %d", got, tt.send)
				}
				if back := money(tt.send, stripe.Currency(tt.cur)); back != m {
					t.Errorf("%d from Stripe reads back as %s, want %s", tt.send, back, m)
				}
				return
			}
			if !errors.Is(err, gateways.ErrUnsupportedAmount) || err.Error() != tt.message {
				t.Errorf("CheckAmount(%s) = %v\nwant ErrUnsupportedAmount saying %q", m, err, tt.message)
			}
		})
	}
}

func TestStripeAmountsReadBackIntoISOMinorUnits(t *testing.T) {
	for _, tt := range []struct {
		stripe int64
		cur    string
		want   billing.Money
	}{
		{1500, "isk", billing.Money{Amount: 15, Currency: "ISK"}},
		{100, "mga", billing.Money{Amount: 10000, Currency: "MGA"}},
		{5120, "kwd", billing.Money{Amount: 5120, Currency: "KWD"}},
		{1999, "usd", billing.Money{Amount: 1999, Currency: "USD"}},
	} {
		if got := money(tt.stripe, stripe.Currency(tt.cur)); got != tt.want {
			t.Errorf("money(%d %s) = %s, want %s", tt.stripe, tt.cur, got, tt.want)
		}
	}
}

// Every money-moving call refuses an amount Stripe cannot take before any request.
func TestUnsupportedAmountsNeverReachStripe(t *testing.T) {
	g, f := fakeGateway(t, 200, `{}`)
	kwd := billing.Money{Amount: 5125, Currency: "KWD"}
	ctx := context.Background()
	req := renewal(t)
	req.Amount = kwd
	_, err := g.ChargeSaved(ctx, req)
	check := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, gateways.ErrUnsupportedAmount) {
			t.Errorf("%s of KWD 5.125: err = %v, want ErrUnsupportedAmount", call, err)
		}
	}
	check("ChargeSaved", err)
	_, err = g.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: 42, CustomerRef: "cus_1", Amount: kwd,
		SuccessURL: "https://x.example/ok", CancelURL: "https://x.example/no", IdempotencyKey: "k"})
	check("StartCheckout", err)
	_, err = g.Refund(ctx, gateways.RefundRequest{InvoiceID: 42, ChargeRef: "pi_1", Amount: kwd, IdempotencyKey: "k"})
	check("Refund", err)
	if f.last != nil {
		t.Errorf("a request reached Stripe: %s %s", f.last.Method, f.last.URL)
	}
}

func TestISKIsSentInTwoDecimalForm(t *testing.T) {
	g, f := fakeGateway(t, 200, `{"id":"pi_isk","object":"payment_intent","amount":150000,"currency":"isk","status":"succeeded"}`)
	req := renewal(t)
	req.Amount = billing.Money{Amount: 1500, Currency: "ISK"}
	ch, err := g.ChargeSaved(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if f.form.Get("amount") != "150000" || ch.Amount != req.Amount {
		t.Errorf("ISK 1500 sent as amount=%s and read back as %s, want 150000 and ISK 1500", f.form.Get("amount"), ch.Amount)
	}
}
