package activities

import (
	"context"
	"fmt"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/store"
)

// The methods below act on a service's panel directly for the web handlers (they are not
// workflow activities): power, password reset, single sign-on and testing a panel instance.

func (p *Provisioning) panelService(ctx context.Context, serviceID int64) (store.Service, panels.Client, panels.Account, error) {
	svc, err := p.Store.ServiceByID(ctx, serviceID)
	if err != nil {
		return store.Service{}, nil, panels.Account{}, err
	}
	if svc.PanelServiceID == "" {
		return store.Service{}, nil, panels.Account{}, fmt.Errorf("service %d has no panel resource yet: %w", serviceID, panels.ErrConflict)
	}
	c, err := p.Panels.Open(ctx, svc.PanelServerID)
	if err != nil {
		return store.Service{}, nil, panels.Account{}, err
	}
	a, err := p.Store.PanelAccountFor(ctx, svc.PanelServerID, svc.CustomerID)
	if err != nil {
		return store.Service{}, nil, panels.Account{}, err
	}
	return svc, c, panels.Account{ID: a.AccountID, Extra: a.Extra}, nil
}

// Power starts, stops or restarts the service.
func (p *Provisioning) Power(ctx context.Context, serviceID int64, action panels.PowerAction) error {
	svc, c, _, err := p.panelService(ctx, serviceID)
	if err != nil {
		return err
	}
	return c.Power(ctx, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra}, action)
}

// ResetPassword sets a new password on the panel, keeps it sealed and returns it once.
func (p *Provisioning) ResetPassword(ctx context.Context, serviceID int64) (string, error) {
	svc, c, a, err := p.panelService(ctx, serviceID)
	if err != nil {
		return "", err
	}
	pw, err := c.ResetPassword(ctx, a, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra})
	if err != nil {
		return "", err
	}
	sealed, err := p.Secrets.Seal([]byte(pw))
	if err != nil {
		return "", err
	}
	if err := p.Store.SetServiceAccess(ctx, svc.ID, "", svc.IPv4, svc.IPv6, sealed); err != nil {
		return "", err
	}
	return pw, nil
}

// LoginURL is a single-sign-on link into the service's panel.
func (p *Provisioning) LoginURL(ctx context.Context, serviceID int64) (string, error) {
	svc, c, a, err := p.panelService(ctx, serviceID)
	if err != nil {
		return "", err
	}
	return c.LoginURL(ctx, a, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra})
}

// TestPanel checks a panel instance's URL and credentials.
func (p *Provisioning) TestPanel(ctx context.Context, panelServerID int64) error {
	c, err := p.Panels.Open(ctx, panelServerID)
	if err != nil {
		return err
	}
	return c.Test(ctx)
}

// CheckCapacity asks a panel instance whether it can place a product now, so an order (or a
// staff member) is refused before money is taken or a service is promised.
func (p *Provisioning) CheckCapacity(ctx context.Context, panelServerID, productID int64) (panels.Capacity, error) {
	prod, err := p.Store.ProductByID(ctx, productID)
	if err != nil {
		return panels.Capacity{}, err
	}
	c, err := p.Panels.Open(ctx, panelServerID)
	if err != nil {
		return panels.Capacity{}, err
	}
	if prod.PanelType.String != string(c.Type()) {
		return panels.Capacity{Reason: fmt.Sprintf("%s is not sold on %s panels", prod.Name, c.Type())}, nil
	}
	return c.CheckCapacity(ctx, panels.Package{PlanID: prod.PanelPlanID, Options: prod.PanelOptions})
}
