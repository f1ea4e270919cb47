package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

// PanelOpener opens the client of a panel instance from the registry.
type PanelOpener interface {
	Open(ctx context.Context, panelServerID int64) (panels.Client, error)
}

// orphanAdopter is implemented by panels whose servers carry no external id (VirtFusion): a
// create whose answer was lost leaves an unbuilt server that a retry must adopt, not duplicate.
type orphanAdopter interface {
	Orphans(ctx context.Context, a panels.Account, planID string) ([]panels.Service, error)
	Adopt(ctx context.Context, s panels.Service, r panels.CreateRequest) (panels.Service, error)
}

// pendingBuild marks a recorded panel resource that exists but was not built for us yet.
const pendingBuild = "pending_build"

// Provisioning holds what the provisioning workflow's activities need. Every method loads the
// service fresh from the database and is safe to run again.
type Provisioning struct {
	Store   *store.Store
	Panels  PanelOpener
	Secrets *secrets.Box
	Mail    sender
	BaseURL string
	// PollInterval is how often AwaitReady asks the panel; default 2 s.
	PollInterval time.Duration
}

// load reads the service and opens its panel.
func (p *Provisioning) load(ctx context.Context, id int64) (store.Service, panels.Client, error) {
	svc, err := p.Store.ServiceByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Service{}, nil, temporal.NewNonRetryableApplicationError(err.Error(), "ServiceNotFound", err)
	}
	if err != nil {
		return store.Service{}, nil, err
	}
	c, err := p.Panels.Open(ctx, svc.PanelServerID)
	if err != nil {
		return store.Service{}, nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("open panel %s: %v", svc.PanelName, err), workflows.PanelPermanentError, err)
	}
	return svc, c, nil
}

// SetStatus records the service's status and a timeline entry.
func (p *Provisioning) SetStatus(ctx context.Context, in workflows.StatusChange) error {
	attention := ""
	if in.Status == billing.ServiceNeedsAttention {
		attention = in.Reason
	}
	return p.Store.SetServiceStatus(ctx, in.ServiceID, in.Status, attention, store.ServiceEvent{
		Kind: "status", Message: in.Reason, Actor: "workflow", WorkflowID: in.WorkflowID,
	})
}

// EnsureAccount finds or creates the customer's account on the service's panel.
func (p *Provisioning) EnsureAccount(ctx context.Context, in workflows.OpInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	if _, err := p.Store.PanelAccountFor(ctx, svc.PanelServerID, svc.CustomerID); err == nil {
		return nil
	}
	u, err := p.Store.UserByID(ctx, svc.CustomerID)
	if err != nil {
		return err
	}
	first, last := splitName(u.Name)
	acct, err := c.EnsureAccount(ctx, panels.Customer{ID: u.ID, Email: u.Email, FirstName: first, LastName: last})
	if err != nil {
		return panelError(err)
	}
	if err := p.Store.SavePanelAccount(ctx, store.PanelAccount{PanelServerID: svc.PanelServerID, CustomerID: u.ID, AccountID: acct.ID, Extra: acct.Extra}); err != nil {
		return err
	}
	return p.event(ctx, in, "panel", fmt.Sprintf("panel account %s ready on %s", acct.ID, svc.PanelName))
}

// Create makes the service on the panel exactly once: a resource already recorded, or found on
// the panel by our id, or left unbuilt by a lost answer, is used instead of creating another.
func (p *Provisioning) Create(ctx context.Context, in workflows.OpInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	acct, req, err := p.createRequest(ctx, svc)
	if err != nil {
		return err
	}
	if svc.PanelServiceID != "" && svc.PanelExtra[pendingBuild] == "" {
		return nil // recorded by an earlier attempt
	}
	if svc.PanelServiceID != "" {
		return p.adopt(ctx, in, c, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra}, req)
	}
	found, ok, err := c.FindService(ctx, acct, svc.ID)
	if err != nil {
		return panelError(err)
	}
	if ok {
		return p.record(ctx, in, found, "found on "+svc.PanelName+" from an earlier attempt")
	}
	if adopter, ok := c.(orphanAdopter); ok {
		orphans, err := adopter.Orphans(ctx, acct, req.Package.PlanID)
		if err != nil {
			return panelError(err)
		}
		for _, o := range orphans {
			o.Extra = withPending(o.Extra)
			err := p.record(ctx, in, o, "claimed unbuilt server "+o.ID+" left by a lost answer")
			if errors.Is(err, store.ErrConflict) {
				continue // another service claimed it first
			}
			if err != nil {
				return err
			}
			return p.adopt(ctx, in, c, o, req)
		}
	}
	created, err := c.CreateService(ctx, req)
	if err != nil {
		if created.ID != "" {
			// Created but not built: record it so the retry builds this one.
			created.Extra = withPending(created.Extra)
			if rerr := p.record(ctx, in, created, "created server "+created.ID+"; build not started yet"); rerr != nil {
				return rerr
			}
		}
		return panelError(err)
	}
	return p.record(ctx, in, created, "created on "+svc.PanelName)
}

func (p *Provisioning) adopt(ctx context.Context, in workflows.OpInput, c panels.Client, s panels.Service, req panels.CreateRequest) error {
	adopter, ok := c.(orphanAdopter)
	if !ok {
		return p.record(ctx, in, s, "recorded")
	}
	built, err := adopter.Adopt(ctx, s, req)
	if err != nil {
		return panelError(err)
	}
	return p.record(ctx, in, built, "build started on server "+built.ID)
}

func (p *Provisioning) record(ctx context.Context, in workflows.OpInput, s panels.Service, what string) error {
	return p.Store.SetServicePanelRef(ctx, in.ServiceID, s.ID, s.Extra, store.ServiceEvent{
		Kind: "panel", Message: fmt.Sprintf("panel resource %s: %s", s.ID, what), Actor: "workflow", WorkflowID: in.WorkflowID,
	})
}

func withPending(extra map[string]string) map[string]string {
	out := map[string]string{pendingBuild: "1"}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// createRequest builds the panel request for a service from its customer account and product.
func (p *Provisioning) createRequest(ctx context.Context, svc store.Service) (panels.Account, panels.CreateRequest, error) {
	a, err := p.Store.PanelAccountFor(ctx, svc.PanelServerID, svc.CustomerID)
	if err != nil {
		return panels.Account{}, panels.CreateRequest{}, err
	}
	pkg, err := p.packageOf(ctx, svc, svc.ProductID)
	if err != nil {
		return panels.Account{}, panels.CreateRequest{}, err
	}
	acct := panels.Account{ID: a.AccountID, Extra: a.Extra}
	hostname := svc.Hostname
	if hostname == "" {
		hostname = "svc" + strconv.FormatInt(svc.ID, 10) + ".ezscale.test"
	}
	return acct, panels.CreateRequest{ServiceID: svc.ID, Account: acct, Hostname: hostname, Package: pkg}, nil
}

// packageOf maps a product onto the service's panel; a product for another panel type is a
// permanent error.
func (p *Provisioning) packageOf(ctx context.Context, svc store.Service, productID int64) (panels.Package, error) {
	prod, err := p.Store.ProductByID(ctx, productID)
	if err != nil {
		return panels.Package{}, err
	}
	if prod.PanelType.String != svc.PanelType || prod.PanelPlanID == "" {
		msg := fmt.Sprintf("product %q is not mapped to a %s package", prod.Name, svc.PanelType)
		return panels.Package{}, temporal.NewNonRetryableApplicationError(msg, workflows.PanelPermanentError, nil)
	}
	return panels.Package{PlanID: prod.PanelPlanID, Options: prod.PanelOptions}, nil
}

// AwaitReady polls the panel, heartbeating, until the build finishes, then saves the access details.
func (p *Provisioning) AwaitReady(ctx context.Context, in workflows.OpInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	if svc.PanelServiceID == "" {
		return temporal.NewNonRetryableApplicationError("nothing was created on the panel", workflows.PanelPermanentError, nil)
	}
	ref := panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra}
	interval := p.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for polls := 1; ; polls++ {
		d, err := c.Details(ctx, ref)
		activity.RecordHeartbeat(ctx, polls)
		switch {
		case err != nil && !panels.Retryable(err):
			return panelError(err)
		case err == nil && d.State == panels.StateFailed:
			msg := "build failed on the panel"
			if d.Message != "" {
				msg += ": " + d.Message
			}
			return temporal.NewNonRetryableApplicationError(msg, workflows.PanelPermanentError, nil)
		case err == nil && (d.State == panels.StateActive || d.State == panels.StateSuspended):
			return p.saveAccess(ctx, in, svc, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func (p *Provisioning) saveAccess(ctx context.Context, in workflows.OpInput, svc store.Service, d panels.Details) error {
	var sealed []byte
	if d.Password != "" {
		var err error
		if sealed, err = p.Secrets.Seal([]byte(d.Password)); err != nil {
			return err
		}
	}
	if err := p.Store.SetServiceAccess(ctx, svc.ID, d.Hostname, d.IPv4, d.IPv6, sealed); err != nil {
		return err
	}
	return p.event(ctx, in, "panel", "built; addresses "+strings.Join(append(d.IPv4, d.IPv6...), ", "))
}

// NotifyReady mails the customer the access details of a new service.
func (p *Provisioning) NotifyReady(ctx context.Context, in workflows.OpInput) error {
	svc, err := p.Store.ServiceByID(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	u, err := p.Store.UserByID(ctx, svc.CustomerID)
	if err != nil {
		return err
	}
	access := mail.ServiceAccess{Product: svc.ProductName, Hostname: svc.Hostname, IPv4: svc.IPv4}
	if len(svc.PasswordSealed) > 0 {
		pw, err := p.Secrets.Open(svc.PasswordSealed)
		if err != nil {
			return err
		}
		access.Username, access.Password = "root", string(pw)
	}
	link := fmt.Sprintf("%s/account/services/%d", p.BaseURL, svc.ID)
	if err := p.Mail.Send(ctx, mail.ServiceReady(u.Email, u.Name, link, access)); err != nil {
		return fmt.Errorf("mail service %d ready: %w", svc.ID, err)
	}
	return p.event(ctx, in, "mail", "service-ready mail sent to "+u.Email)
}

// terminatedMailSent is the timeline message that records the termination mail, so a retried
// activity (or a second termination request) does not mail the customer twice.
const terminatedMailSent = "service-terminated mail sent to "

// NotifyTerminated mails the customer that their service was terminated, once per service.
func (p *Provisioning) NotifyTerminated(ctx context.Context, in workflows.OpInput) error {
	svc, err := p.Store.ServiceByID(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	events, err := p.Store.ServiceEvents(ctx, svc.ID)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Kind == "mail" && strings.HasPrefix(e.Message, terminatedMailSent) {
			return nil
		}
	}
	u, err := p.Store.UserByID(ctx, svc.CustomerID)
	if err != nil {
		return err
	}
	link := fmt.Sprintf("%s/account/services/%d", p.BaseURL, svc.ID)
	if err := p.Mail.Send(ctx, mail.ServiceTerminated(u.Email, u.Name, link, mail.ServiceAccess{Product: svc.ProductName, Hostname: svc.Hostname})); err != nil {
		return fmt.Errorf("mail service %d terminated: %w", svc.ID, err)
	}
	return p.event(ctx, in, "mail", terminatedMailSent+u.Email)
}

// Suspend suspends the service on its panel.
func (p *Provisioning) Suspend(ctx context.Context, in workflows.OpInput) error {
	return p.onPanel(ctx, in, "suspended on the panel", func(c panels.Client, s panels.Service) error {
		return c.Suspend(ctx, s, in.Op.Reason)
	})
}

// Unsuspend lifts a suspension on the panel.
func (p *Provisioning) Unsuspend(ctx context.Context, in workflows.OpInput) error {
	return p.onPanel(ctx, in, "unsuspended on the panel", func(c panels.Client, s panels.Service) error {
		return c.Unsuspend(ctx, s)
	})
}

// Terminate destroys the service on its panel; something already gone, or never made, is success.
func (p *Provisioning) Terminate(ctx context.Context, in workflows.OpInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	if svc.PanelServiceID == "" {
		acct, _, err := p.createRequest(ctx, svc)
		if err != nil {
			return p.event(ctx, in, "panel", "nothing on the panel to remove")
		}
		found, ok, err := c.FindService(ctx, acct, svc.ID)
		if err != nil {
			return panelError(err)
		}
		if !ok {
			return p.event(ctx, in, "panel", "nothing on the panel to remove")
		}
		svc.PanelServiceID, svc.PanelExtra = found.ID, found.Extra
	}
	err = c.Terminate(ctx, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra})
	if err != nil && !errors.Is(err, panels.ErrNotFound) {
		return panelError(err)
	}
	return p.event(ctx, in, "panel", "panel resource "+svc.PanelServiceID+" removed")
}

// ChangePackage moves the service to the product in the operation.
func (p *Provisioning) ChangePackage(ctx context.Context, in workflows.OpInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	pkg, err := p.packageOf(ctx, svc, in.Op.ProductID)
	if err != nil {
		return err
	}
	if err := c.ChangePackage(ctx, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra}, pkg); err != nil {
		return panelError(err)
	}
	return p.Store.SetServiceProduct(ctx, svc.ID, in.Op.ProductID, store.ServiceEvent{
		Kind: "panel", Message: fmt.Sprintf("package changed to product %d (%s plan %s)", in.Op.ProductID, svc.PanelType, pkg.PlanID),
		Actor: in.Op.Actor, WorkflowID: in.WorkflowID,
	})
}

// MarkProvisioned records a server ops made by hand and reads its details when the panel knows it.
func (p *Provisioning) MarkProvisioned(ctx context.Context, in workflows.MarkProvisionedInput) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	op := workflows.OpInput{ServiceID: in.ServiceID, WorkflowID: in.WorkflowID}
	if err := p.Store.SetServicePanelRef(ctx, svc.ID, in.PanelServiceID, nil, store.ServiceEvent{
		Kind: "panel", Message: "panel resource " + in.PanelServiceID + " recorded by hand", Actor: in.Actor, WorkflowID: in.WorkflowID,
	}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return temporal.NewNonRetryableApplicationError("that panel resource belongs to another service", workflows.PanelPermanentError, err)
		}
		return err
	}
	if d, err := c.Details(ctx, panels.Service{ID: in.PanelServiceID}); err == nil {
		return p.saveAccess(ctx, op, svc, d)
	}
	return nil
}

// onPanel runs a panel operation on the service's recorded resource and notes it in the timeline.
func (p *Provisioning) onPanel(ctx context.Context, in workflows.OpInput, done string, f func(panels.Client, panels.Service) error) error {
	svc, c, err := p.load(ctx, in.ServiceID)
	if err != nil {
		return err
	}
	if svc.PanelServiceID == "" {
		return temporal.NewNonRetryableApplicationError("the service has no panel resource", workflows.PanelPermanentError, nil)
	}
	if err := f(c, panels.Service{ID: svc.PanelServiceID, Extra: svc.PanelExtra}); err != nil {
		return panelError(err)
	}
	msg := done
	if in.Op.Reason != "" {
		msg += ": " + in.Op.Reason
	}
	return p.event(ctx, in, "panel", msg)
}

func (p *Provisioning) event(ctx context.Context, in workflows.OpInput, kind, msg string) error {
	return p.Store.AddServiceEvent(ctx, store.ServiceEvent{ServiceID: in.ServiceID, Kind: kind, Message: msg, Actor: in.Op.Actor, WorkflowID: in.WorkflowID})
}

// panelError turns a panel failure into what Temporal should do with it: retry (after the
// panel's Retry-After when it sent one) or stop and ask ops.
func panelError(err error) error {
	if panels.Retryable(err) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "PanelTemporary", temporal.ApplicationErrorOptions{
			NextRetryDelay: panels.RetryAfter(err), Cause: err,
		})
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), workflows.PanelPermanentError, err)
}

func splitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndex(name, " "); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, "-"
}
