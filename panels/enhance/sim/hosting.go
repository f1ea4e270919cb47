package sim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels/simkit"
)

// plan finds a plan by id. Callers hold s.mu.
func (s *Sim) plan(id int64) (*Plan, bool) {
	for _, p := range s.plans {
		if p.ID == id {
			return p, true
		}
	}
	return nil, false
}

// used counts the live subscriptions to a plan. Callers hold s.mu.
func (s *Sim) used(planID int64) int {
	n := 0
	for _, sub := range s.subs {
		if !sub.deleted && sub.planID == planID {
			n++
		}
	}
	return n
}

func resources(p *Plan) []map[string]any {
	return []map[string]any{
		{"name": "diskspace", "total": p.DiskBytes},
		{"name": "memory", "total": p.MemoryBytes},
		{"name": "cpu", "total": p.CPUs},
	}
}

// listPlans lists the reseller's plans, with the simulator's resellerQuota on each item. While
// no-capacity is switched on every quota reads as used up.
func (s *Sim) listPlans(w http.ResponseWriter, r *http.Request) {
	noCapacity := s.faults.NoCapacity()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resellerOrg(w, r.PathValue("org")) {
		return
	}
	items := []map[string]any{}
	for _, p := range s.plans {
		used := s.used(p.ID)
		if noCapacity {
			used = p.Quota
		}
		items = append(items, map[string]any{
			"id": p.ID, "name": p.Name, "planType": p.PlanType, "resources": resources(p), "allowances": []any{},
			"resellerQuota": map[string]any{"total": p.Quota, "used": used},
		})
	}
	page(w, r, items)
}

func (s *Sim) subscriptionJSON(sub *subscription) map[string]any {
	p, _ := s.plan(sub.planID)
	status := "active"
	if sub.deleted {
		status = "deleted"
	}
	out := map[string]any{
		"id": sub.id, "planId": sub.planID, "planName": p.Name, "planType": p.PlanType,
		"subscriberId": sub.subscriber, "vendorId": sub.vendor, "status": status,
		"resources": resources(p), "allowances": []any{}, "selections": []any{},
		"friendlyName": sub.friendlyName, "createdAt": stamp(sub.createdAt),
	}
	if sub.suspended {
		out["suspendedBy"] = sub.vendor
	}
	return out
}

func (s *Sim) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resellerOrg(w, r.PathValue("org")) {
		return
	}
	cust, ok := s.customerOrg(w, r.PathValue("customer"))
	if !ok {
		return
	}
	items := []map[string]any{}
	for id := int64(17); id <= s.nextSub; id++ {
		if sub, ok := s.subs[id]; ok && sub.subscriber == cust.id {
			items = append(items, s.subscriptionJSON(sub))
		}
	}
	page(w, r, items)
}

// createSubscription subscribes a customer org to a plan; unknown plans are 400 and a reseller
// out of quota for the plan is 403 quota exceeded.
func (s *Sim) createSubscription(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PlanID       int64  `json:"planId"`
		FriendlyName string `json:"friendlyName"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resellerOrg(w, r.PathValue("org")) {
		return
	}
	cust, ok := s.customerOrg(w, r.PathValue("customer"))
	if !ok {
		return
	}
	if in.PlanID == 0 {
		fail(w, http.StatusBadRequest, "invalid_input", "planId is required")
		return
	}
	p, ok := s.plan(in.PlanID)
	if !ok {
		fail(w, http.StatusBadRequest, "invalid_input", "plan "+strconv.FormatInt(in.PlanID, 10)+" does not exist")
		return
	}
	if s.used(p.ID) >= p.Quota {
		quotaExceeded(w)
		return
	}
	s.nextSub++
	sub := &subscription{id: s.nextSub, planID: p.ID, subscriber: cust.id, vendor: s.reseller,
		friendlyName: in.FriendlyName, createdAt: s.now()}
	s.subs[sub.id] = sub
	created(w, sub.id)
}

// subscription finds a subscription on its subscriber's org path, answering 404 otherwise;
// live=true also answers 404 for a deleted one. Callers hold s.mu.
func (s *Sim) subscription(w http.ResponseWriter, r *http.Request, live bool) (*subscription, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	sub, ok := s.subs[id]
	if err != nil || !ok || sub.subscriber != r.PathValue("org") || (live && sub.deleted) {
		fail(w, http.StatusNotFound, "not_found", "subscription "+r.PathValue("id")+" not found")
		return nil, false
	}
	return sub, true
}

func (s *Sim) getSubscription(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.subscription(w, r, false); ok {
		simkit.JSON(w, http.StatusOK, s.subscriptionJSON(sub))
	}
}

// updateSubscription is the UpdateSubscription PATCH: isSuspended, planId, friendlyName, status.
func (s *Sim) updateSubscription(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IsSuspended  *bool   `json:"isSuspended"`
		PlanID       *int64  `json:"planId"`
		FriendlyName *string `json:"friendlyName"`
		Status       *string `json:"status"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscription(w, r, true)
	if !ok {
		return
	}
	if in.IsSuspended == nil && in.PlanID == nil && in.FriendlyName == nil && in.Status == nil {
		fail(w, http.StatusBadRequest, "invalid_input", "nothing to update")
		return
	}
	if in.Status != nil && *in.Status != "active" && *in.Status != "deleted" {
		fail(w, http.StatusBadRequest, "invalid_input", "status must be active or deleted")
		return
	}
	if in.PlanID != nil {
		p, ok := s.plan(*in.PlanID)
		if !ok {
			fail(w, http.StatusNotFound, "not_found", "plan "+strconv.FormatInt(*in.PlanID, 10)+" not found")
			return
		}
		if p.ID != sub.planID && s.used(p.ID) >= p.Quota {
			quotaExceeded(w)
			return
		}
		sub.planID = p.ID
	}
	if in.IsSuspended != nil {
		sub.suspended = *in.IsSuspended
	}
	if in.FriendlyName != nil {
		sub.friendlyName = *in.FriendlyName
	}
	if in.Status != nil && *in.Status == "deleted" {
		s.delete(sub)
	}
	noContent(w)
}

// deleteSubscription soft-deletes the subscription and its websites; a deleted or unknown one is 404.
func (s *Sim) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.subscription(w, r, true); ok {
		s.delete(sub)
		noContent(w)
	}
}

// delete marks a subscription and its websites deleted. Callers hold s.mu.
func (s *Sim) delete(sub *subscription) {
	sub.deleted = true
	for _, site := range s.sites {
		if site.subID == sub.id {
			site.deleted = true
		}
	}
}

// websiteJSON renders a website like the real listing. appServerId and appServerName appear
// only once the build delay has passed: until then the website is being placed.
func (s *Sim) websiteJSON(site *website) map[string]any {
	sub := s.subs[site.subID]
	p, _ := s.plan(sub.planID)
	status := "active"
	switch {
	case site.deleted:
		status = "deleted"
	case sub.suspended:
		status = "disabled"
	}
	out := map[string]any{
		"id": site.id,
		"domain": map[string]any{"id": site.domainID, "domain": site.domain, "documentRoot": "public_html",
			"kind": "primary", "cloudflareStatus": "Disconnected"},
		"aliases": []any{}, "subdomains": []any{},
		"subscriptionId": site.subID, "planId": sub.planID, "plan": p.Name, "status": status,
		"tags": []any{}, "size": 0, "orgId": site.orgID, "kind": "normal", "createdAt": stamp(site.createdAt),
		"phpVersion": "php83",
	}
	if sub.suspended && !site.deleted {
		out["suspendedBy"] = sub.vendor
	}
	if !s.now().Before(site.readyAt) {
		out["appServerId"] = "00000000-0000-4000-8000-00000000b001"
		out["appServerName"] = "web01"
		out["dbServerId"] = "00000000-0000-4000-8000-00000000b001"
		out["dbServerName"] = "web01"
	}
	return out
}

func (s *Sim) listWebsites(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := r.PathValue("org")
	if _, ok := s.orgs[orgID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+orgID+" not found")
		return
	}
	var subID int64
	if v := r.URL.Query().Get("subscriptionId"); v != "" {
		var err error
		if subID, err = strconv.ParseInt(v, 10, 64); err != nil {
			fail(w, http.StatusBadRequest, "invalid_input", "subscriptionId must be an integer")
			return
		}
	}
	items := []map[string]any{}
	for _, site := range s.sites {
		if site.orgID == orgID && (subID == 0 || site.subID == subID) {
			items = append(items, s.websiteJSON(site))
		}
	}
	page(w, r, items)
}

// createWebsite creates a website on a live, unsuspended subscription of the org.
func (s *Sim) createWebsite(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Domain         string `json:"domain"`
		SubscriptionID int64  `json:"subscriptionId"`
		ServerGroupID  string `json:"serverGroupId"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := r.PathValue("org")
	if _, ok := s.orgs[orgID]; !ok {
		fail(w, http.StatusNotFound, "not_found", "organisation "+orgID+" not found")
		return
	}
	domain := strings.ToLower(strings.TrimSpace(in.Domain))
	if !validDomain(domain) {
		fail(w, http.StatusBadRequest, "invalid_input", "domain "+in.Domain+" is not a valid domain name")
		return
	}
	if in.SubscriptionID == 0 {
		fail(w, http.StatusBadRequest, "invalid_input", "subscriptionId is required")
		return
	}
	if in.ServerGroupID != "" && in.ServerGroupID != DefaultServerGroupID {
		fail(w, http.StatusBadRequest, "invalid_input", "server group "+in.ServerGroupID+" does not exist")
		return
	}
	sub, ok := s.subs[in.SubscriptionID]
	if !ok || sub.subscriber != orgID || sub.deleted {
		fail(w, http.StatusNotFound, "not_found", "subscription "+strconv.FormatInt(in.SubscriptionID, 10)+" not found")
		return
	}
	if sub.suspended {
		fail(w, http.StatusConflict, "subscription_suspended", "subscription is suspended")
		return
	}
	for _, site := range s.sites {
		if !site.deleted && site.domain == domain {
			fail(w, http.StatusConflict, "already_exists", "website "+domain+" already exists")
			return
		}
	}
	now := s.now()
	site := &website{id: s.uuid(), domainID: s.uuid(), orgID: orgID, domain: domain, serverGroup: in.ServerGroupID,
		subID: sub.id, createdAt: now, readyAt: now.Add(s.buildDelay)}
	s.sites = append(s.sites, site)
	created(w, site.id)
}

// validDomain accepts lower-case host names of at least two labels.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
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
