package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// moneyAlertKinds are the alert kinds in words.
var moneyAlertKinds = map[store.AlertKind]string{
	store.AlertOverpayment:     "Overpayment",
	store.AlertRefundFailed:    "Refund failed",
	store.AlertUnprovisionable: "Nothing to provision",
}

// moneyAlerts are the open money alerts of an invoice (0: of every invoice), as rows.
func (s *server) moneyAlerts(ctx context.Context, invoiceID int64) ([]web.MoneyAlertRow, error) {
	alerts, err := s.Store.MoneyAlerts(ctx, store.MoneyAlertFilter{InvoiceID: invoiceID, OpenOnly: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	out := make([]web.MoneyAlertRow, len(alerts))
	for i, a := range alerts {
		out[i] = web.MoneyAlertRow{ID: a.ID, Kind: moneyAlertKinds[a.Kind], Message: a.Message, InvoiceID: a.InvoiceID.Int64, CreatedAt: a.CreatedAt}
	}
	return out, nil
}

// adminResolveMoneyAlert closes a money alert once staff have dealt with it.
func (s *server) adminResolveMoneyAlert(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.Store.ResolveMoneyAlert(r.Context(), id, "admin:"+strconv.FormatInt(currentUser(r).ID, 10)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "money_alert.resolve", "money_alert:"+strconv.FormatInt(id, 10), nil)
	http.Redirect(w, r, localPath(r.PostFormValue("back"), "/admin"), http.StatusSeeOther)
}
