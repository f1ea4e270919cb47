package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// bulkMax is the most rows one bulk action takes.
const bulkMax = 200

// bulkIDs are the ticked rows (?id=1&id=2) in order, without repeats; false when there are none
// or too many.
func bulkIDs(r *http.Request) ([]int64, string) {
	var out []int64
	seen := map[int64]bool{}
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	switch {
	case len(out) == 0:
		return nil, "Tick at least one row first."
	case len(out) > bulkMax:
		return nil, fmt.Sprintf("Choose at most %d rows at a time.", bulkMax)
	}
	return out, ""
}

// bulkBack is where the result page links back to: the list with the filters it was posted from.
func bulkBack(r *http.Request, list string) string {
	back := localPath(r.PostFormValue("back"), list)
	if !strings.HasPrefix(back, list) {
		return list
	}
	return back
}

var serviceBulkLabels = map[string]string{"suspend": "Suspend", "unsuspend": "Unsuspend", "archive": "Archive", "restore": "Restore"}

// adminBulkServices applies one action to each ticked service and reports each row's outcome.
// Suspend and unsuspend queue the same provision-request Update as the single action; archive
// and restore are the soft delete. serviceActionPermission guards the route by action.
func (s *server) adminBulkServices(w http.ResponseWriter, r *http.Request) {
	action := chi.URLParam(r, "action")
	label, known := serviceBulkLabels[action]
	if !known {
		s.notFound(w, r)
		return
	}
	back := bulkBack(r, "/admin/services")
	ids, msg := bulkIDs(r)
	if msg != "" {
		s.renderError(w, r, http.StatusUnprocessableEntity, "Nothing selected", msg)
		return
	}
	actor := "admin:" + strconv.FormatInt(currentUser(r).ID, 10)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "by staff (bulk)"
	}
	v := web.BulkResult{Action: label, Kind: "services", BackURL: back}
	for _, id := range ids {
		row := web.BulkRow{ID: id, Label: "#" + strconv.FormatInt(id, 10), Href: fmt.Sprintf("/admin/services/%d", id)}
		svc, err := s.Store.ServiceByID(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			row.Message = "No such service."
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			if svc.Hostname != "" {
				row.Label = svc.Hostname
			}
			row.OK, row.Message = s.bulkServiceAction(r, svc, action, actor, reason)
		}
		v.Rows = append(v.Rows, row)
	}
	s.renderBulk(w, r, v)
}

// bulkServiceAction does one row of a services bulk action and says what happened.
func (s *server) bulkServiceAction(r *http.Request, svc store.Service, action, actor, reason string) (bool, string) {
	switch action {
	case "suspend", "unsuspend":
		if svc.ArchivedAt.Valid {
			return false, "Archived services cannot be " + action + "ed."
		}
		op := workflows.ProvisionOp{Kind: workflows.OpKind(action), Reason: reason, Actor: actor}
		if err := s.updateProvisioning(r.Context(), svc.ID, workflows.UpdateProvisionRequest, op); err != nil {
			return false, "Refused: " + err.Error()
		}
		details, _ := json.Marshal(map[string]any{"reason": reason, "bulk": true})
		s.audit(r, "service."+action, serviceTarget(svc.ID), details)
		return true, "Queued: " + action + "."
	default: // archive, restore
		return s.setServiceArchived(r, svc, action == "archive", actor)
	}
}

// setServiceArchived archives or restores one service, audited, and says what happened.
func (s *server) setServiceArchived(r *http.Request, svc store.Service, archive bool, actor string) (bool, string) {
	change, verb := s.Store.RestoreService, "restore"
	if archive {
		change, verb = s.Store.ArchiveService, "archive"
	}
	changed, err := change(r.Context(), svc.ID, actor)
	switch {
	case errors.Is(err, store.ErrServiceLive):
		return false, "Still " + statusWords(string(svc.Status)) + " on its panel: terminate it before archiving."
	case err != nil:
		s.Log.Error(verb+" service", "service", svc.ID, "err", err)
		return false, "Failed: " + err.Error()
	case !changed:
		return true, "Already " + verb + "d; nothing changed."
	}
	s.audit(r, "service."+verb, serviceTarget(svc.ID), nil)
	return true, strings.ToUpper(verb[:1]) + verb[1:] + "d."
}

func statusWords(status string) string { return strings.ReplaceAll(status, "_", " ") }

// adminArchiveService is /admin/services/{id}/archive and /restore from the service page.
func (s *server) adminArchiveService(w http.ResponseWriter, r *http.Request, svc store.Service, archive bool) {
	ok, msg := s.setServiceArchived(r, svc, archive, "admin:"+strconv.FormatInt(currentUser(r).ID, 10))
	if !ok {
		s.serviceActionFailed(w, r, svc, msg)
		return
	}
	done := "restored"
	if archive {
		done = "archived"
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/services/%d?done=%s", svc.ID, done), http.StatusSeeOther)
}

var invoiceBulkLabels = map[string]string{"mark-paid": "Mark paid", "cancel": "Cancel"}

// adminBulkInvoices marks each ticked invoice paid (a manual payment of what is due) or
// cancels it, and reports each row; rows whose state refuses the action are listed with why.
func (s *server) adminBulkInvoices(w http.ResponseWriter, r *http.Request) {
	action := chi.URLParam(r, "action")
	label, known := invoiceBulkLabels[action]
	if !known {
		s.notFound(w, r)
		return
	}
	back := bulkBack(r, "/admin/invoices")
	ids, msg := bulkIDs(r)
	if msg != "" {
		s.renderError(w, r, http.StatusUnprocessableEntity, "Nothing selected", msg)
		return
	}
	v := web.BulkResult{Action: label, Kind: "invoices", BackURL: back}
	for _, id := range ids {
		row := web.BulkRow{ID: id, Label: "#" + strconv.FormatInt(id, 10), Href: fmt.Sprintf("/admin/invoices/%d", id)}
		inv, err := s.Store.Invoice(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			row.Message = "No such invoice."
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			row.Label = inv.Number
			if action == "mark-paid" {
				row.OK, row.Message = s.bulkMarkPaid(r, inv)
			} else {
				row.OK, row.Message = s.bulkCancel(r, inv)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	s.renderBulk(w, r, v)
}

// bulkMarkPaid records a manual payment of what is due, as adminMarkInvoicePaid does: the
// transaction id is fixed per invoice, so repeating it records one payment.
func (s *server) bulkMarkPaid(r *http.Request, inv store.Invoice) (bool, string) {
	switch {
	case inv.Status == billing.StatusCancelled:
		return false, "Cancelled invoices cannot be paid."
	case inv.Status == billing.StatusDraft:
		return false, "Draft invoices cannot be paid; issue it first."
	case !inv.Totals.Due.IsPositive():
		return false, "Nothing is due: already paid."
	}
	res, err := s.Payments.Record(r.Context(), payments.Payment{
		InvoiceID: inv.ID, Gateway: "manual", Ref: "manual-" + strconv.FormatInt(inv.ID, 10),
		Amount: inv.Totals.Due, By: "admin:" + strconv.FormatInt(currentUser(r).ID, 10), Manual: true,
	})
	switch {
	case errors.Is(err, store.ErrChargeInFlight):
		return false, "The saved card is being charged right now; try again in a minute."
	case errors.Is(err, store.ErrInvoiceState), errors.Is(err, store.ErrConflict), errors.Is(err, billing.ErrCurrencyMismatch):
		return false, "Its current state does not allow marking it paid."
	case err != nil:
		s.Log.Error("bulk mark paid", "invoice", inv.ID, "err", err)
		return false, "Failed: " + err.Error()
	}
	if res.AlreadyRecorded {
		return true, "Already paid; nothing changed."
	}
	details, _ := json.Marshal(map[string]any{"payment_id": res.Payment.ID, "amount": res.Payment.Amount.String(), "status": res.Status, "bulk": true})
	s.audit(r, "invoice.mark_paid", invoiceTarget(inv.ID), details)
	return true, "Paid " + res.Payment.Amount.String() + "."
}

// bulkCancel withdraws a draft or unpaid invoice without payments.
func (s *server) bulkCancel(r *http.Request, inv store.Invoice) (bool, string) {
	if inv.Status == billing.StatusCancelled {
		return true, "Already cancelled; nothing changed."
	}
	err := s.Payments.CancelInvoice(r.Context(), inv.ID)
	switch {
	case errors.Is(err, store.ErrInvoiceState):
		return false, "A " + statusWords(string(inv.Status)) + " invoice cannot be cancelled; refund it instead."
	case err != nil:
		s.Log.Error("bulk cancel", "invoice", inv.ID, "err", err)
		return false, "Failed: " + err.Error()
	}
	s.audit(r, "invoice.cancel", invoiceTarget(inv.ID), []byte(`{"bulk":true}`))
	return true, "Cancelled."
}

func (s *server) renderBulk(w http.ResponseWriter, r *http.Request, v web.BulkResult) {
	for _, row := range v.Rows {
		if row.OK {
			v.Done++
		} else {
			v.Refused++
		}
	}
	p := s.page(r, v.Action+": "+strconv.Itoa(len(v.Rows))+" "+v.Kind, v)
	s.render(w, r, http.StatusOK, "admin_bulk_result", p)
}

// listQuery is the list filters of r as a query string, without the keys in drop.
func listQuery(r *http.Request, keys []string, drop ...string) string {
	q := url.Values{}
	for _, k := range keys {
		if v := strings.TrimSpace(r.URL.Query().Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	for _, k := range drop {
		q.Del(k)
	}
	return q.Encode()
}
