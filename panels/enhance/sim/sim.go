// Package sim is a stateful in-memory Enhance orchd API (docs/panels.md,
// "Enhance") for tests and dev mode: a reseller org with customers, logins, members, plans,
// subscriptions and websites, bearer auth, and the faults of simkit answered in Enhance's shape.
//
// Simulator assumptions beyond the reference, each chosen to keep every documented shape intact:
//   - A new website is listed at once with status "active" but without appServerId/appServerName
//     until BuildDelay has passed; the client reads "no app server yet" as building.
//   - Plan list items carry an extra "resellerQuota": {"total": N, "used": M} (live subscriptions
//     to the plan). A subscription create beyond the quota, or any create while no-capacity is
//     switched on, answers 403 {"code":"quota_exceeded","detail":"quota exceeded",...}.
//   - Unknown plan on subscription create answers 400; unknown plan on PATCH answers 404.
//   - Website create on a suspended subscription answers 409; a duplicate live domain answers 409.
//   - Error bodies are the spec's HttpError {"code","detail","message"}; busy is 423.
package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/panels/simkit"
)

// DefaultQuota is how many live subscriptions to one plan the reseller may sell when a Plan
// does not say.
const DefaultQuota = 50

// DefaultOrgID is the reseller org uuid when Options.OrgID is empty.
const DefaultOrgID = "00000000-0000-4000-8000-000000000001"

// DefaultServerGroupID is the seeded server group websites may be placed in.
const DefaultServerGroupID = "00000000-0000-4000-8000-00000000a001"

// Plan is a hosting plan our reseller org offers.
type Plan struct {
	ID          int64
	Name        string
	PlanType    string // shared or dedicated
	DiskBytes   int64
	MemoryBytes int64
	CPUs        int64
	Quota       int // live subscriptions the reseller may sell; 0 means DefaultQuota
}

// Options configure a simulator.
type Options struct {
	Token      string           // bearer token; default "sim-enhance-token"
	BuildDelay time.Duration    // how long a new website takes to be placed; default 2s
	Now        func() time.Time // clock; default time.Now
	OrgID      string           // our reseller org uuid; default DefaultOrgID
	Plans      []Plan           // default: plans 1 Starter, 2 Business, 3 Agency
}

// DefaultPlans are the plans seeded when Options.Plans is empty.
func DefaultPlans() []Plan {
	const gb = 1 << 30
	return []Plan{
		{ID: 1, Name: "Starter", PlanType: "shared", DiskBytes: 10 * gb, MemoryBytes: 1 * gb, CPUs: 1},
		{ID: 2, Name: "Business", PlanType: "shared", DiskBytes: 50 * gb, MemoryBytes: 4 * gb, CPUs: 2},
		{ID: 3, Name: "Agency", PlanType: "shared", DiskBytes: 200 * gb, MemoryBytes: 8 * gb, CPUs: 4},
	}
}

// Sim is the simulated panel. Safe for concurrent use; ids are deterministic.
type Sim struct {
	mu         sync.Mutex
	token      string
	buildDelay time.Duration
	now        func() time.Time
	reseller   string
	seq        int64 // last uuid number handed out
	nextSub    int64
	nextSSO    int64
	orgs       map[string]*org
	orgOrder   []string
	logins     map[string]*login
	members    []*member
	plans      []*Plan
	subs       map[int64]*subscription
	sites      []*website
	faults     simkit.Faults
	keep       *simstore.Keeper // nil: state lives in memory only
	handler    http.Handler
}

type org struct {
	id, name, parent string
	createdAt        time.Time
}

type login struct {
	id, email, name, password string
}

type member struct {
	id, orgID, loginID string
	roles              []string
	createdAt          time.Time
}

type subscription struct {
	id                 int64
	planID             int64
	subscriber, vendor string
	friendlyName       string
	deleted, suspended bool
	createdAt          time.Time
}

type website struct {
	id, orgID, domainID, domain, serverGroup string
	subID                                    int64
	deleted                                  bool
	createdAt, readyAt                       time.Time
}

// New returns a simulator seeded with the reseller org, plans and one server group.
func New(o Options) *Sim {
	s := &Sim{
		token:      o.Token,
		buildDelay: o.BuildDelay,
		now:        o.Now,
		reseller:   o.OrgID,
		nextSub:    16, // the reference's example answer is {"id": 17}
		orgs:       map[string]*org{},
		logins:     map[string]*login{},
		subs:       map[int64]*subscription{},
	}
	if s.token == "" {
		s.token = "sim-enhance-token"
	}
	if s.buildDelay == 0 {
		s.buildDelay = 2 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reseller == "" {
		s.reseller = DefaultOrgID
	}
	s.seq = 1
	s.orgs[s.reseller] = &org{id: s.reseller, name: "ezscale hosting", createdAt: s.now()}
	s.orgOrder = append(s.orgOrder, s.reseller)
	plans := o.Plans
	if len(plans) == 0 {
		plans = DefaultPlans()
	}
	for _, p := range plans {
		if p.Quota == 0 {
			p.Quota = DefaultQuota
		}
		if p.PlanType == "" {
			p.PlanType = "shared"
		}
		s.plans = append(s.plans, &p)
	}
	s.handler = s.faults.Wrap(s.authenticate(s.routes()), shape, isCreate, isWrite)
	return s
}

// ServeHTTP serves the orchd API under /api, with the injected faults in front.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults is the fault injection in front of the API.
func (s *Sim) Faults() *simkit.Faults { return &s.faults }

// Token is the bearer token the simulator accepts.
func (s *Sim) Token() string { return s.token }

// OrgID is the reseller org uuid to configure the client with (Extra["org_id"]).
func (s *Sim) OrgID() string { return s.reseller }

// ServiceCount is how many subscriptions are live (not deleted).
func (s *Sim) ServiceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.subs {
		if !sub.deleted {
			n++
		}
	}
	return n
}

// ServicesFor is how many live subscriptions carry our service id in their friendlyName.
// externalID is the service id ("42") or the whole marker ("ezs-42").
func (s *Sim) ServicesFor(externalID string) int {
	marker := externalID
	if !strings.HasPrefix(marker, "ezs-") {
		marker = "ezs-" + marker
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.subs {
		if !sub.deleted && sub.friendlyName == marker {
			n++
		}
	}
	return n
}

// WebsiteCount is how many websites are live (not deleted).
func (s *Sim) WebsiteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.sites {
		if !w.deleted {
			n++
		}
	}
	return n
}

// uuid hands out the next deterministic uuid. Callers hold s.mu.
func (s *Sim) uuid() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
}

// httpError is the spec's HttpError body.
type httpError struct {
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

func fail(w http.ResponseWriter, status int, code, detail string) {
	simkit.JSON(w, status, httpError{Code: code, Detail: detail, Message: http.StatusText(status)})
}

// quotaExceeded is the answer when the reseller has no subscriptions left to sell.
func quotaExceeded(w http.ResponseWriter) {
	fail(w, http.StatusForbidden, "quota_exceeded", "quota exceeded")
}

// shape answers an injected fault the way the simulator answers the real condition.
func shape(w http.ResponseWriter, f simkit.Fault, retryAfter time.Duration) {
	switch f {
	case simkit.FaultRateLimit:
		simkit.SetRetryAfter(w, retryAfter)
		fail(w, http.StatusTooManyRequests, "too_many_requests", "rate limit reached")
	case simkit.FaultLocked:
		fail(w, http.StatusLocked, "locked", "another operation is in progress on this resource")
	case simkit.FaultNoCapacity:
		quotaExceeded(w)
	default:
		fail(w, http.StatusServiceUnavailable, "service_unavailable", "orchd is not ready")
	}
}

// isCreate tells the requests that create a service: the subscription and its website.
func isCreate(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(p) == 6 && p[0] == "api" && p[1] == "orgs" && p[3] == "customers" && p[5] == "subscriptions":
		return true
	case len(p) == 4 && p[0] == "api" && p[1] == "orgs" && p[3] == "websites":
		return true
	}
	return false
}

func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// authenticate requires the bearer token, except for listing plans, which the spec leaves open.
func (s *Sim) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		openPlans := r.Method == http.MethodGet && len(p) == 4 && p[1] == "orgs" && p[3] == "plans"
		if !openPlans && r.Header.Get("Authorization") != "Bearer "+s.token {
			fail(w, http.StatusUnauthorized, "unauthorized", "invalid session")
			return
		}
		next.ServeHTTP(w, r)
		s.mu.Lock()
		s.persist(r.Context())
		s.mu.Unlock()
	})
}

// decode reads a JSON request body, answering 400 when it is not JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "invalid_input", "request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// created answers 201 {"id": id}.
func created(w http.ResponseWriter, id any) {
	simkit.JSON(w, http.StatusCreated, map[string]any{"id": id})
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
