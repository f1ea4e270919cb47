package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

func (s *server) adminServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := billing.ServiceStatus(q.Get("status"))
	if status != "" && !slices.Contains(billing.AllServiceStatuses(), status) {
		s.renderError(w, r, http.StatusBadRequest, "Unknown status", "Choose one of the status filters.")
		return
	}
	p := s.page(r, "Services", nil)
	f := store.ServiceSearch{Status: status, Query: strings.TrimSpace(q.Get("q")), Archived: q.Get("archived") == "on"}
	if v := q.Get("type"); knownProductType(v) {
		f.ProductType = v
	}
	if v := q.Get("panel"); slices.ContainsFunc(panelTypeChoices, func(o web.Option) bool { return o.Value == v }) {
		f.PanelType = v
	}
	for k, v := range map[string]string{"q": f.Query, "type": f.ProductType, "panel": f.PanelType} {
		if v != "" {
			p.Form[k] = v
		}
	}
	if f.Archived {
		p.Form["archived"] = "on"
	}
	list, err := s.Store.SearchServices(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts, err := s.Store.CountServicesByStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	archived, err := s.Store.CountArchivedServices(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]web.ServiceRow, 0, len(list))
	for _, svc := range list {
		rows = append(rows, serviceRow(svc))
	}
	byStatus := make(map[string]int, len(counts))
	for st, n := range counts {
		byStatus[string(st)] = n
	}
	p.Data = web.AdminServices{Filter: status, Counts: byStatus, Services: rows, Archived: f.Archived, ArchivedCount: archived,
		ProductTypes: productTypes, PanelTypes: panelTypeChoices, FilterQuery: listQuery(r, []string{"q", "type", "panel", "archived"})}
	s.render(w, r, http.StatusOK, "admin_services", p)
}

func (s *server) adminServiceForm(w http.ResponseWriter, r *http.Request) {
	p, err := s.serviceFormPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id := r.URL.Query().Get("customer_id"); id != "" {
		p.Form["customer_id"] = id
	}
	s.render(w, r, http.StatusOK, "admin_service_new", p)
}

// customerMatches is how many customers the create-service form lists for a search.
const customerMatches = 20

// serviceFormPage is the create-service form. The customer is found by a search (customer_q:
// part of a name or email address, or an id) that lists at most customerMatches customers;
// the page never lists every customer. The customer already chosen (customer_id) is listed too.
func (s *server) serviceFormPage(r *http.Request) (web.Page, error) {
	ctx := r.Context()
	var f web.ServiceForm
	f.CustomerQuery = strings.TrimSpace(r.FormValue("customer_q"))
	chosen, _ := strconv.ParseInt(r.FormValue("customer_id"), 10, 64)
	listed := map[int64]bool{}
	add := func(id int64, name, email string) {
		if !listed[id] {
			listed[id] = true
			f.Customers = append(f.Customers, web.Option{Value: strconv.FormatInt(id, 10), Label: name + " <" + email + ">"})
		}
	}
	if chosen > 0 {
		if u, err := s.Store.UserByID(ctx, chosen); err == nil && u.Role == store.RoleCustomer {
			add(u.ID, u.Name, u.Email)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return web.Page{}, err
		}
	}
	if f.CustomerQuery != "" {
		found, err := s.Store.SearchCustomers(ctx, store.CustomerFilter{Search: f.CustomerQuery,
			Status: store.CustomerActive, Limit: customerMatches + 1})
		if err != nil {
			return web.Page{}, err
		}
		for i, c := range found.Customers {
			if i == customerMatches {
				f.MoreCustomers = found.Total - customerMatches
				break
			}
			add(c.ID, c.Name, c.Email)
		}
		f.Searched = true
	}
	products, err := s.Store.Products(ctx)
	if err != nil {
		return web.Page{}, err
	}
	for _, p := range products {
		if p.PanelType.Valid && !p.Retired {
			f.Products = append(f.Products, web.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name + " (" + p.PanelType.String + ")"})
		}
	}
	p := s.page(r, "Create service", f)
	p.Form["customer_q"] = f.CustomerQuery
	if chosen == 0 && len(f.Customers) == 1 {
		p.Form["customer_id"] = f.Customers[0].Value // one match: chosen
	}
	return p, nil
}

// adminCreateService creates a service for a customer by hand and starts its provisioning, the
// same workflow billing starts after payment.
func (s *server) adminCreateService(w http.ResponseWriter, r *http.Request) {
	p, err := s.serviceFormPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	customerID, _ := strconv.ParseInt(r.PostFormValue("customer_id"), 10, 64)
	productID, _ := strconv.ParseInt(r.PostFormValue("product_id"), 10, 64)
	hostname := strings.ToLower(strings.TrimSpace(r.PostFormValue("hostname")))
	p.Form = map[string]string{"customer_id": r.PostFormValue("customer_id"), "product_id": r.PostFormValue("product_id"), "hostname": hostname,
		"customer_q": p.Form["customer_q"]}
	ctx := r.Context()
	cust, err := s.Store.UserByID(ctx, customerID)
	if err != nil || cust.Role != store.RoleCustomer {
		p.Errors["customer_id"] = "Choose a customer."
	}
	prod, err := s.Store.ProductByID(ctx, productID)
	if err != nil || !prod.PanelType.Valid {
		p.Errors["product_id"] = "Choose a product that is mapped to a control panel."
	}
	if hostname != "" && !validHostname(hostname) {
		p.Errors["hostname"] = "Use a hostname such as web1.example.com."
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_service_new", p)
		return
	}
	panel, err := s.Store.PickPanelServer(ctx, prod.PanelType.String)
	if errors.Is(err, store.ErrNotFound) {
		p.Error = "No enabled " + prod.PanelType.String + " panel has room for another service. Add or enable one under Panels."
		s.render(w, r, http.StatusConflict, "admin_service_new", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	capCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	room, err := s.Control.CheckCapacity(capCtx, panel.ID, prod.ID)
	cancel()
	if err != nil {
		p.Error = "Could not ask " + panel.Name + " whether it has room: " + panelMessage(err)
		s.render(w, r, http.StatusBadGateway, "admin_service_new", p)
		return
	}
	if !room.Available {
		p.Error = panel.Name + " cannot place " + prod.Name + " now: " + room.Reason
		s.render(w, r, http.StatusConflict, "admin_service_new", p)
		return
	}
	actor := "admin:" + strconv.FormatInt(currentUser(r).ID, 10)
	svc, err := s.Store.CreateService(ctx, store.NewService{CustomerID: cust.ID, ProductID: prod.ID, PanelServerID: panel.ID, Hostname: hostname, CreatedBy: actor})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.startProvisioning(ctx, svc, actor); err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]any{"customer": cust.ID, "product": prod.ID, "panel": panel.ID})
	s.audit(r, "service.create", serviceTarget(svc.ID), details)
	http.Redirect(w, r, fmt.Sprintf("/admin/services/%d", svc.ID), http.StatusSeeOther)
}

// startProvisioning starts provision:<id> with the create operation queued.
func (s *server) startProvisioning(ctx context.Context, svc store.Service, actor string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts := workflows.ProvisionStartOptions(svc.ID, svc.CustomerID, svc.PanelType, s.Settings.TaskQueue)
	_, err := s.Workflows.ExecuteWorkflow(ctx, opts, workflows.Provision, workflows.ProvisionInput{
		ServiceID:   svc.ID,
		Queue:       []workflows.ProvisionOp{{Kind: workflows.OpCreate, Actor: actor}},
		StepTimeout: s.Settings.ProvisionStepTimeout,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", workflows.ProvisionID(svc.ID), err)
	}
	return nil
}

func (s *server) adminService(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	svc, err := s.Store.ServiceByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAdminService(w, r, svc, http.StatusOK, "")
}

// renderAdminService shows a service with the actions that apply to its status.
func (s *server) renderAdminService(w http.ResponseWriter, r *http.Request, svc store.Service, status int, errMsg string) {
	events, err := s.Store.ServiceEvents(r.Context(), svc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	products, err := s.Store.Products(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminService{
		Service: serviceRow(svc), IPv6: svc.IPv6, PanelServiceID: svc.PanelServiceID,
		WorkflowURL: s.workflowURL(workflows.ProvisionID(svc.ID)), Timeline: eventRows(events),
		Live: s.liveState(r.Context(), svc.ID),
	}
	for _, p := range products {
		if p.PanelType.String == svc.PanelType && p.ID != svc.ProductID && !p.Retired {
			v.Products = append(v.Products, web.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
		}
	}
	switch svc.Status {
	case billing.ServiceActive:
		v.CanSuspend, v.CanChangePackage, v.CanTerminate = true, len(v.Products) > 0, true
	case billing.ServiceSuspended:
		v.CanUnsuspend, v.CanChangePackage, v.CanTerminate = true, len(v.Products) > 0, true
	case billing.ServiceNeedsAttention:
		v.NeedsAttention = true
	case billing.ServicePending, billing.ServiceProvisioning:
		v.CanTerminate = true
	}
	p := s.page(r, fmt.Sprintf("Service #%d", svc.ID), v)
	p.Flash = actionNotice(r.URL.Query().Get("done"))
	p.Error = errMsg
	s.render(w, r, status, "admin_service", p)
}

// liveState asks the workflow for its live state; nil when it cannot answer quickly.
func (s *server) liveState(ctx context.Context, serviceID int64) *web.LiveState {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := s.Workflows.QueryWorkflow(ctx, workflows.ProvisionID(serviceID), "", workflows.QueryProvisionState)
	if err != nil {
		return nil
	}
	var st workflows.ProvisionState
	if err := v.Get(&st); err != nil {
		return nil
	}
	live := &web.LiveState{Status: st.Status, Attention: st.Attention}
	if st.Current != nil {
		live.Current = string(st.Current.Kind)
	}
	for _, op := range st.Queue {
		live.Queue = append(live.Queue, string(op.Kind))
	}
	return live
}

// adminServiceAction sends an operation or an ops decision to the service's workflow. The
// workflow's validator answers at once when the action does not apply.
func (s *server) adminServiceAction(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	svc, err := s.Store.ServiceByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	actor := "admin:" + strconv.FormatInt(currentUser(r).ID, 10)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	action := chi.URLParam(r, "action")
	var update string
	var arg any
	switch action {
	case "suspend", "unsuspend", "terminate":
		if action == "terminate" && r.PostFormValue("confirm") != "yes" {
			s.serviceActionFailed(w, r, svc, "Tick the confirmation box to terminate: this destroys the service on the panel.")
			return
		}
		if reason == "" {
			reason = "by staff"
		}
		update, arg = workflows.UpdateProvisionRequest, workflows.ProvisionOp{Kind: workflows.OpKind(action), Reason: reason, Actor: actor}
	case "change-package":
		pid, _ := strconv.ParseInt(r.PostFormValue("product_id"), 10, 64)
		update, arg = workflows.UpdateProvisionRequest, workflows.ProvisionOp{Kind: workflows.OpChangePackage, ProductID: pid, Reason: "by staff", Actor: actor}
	case "retry":
		update, arg = workflows.UpdateProvisionResolve, workflows.Resolution{Action: workflows.ResolveRetry, Actor: actor}
	case "mark-provisioned":
		update, arg = workflows.UpdateProvisionResolve, workflows.Resolution{Action: workflows.ResolveMarkProvisioned, Actor: actor,
			PanelServiceID: strings.TrimSpace(r.PostFormValue("panel_service_id"))}
	case "abandon":
		update, arg = workflows.UpdateProvisionResolve, workflows.Resolution{Action: workflows.ResolveAbandon, Actor: actor, Note: strings.TrimSpace(r.PostFormValue("note"))}
	case "archive", "restore":
		s.adminArchiveService(w, r, svc, action == "archive")
		return
	default:
		s.notFound(w, r)
		return
	}
	if err := s.updateProvisioning(r.Context(), id, update, arg); err != nil {
		s.serviceActionFailed(w, r, svc, err.Error())
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/services/%d?done=%s", id, url.QueryEscape(action)), http.StatusSeeOther)
}

// updateProvisioning sends an Update and waits until the workflow accepts or rejects it.
func (s *server) updateProvisioning(ctx context.Context, serviceID int64, name string, arg any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h, err := s.Workflows.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ProvisionID(serviceID), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		// The handlers only queue the request, so completion is immediate; a validator's
		// refusal arrives here.
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("not accepted: %w", err)
	}
	return nil
}

func (s *server) serviceActionFailed(w http.ResponseWriter, r *http.Request, svc store.Service, msg string) {
	s.renderAdminService(w, r, svc, http.StatusConflict, msg)
}

func actionNotice(action string) string {
	switch action {
	case "suspend", "unsuspend", "terminate", "change-package":
		return "Queued: " + action + ". The timeline shows when the panel has done it."
	case "retry":
		return "Retrying the failed step."
	case "mark-provisioned":
		return "Recorded the server made by hand."
	case "abandon":
		return "Abandoned: partial resources are being removed."
	case "archived":
		return "Archived: the service is hidden from the lists and the customer's portal."
	case "restored":
		return "Restored from the archive."
	}
	return ""
}

// workflowURL links into the Temporal UI; the latest run of the workflow id opens.
func (s *server) workflowURL(workflowID string) string {
	if s.Settings.TemporalUIURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", s.Settings.TemporalUIURL, url.PathEscape(s.Settings.Namespace), url.PathEscape(workflowID))
}

func serviceRow(svc store.Service) web.ServiceRow {
	return web.ServiceRow{
		ID: svc.ID, Customer: svc.CustomerName, CustomerEmail: svc.CustomerEmail, Product: svc.ProductName,
		Panel: svc.PanelName, PanelType: svc.PanelType, Status: svc.Status, Hostname: svc.Hostname,
		IPv4: svc.IPv4, Attention: svc.Attention, CreatedAt: svc.CreatedAt,
	}
}

func eventRows(in []store.ServiceEvent) []web.EventRow {
	out := make([]web.EventRow, 0, len(in))
	for _, e := range in {
		out = append(out, web.EventRow{At: e.At, Kind: e.Kind, Message: e.Message, Actor: e.Actor})
	}
	return out
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

func serviceTarget(id int64) string { return "service:" + strconv.FormatInt(id, 10) }

func validHostname(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
