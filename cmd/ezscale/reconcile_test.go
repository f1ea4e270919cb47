package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestReconcileFindsEveryKindOfDifference(t *testing.T) {
	usd := func(c int64) billing.Money { return billing.Money{Amount: c, Currency: "USD"} }
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	txns := []gateways.Transaction{
		{Kind: gateways.TransactionCharge, Ref: "pi_ok", InvoiceID: 1, Amount: usd(1000), Status: "succeeded", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_unrecorded", InvoiceID: 2, Amount: usd(2000), Status: "succeeded", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_declined", InvoiceID: 3, Amount: usd(3000), Status: "requires_payment_method", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_sepa", InvoiceID: 4, Amount: usd(4000), Status: "processing", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_amount", InvoiceID: 5, Amount: usd(5000), Status: "succeeded", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_eur", InvoiceID: 6, Amount: billing.Money{Amount: 6000, Currency: "EUR"}, Status: "succeeded", Created: at},
		{Kind: gateways.TransactionCharge, Ref: "pi_invoice", InvoiceID: 7, Amount: usd(7000), Status: "succeeded", Created: at},
		{Kind: gateways.TransactionRefund, Ref: "re_ok", PaymentRef: "pi_ok", Amount: usd(100), Status: "succeeded", Created: at},
		{Kind: gateways.TransactionRefund, Ref: "re_unrecorded", PaymentRef: "pi_ok", Amount: usd(200), Status: "pending", Created: at},
		{Kind: gateways.TransactionRefund, Ref: "re_failed_unrecorded", PaymentRef: "pi_ok", Amount: usd(300), Status: "failed", Created: at},
		{Kind: gateways.TransactionRefund, Ref: "re_failed", PaymentRef: "pi_ok", Amount: usd(400), Status: "failed", Created: at},
	}
	payments := []store.LedgerEntry{
		{ID: 1, Ref: "pi_ok", InvoiceID: 1, Amount: usd(1000), CreatedAt: at},
		{ID: 4, Ref: "pi_sepa", InvoiceID: 4, Amount: usd(4000), CreatedAt: at},
		{ID: 5, Ref: "pi_amount", InvoiceID: 5, Amount: usd(4999), CreatedAt: at},
		{ID: 6, Ref: "pi_eur", InvoiceID: 6, Amount: usd(6000), CreatedAt: at},
		{ID: 7, Ref: "pi_invoice", InvoiceID: 8, Amount: usd(7000), CreatedAt: at},
		{ID: 9, Ref: "pi_ghost", InvoiceID: 9, Amount: usd(9000), CreatedAt: at},
	}
	refunds := []store.LedgerEntry{
		{ID: 1, Ref: "re_ok", PaymentRef: "pi_ok", InvoiceID: 1, Amount: usd(100), CreatedAt: at},
		{ID: 2, Ref: "re_failed", PaymentRef: "pi_ok", InvoiceID: 1, Amount: usd(400), CreatedAt: at},
		{ID: 3, Ref: "re_ghost", PaymentRef: "pi_ok", InvoiceID: 1, Amount: usd(50), CreatedAt: at},
	}
	var got []string
	for _, d := range reconcile(txns, payments, refunds) {
		got = append(got, d.Kind+" "+d.Ref)
	}
	want := []string{
		diffUnrecordedCharge + " pi_unrecorded",
		diffUnrecordedRefund + " re_unrecorded",
		diffNotAtGateway + " pi_ghost",
		diffNotAtGateway + " re_ghost",
		diffStatus + " pi_sepa",
		diffStatus + " re_failed",
		diffAmount + " pi_amount",
		diffAmount + " pi_eur",
		diffInvoice + " pi_invoice",
	}
	if !slices.Equal(got, want) {
		t.Errorf("differences:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if d := reconcile([]gateways.Transaction{txns[0], txns[7]}, payments[:1], refunds[:1]); len(d) != 0 {
		t.Errorf("a ledger that matches the gateway gives %v, want no differences", d)
	}
}

// TestOpsReconcileReportsDifferencesBetweenSandboxAndLedger drives `ezscale ops reconcile`
// against a real database and a sandbox we fill: one charge recorded right, one the ledger
// lacks (the dangerous one), one recorded with the wrong amount, a ledger payment of a declined
// charge, a ledger payment the gateway never made, and a refund the ledger lacks.
func TestOpsReconcileReportsDifferencesBetweenSandboxAndLedger(t *testing.T) {
	s, dsn := storetest.NewWithURL(t)
	ctx := context.Background()
	const apiKey, secret = "sandbox-test-key", "sandbox-test-secret"
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sb := sandbox.New(sandbox.Options{BaseURL: srv.URL, Secret: []byte(secret), APIKey: apiKey})
	t.Cleanup(sb.Close)
	mux.Handle("/sandbox/", sb.Handler())

	u, err := s.CreateUser(ctx, store.NewUser{Email: "reconcile@example.com", Name: "Ada", PasswordHash: "$argon2id$x",
		Role: store.RoleCustomer, Profile: store.Profile{Country: "GB"}})
	if err != nil {
		t.Fatal(err)
	}
	usd := func(c int64) billing.Money { return billing.Money{Amount: c, Currency: "USD"} }
	invoice := func(n int) int64 {
		t.Helper()
		inv, err := s.CreateInvoice(ctx, store.NewInvoice{CustomerID: u.ID, Currency: "USD",
			Lines:          []billing.Line{{Kind: billing.LineProduct, Description: "VPS", Amount: usd(2000)}},
			DueAt:          time.Now().Add(7 * 24 * time.Hour),
			IdempotencyKey: fmt.Sprintf("reconcile-%d", n), CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return inv.ID
	}
	record := func(invoiceID int64, ref string, cents int64) int64 {
		t.Helper()
		res, err := s.RecordPayment(ctx, store.Payment{InvoiceID: invoiceID, Gateway: sandbox.Name, GatewayTxnID: ref, Amount: usd(cents), CreatedBy: "test"})
		if err != nil {
			t.Fatalf("record payment %s: %v", ref, err)
		}
		return res.Payment.ID
	}

	// A hosted checkout pays invoice 1 and saves the card.
	inv1 := invoice(1)
	cus, err := sb.EnsureCustomer(ctx, gateways.Customer{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	co, err := sb.StartCheckout(ctx, gateways.CheckoutRequest{InvoiceID: inv1, CustomerRef: cus, Amount: usd(2000),
		SuccessURL: "http://shop.test/ok", CancelURL: "http://shop.test/no"})
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(co.URL, url.Values{"number": {"4242 4242 4242 4242"}, "expiry": {"12 / 40"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pms, err := sb.PaymentMethods(ctx, cus)
	if err != nil || len(pms) != 1 {
		t.Fatalf("saved cards after checkout: %v, %v (status %d)", pms, err, resp.StatusCode)
	}
	charge := func(invoiceID int64, cents int64, key string) (string, error) {
		ch, err := sb.ChargeSaved(ctx, gateways.ChargeRequest{InvoiceID: invoiceID, CustomerRef: cus, PaymentMethodRef: pms[0].Ref,
			Amount: usd(cents), IdempotencyKey: key})
		var ge *gateways.Error
		if errors.As(err, &ge) {
			return ge.PaymentRef, err
		}
		return ch.Ref, err
	}
	txns, _ := sb.Transactions(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if len(txns) != 1 {
		t.Fatalf("sandbox transactions after checkout: %+v", txns)
	}
	checkoutRef := txns[0].Ref
	pay1 := record(inv1, checkoutRef, 2000)

	inv2 := invoice(2)
	unrecorded, err := charge(inv2, 2000, "k2") // never recorded
	if err != nil {
		t.Fatal(err)
	}
	inv3 := invoice(3)
	wrongAmount, err := charge(inv3, 2000, "k3")
	if err != nil {
		t.Fatal(err)
	}
	record(inv3, wrongAmount, 1500)
	inv4 := invoice(4)
	record(inv4, "ch_sb_never_made", 2000)
	inv5 := invoice(5)
	sb.DeclineOffSession(true)
	declined, err := charge(inv5, 2000, "k5")
	if !errors.Is(err, gateways.ErrDeclined) || declined == "" {
		t.Fatalf("declined charge: ref %q err %v", declined, err)
	}
	record(inv5, declined, 2000)

	refund := func(cents int64, key string) string {
		re, err := sb.Refund(ctx, gateways.RefundRequest{InvoiceID: inv1, ChargeRef: checkoutRef, Amount: usd(cents), IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return re.Ref
	}
	recorded := refund(500, "r1")
	if _, err := s.RecordRefund(ctx, store.Refund{PaymentID: pay1, GatewayRefundID: recorded, Amount: usd(500), Reason: "goodwill", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	unrecordedRefund := refund(300, "r2")

	env := map[string]string{"APP_ENV": "development", "DATABASE_URL": dsn, "BASE_URL": srv.URL,
		"SANDBOX_API_KEY": apiKey, "SANDBOX_WEBHOOK_SECRET": secret}
	ezscale := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
		t.Logf("ezscale %s: err=%v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		return stdout.String(), err
	}
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly) // in case the test runs at midnight
	out, err := ezscale("ops", "reconcile", "--from", today, "--to", tomorrow, "--gateway", "sandbox")
	if !errors.Is(err, errDifferences) {
		t.Fatalf("reconcile with differences: err = %v, want errDifferences (exit status 1)", err)
	}
	for _, want := range []string{
		diffUnrecordedCharge + " " + unrecorded + ": USD 20.00 charged for invoice " + fmt.Sprint(inv2),
		diffUnrecordedRefund + " " + unrecordedRefund + ": USD 3.00 refunded",
		diffNotAtGateway + " ch_sb_never_made: payment",
		diffStatus + " " + declined + ": the ledger has payment",
		diffAmount + " " + wrongAmount + ": the ledger has USD 15.00, the gateway USD 20.00",
		"5 difference(s)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, fine := range []string{checkoutRef, recorded} {
		if strings.Contains(out, " "+fine+":") {
			t.Errorf("report mentions %s, which the ledger recorded right", fine)
		}
	}

	if _, err := ezscale("ops", "reconcile", "--from", today, "--to", today, "--gateway", "stripe"); err == nil {
		t.Error("reconcile of a gateway that is not configured succeeded, want a usage error")
	}
	if _, err := ezscale("ops", "reconcile", "--from", "2026-11-31", "--to", today); err == nil {
		t.Error("reconcile from 2026-11-31 ran, want a usage error")
	}
	// A range before everything has nothing on either side.
	if out, err := ezscale("ops", "reconcile", "--from", "2020-01-01", "--to", "2020-01-31"); err != nil || !strings.Contains(out, "no differences") {
		t.Errorf("reconcile of January 2020: %v, want no differences", err)
	}
}
