package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ezscale/billing/billing"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names shared by the provisioning workflow, its activities and the HTTP layer.
const (
	// UpdateProvisionRequest queues an operation (ProvisionOp) and returns it with its sequence number.
	UpdateProvisionRequest = "provision-request"
	// UpdateProvisionResolve answers a "needs attention" stop with an ops decision (Resolution).
	UpdateProvisionResolve = "provision-resolve"
	// QueryProvisionState returns ProvisionState.
	QueryProvisionState = "provision-state"

	ActivityProvisionSetStatus        = "ProvisionSetStatus"
	ActivityProvisionEnsureAccount    = "ProvisionEnsureAccount"
	ActivityProvisionCreate           = "ProvisionCreate"
	ActivityProvisionAwaitReady       = "ProvisionAwaitReady"
	ActivityProvisionNotifyReady      = "ProvisionNotifyReady"
	ActivityProvisionNotifyTerminated = "ProvisionNotifyTerminated"
	ActivityProvisionSuspend          = "ProvisionSuspend"
	ActivityProvisionUnsuspend        = "ProvisionUnsuspend"
	ActivityProvisionTerminate        = "ProvisionTerminate"
	ActivityProvisionChangePackage    = "ProvisionChangePackage"
	ActivityProvisionMarkProvisioned  = "ProvisionMarkProvisioned"

	// PanelPermanentError is the application error type of a panel failure that retrying cannot
	// fix (bad package id, no capacity, refused credentials).
	PanelPermanentError = "PanelPermanent"
)

// OpKind is an operation on a service's panel resources.
type OpKind string

// Operations the provisioning workflow performs, in the order they were requested.
const (
	OpCreate        OpKind = "create"
	OpSuspend       OpKind = "suspend"
	OpUnsuspend     OpKind = "unsuspend"
	OpTerminate     OpKind = "terminate"
	OpChangePackage OpKind = "change-package"
)

// ProvisionOp is one requested operation.
type ProvisionOp struct {
	Seq       int
	Kind      OpKind
	ProductID int64  // the new product, for change-package
	Reason    string // shown in the timeline, e.g. "overdue invoice 1042"
	Actor     string // who asked: "admin:3", "billing", "customer:9"
	// RequestID, when set, makes a repeated request (a retried activity) return the operation
	// it queued the first time instead of queueing another.
	RequestID string
}

// Resolution is an ops decision on a service that needs attention.
type Resolution struct {
	// Action is "retry", "mark-provisioned" or "abandon".
	Action string
	// PanelServiceID is the panel's id of a server made by hand, for mark-provisioned.
	PanelServiceID string
	Actor          string
	Note           string
}

// Resolution actions.
const (
	ResolveRetry           = "retry"
	ResolveMarkProvisioned = "mark-provisioned"
	ResolveAbandon         = "abandon"
)

// ProvisionInput starts or continues the provisioning workflow of one service.
type ProvisionInput struct {
	ServiceID int64
	Status    billing.ServiceStatus // the service's status when this run starts
	Queue     []ProvisionOp         // operations not yet performed, oldest first
	NextSeq   int
	// Requests are the RequestIDs of recent operations, carried over by continue-as-new.
	Requests []string
	// StepTimeout bounds one panel call (and, halved, the build poll's heartbeat); a worker that
	// dies mid-call is noticed after it. Zero means DefaultStepTimeout.
	StepTimeout time.Duration
}

// DefaultStepTimeout is the longest a single panel step may run before it is retried elsewhere.
const DefaultStepTimeout = 2 * time.Minute

// ProvisionState is the live state of the workflow, returned by the query.
type ProvisionState struct {
	ServiceID int64
	Status    billing.ServiceStatus
	Current   *ProvisionOp
	Queue     []ProvisionOp
	// Attention is why the service waits for ops, empty when it does not.
	Attention string
	Completed int // operations finished in this run
}

// StatusChange is written by ActivityProvisionSetStatus: the service's status and a timeline entry.
type StatusChange struct {
	ServiceID  int64
	Status     billing.ServiceStatus
	Reason     string
	WorkflowID string
}

// OpInput is what an operation activity receives.
type OpInput struct {
	ServiceID  int64
	Op         ProvisionOp
	WorkflowID string
}

// MarkProvisionedInput records a server that ops made by hand.
type MarkProvisionedInput struct {
	ServiceID      int64
	PanelServiceID string
	Actor          string
	WorkflowID     string
}

// ProvisionID is the workflow ID of a service's provisioning: "provision:<service-id>".
func ProvisionID(serviceID int64) string {
	return "provision:" + strconv.FormatInt(serviceID, 10)
}

// maxOpsPerRun bounds a run's history; the workflow continues as new after that many operations.
const maxOpsPerRun = 50

// Provision owns the panel side of one service for its whole life: it creates the service, then
// performs suspensions, unsuspensions, package changes and the termination in the order they are
// requested. A permanent failure never fails the workflow: the service is marked "needs
// attention" and waits for ops to retry, record a hand-made server, or abandon it.
func Provision(ctx workflow.Context, in ProvisionInput) (ProvisionState, error) {
	p, err := newProvisioner(ctx, in) // registers the request and resolve updates and the state query
	if err != nil {
		return ProvisionState{}, err
	}
	for {
		if err := workflow.Await(ctx, func() bool { return len(p.queue) > 0 || p.ended() }); err != nil {
			return p.snapshot(), err
		}
		if len(p.queue) == 0 && p.ended() {
			break
		}
		op := p.next()
		p.perform(ctx, op)
		if p.completed >= maxOpsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return p.continueAsNew(ctx)
		}
	}
	return p.snapshot(), nil
}

type provisioner struct {
	stepTimeout time.Duration
	serviceID   int64
	workflowID  string
	status      billing.ServiceStatus
	queue       []ProvisionOp
	nextSeq     int
	current     *ProvisionOp
	attention   string
	decision    *Resolution
	completed   int
	requests    map[string]ProvisionOp // by RequestID
	requestLog  []string               // RequestIDs, oldest first, at most maxRequests
}

// maxRequests is how many request ids the workflow remembers for deduplication.
const maxRequests = 64

func newProvisioner(ctx workflow.Context, in ProvisionInput) (*provisioner, error) {
	if in.ServiceID <= 0 {
		return nil, fmt.Errorf("provision: invalid service id %d", in.ServiceID)
	}
	if in.StepTimeout <= 0 {
		in.StepTimeout = DefaultStepTimeout
	}
	p := &provisioner{
		stepTimeout: in.StepTimeout,
		serviceID:   in.ServiceID,
		workflowID:  workflow.GetInfo(ctx).WorkflowExecution.ID,
		status:      in.Status,
		queue:       append([]ProvisionOp(nil), in.Queue...),
		nextSeq:     in.NextSeq,
		requests:    map[string]ProvisionOp{},
	}
	for _, id := range in.Requests {
		p.remember(ProvisionOp{RequestID: id})
	}
	if p.status == "" {
		p.status = billing.ServicePending
	}
	for i := range p.queue {
		if p.queue[i].Seq == 0 {
			p.nextSeq++
			p.queue[i].Seq = p.nextSeq
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryProvisionState, func() (ProvisionState, error) {
		return p.snapshot(), nil
	}); err != nil {
		return nil, fmt.Errorf("register %s query: %w", QueryProvisionState, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateProvisionRequest, p.enqueue,
		workflow.UpdateHandlerOptions{Validator: p.validateRequest}); err != nil {
		return nil, fmt.Errorf("register %s update: %w", UpdateProvisionRequest, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateProvisionResolve, p.resolve,
		workflow.UpdateHandlerOptions{Validator: p.validateResolution}); err != nil {
		return nil, fmt.Errorf("register %s update: %w", UpdateProvisionResolve, err)
	}
	return p, nil
}

// enqueue accepts a validated request and returns it with its sequence number.
func (p *provisioner) enqueue(ctx workflow.Context, op ProvisionOp) (ProvisionOp, error) {
	if first, ok := p.requests[op.RequestID]; ok && op.RequestID != "" {
		return first, nil
	}
	p.nextSeq++
	op.Seq = p.nextSeq
	p.queue = append(p.queue, op)
	p.remember(op)
	return op, nil
}

// remember records an operation's RequestID, forgetting the oldest beyond maxRequests.
func (p *provisioner) remember(op ProvisionOp) {
	if op.RequestID == "" {
		return
	}
	p.requests[op.RequestID] = op
	p.requestLog = append(p.requestLog, op.RequestID)
	if len(p.requestLog) > maxRequests {
		delete(p.requests, p.requestLog[0])
		p.requestLog = p.requestLog[1:]
	}
}

// validateRequest refuses operations that make no sense once the queue ahead of them has run,
// so a bad request is answered at once and never enters history.
func (p *provisioner) validateRequest(op ProvisionOp) error {
	if _, ok := p.requests[op.RequestID]; ok && op.RequestID != "" {
		return nil // a repeat: enqueue answers with the first operation
	}
	if p.ended() {
		return fmt.Errorf("service %d is %s: no further operations", p.serviceID, p.status)
	}
	after := p.projectedStatus()
	switch op.Kind {
	case OpSuspend:
		if after != billing.ServiceActive {
			return fmt.Errorf("cannot suspend: the service will be %s", after)
		}
	case OpUnsuspend:
		if after != billing.ServiceSuspended {
			return fmt.Errorf("cannot unsuspend: the service will be %s", after)
		}
	case OpChangePackage:
		if op.ProductID <= 0 {
			return errors.New("change-package needs the new product id")
		}
		if after != billing.ServiceActive && after != billing.ServiceSuspended {
			return fmt.Errorf("cannot change the package: the service will be %s", after)
		}
	case OpTerminate:
		if after == billing.ServiceTerminated {
			return errors.New("termination is already queued")
		}
	case OpCreate:
		return errors.New("create is requested only when the workflow starts")
	default:
		return fmt.Errorf("unknown operation %q", op.Kind)
	}
	return nil
}

// projectedStatus is the status the service will have once the current and queued operations succeed.
func (p *provisioner) projectedStatus() billing.ServiceStatus {
	s := p.status
	ops := p.queue
	if p.current != nil {
		ops = append([]ProvisionOp{*p.current}, ops...)
	}
	for _, op := range ops {
		switch op.Kind {
		case OpCreate, OpUnsuspend:
			s = billing.ServiceActive
		case OpSuspend:
			s = billing.ServiceSuspended
		case OpTerminate:
			s = billing.ServiceTerminated
		}
	}
	if s == billing.ServiceNeedsAttention || s == billing.ServicePending || s == billing.ServiceProvisioning {
		// Until the create finishes, later operations apply to the service it will become.
		s = billing.ServiceActive
	}
	return s
}

func (p *provisioner) validateResolution(r Resolution) error {
	if p.attention == "" || p.current == nil {
		return fmt.Errorf("service %d does not need attention", p.serviceID)
	}
	switch r.Action {
	case ResolveRetry, ResolveAbandon:
	case ResolveMarkProvisioned:
		if p.current.Kind != OpCreate {
			return fmt.Errorf("mark-provisioned answers a failed create, not a failed %s", p.current.Kind)
		}
		if r.PanelServiceID == "" {
			return errors.New("mark-provisioned needs the panel's id of the server")
		}
	default:
		return fmt.Errorf("unknown resolution %q: want retry, mark-provisioned or abandon", r.Action)
	}
	return nil
}

func (p *provisioner) resolve(ctx workflow.Context, r Resolution) (string, error) {
	p.decision = &r
	return r.Action, nil
}

func (p *provisioner) next() ProvisionOp {
	op := p.queue[0]
	p.queue = p.queue[1:]
	p.current = &op
	return op
}

// perform runs one operation until it succeeds or ops decide what to do with it.
func (p *provisioner) perform(ctx workflow.Context, op ProvisionOp) {
	defer func() { p.current = nil; p.completed++ }()
	for {
		before := p.status
		err := p.run(ctx, op)
		if err == nil {
			return
		}
		switch d := p.awaitOps(ctx, op, err); d.Action {
		case ResolveRetry:
			p.setStatusDurably(ctx, before, fmt.Sprintf("%s: retry requested by %s", op.Kind, d.Actor))
			continue
		case ResolveMarkProvisioned:
			p.markProvisioned(ctx, d)
			return
		case ResolveAbandon:
			p.abandon(ctx, op, d)
			return
		}
	}
}

// run performs the steps of one operation; any error means the operation needs ops.
func (p *provisioner) run(ctx workflow.Context, op ProvisionOp) error {
	in := OpInput{ServiceID: p.serviceID, Op: op, WorkflowID: p.workflowID}
	switch op.Kind {
	case OpCreate:
		if err := p.setStatus(ctx, billing.ServiceProvisioning, "provisioning started"); err != nil {
			return err
		}
		if err := p.panelStep(ctx, "ensure panel account", ActivityProvisionEnsureAccount, in); err != nil {
			return err
		}
		if err := p.panelStep(ctx, "create on panel", ActivityProvisionCreate, in); err != nil {
			return err
		}
		if err := p.awaitReady(ctx, in); err != nil {
			return err
		}
		if err := p.setStatus(ctx, billing.ServiceActive, "service is active"); err != nil {
			return err
		}
		p.notifyReady(ctx, in)
	case OpSuspend:
		if err := p.panelStep(ctx, "suspend", ActivityProvisionSuspend, in); err != nil {
			return err
		}
		return p.setStatus(ctx, billing.ServiceSuspended, "suspended: "+op.Reason)
	case OpUnsuspend:
		if err := p.panelStep(ctx, "unsuspend", ActivityProvisionUnsuspend, in); err != nil {
			return err
		}
		return p.setStatus(ctx, billing.ServiceActive, "unsuspended")
	case OpChangePackage:
		return p.panelStep(ctx, "change package", ActivityProvisionChangePackage, in)
	case OpTerminate:
		if err := p.panelStep(ctx, "terminate", ActivityProvisionTerminate, in); err != nil {
			return err
		}
		if err := p.setStatus(ctx, billing.ServiceTerminated, "terminated: "+op.Reason); err != nil {
			return err
		}
		if workflow.GetVersion(ctx, versionTerminationMail, workflow.DefaultVersion, 1) == 1 {
			p.notifyTerminated(ctx, in)
		}
	}
	return nil
}

// versionTerminationMail marks runs that mail the customer when their service is terminated;
// runs recorded before it replay without the mail.
const versionTerminationMail = "termination-mail"

// awaitOps marks the service as needing attention and waits for an ops decision.
func (p *provisioner) awaitOps(ctx workflow.Context, op ProvisionOp, cause error) Resolution {
	// Clear an old decision before opening the door: a decision that arrives while the status
	// is being written must count.
	p.decision = nil
	p.attention = fmt.Sprintf("%s failed: %s", op.Kind, failureMessage(cause))
	workflow.GetLogger(ctx).Warn("Service needs attention", "ServiceID", p.serviceID, "Op", op.Kind, "Error", cause)
	p.setStatusDurably(ctx, billing.ServiceNeedsAttention, p.attention)
	_ = workflow.Await(ctx, func() bool { return p.decision != nil })
	d := *p.decision
	p.decision, p.attention = nil, ""
	return d
}

func (p *provisioner) markProvisioned(ctx workflow.Context, d Resolution) {
	in := MarkProvisionedInput{ServiceID: p.serviceID, PanelServiceID: d.PanelServiceID, Actor: d.Actor, WorkflowID: p.workflowID}
	_ = workflow.ExecuteActivity(dbActivity(ctx, "record hand-made server"), ActivityProvisionMarkProvisioned, in).Get(ctx, nil)
	p.setStatusDurably(ctx, billing.ServiceActive, "marked provisioned by "+d.Actor+" as panel server "+d.PanelServiceID)
}

// abandon removes whatever the failed operation left on the panel (a partial server), then closes
// the service; queued operations are dropped. Billing credits or refunds the customer.
func (p *provisioner) abandon(ctx workflow.Context, op ProvisionOp, d Resolution) {
	cleanup, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	in := OpInput{ServiceID: p.serviceID, Op: ProvisionOp{Kind: OpTerminate, Reason: "abandoned by " + d.Actor, Actor: d.Actor}, WorkflowID: p.workflowID}
	if err := p.panelStep(cleanup, "remove partial resources", ActivityProvisionTerminate, in); err != nil {
		workflow.GetLogger(ctx).Error("Compensation failed: partial resources may remain on the panel", "ServiceID", p.serviceID, "Error", err)
	}
	p.queue = nil
	p.setStatusDurably(cleanup, billing.ServiceAbandoned, fmt.Sprintf("%s abandoned by %s %s", op.Kind, d.Actor, d.Note))
}

// panelStep runs one panel activity with retries that honour the panel's Retry-After; permanent
// panel errors are not retried.
func (p *provisioner) panelStep(ctx workflow.Context, summary, activity string, in OpInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: p.stepTimeout,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        8,
			NonRetryableErrorTypes: []string{PanelPermanentError},
		},
	})
	return workflow.ExecuteActivity(ctx, activity, in).Get(ctx, nil)
}

// awaitReady polls the panel until the build finishes; the activity heartbeats while it waits.
func (p *provisioner) awaitReady(ctx workflow.Context, in OpInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    p.stepTimeout / 2,
		Summary:             "wait until built",
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{PanelPermanentError},
		},
	})
	return workflow.ExecuteActivity(ctx, ActivityProvisionAwaitReady, in).Get(ctx, nil)
}

// notifyReady mails the access details; a mail failure does not undo a working service.
func (p *provisioner) notifyReady(ctx workflow.Context, in OpInput) {
	err := workflow.ExecuteActivity(dbActivity(ctx, "mail service ready"), ActivityProvisionNotifyReady, in).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("Service ready mail not sent", "ServiceID", p.serviceID, "Error", err)
	}
}

// notifyTerminated tells the customer their service is gone; like the ready mail, a failure to
// mail does not undo the termination.
func (p *provisioner) notifyTerminated(ctx workflow.Context, in OpInput) {
	err := workflow.ExecuteActivity(dbActivity(ctx, "mail service terminated"), ActivityProvisionNotifyTerminated, in).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("Service terminated mail not sent", "ServiceID", p.serviceID, "Error", err)
	}
}

// setStatus records the status and a timeline entry.
func (p *provisioner) setStatus(ctx workflow.Context, status billing.ServiceStatus, reason string) error {
	in := StatusChange{ServiceID: p.serviceID, Status: status, Reason: reason, WorkflowID: p.workflowID}
	if err := workflow.ExecuteActivity(dbActivity(ctx, "status "+string(status)), ActivityProvisionSetStatus, in).Get(ctx, nil); err != nil {
		return err
	}
	p.status = status
	return nil
}

// setStatusDurably keeps trying to record a status the workflow cannot go on without recording.
func (p *provisioner) setStatusDurably(ctx workflow.Context, status billing.ServiceStatus, reason string) {
	for {
		if err := p.setStatus(ctx, status, reason); err == nil || ctx.Err() != nil {
			return
		}
		_ = workflow.Sleep(ctx, time.Minute)
	}
}

func (p *provisioner) ended() bool {
	return p.status == billing.ServiceTerminated || p.status == billing.ServiceAbandoned
}

func (p *provisioner) snapshot() ProvisionState {
	st := ProvisionState{ServiceID: p.serviceID, Status: p.status, Queue: append([]ProvisionOp(nil), p.queue...), Attention: p.attention, Completed: p.completed}
	if p.current != nil {
		c := *p.current
		st.Current = &c
	}
	return st
}

// continueAsNew starts a fresh run with the queue once every update handler has finished.
func (p *provisioner) continueAsNew(ctx workflow.Context) (ProvisionState, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return p.snapshot(), workflow.NewContinueAsNewError(ctx, Provision, ProvisionInput{
		ServiceID: p.serviceID, Status: p.status, Queue: p.queue, NextSeq: p.nextSeq, StepTimeout: p.stepTimeout,
		Requests: p.requestLog,
	})
}

// dbActivity is for quick database writes that must eventually succeed.
func dbActivity(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	})
}

// failureMessage is the activity's own message (the panel's words), without Temporal's wrapping,
// for the "needs attention" reason.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Message() != "" {
		return app.Message()
	}
	return err.Error()
}

// ProvisionStartOptions are the options every starter of provision:<service-id> uses: one run per
// service, never restarted once finished, searchable by customer, service and panel type.
func ProvisionStartOptions(serviceID, customerID int64, provider, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ProvisionID(serviceID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			CustomerIDKey.ValueSet(strconv.FormatInt(customerID, 10)),
			ServiceIDKey.ValueSet(strconv.FormatInt(serviceID, 10)),
			ProviderKey.ValueSet(provider),
		),
	}
}
