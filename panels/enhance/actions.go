package enhance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ezscale/billing/panels"
)

// Suspend suspends the subscription, which disables its websites. Enhance takes no reason, so
// reason is not sent.
func (c *Client) Suspend(ctx context.Context, s panels.Service, reason string) error {
	return c.patchSubscription(ctx, "suspend subscription", s, map[string]any{"isSuspended": true})
}

// Unsuspend lifts a suspension.
func (c *Client) Unsuspend(ctx context.Context, s panels.Service) error {
	return c.patchSubscription(ctx, "unsuspend subscription", s, map[string]any{"isSuspended": false})
}

// ChangePackage moves the subscription to another plan. An unknown plan is a validation error;
// a subscription that is gone is not found.
func (c *Client) ChangePackage(ctx context.Context, s panels.Service, p panels.Package) error {
	const op = "change plan"
	planID, err := planNumber(op, p.PlanID)
	if err != nil {
		return err
	}
	err = c.patchSubscription(ctx, op, s, map[string]any{"planId": planID})
	return c.explainMissingPlan(ctx, planID, err)
}

func (c *Client) patchSubscription(ctx context.Context, op string, s panels.Service, body map[string]any) error {
	org, id, err := serviceRef(op, s)
	if err != nil {
		return err
	}
	path := "/orgs/" + url.PathEscape(org) + "/subscriptions/" + strconv.FormatInt(id, 10)
	if err := c.do(ctx, op, http.MethodPatch, path, nil, body, nil); err != nil {
		return fmt.Errorf("%s %d in org %s: %w", op, id, org, err)
	}
	return nil
}

// Terminate deletes the subscription and with it its websites. A subscription already gone
// (404) is success.
func (c *Client) Terminate(ctx context.Context, s panels.Service) error {
	const op = "delete subscription"
	org, id, err := serviceRef(op, s)
	if err != nil {
		return err
	}
	path := "/orgs/" + url.PathEscape(org) + "/subscriptions/" + strconv.FormatInt(id, 10)
	err = c.do(ctx, op, http.MethodDelete, path, nil, nil, nil)
	if err != nil && !isKind(err, panels.KindNotFound) {
		return fmt.Errorf("delete subscription %d in org %s: %w", id, org, err)
	}
	return nil
}

// Power is unsupported: an Enhance service is a website on shared hosting.
func (c *Client) Power(ctx context.Context, s panels.Service, a panels.PowerAction) error {
	return &panels.Error{Kind: panels.KindUnsupported, Panel: panels.Enhance, Op: "power " + string(a),
		Message: "websites on shared hosting have no power control"}
}

// ResetPassword is unsupported: the orchd API documents no password reset for a login, and
// customers reach the panel through LoginURL instead.
func (c *Client) ResetPassword(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	return "", &panels.Error{Kind: panels.KindUnsupported, Panel: panels.Enhance, Op: "reset password",
		Message: "no documented password reset endpoint; use single sign-on"}
}

// LoginURL returns a one-time single-sign-on link for the customer org's Owner member.
func (c *Client) LoginURL(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	const op = "single sign-on"
	org := a.ID
	if org == "" {
		org = s.Extra["org_id"]
	}
	if org == "" {
		return "", invalid(op, "account has no customer org id")
	}
	members, err := c.members(ctx, org)
	if err != nil {
		return "", fmt.Errorf("list members of org %s: %w", org, err)
	}
	owner, ok := firstOwner(members)
	for _, m := range members {
		if m.ID == a.Extra["member_id"] && m.isOwner() {
			owner, ok = m, true
		}
	}
	if !ok {
		return "", &panels.Error{Kind: panels.KindNotFound, Panel: panels.Enhance, Op: op,
			Message: "customer org " + org + " has no Owner member"}
	}
	// The spec answers 201 with the URL as a JSON string.
	var link string
	path := "/orgs/" + url.PathEscape(org) + "/members/" + url.PathEscape(owner.ID) + "/sso"
	if err := c.do(ctx, op, http.MethodGet, path, nil, nil, &link); err != nil {
		return "", fmt.Errorf("sso link for member %s of org %s: %w", owner.ID, org, err)
	}
	if link == "" {
		return "", &panels.Error{Kind: panels.KindTemporary, Panel: panels.Enhance, Op: op, Message: "empty sso link"}
	}
	return link, nil
}
