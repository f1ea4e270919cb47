package enhance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// serviceMarker is the subscription friendlyName that carries our service id, since Enhance
// subscriptions have no external id field.
func serviceMarker(serviceID int64) string { return fmt.Sprintf("ezs-%d", serviceID) }

// subscription is GET /orgs/{org}/subscriptions/{id} and one item of a customer's subscriptions.
type subscription struct {
	ID           int64           `json:"id"`
	PlanID       int64           `json:"planId"`
	PlanName     string          `json:"planName"`
	SubscriberID string          `json:"subscriberId"`
	Status       string          `json:"status"` // active | deleted
	SuspendedBy  json.RawMessage `json:"suspendedBy"`
	IsSuspended  bool            `json:"isSuspended"` // not in the read schema; honoured if sent
	FriendlyName string          `json:"friendlyName"`
	Resources    []resource      `json:"resources"`
}

func (s subscription) deleted() bool { return s.Status == "deleted" }

func (s subscription) suspended() bool { return s.IsSuspended || present(s.SuspendedBy) }

// resource is one entry of a subscription's or plan's resources. UNCONFIRMED shape: names
// "diskspace" and "memory" in bytes and "cpu" in cores are what Details reads.
type resource struct {
	Name  string   `json:"name"`
	Total *float64 `json:"total"`
}

// website is one item of GET /orgs/{org}/websites.
type website struct {
	ID             string          `json:"id"`
	Domain         json.RawMessage `json:"domain"` // {"domain": "example.com", ...}
	SubscriptionID int64           `json:"subscriptionId"`
	Status         string          `json:"status"` // active | disabled | deleted
	SuspendedBy    json.RawMessage `json:"suspendedBy"`
	AppServerID    string          `json:"appServerId"`
	CreatedAt      string          `json:"createdAt"`
}

// domain reads the primary domain, from the documented object or from a bare string.
func (w website) domain() string {
	var obj struct {
		Domain string `json:"domain"`
	}
	if err := json.Unmarshal(w.Domain, &obj); err == nil && obj.Domain != "" {
		return obj.Domain
	}
	var s string
	_ = json.Unmarshal(w.Domain, &s)
	return s
}

// present reports whether an optional JSON value is set to something other than null, "" or false.
func present(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`, "false":
		return false
	}
	return true
}

// FindService finds the live subscription named for our service id and its website. A
// subscription without a website (the website create never happened or its answer was lost
// before anything was made) is reported as not found, so the caller runs CreateService, which
// reuses that subscription and only adds the website.
func (c *Client) FindService(ctx context.Context, a panels.Account, serviceID int64) (panels.Service, bool, error) {
	const op = "find service"
	if a.ID == "" {
		return panels.Service{}, false, invalid(op, "account has no customer org id")
	}
	sub, ok, err := c.findSubscription(ctx, a.ID, serviceID)
	if err != nil || !ok {
		return panels.Service{}, false, err
	}
	site, ok, err := c.findWebsite(ctx, a.ID, sub.ID, "")
	if err != nil || !ok {
		return panels.Service{}, false, err
	}
	return service(a.ID, sub.ID, site.ID), true, nil
}

func service(org string, subID int64, websiteID string) panels.Service {
	return panels.Service{
		ID:    strconv.FormatInt(subID, 10),
		Extra: map[string]string{"org_id": org, "website_id": websiteID},
	}
}

// CreateService subscribes the customer org to the plan and creates the website on that
// subscription. It first looks for a subscription already named for the service and a website
// already on it, so a retry after a lost answer finishes the one service instead of making a
// second subscription.
func (c *Client) CreateService(ctx context.Context, r panels.CreateRequest) (panels.Service, error) {
	const op = "create service"
	org := r.Account.ID
	if org == "" {
		return panels.Service{}, invalid(op, "account has no customer org id")
	}
	if r.ServiceID <= 0 {
		return panels.Service{}, invalid(op, "service id %d is not positive", r.ServiceID)
	}
	planID, err := planNumber(op, r.Package.PlanID)
	if err != nil {
		return panels.Service{}, err
	}
	domain := strings.ToLower(strings.TrimSpace(r.Hostname))
	if domain == "" {
		return panels.Service{}, invalid(op, "a website domain is required")
	}

	sub, found, err := c.findSubscription(ctx, org, r.ServiceID)
	if err != nil {
		return panels.Service{}, fmt.Errorf("look up subscription for service %d: %w", r.ServiceID, err)
	}
	subID := sub.ID
	if !found {
		if subID, err = c.createSubscription(ctx, org, planID, r.ServiceID); err != nil {
			return panels.Service{}, fmt.Errorf("subscribe org %s to plan %d for service %d: %w", org, planID, r.ServiceID, err)
		}
	}

	site, found, err := c.findWebsite(ctx, org, subID, "")
	if err != nil {
		return panels.Service{}, fmt.Errorf("look up website of subscription %d: %w", subID, err)
	}
	if !found {
		if site.ID, err = c.createWebsite(ctx, org, subID, domain, r.Package.Options["server_group"]); err != nil {
			return panels.Service{}, fmt.Errorf("create website %s on subscription %d for service %d: %w", domain, subID, r.ServiceID, err)
		}
	}
	return service(org, subID, site.ID), nil
}

func (c *Client) createSubscription(ctx context.Context, org string, planID, serviceID int64) (int64, error) {
	const op = "create subscription"
	var created newID
	body := map[string]any{"planId": planID, "friendlyName": serviceMarker(serviceID)}
	path := "/orgs/" + url.PathEscape(c.org) + "/customers/" + url.PathEscape(org) + "/subscriptions"
	if err := c.do(ctx, op, http.MethodPost, path, nil, body, &created); err != nil {
		return 0, c.explainMissingPlan(ctx, planID, err)
	}
	id, err := strconv.ParseInt(created.String(), 10, 64)
	if err != nil {
		return 0, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Enhance, Op: op, Status: http.StatusCreated,
			Message: "subscription id " + created.String() + " is not a number", Err: err}
	}
	return id, nil
}

// createWebsite creates the website; a 409 means the domain exists, which is ours only when it
// is on this subscription.
func (c *Client) createWebsite(ctx context.Context, org string, subID int64, domain, serverGroup string) (string, error) {
	body := map[string]any{"domain": domain, "subscriptionId": subID}
	if serverGroup != "" {
		body["serverGroupId"] = serverGroup
	}
	var created newID
	err := c.do(ctx, "create website", http.MethodPost, "/orgs/"+url.PathEscape(org)+"/websites", nil, body, &created)
	if isKind(err, panels.KindConflict) {
		if site, ok, ferr := c.findWebsite(ctx, org, subID, ""); ferr == nil && ok && strings.EqualFold(site.domain(), domain) {
			return site.ID, nil
		}
	}
	if err != nil {
		return "", err
	}
	return created.String(), nil
}

// findSubscription finds the customer's live subscription named for our service id; when more
// than one exists (which only an operator could cause) the oldest id wins.
func (c *Client) findSubscription(ctx context.Context, org string, serviceID int64) (subscription, bool, error) {
	path := "/orgs/" + url.PathEscape(c.org) + "/customers/" + url.PathEscape(org) + "/subscriptions"
	all, err := listAll[subscription](ctx, c, "list subscriptions", path, nil)
	if err != nil {
		return subscription{}, false, err
	}
	marker := serviceMarker(serviceID)
	var best subscription
	found := false
	for _, s := range all {
		if s.FriendlyName != marker || s.deleted() {
			continue
		}
		if !found || s.ID < best.ID {
			best, found = s, true
		}
	}
	return best, found, nil
}

// findWebsite finds the live website on a subscription: the one with id want when given and
// present, else the oldest.
func (c *Client) findWebsite(ctx context.Context, org string, subID int64, want string) (website, bool, error) {
	q := url.Values{"subscriptionId": {strconv.FormatInt(subID, 10)}}
	all, err := listAll[website](ctx, c, "list websites", "/orgs/"+url.PathEscape(org)+"/websites", q)
	if err != nil {
		return website{}, false, err
	}
	var best website
	found := false
	for _, w := range all {
		if w.SubscriptionID != subID || w.Status == "deleted" {
			continue
		}
		if want != "" && w.ID == want {
			return w, true, nil
		}
		if !found || w.CreatedAt < best.CreatedAt || (w.CreatedAt == best.CreatedAt && w.ID < best.ID) {
			best, found = w, true
		}
	}
	return best, found, nil
}

// Details reads the subscription and its website. A suspended subscription or website is
// suspended; a deleted one failed; an active website not yet placed on an app server (no
// appServerId) is still building.
func (c *Client) Details(ctx context.Context, s panels.Service) (panels.Details, error) {
	org, subID, err := serviceRef("read service", s)
	if err != nil {
		return panels.Details{}, err
	}
	var sub subscription
	path := "/orgs/" + url.PathEscape(org) + "/subscriptions/" + strconv.FormatInt(subID, 10)
	if err := c.do(ctx, "read subscription", http.MethodGet, path, nil, nil, &sub); err != nil {
		return panels.Details{}, fmt.Errorf("read subscription %d in org %s: %w", subID, org, err)
	}
	d := panels.Details{}
	for _, r := range sub.Resources {
		if r.Total == nil {
			continue
		}
		switch r.Name {
		case "diskspace":
			d.DiskGB = int64(*r.Total / (1 << 30))
		case "memory":
			d.MemoryMB = int64(*r.Total / (1 << 20))
		case "cpu":
			d.CPU = int64(*r.Total)
		}
	}
	if sub.deleted() {
		d.State, d.Message = panels.StateFailed, "subscription is deleted"
		return d, nil
	}
	site, found, err := c.findWebsite(ctx, org, subID, s.Extra["website_id"])
	if err != nil {
		return panels.Details{}, fmt.Errorf("read website of subscription %d: %w", subID, err)
	}
	if found {
		d.Hostname = site.domain()
	}
	switch {
	case sub.suspended():
		d.State, d.Message = panels.StateSuspended, "subscription is suspended"
	case !found:
		d.State, d.Message = panels.StateFailed, "subscription has no live website"
	case site.Status == "disabled" || present(site.SuspendedBy):
		d.State, d.Message = panels.StateSuspended, "website is disabled"
	case site.Status == "active" && site.AppServerID == "":
		d.State, d.Message = panels.StateBuilding, "website is not on an app server yet"
	case site.Status == "active":
		d.State = panels.StateActive
	default:
		d.State, d.Message = panels.StateBuilding, "website status "+site.Status
	}
	return d, nil
}

// serviceRef reads the customer org and subscription id a Service carries.
func serviceRef(op string, s panels.Service) (string, int64, error) {
	org := s.Extra["org_id"]
	if org == "" {
		return "", 0, invalid(op, "service %q has no org_id", s.ID)
	}
	id, err := strconv.ParseInt(s.ID, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, invalid(op, "service id %q is not an Enhance subscription id", s.ID)
	}
	return org, id, nil
}

// planNumber parses an Enhance plan id, which is an integer.
func planNumber(op, planID string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(planID), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(op, "plan id %q is not an Enhance plan id (a positive integer)", planID)
	}
	return id, nil
}
