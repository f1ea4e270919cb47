package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/store"
)

const reconcileUsage = `Usage:
  ezscale ops reconcile --from YYYY-MM-DD --to YYYY-MM-DD [--gateway NAME]
      compare every charge and refund each gateway made on the UTC days --from to --to
      (both included) with the payments and refunds in the ledger; print each difference and
      exit with status 1 when there is any. Needs DATABASE_URL and the gateways' settings.
`

// errDifferences makes `ezscale ops reconcile` exit with status 1 after printing a report.
var errDifferences = errors.New("the ledger and the gateways differ")

// runReconcile is `ezscale ops reconcile`: for each configured gateway that can list its
// transactions, it compares that list with the ledger and prints every difference.
func runReconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ops reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reconcileUsage) }
	fromFlag := fs.String("from", "", "first UTC day, YYYY-MM-DD")
	toFlag := fs.String("to", "", "last UTC day, YYYY-MM-DD (included)")
	only := fs.String("gateway", "", "reconcile only this gateway")
	if err := fs.Parse(args); err != nil {
		return usageError("ops reconcile: " + err.Error())
	}
	from, err := time.Parse(time.DateOnly, *fromFlag)
	if err != nil {
		fmt.Fprint(stderr, reconcileUsage)
		return usageError(fmt.Sprintf("ops reconcile: --from %q: want a date such as 2026-11-01", *fromFlag))
	}
	last, err := time.Parse(time.DateOnly, *toFlag)
	if err != nil {
		fmt.Fprint(stderr, reconcileUsage)
		return usageError(fmt.Sprintf("ops reconcile: --to %q: want a date such as 2026-11-30", *toFlag))
	}
	if last.Before(from) {
		return usageError(fmt.Sprintf("ops reconcile: --to %s is before --from %s", *toFlag, *fromFlag))
	}
	to := last.AddDate(0, 0, 1)

	cfg, err := config.Load(getenv, "production")
	if err != nil {
		return err
	}
	log := newLogger(stderr, "warn")
	s, err := openStore(ctx, log, cfg.DatabaseURL, false)
	if err != nil {
		return err
	}
	defer s.Close()
	pay, err := newPayments(ctx, log, cfg, false, nil) // a sandbox is reached through the site hosting it
	if err != nil {
		return err
	}
	defer pay.close()

	names := make([]string, 0, len(pay.registry))
	for name := range pay.registry {
		if *only == "" || name == *only {
			names = append(names, name)
		}
	}
	if *only != "" && len(names) == 0 {
		return usageError(fmt.Sprintf("ops reconcile: gateway %q is not configured", *only))
	}
	slices.Sort(names)
	differences := 0
	for _, name := range names {
		lister, ok := pay.registry[name].(gateways.TransactionLister)
		if !ok {
			if *only != "" {
				return fmt.Errorf("ops reconcile: gateway %s cannot list its transactions", name)
			}
			fmt.Fprintf(stdout, "%s: skipped, the gateway cannot list its transactions\n", name)
			continue
		}
		n, err := reconcileGateway(ctx, s, name, lister, from, to, stdout)
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", name, err)
		}
		differences += n
	}
	if differences > 0 {
		return fmt.Errorf("%d difference(s): %w", differences, errDifferences)
	}
	return nil
}

// reconcileGateway prints one gateway's differences from the ledger and returns how many.
func reconcileGateway(ctx context.Context, s *store.Store, name string, g gateways.TransactionLister, from, to time.Time, w io.Writer) (int, error) {
	txns, err := g.Transactions(ctx, from, to)
	if err != nil {
		return 0, err
	}
	refs := make([]string, 0, len(txns))
	for _, t := range txns {
		refs = append(refs, t.Ref)
	}
	payments, refunds, err := s.ReconcileLedger(ctx, name, from, to, refs)
	if err != nil {
		return 0, err
	}
	diffs := reconcile(txns, payments, refunds)
	fmt.Fprintf(w, "%s: %d transaction(s) at the gateway, %d payment(s) and %d refund(s) in the ledger, %s to %s: ",
		name, len(txns), len(payments), len(refunds), from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
	if len(diffs) == 0 {
		fmt.Fprintln(w, "no differences")
		return 0, nil
	}
	fmt.Fprintf(w, "%d difference(s)\n", len(diffs))
	for _, d := range diffs {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return len(diffs), nil
}

// difference is one way the ledger and a gateway disagree.
type difference struct {
	Kind    string // one of the diff* values
	Ref     string
	Message string
}

// Difference kinds, in the order the report lists them. A succeeded charge the ledger lacks
// comes first: the customer paid and we do not know it.
const (
	diffUnrecordedCharge = "UNRECORDED CHARGE"
	diffUnrecordedRefund = "UNRECORDED REFUND"
	diffNotAtGateway     = "NOT AT GATEWAY"
	diffStatus           = "STATUS"
	diffAmount           = "AMOUNT"
	diffInvoice          = "INVOICE"
)

var diffOrder = []string{diffUnrecordedCharge, diffUnrecordedRefund, diffNotAtGateway, diffStatus, diffAmount, diffInvoice}

func (d difference) String() string { return fmt.Sprintf("%-17s %s: %s", d.Kind, d.Ref, d.Message) }

// settled says whether a gateway's charge status means the money was taken (Stripe's
// succeeded, PayPal's COMPLETED, or a capture refunded since).
func settled(status string) bool {
	switch strings.ToLower(status) {
	case "succeeded", "completed", "partially_refunded", "refunded":
		return true
	}
	return false
}

// refundGone says whether a gateway's refund status means it never reached the customer.
func refundGone(status string) bool {
	switch strings.ToLower(status) {
	case "failed", "canceled", "cancelled":
		return true
	}
	return false
}

// reconcile compares a gateway's transactions with the ledger's payments and refunds. Charges
// that failed or are still pending at the gateway are expected to be missing from the ledger;
// everything else that is on one side only, or differs in amount, currency, invoice or status,
// is a difference.
func reconcile(txns []gateways.Transaction, payments, refunds []store.LedgerEntry) []difference {
	byRef := func(entries []store.LedgerEntry) map[string]store.LedgerEntry {
		m := make(map[string]store.LedgerEntry, len(entries))
		for _, e := range entries {
			m[e.Ref] = e
		}
		return m
	}
	ledgerPayments, ledgerRefunds := byRef(payments), byRef(refunds)
	seen := map[string]bool{}
	var out []difference
	add := func(kind, ref, format string, args ...any) {
		out = append(out, difference{Kind: kind, Ref: ref, Message: fmt.Sprintf(format, args...)})
	}
	for _, t := range txns {
		seen[string(t.Kind)+" "+t.Ref] = true
		switch t.Kind {
		case gateways.TransactionCharge:
			p, inLedger := ledgerPayments[t.Ref]
			switch {
			case !inLedger && settled(t.Status):
				add(diffUnrecordedCharge, t.Ref, "%s charged for invoice %d on %s is not in the ledger",
					t.Amount, t.InvoiceID, t.Created.Format(time.RFC3339))
			case !inLedger:
				// failed or pending: nothing to record yet
			default:
				if !settled(t.Status) {
					add(diffStatus, t.Ref, "the ledger has payment %d of %s but the gateway says %q", p.ID, p.Amount, t.Status)
				}
				if p.Amount != t.Amount {
					add(diffAmount, t.Ref, "the ledger has %s, the gateway %s", p.Amount, t.Amount)
				}
				if t.InvoiceID != 0 && t.InvoiceID != p.InvoiceID {
					add(diffInvoice, t.Ref, "the ledger pays invoice %d, the gateway names invoice %d", p.InvoiceID, t.InvoiceID)
				}
			}
		case gateways.TransactionRefund:
			r, inLedger := ledgerRefunds[t.Ref]
			switch {
			case !inLedger && !refundGone(t.Status):
				add(diffUnrecordedRefund, t.Ref, "%s refunded (%s) of charge %s is not in the ledger", t.Amount, t.Status, t.PaymentRef)
			case !inLedger:
			default:
				if refundGone(t.Status) {
					add(diffStatus, t.Ref, "the ledger has refund %d of %s but the gateway says %q: the money is owed to the customer again",
						r.ID, r.Amount, t.Status)
				}
				if r.Amount != t.Amount {
					add(diffAmount, t.Ref, "the ledger has %s, the gateway %s", r.Amount, t.Amount)
				}
				if t.PaymentRef != "" && t.PaymentRef != r.PaymentRef {
					add(diffInvoice, t.Ref, "the ledger refunds payment %s, the gateway charge %s", r.PaymentRef, t.PaymentRef)
				}
			}
		}
	}
	for _, p := range payments {
		if !seen[string(gateways.TransactionCharge)+" "+p.Ref] {
			add(diffNotAtGateway, p.Ref, "payment %d of %s for invoice %d recorded %s is not at the gateway",
				p.ID, p.Amount, p.InvoiceID, p.CreatedAt.Format(time.RFC3339))
		}
	}
	for _, r := range refunds {
		if !seen[string(gateways.TransactionRefund)+" "+r.Ref] {
			add(diffNotAtGateway, r.Ref, "refund %d of %s (payment %s) recorded %s is not at the gateway",
				r.ID, r.Amount, r.PaymentRef, r.CreatedAt.Format(time.RFC3339))
		}
	}
	slices.SortStableFunc(out, func(a, b difference) int {
		return slices.Index(diffOrder, a.Kind) - slices.Index(diffOrder, b.Kind)
	})
	return out
}
