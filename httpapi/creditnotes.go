package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// creditNoteRow is a credit note as listed; customer is nil on the customer's own pages.
func creditNoteRow(cn store.CreditNote, customer *store.User) web.CreditNoteRow {
	row := web.CreditNoteRow{
		ID: cn.ID, Number: cn.Number, InvoiceID: cn.InvoiceID, InvoiceNumber: cn.InvoiceNumber, CustomerID: cn.CustomerID,
		Reason: cn.Reason.Label(), IssuedAt: cn.IssuedAt, Total: money(cn.Total), CreditAmount: money(cn.CreditAmount),
	}
	if customer != nil {
		row.Customer, row.CustomerEmail = customer.Name, customer.Email
	}
	return row
}

// creditNoteDetail is a credit note's page: its lines, the figures under them and its buyer.
func creditNoteDetail(cn store.CreditNote, customer *store.User) web.CreditNoteDetail {
	d := web.CreditNoteDetail{CreditNote: creditNoteRow(cn, customer), ReverseCharge: cn.ReverseCharge}
	for _, l := range cn.Lines {
		d.Lines = append(d.Lines, web.InvoiceLineRow{Kind: string(l.Kind), Description: l.Description, Amount: money(l.Amount)})
	}
	d.Totals = []web.InvoiceTotalRow{{Label: "Subtotal", Amount: money(cn.Subtotal)}, {Label: "Tax", Amount: money(cn.Tax)},
		{Label: "Total credited", Amount: money(cn.Total), Strong: true}, {Label: "To account credit", Amount: money(cn.CreditAmount)}}
	b := cn.Buyer
	for _, l := range append(append([]string{b.Name, b.Company}, b.Address...), b.Country) {
		if l != "" {
			d.Buyer = append(d.Buyer, l)
		}
	}
	if b.VATID != "" {
		d.Buyer = append(d.Buyer, "VAT ID: "+b.VATID)
	}
	return d
}

// creditNoteRows lists credit notes, with each one's customer when named is set (admin pages).
func (s *server) creditNoteRows(r *http.Request, list []store.CreditNote, named bool) ([]web.CreditNoteRow, error) {
	customers := map[int64]*store.User{}
	out := make([]web.CreditNoteRow, 0, len(list))
	for _, cn := range list {
		var c *store.User
		if named {
			var seen bool
			if c, seen = customers[cn.CustomerID]; !seen {
				u, err := s.Store.UserByID(r.Context(), cn.CustomerID)
				switch {
				case err == nil:
					c = &u
				case !errors.Is(err, store.ErrNotFound):
					return nil, err
				}
				customers[cn.CustomerID] = c
			}
		}
		out = append(out, creditNoteRow(cn, c))
	}
	return out, nil
}

func (s *server) accountCreditNotes(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.CreditNotes(r.Context(), store.CreditNoteFilter{CustomerID: currentUser(r).ID, Limit: 500})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.creditNoteRows(r, list, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_credit_notes", s.page(r, "Credit notes", web.AccountCreditNotes{CreditNotes: rows}))
}

// customerCreditNote loads the path's credit note only when it belongs to the logged-in
// customer; anyone else's is a 404, never a 403.
func (s *server) customerCreditNote(w http.ResponseWriter, r *http.Request) (store.CreditNote, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.CreditNote{}, false
	}
	cn, err := s.Store.CustomerCreditNote(r.Context(), currentUser(r).ID, id)
	if err != nil {
		s.fail(w, r, err)
		return store.CreditNote{}, false
	}
	return cn, true
}

func (s *server) accountCreditNote(w http.ResponseWriter, r *http.Request) {
	cn, ok := s.customerCreditNote(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "account_credit_note", s.page(r, "Credit note "+cn.Number, web.AccountCreditNote{CreditNoteDetail: creditNoteDetail(cn, nil)}))
}

func (s *server) accountCreditNotePDF(w http.ResponseWriter, r *http.Request) {
	cn, ok := s.customerCreditNote(w, r)
	if !ok {
		return
	}
	s.writeCreditNotePDF(w, r, cn)
}

func (s *server) adminCreditNotes(w http.ResponseWriter, r *http.Request) {
	f := store.CreditNoteFilter{Limit: 500}
	if c := r.URL.Query().Get("customer"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			s.notFound(w, r)
			return
		}
		f.CustomerID = id
	}
	list, err := s.Store.CreditNotes(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.creditNoteRows(r, list, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_credit_notes", s.page(r, "Credit notes", web.AdminCreditNotes{CustomerID: f.CustomerID, CreditNotes: rows}))
}

// adminLoadCreditNote loads the path's credit note for the admin pages.
func (s *server) adminLoadCreditNote(w http.ResponseWriter, r *http.Request) (store.CreditNote, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.CreditNote{}, false
	}
	cn, err := s.Store.CreditNote(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return store.CreditNote{}, false
	}
	return cn, true
}

func (s *server) adminCreditNote(w http.ResponseWriter, r *http.Request) {
	cn, ok := s.adminLoadCreditNote(w, r)
	if !ok {
		return
	}
	var customer *store.User
	if u, err := s.Store.UserByID(r.Context(), cn.CustomerID); err == nil {
		customer = &u
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_credit_note", s.page(r, "Credit note "+cn.Number, web.AdminCreditNote{CreditNoteDetail: creditNoteDetail(cn, customer)}))
}

func (s *server) adminCreditNotePDF(w http.ResponseWriter, r *http.Request) {
	cn, ok := s.adminLoadCreditNote(w, r)
	if !ok {
		return
	}
	s.writeCreditNotePDF(w, r, cn)
}

// writeCreditNotePDF answers with the credit note rendered as a PDF attachment named after its number.
func (s *server) writeCreditNotePDF(w http.ResponseWriter, r *http.Request, cn store.CreditNote) {
	out, err := pdf.ForCreditNote(cn, s.Settings.Seller)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", cn.Number+".pdf"))
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// invoiceCreditNotes are the credit notes amending an invoice, for its pages.
func (s *server) invoiceCreditNotes(r *http.Request, invoiceID int64) ([]web.CreditNoteRow, error) {
	list, err := s.Store.CreditNotes(r.Context(), store.CreditNoteFilter{InvoiceID: invoiceID, Limit: 500})
	if err != nil {
		return nil, err
	}
	return s.creditNoteRows(r, list, false)
}
