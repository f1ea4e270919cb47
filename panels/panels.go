// Package panels defines what the provisioning activities need from a control panel (VirtFusion,
// Pterodactyl, SynergyCP, Enhance) and the errors every panel client reports in one vocabulary,
// so retries, "already gone" and "no capacity" are decided in one place.
//
// Each panel has its client in panels/<name> and a stateful simulator speaking the same HTTP API
// in panels/<name>/sim; the facts both follow are in docs/panels.md.
package panels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Type names a kind of panel.
type Type string

// The panels we provision on.
const (
	VirtFusion  Type = "virtfusion"
	Pterodactyl Type = "pterodactyl"
	SynergyCP   Type = "synergycp"
	Enhance     Type = "enhance"
)

// Types lists every supported panel type.
func Types() []Type { return []Type{VirtFusion, Pterodactyl, SynergyCP, Enhance} }

// Config is one panel instance from the panel registry.
type Config struct {
	Type    Type
	BaseURL string // VirtFusion https://host/api/v1, Pterodactyl https://host, SynergyCP https://api.host, Enhance https://host/api
	Token   string // API token or key
	// Extra holds panel-specific settings: Pterodactyl "client_key" (ptlc_ key for power),
	// Enhance "org_id" (our reseller or master org), VirtFusion "hypervisor_group".
	Extra map[string]string
	// HTTP is the client to use; nil means a client with a 30-second timeout.
	HTTP *http.Client
}

// Customer is our customer as a panel account is made from it.
type Customer struct {
	ID        int64 // our customer id: the panel's external/billing id
	Email     string
	FirstName string
	LastName  string
}

// Account is the panel's user for one of our customers.
type Account struct {
	ID    string            // VirtFusion user id, Pterodactyl user id, SynergyCP client id, Enhance customer org uuid
	Extra map[string]string // e.g. Enhance "login_id", "member_id"
}

// Package is what to create or change to: the panel's plan plus panel-specific options.
type Package struct {
	// PlanID is VirtFusion's package id, Pterodactyl's egg id, SynergyCP's memory billing id,
	// Enhance's plan id.
	PlanID string
	// Options are the product's panel mapping, e.g. VirtFusion "hypervisor_group", "os_template";
	// Pterodactyl "docker_image", "startup", "memory", "disk", "cpu", "io", "swap", "databases",
	// "backups", "allocations", "location", "port_range", "env.<VAR>"; SynergyCP "cpu_billing",
	// "disks_billing", "ips_billing", "pxe_profile", "port_speed_billing"; Enhance "server_group".
	Options map[string]string
}

// CreateRequest asks for one service on the panel.
type CreateRequest struct {
	ServiceID int64 // our service id: the panel's external id where it has one
	Account   Account
	Hostname  string // server hostname or website domain
	Package   Package
	Password  string // initial root or panel password, when the panel takes one
}

// Service is our reference to the resource a panel created for a service.
type Service struct {
	ID    string            // the panel's id of the server, or the Enhance subscription id
	Extra map[string]string // e.g. "uuid", "identifier", "access_id", "website_id", "org_id"
}

// State is a service's state as the panel reports it.
type State string

// States a panel service can be in.
const (
	StateBuilding  State = "building"
	StateActive    State = "active"
	StateSuspended State = "suspended"
	StateFailed    State = "failed"
)

// Details are what the panel says about a service.
type Details struct {
	State    State
	Hostname string
	IPv4     []string
	IPv6     []string
	MemoryMB int64
	DiskGB   int64
	CPU      int64 // cores, or percent of a core for Pterodactyl
	// Password is set when the panel reveals the initial password (VirtFusion build).
	Password string
	Message  string
}

// PowerAction is a power operation.
type PowerAction string

// Power operations.
const (
	PowerStart   PowerAction = "start"
	PowerStop    PowerAction = "stop"
	PowerRestart PowerAction = "restart"
)

// Capacity says whether a package can be placed now.
type Capacity struct {
	Available bool
	Reason    string // why not, in words a customer may read
}

// Client is one panel instance. Every method is safe to call again after a failure: creates look
// up by our external id first (FindService), deletes of something already gone succeed.
type Client interface {
	Type() Type
	// Test checks the URL and credentials.
	Test(ctx context.Context) error
	// EnsureAccount finds the panel user for our customer by our id, creating it when absent.
	EnsureAccount(ctx context.Context, c Customer) (Account, error)
	// FindService finds the service created for our service id, if any.
	FindService(ctx context.Context, a Account, serviceID int64) (Service, bool, error)
	// CreateService creates the service and starts its build or install.
	CreateService(ctx context.Context, r CreateRequest) (Service, error)
	// Details reads state, addresses and resources.
	Details(ctx context.Context, s Service) (Details, error)
	Suspend(ctx context.Context, s Service, reason string) error
	Unsuspend(ctx context.Context, s Service) error
	// Terminate destroys the service; a service already gone is success.
	Terminate(ctx context.Context, s Service) error
	// ChangePackage moves the service to another plan or limits.
	ChangePackage(ctx context.Context, s Service, p Package) error
	// Power starts, stops or restarts; ErrUnsupported where the panel has no power control.
	Power(ctx context.Context, s Service, a PowerAction) error
	// ResetPassword sets a new root or panel password and returns it; ErrUnsupported where absent.
	ResetPassword(ctx context.Context, a Account, s Service) (string, error)
	// LoginURL is a single-sign-on link into the panel; ErrUnsupported where absent.
	LoginURL(ctx context.Context, a Account, s Service) (string, error)
	// CheckCapacity asks whether the package can be placed now, before money is taken.
	CheckCapacity(ctx context.Context, p Package) (Capacity, error)
}

// Kind classifies a panel failure.
type Kind int

// Kinds of failure. Temporary, Locked and RateLimited are worth retrying; the others are not.
const (
	KindTemporary    Kind = iota // network errors, timeouts, 5xx
	KindNotFound                 // 404: the thing does not exist (success for a delete)
	KindValidation               // 400/422: bad package id, bad input
	KindLocked                   // 423, or busy: a task is running, try later
	KindRateLimited              // 429: try after RetryAfter
	KindNoCapacity               // no node, allocation or inventory can take it
	KindConflict                 // 409: already exists, or not allowed in the current state
	KindUnauthorized             // 401/403: wrong URL or credentials
	KindUnsupported              // the panel cannot do this
)

func (k Kind) String() string {
	switch k {
	case KindTemporary:
		return "temporary"
	case KindNotFound:
		return "not found"
	case KindValidation:
		return "invalid"
	case KindLocked:
		return "locked"
	case KindRateLimited:
		return "rate limited"
	case KindNoCapacity:
		return "no capacity"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindUnsupported:
		return "unsupported"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is a failed panel call.
type Error struct {
	Kind       Kind
	Panel      Type
	Op         string // what we were doing, e.g. "create server"
	Status     int    // HTTP status, 0 when no response
	Message    string // the panel's own words
	RetryAfter time.Duration
	Err        error // underlying transport error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Panel, e.Op)
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	s += " (" + e.Kind.String() + ")"
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the same Kind, so errors.Is(err, panels.ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Panel == "" && t.Op == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrTemporary    = &Error{Kind: KindTemporary}
	ErrNotFound     = &Error{Kind: KindNotFound}
	ErrValidation   = &Error{Kind: KindValidation}
	ErrLocked       = &Error{Kind: KindLocked}
	ErrRateLimited  = &Error{Kind: KindRateLimited}
	ErrNoCapacity   = &Error{Kind: KindNoCapacity}
	ErrConflict     = &Error{Kind: KindConflict}
	ErrUnauthorized = &Error{Kind: KindUnauthorized}
	ErrUnsupported  = &Error{Kind: KindUnsupported}
)

// Retryable reports whether trying again later may succeed. Unknown errors are retryable.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return !errors.Is(err, context.Canceled)
	}
	switch e.Kind {
	case KindTemporary, KindLocked, KindRateLimited:
		return true
	}
	return false
}

// RetryAfter is how long the panel asked us to wait, or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// KindForStatus maps an HTTP status to a Kind when the body says nothing more specific.
func KindForStatus(status int) Kind {
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return KindValidation
	case status == http.StatusLocked:
		return KindLocked
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	}
	return KindTemporary
}

// ParseRetryAfter reads a Retry-After header in seconds or as an HTTP date; zero when absent.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HTTPClient returns c.HTTP or a client with a 30-second timeout.
func (c Config) HTTPClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Abilities says which direct actions a panel type offers customers.
type Abilities struct {
	Power, ResetPassword, Login bool
}

// AbilitiesOf reports the direct actions of a panel type: web hosting on Enhance has no power
// control or password reset; SynergyCP sets the OS password at install only.
func AbilitiesOf(t Type) Abilities {
	switch t {
	case VirtFusion, Pterodactyl:
		return Abilities{Power: true, ResetPassword: true, Login: true}
	case SynergyCP:
		return Abilities{Power: true, Login: true}
	case Enhance:
		return Abilities{Login: true}
	}
	return Abilities{}
}
