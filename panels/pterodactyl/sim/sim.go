// Package sim is a stateful in-memory Pterodactyl panel: the Application API (users, servers,
// nodes, nests and eggs) and the Client API calls a billing platform makes (account, power,
// resources), with the panel's auth rules, error envelope and validation answers, so the
// pterodactyl client and dev mode run without a real panel.
//
// The facts it follows are in docs/panels.md, "Pterodactyl".
package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/panels/simkit"
)

// Options configure a simulator. The zero value gives a working panel with default keys.
type Options struct {
	// Token is the application API key (ptla_...); empty means DefaultToken.
	Token string
	// ClientKey is a root admin's client API key (ptlc_...), the only kind the Client API
	// (power) accepts; empty means DefaultClientKey.
	ClientKey string
	// BuildDelay is how long a new server stays "installing"; zero means 2s.
	BuildDelay time.Duration
	// Now is the clock; nil means time.Now. Tests step it to finish installs without sleeping.
	Now func() time.Time
	// PortsPerNode is how many allocations (ports 25565 upwards) each of the two seeded nodes
	// has; zero means 10. Every server consumes one, so creates run out after 2*PortsPerNode.
	PortsPerNode int
}

// Default keys used when Options leave them empty.
const (
	DefaultToken     = "ptla_simulatorApplicationKey0000000000000000000"
	DefaultClientKey = "ptlc_simulatorAdminClientKey0000000000000000000"
)

// Sim is the simulated panel. It is an http.Handler; all methods are safe for concurrent use.
type Sim struct {
	mu         sync.Mutex
	now        func() time.Time
	buildDelay time.Duration
	token      string
	clientKey  string
	faults     simkit.Faults
	keep       *simstore.Keeper // nil: state lives in memory only
	handler    http.Handler
	api        *http.ServeMux

	keys        map[string]apiKey
	users       map[int]*user
	servers     map[int]*server
	nodes       []*node
	allocations []*allocation
	locations   []*location
	nests       []*nest
	eggs        []*egg
	nextUser    int
	nextServer  int
	daemonDown  bool
}

// apiKey is one accepted Bearer key: an application key, or a user's client key.
type apiKey struct {
	application bool
	userID      int
}

type ctxKey struct{}

// New builds a simulator seeded with an admin user, one location with two nodes and their
// allocations, and two nests of eggs (see seed.go).
func New(o Options) *Sim {
	s := &Sim{
		now:        o.Now,
		buildDelay: o.BuildDelay,
		token:      o.Token,
		clientKey:  o.ClientKey,
		keys:       map[string]apiKey{},
		users:      map[int]*user{},
		servers:    map[int]*server{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.buildDelay <= 0 {
		s.buildDelay = 2 * time.Second
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.clientKey == "" {
		s.clientKey = DefaultClientKey
	}
	ports := o.PortsPerNode
	if ports <= 0 {
		ports = 10
	}
	s.seed(ports)
	s.api = s.mux()
	s.handler = s.faults.Wrap(http.HandlerFunc(s.route), shape, isCreate, isWrite)
	return s
}

// ServeHTTP answers one API request, after any injected fault.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults is the fault injector in front of the API.
func (s *Sim) Faults() *simkit.Faults { return &s.faults }

// Token is the application API key (ptla_) the simulator accepts.
func (s *Sim) Token() string { return s.token }

// ClientKey is the root admin's client API key (ptlc_) the simulator accepts on both APIs.
func (s *Sim) ClientKey() string { return s.clientKey }

// ServiceCount is the number of servers that exist (deleted ones are gone).
func (s *Sim) ServiceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.servers)
}

// ServicesFor counts the servers carrying an external id: either exactly externalID (such as
// "svc-42") or our service id alone ("42"), which the client sends as "svc-42".
func (s *Sim) ServicesFor(externalID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sv := range s.servers {
		if sv.externalID != nil && (*sv.externalID == externalID || *sv.externalID == "svc-"+externalID) {
			n++
		}
	}
	return n
}

// SetDaemonDown makes the nodes' daemon (Wings) unreachable: a plain DELETE of a server then
// fails with DaemonConnectionException, while DELETE .../force still succeeds.
func (s *Sim) SetDaemonDown(down bool) {
	s.mu.Lock()
	s.daemonDown = down
	s.mu.Unlock()
}

// FailInstall makes the install of the server with this external id fail (status
// "install_failed"); it reports whether such a server exists.
func (s *Sim) FailInstall(externalID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.servers {
		if sv.externalID != nil && *sv.externalID == externalID {
			sv.installFailed = true
			return true
		}
	}
	return false
}

// PowerState is the daemon's state of a server by its identifier: "running" or "offline",
// empty when no such server exists.
func (s *Sim) PowerState(identifier string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.serverByIdentifier(identifier); sv != nil {
		return s.powerOf(sv)
	}
	return ""
}

// CheckPassword reports whether the user's panel password is password.
func (s *Sim) CheckPassword(userID int, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	return u != nil && u.password != "" && u.password == password
}

// IssueClientKey creates a client API key (ptlc_) for a user, as the user would in the panel's
// account page; a non-admin's key is refused on the Application API.
func (s *Sim) IssueClientKey(userID int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		return "", false
	}
	key := fmt.Sprintf("ptlc_simulatorUser%dKey", userID)
	s.keys[key] = apiKey{userID: userID}
	return key, true
}

// FreeAllocations is how many allocations no server holds.
func (s *Sim) FreeAllocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.allocations {
		if a.serverID == 0 {
			n++
		}
	}
	return n
}

// route authenticates the request as the panel's middleware does, then dispatches it.
func (s *Sim) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	application := p == "/api/application" || strings.HasPrefix(p, "/api/application/")
	client := p == "/api/client" || strings.HasPrefix(p, "/api/client/")
	if !application && !client {
		writeError(w, http.StatusNotFound, "NotFoundHttpException", msgNotFound)
		return
	}
	key, ok := s.authenticate(r)
	if !ok {
		// Handler::unauthenticated: JSON clients get 401, browsers a redirect to the login page.
		if !strings.Contains(strings.ToLower(r.Header.Get("Accept")), "json") {
			http.Redirect(w, r, "/auth/login", http.StatusFound)
			return
		}
		writeError(w, http.StatusUnauthorized, "AuthenticationException", "Unauthenticated.")
		return
	}
	if application && !key.application && !s.isAdmin(key.userID) {
		writeError(w, http.StatusForbidden, "AccessDeniedHttpException", "This account does not have permission to access the API.")
		return
	}
	if client && key.application {
		writeError(w, http.StatusForbidden, "AccessDeniedHttpException", "You are attempting to use an application API key on an endpoint that requires a client API key.")
		return
	}
	s.api.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, key)))
	s.mu.Lock()
	s.persist(r.Context())
	s.mu.Unlock()
}

func (s *Sim) authenticate(r *http.Request) (apiKey, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return apiKey{}, false
	}
	token = strings.TrimSpace(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[token]
	return k, ok
}

func (s *Sim) isAdmin(userID int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	return u != nil && u.rootAdmin
}

func keyOf(r *http.Request) apiKey {
	k, _ := r.Context().Value(ctxKey{}).(apiKey)
	return k
}

func (s *Sim) mux() *http.ServeMux {
	m := http.NewServeMux()
	const app = "/api/application"
	m.HandleFunc("GET "+app+"/users", s.listUsers)
	m.HandleFunc("POST "+app+"/users", s.createUser)
	m.HandleFunc("GET "+app+"/users/external/{external_id}", s.getUserByExternalID)
	m.HandleFunc("GET "+app+"/users/{id}", s.getUser)
	m.HandleFunc("PATCH "+app+"/users/{id}", s.updateUser)
	m.HandleFunc("DELETE "+app+"/users/{id}", s.deleteUser)

	m.HandleFunc("GET "+app+"/servers", s.listServers)
	m.HandleFunc("POST "+app+"/servers", s.createServer)
	m.HandleFunc("GET "+app+"/servers/external/{external_id}", s.getServerByExternalID)
	m.HandleFunc("GET "+app+"/servers/{id}", s.getServer)
	m.HandleFunc("PATCH "+app+"/servers/{id}/build", s.updateBuild)
	m.HandleFunc("POST "+app+"/servers/{id}/suspend", s.suspend(true))
	m.HandleFunc("POST "+app+"/servers/{id}/unsuspend", s.suspend(false))
	m.HandleFunc("DELETE "+app+"/servers/{id}", s.deleteServer(false))
	m.HandleFunc("DELETE "+app+"/servers/{id}/force", s.deleteServer(true))

	m.HandleFunc("GET "+app+"/locations", s.listLocations)
	m.HandleFunc("GET "+app+"/nodes", s.listNodes)
	m.HandleFunc("GET "+app+"/nests/{nest}/eggs", s.listEggs)
	m.HandleFunc("GET "+app+"/nests/{nest}/eggs/{egg}", s.getEgg)

	const cli = "/api/client"
	m.HandleFunc("GET "+cli+"/account", s.account)
	m.HandleFunc("GET "+cli+"/servers/{server}/resources", s.resources)
	m.HandleFunc("POST "+cli+"/servers/{server}/power", s.power)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFoundHttpException", msgNotFound)
	})
	return m
}

// isCreate marks the request that creates a service, for no-capacity and lost-response faults.
func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/api/application/servers"
}

// isWrite marks requests that change state, for locked faults.
func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// shape answers an injected fault in Pterodactyl's error envelope.
func shape(w http.ResponseWriter, f simkit.Fault, retryAfter time.Duration) {
	switch f {
	case simkit.FaultRateLimit:
		// Laravel's throttle middleware (config/http.php: 240/min on the application API).
		simkit.SetRetryAfter(w, retryAfter)
		w.Header().Set("X-RateLimit-Limit", "240")
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeError(w, http.StatusTooManyRequests, "TooManyRequestsHttpException", "Too Many Attempts.")
	case simkit.FaultLocked:
		// UNCONFIRMED: Pterodactyl has no 423 of its own; "busy" is simulated as 423 in the
		// panel's envelope so it stays distinct from the 409 state conflicts.
		writeError(w, http.StatusLocked, "HttpException", "This resource is locked by another operation, please try again later.")
	case simkit.FaultNoCapacity:
		writeError(w, http.StatusBadRequest, "NoViableAllocationException", msgNoAllocation)
	default:
		writeError(w, http.StatusInternalServerError, "HttpException", "An unexpected error was encountered while processing this request, please try again.")
	}
}

// fakeUUID derives a stable v4-shaped uuid from a seed, so ids are deterministic.
func fakeUUID(seed string) string {
	b := sha256.Sum256([]byte(seed))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stamp formats a time as the panel does (ISO-8601 with offset, toAtomString).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-07:00") }
