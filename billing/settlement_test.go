package billing

import (
	"errors"
	"testing"
)

func TestSettlementStatusFollowsPaymentsAndRefunds(t *testing.T) {
	s, err := NewSettlement(money(1000, "USD"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, status Status, due, net int64) {
		t.Helper()
		if s.Status() != status || s.AmountDue().Amount != due || s.NetPaid().Amount != net {
			t.Fatalf("%s: status %s due %v net paid %v; want %s %d %d", step, s.Status(), s.AmountDue(), s.NetPaid(), status, due, net)
		}
	}
	check("new", StatusDraft, 1000, 0)
	if err := s.Pay(Payment{Amount: money(1000, "USD"), Gateway: "stripe", TransactionID: "pi_1"}); !errors.Is(err, ErrNotIssued) {
		t.Fatalf("paying a draft: %v; want ErrNotIssued", err)
	}
	s.Issue()
	check("issued", StatusUnpaid, 1000, 0)
	must(t, s.Pay(Payment{Amount: money(400, "USD"), Gateway: "paypal", TransactionID: "CAP-1"}))
	check("part paid", StatusUnpaid, 600, 400)
	must(t, s.Pay(Payment{Amount: money(600, "USD"), Gateway: "stripe", TransactionID: "pi_2"}))
	check("paid", StatusPaid, 0, 1000)
	if err := s.Pay(Payment{Amount: money(600, "USD"), Gateway: "stripe", TransactionID: "pi_2"}); !errors.Is(err, ErrDuplicatePayment) {
		t.Fatalf("webhook delivered twice: %v; want ErrDuplicatePayment", err)
	}
	check("after duplicate", StatusPaid, 0, 1000)
	must(t, s.Refund(Refund{Amount: money(300, "USD"), Gateway: "stripe", RefundID: "re_1"}))
	check("part refunded", StatusPartiallyRefunded, 0, 700)
	if err := s.Refund(Refund{Amount: money(701, "USD"), Gateway: "stripe", RefundID: "re_2"}); !errors.Is(err, ErrRefundExceedsPaid) {
		t.Fatalf("refund of 7.01 with 7.00 left: %v; want ErrRefundExceedsPaid", err)
	}
	if err := s.Refund(Refund{Amount: money(1, "USD"), Gateway: "stripe", RefundID: "re_1"}); !errors.Is(err, ErrDuplicateRefund) {
		t.Fatalf("same refund id twice: %v; want ErrDuplicateRefund", err)
	}
	must(t, s.Refund(Refund{Amount: money(700, "USD"), Gateway: "stripe", RefundID: "re_2"}))
	check("refunded", StatusRefunded, 0, 0)
	if err := s.Refund(Refund{Amount: money(1, "USD"), Gateway: "stripe", RefundID: "re_3"}); !errors.Is(err, ErrRefundExceedsPaid) {
		t.Fatalf("refund after full refund: %v; want ErrRefundExceedsPaid", err)
	}
	if len(s.Payments()) != 2 || len(s.Refunds()) != 2 || s.Paid().Amount != 1000 || s.Refunded().Amount != 1000 {
		t.Errorf("recorded %d payments (%v) and %d refunds (%v); want 2 and 2", len(s.Payments()), s.Paid(), len(s.Refunds()), s.Refunded())
	}
}

func TestSettlementOfZeroOverpaidAndInvalidPayments(t *testing.T) {
	free, _ := NewSettlement(money(0, "JPY"))
	free.Issue()
	if free.Status() != StatusPaid || !free.AmountDue().IsZero() {
		t.Errorf("zero invoice: %s due %v; want paid", free.Status(), free.AmountDue())
	}
	over, _ := NewSettlement(money(1000, "KWD"))
	over.Issue()
	must(t, over.Pay(Payment{Amount: money(1500, "KWD"), Gateway: "sandbox", TransactionID: "a"}))
	if over.Status() != StatusPaid || over.Overpaid().Amount != 500 || !over.AmountDue().IsZero() {
		t.Errorf("overpaid: %s overpaid %v due %v; want paid, KWD 0.500, 0", over.Status(), over.Overpaid(), over.AmountDue())
	}
	// Returning the overpaid part leaves the invoice paid, not partially refunded.
	must(t, over.Refund(Refund{Amount: money(500, "KWD"), Gateway: "sandbox", RefundID: "over"}))
	if over.Status() != StatusPaid {
		t.Errorf("overpayment returned: %s; want paid", over.Status())
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"zero payment", over.Pay(Payment{Amount: money(0, "KWD"), TransactionID: "z"}), ErrInvalidAmount},
		{"payment in another currency", over.Pay(Payment{Amount: money(1, "USD"), TransactionID: "u"}), ErrCurrencyMismatch},
		{"negative refund", over.Refund(Refund{Amount: money(-1, "KWD"), RefundID: "n"}), ErrInvalidAmount},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := NewSettlement(money(-1, "USD")); !errors.Is(err, ErrInvalidAmount) {
		t.Errorf("negative total: %v; want ErrInvalidAmount", err)
	}
	if _, err := NewSettlement(Money{}); !errors.Is(err, ErrUnknownCurrency) {
		t.Errorf("no currency: %v; want ErrUnknownCurrency", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
