// Package sim is a stateful in-memory VirtFusion panel speaking the REST API v1 the client uses
// (docs/panels.md, "VirtFusion"): Bearer auth, {"data":...} envelopes, Laravel
// paginators, integer ids, servers created "allocated" then built "queued" → "complete" after
// BuildDelay, hypervisors whose memory and disk run out, and simkit fault injection answered in
// VirtFusion's error shapes.
package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/panels/simkit"
)

// apiPrefix is where the API lives on the panel host.
const apiPrefix = "/api/v1"

// marker is the server-name prefix our client gives a server built for one of our services
// ("ezs-<serviceID>", virtfusion.Marker); ServicesFor counts by it.
const marker = "ezs-"

// noCapacityMessage is the 422 error a create gets when no hypervisor can take the package.
const noCapacityMessage = "No hypervisor in the group has enough resources"

// Options configure a simulator. Empty seed slices get DefaultPackages, DefaultGroups and
// DefaultTemplates.
type Options struct {
	Token      string           // API token; DefaultToken when empty
	BuildDelay time.Duration    // how long a build stays "queued"; 2s when zero
	Now        func() time.Time // time source; time.Now when nil
	Packages   []Package
	Groups     []Group
	Templates  []Template
}

// Sim is the simulated panel. It is an http.Handler serving /api/v1/...; safe for concurrent use.
type Sim struct {
	token      string
	buildDelay time.Duration
	now        func() time.Time
	faults     *simkit.Faults
	keep       *simstore.Keeper // nil: state lives in memory only
	handler    http.Handler
	mux        *http.ServeMux

	mu          sync.Mutex
	packages    map[int]Package
	groups      []*group
	templates   map[int]Template
	users       map[int]*user
	servers     map[int]*server
	nextUser    int
	nextServer  int
	nextQueue   int
	nextIP      int
	nextToken   int
	failBuilds  bool
	passwordSeq int
}

type group struct {
	Group
	hvs []*hypervisor
}

type hypervisor struct {
	Hypervisor
	groupID   int
	memUsed   int
	diskUsed  int
	coresUsed int
	servers   int
}

// New returns a simulator seeded from o.
func New(o Options) *Sim {
	s := &Sim{
		token:      o.Token,
		buildDelay: o.BuildDelay,
		now:        o.Now,
		faults:     &simkit.Faults{},
		packages:   map[int]Package{},
		templates:  map[int]Template{},
		users:      map[int]*user{},
		servers:    map[int]*server{},
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.buildDelay <= 0 {
		s.buildDelay = 2 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Packages == nil {
		o.Packages = DefaultPackages()
	}
	if o.Groups == nil {
		o.Groups = DefaultGroups()
	}
	if o.Templates == nil {
		o.Templates = DefaultTemplates()
	}
	for _, p := range o.Packages {
		s.packages[p.ID] = p
	}
	for _, t := range o.Templates {
		s.templates[t.ID] = t
	}
	for _, g := range o.Groups {
		sg := &group{Group: g}
		for _, h := range g.Hypervisors {
			sg.hvs = append(sg.hvs, &hypervisor{Hypervisor: h, groupID: g.ID})
		}
		slices.SortFunc(sg.hvs, func(a, b *hypervisor) int { return a.ID - b.ID })
		s.groups = append(s.groups, sg)
	}
	slices.SortFunc(s.groups, func(a, b *group) int { return a.ID - b.ID })
	s.mux = s.routes()
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), shape, isCreate, isWrite)
	return s
}

// ServeHTTP answers one API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults is the fault injector in front of the API.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Token is the API token the simulator accepts.
func (s *Sim) Token() string { return s.token }

// FailBuilds makes builds started while on end in state "failed" instead of "complete".
func (s *Sim) FailBuilds(on bool) { s.mu.Lock(); s.failBuilds = on; s.mu.Unlock() }

// ServiceCount is how many servers exist (built or not), not counting deleted ones.
func (s *Sim) ServiceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	return len(s.servers)
}

// ServicesFor is how many live servers carry the marker of our service id externalID (the name
// "ezs-<externalID>" the client's build gives them). Unbuilt orphans carry none.
func (s *Sim) ServicesFor(externalID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	n := 0
	for _, sv := range s.servers {
		if sv.name == marker+externalID {
			n++
		}
	}
	return n
}

// isCreate picks the requests that create a server (for no-capacity and lost-answer faults).
func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.TrimRight(r.URL.Path, "/") == apiPrefix+"/servers"
}

// isWrite picks requests that change an existing server (for locked answers).
func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, apiPrefix+"/servers/")
}

// shape answers an injected fault as VirtFusion (Laravel) would.
func shape(w http.ResponseWriter, f simkit.Fault, retryAfter time.Duration) {
	switch f {
	case simkit.FaultRateLimit:
		simkit.SetRetryAfter(w, retryAfter)
		simkit.JSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Attempts."})
	case simkit.FaultLocked:
		simkit.JSON(w, http.StatusLocked, msg("server is locked: another task is in progress"))
	case simkit.FaultNoCapacity:
		simkit.JSON(w, http.StatusUnprocessableEntity, errs(noCapacityMessage))
	default:
		simkit.JSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
	}
}

// msg is VirtFusion's {"msg": "..."} body (404, 423).
func msg(m string) map[string]any { return map[string]any{"msg": m} }

// errs is VirtFusion's 422 body: an array of strings.
func errs(m ...string) map[string]any { return map[string]any{"errors": m} }

// serve authenticates and routes.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		simkit.JSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthenticated."})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Sim) routes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, f func(*request)) {
		method, path, _ := strings.Cut(pattern, " ")
		m.HandleFunc(method+" "+apiPrefix+path, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.advance()
			f(&request{w: w, r: r, now: s.now()})
			s.persist(r.Context())
		})
	}
	h("GET /connect", func(q *request) { q.json(http.StatusOK, map[string]any{"data": map[string]any{"connected": true}}) })
	h("GET /users/{ext}/byExtRelation", s.userByExt)
	h("POST /users", s.createUser)
	h("POST /users/{ext}/authenticationTokens", s.authTokens)
	h("GET /packages", s.listPackages)
	h("GET /packages/{id}", s.getPackage)
	h("GET /media/templates/fromServerPackageSpec/{id}", s.templatesFor)
	h("GET /compute/hypervisors/groups", s.listGroups)
	h("GET /compute/hypervisors/groups/{id}", s.getGroup)
	h("GET /compute/hypervisors/groups/{id}/resources", s.groupResources)
	h("POST /servers", s.createServer)
	h("GET /servers", s.listServers)
	h("GET /servers/user/{userId}", s.userServers)
	h("GET /servers/{id}", s.getServer)
	h("DELETE /servers/{id}", s.deleteServer)
	h("POST /servers/{id}/build", s.buildServer)
	h("POST /servers/{id}/suspend", func(q *request) { s.setSuspended(q, true) })
	h("POST /servers/{id}/unsuspend", func(q *request) { s.setSuspended(q, false) })
	h("PUT /servers/{id}/package/{packageId}", s.changePackage)
	h("POST /servers/{id}/power/{action}", s.power)
	h("POST /servers/{id}/resetPassword", s.resetPassword)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		simkit.JSON(w, http.StatusNotFound, map[string]any{
			"message": fmt.Sprintf("The route %s could not be found.", strings.TrimPrefix(r.URL.Path, "/")),
		})
	})
	return m
}

// request is one request being answered under the simulator's lock.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	now time.Time
}

func (q *request) json(status int, v any) { simkit.JSON(q.w, status, v) }

// pathID reads an integer path value; ok is false when it is not one (answered as not found).
func (q *request) pathID(name string) (int, bool) {
	n, err := strconv.Atoi(q.r.PathValue(name))
	return n, err == nil && n > 0
}

// body decodes a JSON object body; an empty body is an empty object. A malformed body is
// answered with 422 and ok false.
func (q *request) body() (map[string]any, bool) {
	b, err := io.ReadAll(io.LimitReader(q.r.Body, 1<<20))
	if err != nil {
		q.json(http.StatusUnprocessableEntity, errs("could not read the request body"))
		return nil, false
	}
	m := map[string]any{}
	if strings.TrimSpace(string(b)) == "" {
		return m, true
	}
	if err := json.Unmarshal(b, &m); err != nil {
		q.json(http.StatusUnprocessableEntity, errs("the request body is not a JSON object"))
		return nil, false
	}
	return m, true
}

// intField reads a JSON number or numeric string; ok is false when absent or not an integer.
func intField(m map[string]any, k string) (int, bool) {
	switch v := m[k].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

func strField(m map[string]any, k string) string {
	if v, ok := m[k].(string); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// paginate wraps items in a flat Laravel paginator honouring ?results (1-200, default 20) and
// ?page. ok is false when results is out of range (answered with 422).
func (q *request) paginate(items []any) (map[string]any, bool) {
	per := 20
	if v := q.r.URL.Query().Get("results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			q.json(http.StatusUnprocessableEntity, errs("The results must be between 1 and 200."))
			return nil, false
		}
		per = n
	}
	pg := 1
	if n, err := strconv.Atoi(q.r.URL.Query().Get("page")); err == nil && n > 1 {
		pg = n
	}
	total := len(items)
	last := max(1, (total+per-1)/per)
	start := min((pg-1)*per, total)
	end := min(start+per, total)
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	path := scheme + "://" + q.r.Host + q.r.URL.Path
	pageURL := func(n int) any {
		if n < 1 || n > last {
			return nil
		}
		return path + "?page=" + strconv.Itoa(n)
	}
	links := []any{map[string]any{"url": pageURL(pg - 1), "label": "&laquo; Previous", "active": false}}
	for n := 1; n <= last; n++ {
		links = append(links, map[string]any{"url": pageURL(n), "label": strconv.Itoa(n), "active": n == pg})
	}
	links = append(links, map[string]any{"url": pageURL(pg + 1), "label": "Next &raquo;", "active": false})
	var from, to any
	if start < end {
		from, to = start+1, end
	}
	return map[string]any{
		"current_page":   pg,
		"data":           append([]any{}, items[start:end]...),
		"first_page_url": pageURL(1),
		"from":           from,
		"last_page":      last,
		"last_page_url":  pageURL(last),
		"links":          links,
		"next_page_url":  pageURL(pg + 1),
		"path":           path,
		"per_page":       per,
		"prev_page_url":  pageURL(pg - 1),
		"to":             to,
		"total":          total,
	}, true
}
