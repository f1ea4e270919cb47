// Package sim is a stateful in-memory SynergyCP API for tests and dev mode. It speaks what the
// client in panels/synergycp uses (docs/panels.md, "SynergyCP"): the key in
// the query string on every request, the {"error","messages","data"} envelope, Laravel pages for
// lists, integer ids, inventory matched by billing ids, installs that finish after BuildDelay,
// VIP clients whose automatic suspensions and wipes are "ignored", and injected faults answered
// in the panel's own error shape.
//
// Choices the reference leaves open (UNCONFIRMED against a live panel): provisioning with a PXE
// profile queues that install; install statuses are pending/running/done/failed; server parts
// carry cores, size_mb and size_gb; control endpoints take only a client-owned key; a power
// command on a suspended access is 409; a VIP refusal is HTTP 200 with "error": true and
// data.ignored; a busy server is 423.
package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/panels/simkit"
)

// Options configure a simulator.
type Options struct {
	// Token is the integration API key the simulator accepts; empty means "synergycp-sim-key".
	Token string
	// BuildDelay is how long an OS install runs before it is done; zero means 2s.
	BuildDelay time.Duration
	// Now is the clock installs are timed by; nil means time.Now. Tests step it instead of sleeping.
	Now func() time.Time
}

// Sim is the simulated SynergyCP API. It is safe for concurrent use.
type Sim struct {
	mu         sync.Mutex
	token      string
	buildDelay time.Duration
	now        simkit.Clock
	faults     *simkit.Faults
	keep       *simstore.Keeper // nil: state lives in memory only
	handler    http.Handler

	parts      []part
	profiles   []profile
	ipBlocks   map[string]int
	portSpeeds map[string]bool

	clients  []*client
	servers  []*server
	keys     map[string]int // client-owned API key → client id
	entities int            // IP blocks handed out so far, for addresses
	lastID   map[string]int // last id per kind, so ids are deterministic
	shaped   int            // server errors answered so far, to vary their shape
}

// client is a SynergyCP client (a customer).
type client struct {
	id        int
	email     string
	first     string
	last      string
	billingID string
	vip       bool
}

// server is an inventory server; clientID 0 means it is in inventory.
type server struct {
	id           int
	cpu, mem     part
	disks        []part
	group        string
	controlID    int
	clientID     int
	billingID    string
	maxBandwidth string
	nickname     string
	portSpeed    string
	power        string
	access       *access
	entity       *entity
	installs     []*install
}

// access is a client's grant on a server; the sim keeps only the primary one.
type access struct {
	id       int
	clientID int
	active   bool
	reason   string
	pxe      bool
	ipmi     bool
	swtch    bool
}

// install is one queued PXE install; it starts when its parent is done and takes BuildDelay.
type install struct {
	id       int
	profile  profile
	parent   *install
	queuedAt time.Time
	failed   bool
}

// entity is the IP block assigned to a server.
type entity struct {
	id      int
	network string
	address string
	gateway string
	prefix  int
	v6      string
	v6gw    string
}

// New returns a simulator seeded with a small catalog and inventory (see seed.go).
func New(o Options) *Sim {
	s := &Sim{
		token:      o.Token,
		buildDelay: o.BuildDelay,
		now:        o.Now,
		faults:     &simkit.Faults{},
		parts:      seedParts(),
		profiles:   seedProfiles(),
		ipBlocks:   seedIPBlocks(),
		portSpeeds: seedPortSpeeds(),
		keys:       map[string]int{},
		lastID:     map[string]int{},
	}
	if s.token == "" {
		s.token = "synergycp-sim-key"
	}
	if s.buildDelay <= 0 {
		s.buildDelay = 2 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.seedServers()
	s.handler = s.faults.Wrap(s.routes(), s.shape, isCreate, isWrite)
	return s
}

// ServeHTTP answers one API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults is where tests inject failures.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Token is the integration API key the simulator accepts.
func (s *Sim) Token() string { return s.token }

// ServiceCount is how many servers are provisioned (out of inventory).
func (s *Sim) ServiceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, srv := range s.servers {
		if srv.clientID != 0 {
			n++
		}
	}
	return n
}

// ServicesFor is how many provisioned servers carry billing id externalID (our service id).
func (s *Sim) ServicesFor(externalID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, srv := range s.servers {
		if srv.clientID != 0 && srv.billingID == externalID {
			n++
		}
	}
	return n
}

// InventoryCount is how many servers are free to provision.
func (s *Sim) InventoryCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, srv := range s.servers {
		if srv.clientID == 0 {
			n++
		}
	}
	return n
}

// SetVIP marks the client with this billing id (our customer id) as VIP, whose automatic
// suspensions and wipes SynergyCP ignores for staff review. It reports whether the client exists.
func (s *Sim) SetVIP(billingID string, vip bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		if c.billingID == billingID {
			c.vip = vip
			return true
		}
	}
	return false
}

// FailInstall makes the server's latest install fail. It reports whether there was one.
func (s *Sim) FailInstall(serverID int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.server(serverID)
	if srv == nil || len(srv.installs) == 0 {
		return false
	}
	srv.installs[len(srv.installs)-1].failed = true
	return true
}

// PowerState is the server's power as last commanded ("on" or "off"), "" for an unknown server.
func (s *Sim) PowerState(serverID int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv := s.server(serverID); srv != nil {
		return srv.power
	}
	return ""
}

// isCreate is the request that takes a server out of inventory.
func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/server/provision"
}

// isWrite is any request that changes state.
func isWrite(r *http.Request) bool { return r.Method != http.MethodGet }

// shape answers an injected fault the way SynergyCP (Laravel behind nginx) would.
func (s *Sim) shape(w http.ResponseWriter, f simkit.Fault, retryAfter time.Duration) {
	switch f {
	case simkit.FaultServerError:
		s.mu.Lock()
		s.shaped++
		n := s.shaped
		s.mu.Unlock()
		switch n % 3 {
		case 1:
			fail(w, http.StatusInternalServerError, "Server Error")
		case 2: // the proxy in front of the panel answers, not the panel
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		default:
			fail(w, http.StatusServiceUnavailable, "Be right back.")
		}
	case simkit.FaultRateLimit:
		simkit.SetRetryAfter(w, retryAfter)
		fail(w, http.StatusTooManyRequests, "Too Many Attempts.")
	case simkit.FaultLocked:
		fail(w, http.StatusLocked, "The server is busy with a queued task; try again shortly.")
	case simkit.FaultNoCapacity:
		fail(w, http.StatusUnprocessableEntity, "The selected server is not available.")
	}
}

// envelope is every answer's shape.
type envelope struct {
	Error    bool      `json:"error"`
	Messages []message `json:"messages"`
	Data     any       `json:"data"`
}

type message struct {
	Text string `json:"text"`
}

// ok answers data in the success envelope.
func ok(w http.ResponseWriter, data any) {
	simkit.JSON(w, http.StatusOK, envelope{Messages: []message{}, Data: data})
}

// fail answers an error: the status and {"error": true, "messages": [{"text": ...}], "data": null}.
func fail(w http.ResponseWriter, status int, texts ...string) {
	msgs := make([]message, 0, len(texts))
	for _, t := range texts {
		msgs = append(msgs, message{Text: t})
	}
	simkit.JSON(w, status, envelope{Error: true, Messages: msgs, Data: nil})
}

// ignoredAnswer is SynergyCP's refusal of an automatic action on a VIP client: "error" true,
// data.ignored, and (UNCONFIRMED) HTTP 200, since the PHP client never looks at the status.
func ignoredAnswer(w http.ResponseWriter, text string) {
	simkit.JSON(w, http.StatusOK, envelope{Error: true, Messages: []message{{Text: text}},
		Data: map[string]bool{"ignored": true}})
}

// caller is who a request's key belongs to.
type caller struct {
	admin    bool
	clientID int
}

type callerKey struct{}

// who is the request's caller, set by the auth check.
func who(r *http.Request) caller { c, _ := r.Context().Value(callerKey{}).(caller); return c }

// routes is the API, behind the key check.
func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /client", s.adminOnly(s.listClients))
	mux.HandleFunc("POST /client", s.adminOnly(s.createClient))
	mux.HandleFunc("GET /client/{id}", s.adminOnly(s.getClient))
	mux.HandleFunc("POST /key", s.adminOnly(s.createKey))
	mux.HandleFunc("GET /server", s.listServers)
	mux.HandleFunc("POST /server/provision", s.adminOnly(s.provision))
	mux.HandleFunc("GET /server/{id}", s.getServer)
	mux.HandleFunc("PATCH /server/{id}", s.adminOnly(s.patchServer))
	mux.HandleFunc("GET /server/{id}/install", s.adminOnly(s.listInstalls))
	mux.HandleFunc("POST /server/{id}/install", s.adminOnly(s.createInstall))
	mux.HandleFunc("GET /server/{id}/access", s.adminOnly(s.listAccesses))
	mux.HandleFunc("PATCH /server/{id}/access/{access}", s.adminOnly(s.patchAccess))
	mux.HandleFunc("GET /server/{id}/control", s.clientOnly(s.listControls))
	mux.HandleFunc("POST /server/{id}/control/{control}/command", s.clientOnly(s.command))
	mux.HandleFunc("GET /entity", s.adminOnly(s.listEntities))
	mux.HandleFunc("GET /auth/sso", s.clientOnly(s.sso))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("key")
		s.mu.Lock()
		c := caller{admin: key != "" && key == s.token, clientID: s.keys[key]}
		s.mu.Unlock()
		if !c.admin && c.clientID == 0 {
			fail(w, http.StatusUnauthorized, "Unauthenticated.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		if _, pattern := mux.Handler(r); pattern == "" {
			fail(w, http.StatusNotFound, "Not found.")
			return
		}
		mux.ServeHTTP(w, r)
		s.mu.Lock()
		s.persist(r.Context())
		s.mu.Unlock()
	})
}

// adminOnly refuses client-owned keys.
func (s *Sim) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !who(r).admin {
			fail(w, http.StatusForbidden, "This action is unauthorized.")
			return
		}
		h(w, r)
	}
}

// clientOnly refuses the integration key where SynergyCP acts as the client (UNCONFIRMED: the
// WHMCS module always uses a client key there).
func (s *Sim) clientOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if who(r).clientID == 0 {
			fail(w, http.StatusForbidden, "This action needs a key owned by the client.")
			return
		}
		h(w, r)
	}
}

// nextID hands out the next id of a kind.
func (s *Sim) nextID(kind string) int {
	s.lastID[kind]++
	return s.lastID[kind]
}

// server finds a server by id (caller holds mu).
func (s *Sim) server(id int) *server {
	for _, srv := range s.servers {
		if srv.id == id {
			return srv
		}
	}
	return nil
}

// clientByID finds a client by id (caller holds mu).
func (s *Sim) clientByID(id int) *client {
	for _, c := range s.clients {
		if c.id == id {
			return c
		}
	}
	return nil
}

// pathID is an integer path value, or 0.
func pathID(r *http.Request, name string) int {
	n, err := strconv.Atoi(r.PathValue(name))
	if err != nil {
		return 0
	}
	return n
}

// decode reads a JSON body, answering 400 when it is not JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "The request body is not valid JSON.")
		return false
	}
	return true
}

// paginate answers items as a Laravel page, honouring page and per_page.
func paginate[T any](r *http.Request, items []T) map[string]any {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage < 1 {
		perPage = 20
	}
	pg, err := strconv.Atoi(q.Get("page"))
	if err != nil || pg < 1 {
		pg = 1
	}
	last := (len(items) + perPage - 1) / perPage
	if last < 1 {
		last = 1
	}
	from := min((pg-1)*perPage, len(items))
	to := min(from+perPage, len(items))
	out := append([]T{}, items[from:to]...)
	return map[string]any{
		"data": out, "current_page": pg, "last_page": last, "per_page": perPage, "total": len(items),
		"from": from + 1, "to": to,
	}
}

// arrayParam collects a PHP-style array parameter: name[]=a&name[]=b, name[0]=a, or name=a.
func arrayParam(q map[string][]string, name string) []string {
	var keys []string
	for k := range q {
		if k == name || k == name+"[]" || (strings.HasPrefix(k, name+"[") && strings.HasSuffix(k, "]") &&
			isDigits(k[len(name)+1:len(k)-1])) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		for _, v := range q[k] {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// flexString reads a JSON string, number or null as text.
type flexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case string:
		*f = flexString(strings.TrimSpace(t))
	case float64:
		*f = flexString(strconv.FormatFloat(t, 'f', -1, 64))
	case nil:
		*f = ""
	default:
		return fmt.Errorf("want a string or number, got %s", b)
	}
	return nil
}

// int is the value as an integer, or 0.
func (f flexString) int() int {
	n, err := strconv.Atoi(string(f))
	if err != nil {
		return 0
	}
	return n
}

// flexBool reads PHP-ish booleans: true/false, 1/0, "1"/"0", "true"/"false".
type flexBool struct {
	set bool
	val bool
}

// UnmarshalJSON accepts the usual spellings.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	f.set = v != nil
	switch t := v.(type) {
	case bool:
		f.val = t
	case float64:
		f.val = t != 0
	case string:
		f.val = t == "1" || strings.EqualFold(t, "true")
	}
	return nil
}
