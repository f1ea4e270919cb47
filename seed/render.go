package seed

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

// business is the planned demo business as store records, in the order they are written.
type business struct {
	customers []*custPlan
	subs      []*subPlan
	invoices  []*store.HistoricInvoice
}

var cancelReasons = []string{"moved to another provider", "project finished", "too expensive", "consolidating servers",
	"no longer needed", "switched to a bigger plan elsewhere", "business closed"}

// render turns the plan into store records: every draw is made in plan order, so the same seed
// renders the same records.
func (p *planner) render(passwordHash string) *business {
	b := &business{}
	first := map[*custPlan]time.Time{}
	for _, sp := range p.subs {
		if t, ok := first[sp.cust]; !ok || sp.start.Before(t) {
			first[sp.cust] = sp.start
		}
	}
	for _, c := range p.custs {
		created := minTime(c.signup, first[c].Add(-time.Duration(1+p.r.IntN(30))*time.Minute))
		c.rec = &store.HistoricCustomer{Email: c.person.email, Name: c.person.name, PasswordHash: passwordHash, Verified: true,
			Profile: c.person.profile, VATID: c.person.vatID, CreatedAt: created}
		b.customers = append(b.customers, c)
	}
	for _, sp := range p.subs {
		b.invoices = append(b.invoices, p.renderSub(sp)...)
		b.subs = append(b.subs, sp)
	}
	p.ensureRefunds(b.invoices)
	slices.SortStableFunc(b.customers, func(x, y *custPlan) int { return x.rec.CreatedAt.Compare(y.rec.CreatedAt) })
	slices.SortStableFunc(b.invoices, func(x, y *store.HistoricInvoice) int { return x.IssuedAt.Compare(y.IssuedAt) })
	return b
}

func (p *planner) renderSub(sp *subPlan) []*store.HistoricInvoice {
	cust := sp.cust
	final := sp.prod
	if sp.change != 0 {
		final = sp.newProd
	}
	rec := &store.HistoricSubscription{Customer: cust.rec, ProductID: final.id, Cycle: sp.cycle,
		Price: money(final.price(sp.cycle, sp.currency).Amount, sp.currency), Gateway: cust.gateway,
		AnchorDay: sp.start.Day(), CreatedBy: CreatedBy, CreatedAt: sp.start}
	sp.rec = rec
	last := sp.start
	event := func(at time.Time, kind, actor, msg string, args ...any) {
		sp.events = append(sp.events, store.HistoricSubscriptionEvent{Subscription: rec, At: at, Kind: kind, Actor: actor, Message: fmt.Sprintf(msg, args...)})
		if at.After(last) {
			last = at
		}
	}
	event(sp.start, "ordered", "customer", "ordered %s, %s at %s", sp.prod.name, sp.cycle, money(sp.prod.price(sp.cycle, sp.currency).Amount, sp.currency))

	var out []*store.HistoricInvoice
	k := sp.periodInvoices(p.now)
	cur := sp.current(p.now)
	var credit billing.Money
	for n := range k {
		prod := sp.prod
		if sp.change != 0 && n > sp.changePeriod {
			prod = sp.newProd
		}
		price := prod.price(sp.cycle, sp.currency)
		items := []billing.Line{{Kind: billing.LineProduct, ProductID: prod.id, Taxable: true,
			Description: fmt.Sprintf("%s, %s, %s to %s", prod.name, sp.cycle, sp.due(n).Format(time.DateOnly), sp.due(n+1).Format(time.DateOnly)),
			Amount:      money(price.Amount, sp.currency)}}
		if n == 0 && price.SetupFee > 0 {
			items = append(items, billing.Line{Kind: billing.LineSetup, ProductID: prod.id, Taxable: true, Description: prod.name + " setup fee",
				Amount: money(price.SetupFee, sp.currency)})
		}
		in := billing.InvoiceInput{Currency: sp.currency, Items: items}
		if sp.change < 0 && n == sp.changePeriod+1 {
			in.CreditAvailable = credit
		}
		doc, used, err := billing.BuildInvoice(in)
		if err != nil {
			panic(fmt.Sprintf("demo invoice: %v", err)) // the demo catalog's prices are valid by construction
		}
		inv := &store.HistoricInvoice{Customer: cust.rec, Subscription: rec, Currency: sp.currency, Lines: doc.Lines,
			IssuedAt: sp.issue(n), DueAt: sp.due(n), CreditUsed: used, CreatedBy: CreatedBy,
			IdempotencyKey: fmt.Sprintf("demo:%d:%d:%d", p.o.Seed, sp.idx, n)}
		out = append(out, inv)
		switch {
		case sp.fate == fateActive && n > cur: // next period's invoice, not due yet
		case (sp.fate == fatePastDue || sp.fate == fateSuspended) && n == cur:
			event(sp.due(n).Add(5*time.Minute), "payment_failed", "workflow", "renewal charge via %s declined; dunning started", cust.gateway)
			if sp.fate == fateSuspended {
				event(sp.due(n).Add(suspendLag), "suspended", "workflow", "suspended for non-payment of the renewal due %s", sp.due(n).Format(time.DateOnly))
			}
		case sp.fate == fateTerminated && n == sp.paid:
			event(sp.due(n).Add(5*time.Minute), "payment_failed", "workflow", "renewal charge via %s declined; dunning started", cust.gateway)
			event(sp.due(n).Add(suspendLag), "suspended", "workflow", "suspended for non-payment")
			inv.CancelledAt = sp.due(n).Add(terminateAt)
			event(inv.CancelledAt, "terminated", "workflow", "terminated for non-payment; invoice withdrawn")
		default:
			paidAt := p.pay(sp, inv, n, event)
			if n == 0 {
				event(paidAt, "activated", "workflow", "first invoice paid; service provisioned")
			}
			if sp.fate == fateCancelledNow && n == sp.paid-1 {
				p.refundUnused(sp, inv, n)
			} else {
				p.maybeRefund(inv)
			}
		}
		if sp.change != 0 && n == sp.changePeriod {
			credit = p.renderChange(sp, rec, event, &out)
		}
	}

	rec.Status = billing.SubscriptionActive
	rec.PeriodStart, rec.PeriodEnd = sp.due(cur), sp.due(cur+1)
	reason := cancelReasons[p.r.IntN(len(cancelReasons))]
	switch sp.fate {
	case fateCancelPending:
		rec.CancelAtPeriodEnd, rec.CancelReason = true, reason
		event(sp.cancelAt, "cancel_requested", "customer", "cancellation at the end of the period requested: %s", reason)
	case fatePastDue:
		rec.Status = billing.SubscriptionPastDue
	case fateSuspended:
		rec.Status = billing.SubscriptionSuspended
	case fateCancelledEnd:
		rec.Status, rec.CancelAtPeriodEnd, rec.CancelReason = billing.SubscriptionCancelled, true, reason
		rec.PeriodStart, rec.PeriodEnd, rec.CancelledAt = sp.due(sp.paid-1), sp.due(sp.paid), sp.due(sp.paid)
		event(p.between(sp.due(sp.paid-1), sp.issue(sp.paid)), "cancel_requested", "customer", "cancellation at the end of the period requested: %s", reason)
		event(rec.CancelledAt, "cancelled", "workflow", "cancelled at the end of the paid period")
	case fateCancelledNow:
		rec.Status, rec.CancelReason, rec.CancelledAt = billing.SubscriptionCancelled, reason, sp.cancelAt
		rec.PeriodStart, rec.PeriodEnd = sp.due(sp.paid-1), sp.due(sp.paid)
		event(sp.cancelAt, "cancelled", "customer", "cancelled immediately: %s", reason)
	case fateTerminated:
		rec.Status, rec.CancelReason, rec.CancelledAt = billing.SubscriptionTerminated, "non-payment", sp.due(sp.paid).Add(terminateAt)
		rec.PeriodStart, rec.PeriodEnd = sp.due(sp.paid-1), sp.due(sp.paid)
	}
	rec.UpdatedAt = last
	if panel := p.cat.panel[final.typ]; panel != 0 {
		status := billing.ServiceActive
		switch rec.Status {
		case billing.SubscriptionSuspended:
			status = billing.ServiceSuspended
		case billing.SubscriptionCancelled, billing.SubscriptionTerminated:
			status = billing.ServiceTerminated
		}
		rec.Service = &store.HistoricService{Customer: cust.rec, ProductID: final.id, PanelServerID: panel, Status: status,
			Hostname: hostname(final.typ, cust, sp.idx), CreatedBy: CreatedBy, CreatedAt: sp.start, UpdatedAt: last}
		for _, inv := range out {
			inv.Service = rec.Service
		}
	}
	return out
}

// pay records how invoice n was paid: most on the due date by the saved card, some late, some
// after a failed charge. It returns when the invoice was paid.
func (p *planner) pay(sp *subPlan, inv *store.HistoricInvoice, n int, event func(time.Time, string, string, string, ...any)) time.Time {
	base := inv.DueAt
	var at time.Time
	switch roll := p.r.IntN(100); {
	case n == 0:
		at = sp.start.Add(time.Duration(2+p.r.IntN(40)) * time.Minute)
	case roll < 80:
		at = base.Add(time.Duration(p.r.IntN(180)) * time.Minute)
	case roll < 90:
		at = base.Add(time.Duration(2+p.r.IntN(19))*day + time.Duration(p.r.IntN(12))*time.Hour)
	default:
		event(base.Add(5*time.Minute), "payment_failed", "workflow", "renewal charge via %s declined: insufficient funds", sp.cust.gateway)
		at = base.Add(time.Duration(1+p.r.IntN(6))*day + time.Duration(p.r.IntN(8))*time.Hour)
		if !at.After(p.now) {
			event(at, "payment_recovered", "workflow", "retried charge succeeded; dunning stopped")
		}
	}
	if at.After(p.now) {
		at = maxTime(base, p.now.Add(-time.Minute))
	}
	total := invoiceTotal(inv)
	if total.IsPositive() {
		inv.Payments = append(inv.Payments, p.payment(sp.cust.gateway, total, at))
	}
	return at
}

func (p *planner) payment(gateway string, amount billing.Money, at time.Time) store.HistoricPayment {
	p.txn++
	var id string
	switch gateway {
	case "stripe":
		id = fmt.Sprintf("pi_demo%07d%08x", p.txn, p.r.Uint32())
	case "paypal":
		id = fmt.Sprintf("DEMO%07d%06X", p.txn, p.r.Uint32()&0xffffff)
	default:
		id = fmt.Sprintf("sbx_demo_%07d", p.txn)
	}
	return store.HistoricPayment{Gateway: gateway, GatewayTxnID: id, Amount: amount, At: at, CreatedBy: CreatedBy}
}

func (p *planner) refund(inv *store.HistoricInvoice, amount int64, at time.Time, reason string) {
	p.txn++
	pay := inv.Payments[0]
	inv.Refunds = append(inv.Refunds, store.HistoricRefund{Payment: 0, GatewayRefundID: fmt.Sprintf("re_demo%07d", p.txn),
		Amount: money(amount, inv.Currency), Reason: reason, At: maxTime(at, pay.At), CreatedBy: CreatedBy})
}

// maybeRefund refunds about 2.5% of paid invoices in full and 3% in part, within three weeks.
func (p *planner) maybeRefund(inv *store.HistoricInvoice) {
	roll := p.r.IntN(1000)
	if len(inv.Payments) == 0 || roll >= 55 {
		return
	}
	pay := inv.Payments[0]
	at := pay.At.Add(time.Duration(1+p.r.IntN(20))*day + time.Duration(p.r.IntN(10))*time.Hour)
	if at.After(p.now) {
		return
	}
	if roll < 25 {
		p.refund(inv, pay.Amount.Amount, at, "refunded in full: service not as expected")
		return
	}
	if part := pay.Amount.Amount * int64(20+p.r.IntN(50)) / 100; part > 0 {
		p.refund(inv, part, at, "partial refund: goodwill credit for downtime")
	}
}

// refundUnused refunds the unused days of the last period of most immediate cancellations.
func (p *planner) refundUnused(sp *subPlan, inv *store.HistoricInvoice, n int) {
	if len(inv.Payments) == 0 || p.r.IntN(100) >= 60 {
		return
	}
	total, left := billing.DaysBetween(sp.due(n), sp.due(n+1)), billing.DaysBetween(sp.cancelAt, sp.due(n+1))
	amount, err := inv.Payments[0].Amount.MulRatio(int64(left), int64(total))
	if err != nil || !amount.IsPositive() || amount.Amount > inv.Payments[0].Amount.Amount {
		return
	}
	p.refund(inv, amount.Amount, sp.cancelAt, fmt.Sprintf("unused %d of %d days refunded on cancellation", left, total))
}

// renderChange writes a plan change: an upgrade's proration invoice, paid straight away, or a
// downgrade's account credit. It returns the credit a downgrade left for the next invoice.
func (p *planner) renderChange(sp *subPlan, rec *store.HistoricSubscription, event func(time.Time, string, string, string, ...any), out *[]*store.HistoricInvoice) billing.Money {
	n := sp.changePeriod
	oldPrice := money(sp.prod.price(sp.cycle, sp.currency).Amount, sp.currency)
	newPrice := money(sp.newProd.price(sp.cycle, sp.currency).Amount, sp.currency)
	pr, err := billing.Prorate(billing.ChangeInput{OldPrice: oldPrice, NewPrice: newPrice, PeriodStart: sp.due(n), PeriodEnd: sp.due(n + 1), ChangeAt: sp.changeAt})
	if err != nil {
		panic(fmt.Sprintf("demo plan change: %v", err)) // the change date is inside the period by construction
	}
	event(sp.changeAt, "plan_changed", "customer", "changed from %s to %s: %d of %d days prorated, %s", sp.prod.name, sp.newProd.name,
		pr.RemainingDays, pr.TotalDays, pr.Net)
	if sp.change < 0 {
		credit := billing.Money{Amount: -pr.Net.Amount, Currency: sp.currency}
		if credit.IsPositive() {
			sp.credits = append(sp.credits, store.HistoricCredit{Customer: sp.cust.rec, Kind: billing.CreditAdd, Amount: credit,
				Note: fmt.Sprintf("downgrade %s to %s: unused days", sp.prod.name, sp.newProd.name), CreatedBy: CreatedBy,
				IdempotencyKey: fmt.Sprintf("demo:%d:%d:downgrade", p.o.Seed, sp.idx), At: sp.changeAt})
		}
		return credit
	}
	lines := []billing.Line{{Kind: billing.LineProration, ProductID: sp.newProd.id, Taxable: true, Amount: pr.Net,
		Description: fmt.Sprintf("Change %s to %s, %d of %d days", sp.prod.name, sp.newProd.name, pr.RemainingDays, pr.TotalDays)}}
	inv := &store.HistoricInvoice{Customer: sp.cust.rec, Subscription: rec, Currency: sp.currency, Lines: lines,
		IssuedAt: sp.changeAt, DueAt: sp.changeAt, CreatedBy: CreatedBy, IdempotencyKey: fmt.Sprintf("demo:%d:%d:upgrade", p.o.Seed, sp.idx)}
	if pr.Net.IsPositive() {
		inv.Payments = append(inv.Payments, p.payment(sp.cust.gateway, pr.Net, sp.changeAt.Add(time.Duration(1+p.r.IntN(10))*time.Minute)))
	}
	*out = append(*out, inv)
	return billing.Money{Currency: sp.currency}
}

// ensureRefunds makes sure the business has at least one refunded and one partially refunded
// invoice, however small the scale.
func (p *planner) ensureRefunds(invs []*store.HistoricInvoice) {
	full, part := false, false
	for _, inv := range invs {
		if len(inv.Refunds) > 0 {
			if sumRefunds(inv) == inv.Payments[0].Amount.Amount {
				full = true
			} else {
				part = true
			}
		}
	}
	for _, inv := range invs {
		if full && part {
			return
		}
		if len(inv.Payments) != 1 || len(inv.Refunds) > 0 || inv.Payments[0].Amount.Amount < 2 {
			continue
		}
		pay := inv.Payments[0]
		at := minTime(pay.At.Add(3*day), p.now)
		if !full {
			p.refund(inv, pay.Amount.Amount, at, "refunded in full: ordered by mistake")
			full = true
		} else {
			p.refund(inv, pay.Amount.Amount/2, at, "partial refund: goodwill credit for downtime")
			part = true
		}
	}
}

func sumRefunds(inv *store.HistoricInvoice) int64 {
	var n int64
	for _, r := range inv.Refunds {
		n += r.Amount.Amount
	}
	return n
}

func invoiceTotal(inv *store.HistoricInvoice) billing.Money {
	t, err := billing.Invoice{Currency: inv.Currency, Lines: inv.Lines}.Total()
	if err != nil {
		panic(fmt.Sprintf("demo invoice total: %v", err))
	}
	return t
}

func hostname(typ string, c *custPlan, n int) string {
	prefix := map[string]string{"vps": "vps", "dedicated": "srv", "web_hosting": "web", "game_server": "game"}[typ]
	domain := strings.ToLower(strings.Fields(c.person.name)[len(strings.Fields(c.person.name))-1])
	return fmt.Sprintf("%s%d.%s-%d.demo.example", prefix, n, strings.ReplaceAll(domain, " ", ""), c.n)
}

func money(amount int64, currency string) billing.Money {
	return billing.Money{Amount: amount, Currency: currency}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
