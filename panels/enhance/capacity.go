package enhance

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ezscale/billing/panels"
)

// plan is one item of GET /orgs/{resellerOrg}/plans.
type plan struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	PlanType string `json:"planType"`
	// ResellerQuota is a simulator assumption, not in the reference: how many subscriptions to
	// this plan our org may still sell. A real panel that omits it is treated as unlimited; its
	// "quota exceeded" answer on create still maps to KindNoCapacity.
	ResellerQuota *quota `json:"resellerQuota"`
}

// quota is total subscriptions allowed and how many are used.
type quota struct {
	Total int64 `json:"total"`
	Used  int64 `json:"used"`
}

func (c *Client) plans(ctx context.Context) ([]plan, error) {
	return listAll[plan](ctx, c, "list plans", "/orgs/"+url.PathEscape(c.org)+"/plans", nil)
}

// CheckCapacity reports whether our org offers the plan and still has quota to sell it.
func (c *Client) CheckCapacity(ctx context.Context, p panels.Package) (panels.Capacity, error) {
	planID, err := planNumber("check capacity", p.PlanID)
	if err != nil {
		return panels.Capacity{}, err
	}
	plans, err := c.plans(ctx)
	if err != nil {
		return panels.Capacity{}, fmt.Errorf("list plans of org %s: %w", c.org, err)
	}
	for _, pl := range plans {
		if pl.ID != planID {
			continue
		}
		if q := pl.ResellerQuota; q != nil && q.Used >= q.Total {
			return panels.Capacity{Reason: "This hosting plan is sold out at the moment."}, nil
		}
		return panels.Capacity{Available: true}, nil
	}
	return panels.Capacity{Reason: "This hosting plan is not offered at the moment."}, nil
}

// explainMissingPlan turns a 404 from a call naming a plan into a validation error when the plan
// is the thing missing, so "plan does not exist" is not mistaken for "subscription is gone".
func (c *Client) explainMissingPlan(ctx context.Context, planID int64, err error) error {
	var pe *panels.Error
	if err == nil || !errors.As(err, &pe) || pe.Kind != panels.KindNotFound {
		return err
	}
	plans, perr := c.plans(ctx)
	if perr != nil {
		return err
	}
	for _, pl := range plans {
		if pl.ID == planID {
			return err
		}
	}
	e := *pe
	e.Kind = panels.KindValidation
	e.Message = fmt.Sprintf("plan %d does not exist: %s", planID, pe.Message)
	return &e
}
